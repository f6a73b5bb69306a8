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
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from grader import proc
from grader.errors import AcquireError

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
    return proc.run(["git", *_GIT_SAFETY, *args], cwd=cwd, timeout_s=GIT_TIMEOUT_S, env=_git_env())


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    fatal = [line for line in lines if line.startswith("fatal:")]
    return (fatal or lines or ["git failed"])[0].removeprefix("fatal: ")


def _clone(url: str, ref: str | None, dest: Path, label: str) -> tuple[str, str | None]:
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
    checkout = _git(["checkout", "--quiet", "--detach", sha], dest)
    if checkout.exit_code != 0:
        raise AcquireError(
            f"cannot check out {ref or 'HEAD'} of {label}: {_first_line(checkout.stderr)}"
        )
    shutil.rmtree(dest / ".git")
    return sha, ref


def _tree_size(folder: Path) -> int:
    total = 0
    count = 0
    for current, dirnames, filenames in os.walk(folder, followlinks=False):
        dirnames[:] = [d for d in dirnames if d != ".git"]
        for name in filenames:
            count += 1
            info = (Path(current) / name).lstat()
            total += info.st_size
            if total > MAX_BYTES or count > MAX_MEMBERS:
                raise AcquireError(
                    f"{folder} is too large to grade "
                    f"(limit {MAX_BYTES // 2**20} MB, {MAX_MEMBERS} files)"
                )
    return total


def _copy_folder(folder: Path, dest: Path) -> None:
    _tree_size(folder)
    shutil.copytree(
        folder,
        dest,
        symlinks=True,
        ignore=shutil.ignore_patterns(
            ".git", "__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache"
        ),
    )


def _safe_member_path(name: str, archive: str) -> PurePosixPath:
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or re.match(r"^[A-Za-z]:", name):
        raise AcquireError(
            f"{archive}: refusing member {name!r}: its path escapes the target folder"
        )
    return path


def _unpack_zip(archive: Path, dest: Path) -> None:
    with zipfile.ZipFile(archive) as bundle:
        members = bundle.infolist()
        if len(members) > MAX_MEMBERS:
            raise AcquireError(f"{archive.name}: more than {MAX_MEMBERS} members")
        written = 0
        for member in members:
            path = _safe_member_path(member.filename, archive.name)
            mode = member.external_attr >> 16
            if stat.S_ISLNK(mode):
                raise AcquireError(
                    f"{archive.name}: refusing member {member.filename!r}: it is a link"
                )
            target = dest / path
            if member.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            # Count the bytes actually inflated: header sizes can lie.
            with bundle.open(member) as source, target.open("wb") as sink:
                while chunk := source.read(65536):
                    written += len(chunk)
                    if written > MAX_BYTES:
                        raise AcquireError(
                            f"{archive.name}: expands beyond {MAX_BYTES // 2**20} MB; refusing it"
                        )
                    sink.write(chunk)


def _unpack_tar(archive: Path, dest: Path) -> None:
    with tarfile.open(archive, "r:gz") as bundle:
        written = 0
        for count, member in enumerate(bundle, start=1):
            if count > MAX_MEMBERS:
                raise AcquireError(f"{archive.name}: more than {MAX_MEMBERS} members")
            path = _safe_member_path(member.name, archive.name)
            if member.issym() or member.islnk():
                raise AcquireError(f"{archive.name}: refusing member {member.name!r}: it is a link")
            if not (member.isfile() or member.isdir()):
                raise AcquireError(
                    f"{archive.name}: refusing member {member.name!r}: "
                    "it is a device or special file"
                )
            target = dest / path
            if member.isdir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            source = bundle.extractfile(member)
            if source is None:
                continue
            with source, target.open("wb") as sink:
                while chunk := source.read(65536):
                    written += len(chunk)
                    if written > MAX_BYTES:
                        raise AcquireError(
                            f"{archive.name}: expands beyond {MAX_BYTES // 2**20} MB; refusing it"
                        )
                    sink.write(chunk)


def _unpack(archive: Path, dest: Path) -> None:
    dest.mkdir()
    try:
        if archive.name.endswith(".zip"):
            _unpack_zip(archive, dest)
        else:
            _unpack_tar(archive, dest)
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as exc:
        raise AcquireError(f"{archive.name}: not a readable archive: {exc}") from None
    # An archive often wraps everything in one top-level folder.
    entries = list(dest.iterdir())
    if len(entries) == 1 and entries[0].is_dir():
        inner = entries[0]
        for child in inner.iterdir():
            child.rename(dest / child.name)
        inner.rmdir()


def acquire(source: str, ref: str | None, workdir: Path) -> Acquired:
    """Fetch ``source`` at ``ref`` into ``workdir/submission`` and say what was graded."""
    dest = workdir / "submission"
    local = Path(source).expanduser()
    if local.exists():
        local = local.resolve()
        if local.is_file() and local.name.endswith(ARCHIVE_SUFFIXES):
            if ref:
                raise AcquireError("--ref applies to git sources, not to archives")
            _unpack(local, dest)
            return Acquired(dest, source, None, None)
        if not local.is_dir():
            raise AcquireError(
                f"{source} is neither a folder, a git URL nor a .zip/.tar.gz archive"
            )
        if (local / ".git").exists():
            sha, ref = _clone(local.as_uri(), ref, dest, source)
            return Acquired(dest, source, sha, ref)
        if ref:
            raise AcquireError(f"--ref needs a git repository, and {source} is not one")
        _copy_folder(local, dest)
        return Acquired(
            dest, source, None, None, ("the folder is not a git repository: no commit recorded",)
        )
    if URL.match(source):
        sha, ref = _clone(source, ref, dest, source)
        return Acquired(dest, source, sha, ref)
    if SHORTHAND.match(source):
        url = f"https://github.com/{source}.git"
        sha, ref = _clone(url, ref, dest, source)
        return Acquired(dest, source, sha, ref)
    if "://" in source:
        raise AcquireError(f"unsupported URL scheme in {source!r}: use https://, ssh:// or file://")
    raise AcquireError(f"no such file or folder: {source}")
