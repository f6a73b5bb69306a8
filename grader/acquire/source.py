"""Where a submission comes from, and the private copy of it grader grades.

The entry points that turn a source into a folder grader owns: ``acquire`` (a git URL,
GitHub shorthand, local folder or archive) and ``current_commit`` (what a git source
points to now, asked without cloning). How each kind is fetched lives beside it: cloning
(clone), unpacking (archive), a work tree as it is now (work_tree), the size limits
(limits) and the locked-down git runner (git). A local git repository is cloned rather than read in
place, so nothing its ``.git/config`` asks for runs.
"""

from __future__ import annotations

import re
import shutil
import stat
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from grader.acquire.archive import ARCHIVE_SUFFIXES, unpack
from grader.acquire.clone import clone
from grader.acquire.git import run_git
from grader.acquire.limits import check_tree_size
from grader.core.errors import AcquireError

SHORTHAND = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
URL = re.compile(r"^(?:https://|ssh://|file://|git@[\w.-]+:)")


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
    version: str = ""
    """The version the history gives a project that takes it from there (versions)."""


@dataclass(frozen=True)
class HistoryRequest:
    """Keep a git source's history (for --base, --deadline, the Process criterion); other
    sources have none, which the caller checks."""

    keep: bool = False
    deadline: datetime | None = None


def _copy_folder(folder: Path, dest: Path) -> None:
    check_tree_size(folder, str(folder))
    try:
        shutil.copytree(folder, dest, symlinks=True, ignore=_not_copied)
    except shutil.Error as exc:  # copytree gathers every file it could not copy
        path, _, reason = exc.args[0][0]
        raise AcquireError(f"cannot copy {path}: {reason}") from None


_CACHES = frozenset({".git", "__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache"})


def _not_copied(folder: str, names: list[str]) -> set[str]:
    """Caches, and anything that is not a file, folder or link (FIFOs, sockets, devices)."""
    skipped = set(_CACHES.intersection(names))
    for name in names:
        mode = (Path(folder) / name).lstat().st_mode
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode) or stat.S_ISLNK(mode)):
            skipped.add(name)
    return skipped


NOT_A_REPOSITORY = "the folder is not a git repository: no commit recorded"


def _acquire_local(
    local: Path, source: str, ref: str | None, dest: Path, history: HistoryRequest
) -> Acquired:
    if local.is_file() and local.name.endswith(ARCHIVE_SUFFIXES):
        if ref:
            raise AcquireError("--ref applies to git sources, not to archives")
        unpack(local, dest)
        return Acquired(dest, source, None, None, _no_deadline(history))
    if not local.is_dir():
        raise AcquireError(f"{source} is neither a folder, a git URL nor a .zip/.tar.gz archive")
    if (local / ".git").exists():
        return _cloned(local.as_uri(), ref, dest, source, history)
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


def _cloned(
    url: str, ref: str | None, dest: Path, source: str, history: HistoryRequest
) -> Acquired:
    cloned = clone(url, ref, dest, source, keep_history=history.keep, deadline=history.deadline)
    return Acquired(
        dest,
        source,
        cloned.sha,
        cloned.ref,
        commit_date=cloned.date,
        git_dir=cloned.git_dir,
        after_deadline=cloned.after_deadline,
        version=cloned.version,
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
    try:
        if local.exists():
            return _acquire_local(local.resolve(), source, ref, dest, history)
    except PermissionError as exc:  # a normal user meets folders it may not enter
        raise AcquireError(f"cannot read {exc.filename or source}: permission denied") from None
    return _cloned(_remote_url(source), ref, dest, source, history)


FULL_SHA = re.compile(r"^[0-9a-f]{40}$")


def current_commit(source: str, ref: str | None) -> str | None:
    """The commit ``source`` at ``ref`` points to now, asked without cloning (git ls-remote).

    None when the source is not a git repository or cannot be asked: callers then treat
    the submission as changed.
    """
    if ref is not None and FULL_SHA.match(ref.lower()):
        return ref.lower()
    local = Path(source).expanduser()
    try:
        is_local = local.exists()
        is_repository = is_local and local.is_dir() and (local / ".git").exists()
    except OSError:  # a path this user cannot read: acquire() says so
        is_local, is_repository = True, False
    if is_local:
        if not is_repository:
            return None
        url = local.resolve().as_uri()
    else:
        try:
            url = _remote_url(source)
        except AcquireError:
            return None
    wanted = ref or "HEAD"
    listed = run_git(["ls-remote", "--", url, wanted], Path(tempfile.gettempdir()), timeout_s=60.0)
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
