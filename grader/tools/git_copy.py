"""A one-commit git repository in the tests' scratch copy, for code that asks git about
itself.

Some submissions run git as they are imported: ``subprocess.check_output(["git",
"describe", "--always"])`` for a version shown on a page, GitPython's ``Repo(".")``. In
the author's clone that answers; the scratch copy the tests run in has no ``.git`` (the
clone's own is never shown to the sandbox: its config can hold the URL's credentials), so
every test failed at import and the candidate was charged for grader's copy. When the
code calls git, grader commits the copy as it stands, once, and git answers as in a fresh
clone of one commit: a hash, a branch, a clean tree. Code that does not call git gets no
``.git``, so nothing else changes.
"""

from __future__ import annotations

import re
from pathlib import Path

from grader.acquire.git import git_error, run_git
from grader.acquire.workspace import Workspace
from grader.environment.per_grade import PerGrade

COMMIT_TIMEOUT_S = 60.0
# git given as a command: an argv's first word (["git", "describe"]), a shell command
# that reads the repository ("git rev-parse HEAD"), or GitPython, pygit2 or dulwich
# imported.
_CALLS_GIT = re.compile(
    r"""[\[(]\s*["']git["']\s*,"""
    r"""|["']git\s+(?:describe|rev-parse|rev-list|log|show|status|branch|tag|ls-files|diff)\b"""
    r"""|^\s*(?:import\s+(?:[\w.]+\s*,\s*)*(?:git|pygit2|dulwich)\b"""
    r"""|from\s+(?:git|pygit2|dulwich)(?:\.\w+)*\s+import\b)""",
    re.MULTILINE,
)
_AUTHOR = {
    "GIT_AUTHOR_NAME": "grader",
    "GIT_AUTHOR_EMAIL": "grader@localhost",
    "GIT_COMMITTER_NAME": "grader",
    "GIT_COMMITTER_EMAIL": "grader@localhost",
    # A fixed date: the same submission gets the same commit, so the same hash.
    "GIT_AUTHOR_DATE": "2000-01-01T00:00:00+0000",
    "GIT_COMMITTER_DATE": "2000-01-01T00:00:00+0000",
}

_CALLS: PerGrade[bool] = PerGrade()


def calls_git(ws: Workspace) -> bool:
    """Whether the submission's Python code runs git (once per grade)."""
    return _CALLS.get(ws, None, lambda: any(_calls_git(ws, f) for f in ws.python_files))


def _calls_git(ws: Workspace, relative: str) -> bool:
    try:
        text = ws.path(relative).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return _CALLS_GIT.search(text) is not None


def commit_copy(folder: Path) -> str:
    """Make ``folder`` a git repository of one commit holding what it contains (its
    ignored files left out, as a clone would); why not, or ""."""
    steps = (
        ["init", "--quiet", "--initial-branch=main"],
        ["add", "--all"],
        ["commit", "--quiet", "--no-verify", "--allow-empty", "-m", "the submission"],
    )
    for args in steps:
        result = run_git(args, folder, _AUTHOR, COMMIT_TIMEOUT_S)
        if result.exit_code != 0:
            return f"could not commit the tests' copy: {git_error(result.stderr)}"
    return ""


def prepare(ws: Workspace, scratch: Path) -> str:
    """Give the scratch copy a one-commit history when the code calls git; returns why
    that failed, or "" (the tests then run without one, as before)."""
    if calls_git(ws) and not (scratch / ".git").exists():
        return commit_copy(scratch)
    return ""
