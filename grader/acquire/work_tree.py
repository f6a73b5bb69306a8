"""A git work tree as it is now, committed or not: what ``grader preview`` grades.

Git runs with the same locked-down configuration as a clone, in place but read-only:
listing runs no hooks or filters. Only the files git would commit are copied.
"""

from __future__ import annotations

import shutil
import stat
from dataclasses import dataclass
from pathlib import Path

from grader.acquire.git import git_error, run_git
from grader.acquire.limits import MAX_BYTES, MAX_MEMBERS, safe_member_path
from grader.core.errors import AcquireError


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
    inside = run_git(["rev-parse", "--is-inside-work-tree"], folder)
    if inside.exit_code != 0 or inside.stdout.strip() != "true":
        return None
    listed = run_git(["ls-files", "-z", "--cached", "--others", "--exclude-standard", "--"], folder)
    if listed.exit_code != 0 or listed.truncated:
        raise AcquireError(f"cannot list the files of {folder}: {git_error(listed.stderr)}")
    head = run_git(["rev-parse", "--verify", "--quiet", "HEAD^{commit}"], folder)
    status = run_git(["status", "--porcelain", "-z", "--untracked-files=all", "--", "."], folder)
    # porcelain paths are relative to the repository's root, ls-files' to ``folder``
    prefix = run_git(["rev-parse", "--show-prefix"], folder).stdout.strip()
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
        relative_path = safe_member_path(name, str(folder))
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
