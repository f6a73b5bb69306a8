"""Acquire a submission: git URL, GitHub shorthand, local folder or archive -> a private copy.

Every git call goes through ``proc.run`` (GitPython would run git without a timeout or
an output cap). Git runs with a locked-down configuration: only https, ssh and file transports, no
submodules, no LFS smudge, no prompts, no system or global config, no hooks. A local git
repository is cloned (``--no-local``) rather than read in place, so nothing its
``.git/config`` asks for runs. Archives are unpacked member by member with every path,
type and size checked before anything is written.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import tarfile
import tempfile
import uuid
import zipfile
import zlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import IO

from grader.acquire.workspace import walk_tree
from grader.core import proc
from grader.core.errors import AcquireError

MAX_BYTES = 200 * 1024 * 1024
MAX_MEMBERS = 20_000
GIT_TIMEOUT_S = 300.0
SHORTHAND = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
URL = re.compile(r"^(?:https://|ssh://|file://|git@[\w.-]+:)")
ARCHIVE_SUFFIXES = (".zip", ".tar.gz", ".tgz")


@dataclass(frozen=True)
class Acquired:
    """A submission copied into ``root`` (a folder grader owns)."""

    root: Path
    source: str
    commit: str | None
    ref: str | None
    warnings: tuple[str, ...] = ()
    commit_date: str | None = None
    git_dir: Path | None = None
    """The clone's history, kept outside the submission when asked for (``keep_history``)."""
    after_deadline: tuple[str, ...] = ()
    """Commits of the branch made after the deadline, newest first (not graded)."""


@dataclass(frozen=True)
class _Cloned:
    sha: str
    ref: str | None
    date: str
    git_dir: Path | None = None
    after_deadline: tuple[str, ...] = ()


@dataclass(frozen=True)
class HistoryRequest:
    """Keep a git source's history (for --base, --deadline, the Process criterion); other
    sources have none, which the caller checks."""

    keep: bool = False
    deadline: datetime | None = None


def _git_env() -> dict[str, str]:
    return proc.scrubbed_env(
        {
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_LFS_SKIP_SMUDGE": "1",
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_ASKPASS": "/bin/false",
            "SSH_ASKPASS": "/bin/false",
            "GIT_SSH_COMMAND": "ssh -o BatchMode=yes -o StrictHostKeyChecking=accept-new",
            "HOME": "/nonexistent",
        }
    )


_GIT_SAFETY = [
    "-c", "protocol.allow=never",
    "-c", "protocol.https.allow=always",
    "-c", "protocol.ssh.allow=always",
    "-c", "protocol.file.allow=always",
    "-c", "core.hooksPath=/dev/null",
    "-c", "core.fsmonitor=false",
    "-c", "submodule.recurse=false",
    "-c", "filter.lfs.smudge=",
    "-c", "filter.lfs.process=",
    "-c", "filter.lfs.required=false",
]  # fmt: skip


def _git(args: list[str], cwd: Path) -> proc.ProcResult:
    return run_git(args, cwd)


def run_git(args: list[str], cwd: Path, extra_env: dict[str, str] | None = None) -> proc.ProcResult:
    """git with grader's locked-down settings (for every module that reads repositories)."""
    env = {**_git_env(), **(extra_env or {})}
    return proc.run(["git", *_GIT_SAFETY, *args], cwd=cwd, timeout_s=GIT_TIMEOUT_S, env=env)


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    fatal = [line for line in lines if line.startswith("fatal:")]
    return (fatal or lines or ["git failed"])[0].removeprefix("fatal: ")


def _before_deadline(
    sha: str, deadline: datetime, dest: Path, label: str
) -> tuple[str, tuple[str, ...]]:
    """The last commit (by committer date) before the deadline, and the commits after it."""
    stamp = deadline.isoformat()
    chosen = _git(["rev-list", "-1", f"--before={stamp}", sha], dest).stdout.strip()
    if not chosen:
        raise AcquireError(f"{label} has no commit before the deadline {stamp}")
    after = _git(["rev-list", f"{chosen}..{sha}"], dest).stdout.split()
    return chosen, tuple(after)


def _clone(
    url: str, ref: str | None, dest: Path, label: str, history: HistoryRequest = HistoryRequest()
) -> _Cloned:
    result = _git(
        [
            "clone",
            "--no-local",
            "--no-checkout",
            "--no-recurse-submodules",
            "--quiet",
            "--",
            url,
            str(dest),
        ],
        dest.parent,
    )
    if result.timed_out:
        raise AcquireError(f"cloning {label} took longer than {GIT_TIMEOUT_S:.0f}s")
    if result.exit_code != 0:
        raise AcquireError(f"cannot clone {label}: {_first_line(result.stderr)}")
    candidates = ["HEAD"] if ref is None else [f"origin/{ref}", ref]
    sha = None
    for candidate in candidates:
        check = _git(["rev-parse", "--verify", "--quiet", f"{candidate}^{{commit}}"], dest)
        if check.exit_code == 0:
            sha = check.stdout.strip()
            break
    if sha is None:
        if ref is None:
            raise AcquireError(f"{label} is an empty repository (no commits)")
        raise AcquireError(f"unknown ref {ref!r} in {label}")
    after: tuple[str, ...] = ()
    if history.deadline is not None:
        sha, after = _before_deadline(sha, history.deadline, dest, label)
    checkout = _git(["checkout", "--quiet", "--detach", sha], dest)
    if checkout.exit_code != 0:
        raise AcquireError(
            f"cannot check out {ref or 'HEAD'} of {label}: {_first_line(checkout.stderr)}"
        )
    date = _git(["log", "-1", "--format=%cI", sha], dest).stdout.strip()
    git_dir = None
    if history.keep or history.deadline is not None:
        # Kept beside the submission, never in it: no tool or test sees the history.
        git_dir = (dest / ".git").rename(dest.parent / "history.git")
    else:
        shutil.rmtree(dest / ".git")
    _tree_size(dest, label)
    return _Cloned(sha, ref, date, git_dir, after)


def _tree_size(folder: Path, label: str) -> int:
    total = 0
    count = 0
    for _, entries in walk_tree(folder, lambda entry: entry.name != ".git"):
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                continue
            count += 1
            total += entry.stat(follow_symlinks=False).st_size
            if total > MAX_BYTES or count > MAX_MEMBERS:
                raise AcquireError(
                    f"{label} is too large to grade "
                    f"(limit {MAX_BYTES // 2**20} MB, {MAX_MEMBERS} files)"
                )
    return total


def _copy_folder(folder: Path, dest: Path) -> None:
    _tree_size(folder, str(folder))
    shutil.copytree(folder, dest, symlinks=True, ignore=_not_copied)


_CACHES = frozenset({".git", "__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache"})


def _not_copied(folder: str, names: list[str]) -> set[str]:
    """Caches, and anything that is not a file, folder or link (FIFOs, sockets, devices)."""
    skipped = set(_CACHES.intersection(names))
    for name in names:
        mode = (Path(folder) / name).lstat().st_mode
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode) or stat.S_ISLNK(mode)):
            skipped.add(name)
    return skipped


def _safe_member_path(name: str, archive: str) -> PurePosixPath:
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or re.match(r"^[A-Za-z]:", name):
        raise AcquireError(
            f"{archive}: refusing member {name!r}: its path escapes the target folder"
        )
    return path


class _Budget:
    """Bytes and members an archive may still unpack; counts what is really inflated."""

    def __init__(self, archive: str) -> None:
        self.archive = archive
        self.written = 0
        self.members = 0

    def member(self) -> None:
        self.members += 1
        if self.members > MAX_MEMBERS:
            raise AcquireError(f"{self.archive}: more than {MAX_MEMBERS} members")

    def copy(self, source: IO[bytes], target: Path) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        # Header sizes can lie: count the bytes as they come out.
        with source, target.open("wb") as sink:
            while chunk := source.read(65536):
                self.written += len(chunk)
                if self.written > MAX_BYTES:
                    raise AcquireError(
                        f"{self.archive}: expands beyond {MAX_BYTES // 2**20} MB; refusing it"
                    )
                sink.write(chunk)


def _refuse(archive: Path, name: str, why: str) -> AcquireError:
    return AcquireError(f"{archive.name}: refusing member {name!r}: {why}")


def _unpack_zip(archive: Path, dest: Path) -> None:
    budget = _Budget(archive.name)
    with zipfile.ZipFile(archive) as bundle:
        for member in bundle.infolist():
            budget.member()
            target = dest / _safe_member_path(member.filename, archive.name)
            if stat.S_ISLNK(member.external_attr >> 16):
                raise _refuse(archive, member.filename, "it is a link")
            if member.is_dir():
                target.mkdir(parents=True, exist_ok=True)
            else:
                budget.copy(bundle.open(member), target)


def _check_tar_member(archive: Path, member: tarfile.TarInfo) -> None:
    if member.issym() or member.islnk():
        raise _refuse(archive, member.name, "it is a link")
    if not (member.isfile() or member.isdir()):
        raise _refuse(archive, member.name, "it is a device or special file")


def _unpack_tar(archive: Path, dest: Path) -> None:
    budget = _Budget(archive.name)
    with tarfile.open(archive, "r:gz") as bundle:
        for member in bundle:
            budget.member()
            target = dest / _safe_member_path(member.name, archive.name)
            _check_tar_member(archive, member)
            source = bundle.extractfile(member)
            if member.isdir() or source is None:
                target.mkdir(parents=True, exist_ok=True)
            else:
                budget.copy(source, target)


def _unpack(archive: Path, dest: Path) -> None:
    dest.mkdir()
    try:
        if archive.name.endswith(".zip"):
            _unpack_zip(archive, dest)
        else:
            _unpack_tar(archive, dest)
    except (
        zipfile.BadZipFile,
        tarfile.TarError,
        EOFError,
        OSError,
        RuntimeError,  # an encrypted zip member
        NotImplementedError,  # a compression method zipfile lacks
        zlib.error,  # corrupt deflate data
        ValueError,
    ) as exc:
        raise AcquireError(f"{archive.name}: not a readable archive: {exc}") from None
    _unwrap(dest)


def _unwrap(dest: Path) -> None:
    """An archive often wraps everything in one top-level folder: lift its contents."""
    entries = list(dest.iterdir())
    if len(entries) != 1 or not entries[0].is_dir() or entries[0].is_symlink():
        return
    # Move it aside first: it may hold a folder of its own name (proj/proj/__init__.py).
    inner = entries[0].rename(dest / f".grader-unwrap-{uuid.uuid4().hex}")
    for child in inner.iterdir():
        child.rename(dest / child.name)
    inner.rmdir()


@dataclass(frozen=True)
class WorkingTree:
    """The files of a git work tree as git sees them now, committed or not."""

    files: tuple[str, ...]
    """Tracked and untracked files, relative to the folder; ignored files left out."""
    head: str | None
    """The commit checked out, None before the first commit."""
    changed: tuple[str, ...]
    """Files that differ from ``head``: modified, added, deleted, renamed or untracked."""


def working_tree(folder: Path) -> WorkingTree | None:
    """What ``git ls-files --cached --others --exclude-standard`` lists in ``folder``.

    None when ``folder`` is not inside a git work tree. Git runs with the same locked-down
    configuration as a clone, in place but read-only: listing runs no hooks or filters.
    """
    inside = _git(["rev-parse", "--is-inside-work-tree"], folder)
    if inside.exit_code != 0 or inside.stdout.strip() != "true":
        return None
    listed = _git(["ls-files", "-z", "--cached", "--others", "--exclude-standard", "--"], folder)
    if listed.exit_code != 0 or listed.truncated:
        raise AcquireError(f"cannot list the files of {folder}: {_first_line(listed.stderr)}")
    head = _git(["rev-parse", "--verify", "--quiet", "HEAD^{commit}"], folder)
    status = _git(["status", "--porcelain", "-z", "--untracked-files=all", "--", "."], folder)
    # porcelain paths are relative to the repository's root, ls-files' to ``folder``
    prefix = _git(["rev-parse", "--show-prefix"], folder).stdout.strip()
    return WorkingTree(
        files=tuple(sorted({name for name in listed.stdout.split("\0") if name})),
        head=head.stdout.strip() if head.exit_code == 0 else None,
        changed=tuple(
            path.removeprefix(prefix)
            for path in _status_paths(status.stdout)
            if path.startswith(prefix)
        ),
    )


def _status_paths(porcelain: str) -> tuple[str, ...]:
    """Paths in ``git status --porcelain -z``: "XY path", a rename followed by its origin."""
    entries = iter(porcelain.split("\0"))
    paths = []
    for entry in entries:
        if len(entry) < 4:
            continue
        paths.append(entry[3:])
        if "R" in entry[:2] or "C" in entry[:2]:
            next(entries, None)  # the path it was renamed or copied from
    return tuple(paths)


def copy_working_tree(folder: Path, tree: WorkingTree, dest: Path) -> None:
    """Copy the files ``tree`` lists from ``folder`` into ``dest`` (links stay links).

    A file git still tracks but that was deleted, and a submodule (a folder to git), are
    left out, as a clone without submodules leaves them out.
    """
    dest.mkdir()
    total = 0
    if len(tree.files) > MAX_MEMBERS:
        raise AcquireError(f"{folder} has more than {MAX_MEMBERS} files; too large to grade")
    for name in tree.files:
        relative_path = _safe_member_path(name, str(folder))
        source, target = folder / relative_path, dest / relative_path
        mode = source.lstat().st_mode if source.is_symlink() or source.exists() else 0
        if not (stat.S_ISREG(mode) or stat.S_ISLNK(mode)):
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        if stat.S_ISLNK(mode):
            target.symlink_to(source.readlink())
            continue
        total += source.stat().st_size
        if total > MAX_BYTES:
            raise AcquireError(f"{folder} is too large to grade (limit {MAX_BYTES // 2**20} MB)")
        shutil.copy2(source, target)


NOT_A_REPOSITORY = "the folder is not a git repository: no commit recorded"


def _acquire_local(
    local: Path, source: str, ref: str | None, dest: Path, history: HistoryRequest
) -> Acquired:
    if local.is_file() and local.name.endswith(ARCHIVE_SUFFIXES):
        if ref:
            raise AcquireError("--ref applies to git sources, not to archives")
        _unpack(local, dest)
        return Acquired(dest, source, None, None, _no_deadline(history))
    if not local.is_dir():
        raise AcquireError(f"{source} is neither a folder, a git URL nor a .zip/.tar.gz archive")
    if (local / ".git").exists():
        return _acquired(_clone(local.as_uri(), ref, dest, source, history), dest, source)
    if ref:
        raise AcquireError(f"--ref needs a git repository, and {source} is not one")
    _copy_folder(local, dest)
    return Acquired(
        dest,
        source,
        None,
        None,
        (NOT_A_REPOSITORY, *_no_deadline(history)),
    )


def _no_deadline(history: HistoryRequest) -> tuple[str, ...]:
    if history.deadline is None:
        return ()
    return ("no git history: the deadline could not be checked; everything was graded",)


def _acquired(cloned: _Cloned, dest: Path, source: str) -> Acquired:
    return Acquired(
        dest,
        source,
        cloned.sha,
        cloned.ref,
        commit_date=cloned.date,
        git_dir=cloned.git_dir,
        after_deadline=cloned.after_deadline,
    )


def _remote_url(source: str) -> str:
    if URL.match(source):
        return source
    if SHORTHAND.match(source):
        return f"https://github.com/{source}.git"
    if "://" in source:
        raise AcquireError(f"unsupported URL scheme in {source!r}: use https://, ssh:// or file://")
    raise AcquireError(f"no such file or folder: {source}")


def acquire(
    source: str, ref: str | None, workdir: Path, history: HistoryRequest = HistoryRequest()
) -> Acquired:
    """Fetch ``source`` at ``ref`` into ``workdir/submission`` and say what was graded."""
    dest = workdir / "submission"
    local = Path(source).expanduser()
    if local.exists():
        return _acquire_local(local.resolve(), source, ref, dest, history)
    return _acquired(_clone(_remote_url(source), ref, dest, source, history), dest, source)


FULL_SHA = re.compile(r"^[0-9a-f]{40}$")


def current_commit(source: str, ref: str | None) -> str | None:
    """The commit ``source`` at ``ref`` points to now, asked without cloning (git ls-remote).

    None when the source is not a git repository or cannot be asked: callers then treat
    the submission as changed.
    """
    if ref is not None and FULL_SHA.match(ref.lower()):
        return ref.lower()
    local = Path(source).expanduser()
    if local.exists():
        if not (local.is_dir() and (local / ".git").exists()):
            return None
        url = local.resolve().as_uri()
    else:
        try:
            url = _remote_url(source)
        except AcquireError:
            return None
    wanted = ref or "HEAD"
    listed = proc.run(
        ["git", *_GIT_SAFETY, "ls-remote", "--", url, wanted],
        cwd=Path(tempfile.gettempdir()),
        timeout_s=60.0,
        env=_git_env(),
    )
    if listed.exit_code != 0:
        return None
    refs: dict[str, str] = {}
    for line in listed.stdout.splitlines():
        sha, _, name = line.partition("\t")
        refs[name.strip()] = sha.strip()
    for name in (wanted, f"refs/heads/{wanted}", f"refs/tags/{wanted}^{{}}", f"refs/tags/{wanted}"):
        if name in refs:
            return refs[name]
    return None
