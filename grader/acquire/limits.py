"""How large a submission may be, and where its files may land: the limits every way of
acquiring one (clone, archive, folder, work tree) enforces before grading starts."""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

from grader.acquire.workspace import walk_tree
from grader.core.errors import AcquireError

MAX_BYTES = 200 * 1024 * 1024
MAX_MEMBERS = 20_000


def check_tree_size(folder: Path, label: str) -> int:
    """The bytes of the files under ``folder`` (``.git`` left out); refuses a tree over
    ``MAX_BYTES`` or ``MAX_MEMBERS`` files."""
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


def safe_member_path(name: str, archive: str) -> PurePosixPath:
    """``name`` as a relative path; refuses one that would escape the target folder."""
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or re.match(r"^[A-Za-z]:", name):
        raise AcquireError(
            f"{archive}: refusing member {name!r}: its path escapes the target folder"
        )
    return path
