"""Cloning a git source at a ref, or at the last commit before a deadline.

A repository is cloned (``--no-local`` even for a local one, so nothing its
``.git/config`` asks for runs) without checkout or submodules, the commit is checked out
detached, and its history is either removed or kept beside the submission (never in it,
so no tool or test sees it).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from grader.acquire import versions
from grader.acquire.git import GIT_TIMEOUT_S, git_error, run_git
from grader.acquire.limits import check_tree_size
from grader.core.errors import AcquireError


@dataclass(frozen=True)
class Cloned:
    """The commit checked out, and the history kept when it was asked for."""

    sha: str
    ref: str | None
    date: str
    git_dir: Path | None = None
    after_deadline: tuple[str, ...] = ()
    version: str = ""
    """The version its history gives, when the project takes it from there (versions)."""


def _before_deadline(
    sha: str, deadline: datetime, dest: Path, label: str
) -> tuple[str, tuple[str, ...]]:
    """The last commit (by committer date) before the deadline, and the commits after it."""
    stamp = deadline.isoformat()
    chosen = run_git(["rev-list", "-1", f"--before={stamp}", sha], dest).stdout.strip()
    if not chosen:
        raise AcquireError(f"{label} has no commit before the deadline {stamp}")
    after = run_git(["rev-list", f"{chosen}..{sha}"], dest).stdout.split()
    return chosen, tuple(after)


def clone(
    url: str,
    ref: str | None,
    dest: Path,
    label: str,
    *,
    keep_history: bool = False,
    deadline: datetime | None = None,
) -> Cloned:
    """Clone ``url`` into ``dest`` and check out ``ref`` (HEAD when None), or the last
    commit before ``deadline``; the history is kept beside ``dest`` when asked for or
    when a deadline needs it."""
    result = run_git(
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
        raise AcquireError(f"cannot clone {label}: {git_error(result.stderr)}")
    candidates = ["HEAD"] if ref is None else [f"origin/{ref}", ref]
    sha = None
    for candidate in candidates:
        check = run_git(["rev-parse", "--verify", "--quiet", f"{candidate}^{{commit}}"], dest)
        if check.exit_code == 0:
            sha = check.stdout.strip()
            break
    if sha is None:
        if ref is None:
            raise AcquireError(f"{label} is an empty repository (no commits)")
        raise AcquireError(f"unknown ref {ref!r} in {label}")
    after: tuple[str, ...] = ()
    if deadline is not None:
        sha, after = _before_deadline(sha, deadline, dest, label)
    checkout = run_git(["checkout", "--quiet", "--detach", sha], dest)
    if checkout.exit_code != 0:
        raise AcquireError(
            f"cannot check out {ref or 'HEAD'} of {label}: {git_error(checkout.stderr)}"
        )
    date = run_git(["log", "-1", "--format=%cI", sha], dest).stdout.strip()
    version = versions.read(dest, sha) if versions.needed(dest) else ""
    git_dir = None
    if keep_history or deadline is not None:
        # Kept beside the submission, never in it: no tool or test sees the history.
        git_dir = (dest / ".git").rename(dest.parent / "history.git")
    else:
        shutil.rmtree(dest / ".git")
    check_tree_size(dest, label)
    return Cloned(sha, ref, date, git_dir, after, version)
