"""Files written for a newer Python than the one grader runs on.

mypy, bandit, radon and grader's own facts parse with the host's interpreter. A
submission whose ``requires-python`` excludes it (``>=3.12`` on a 3.11 host) may use
syntax that interpreter cannot parse: type parameter lists, ``type`` aliases, PEP 701
f-strings. Such a file is not broken, and charging it as unparsable would charge the
candidate for the host's age. ruff's parser knows every version: it checks each of those
files against the oldest Python the submission accepts. A file valid there is the host's
limit (not charged, listed, and warned about in the header); a file invalid there is
charged as before, so declaring a newer Python never hides broken code. What the host's
tools cannot read of such a file, ruff reads for them (``ruff_parsed``).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass

from packaging.specifiers import InvalidSpecifier, SpecifierSet

from grader.acquire.workspace import Workspace
from grader.environment import requirements
from grader.tools.base import ToolContext, python_module, run_static

# ruff's --target-version knows these minor versions of Python 3.
NEWEST_MINOR = 14
_SYNTAX_ERRORS = frozenset({None, "invalid-syntax", "E999"})


@dataclass(frozen=True)
class NewerSyntax:
    """The unparsable files that are valid Python for the version the submission asks for."""

    version: str = ""
    """'3.12': the oldest Python the submission accepts, newer than the host's."""
    files: frozenset[str] = frozenset()

    def warning(self) -> str:
        """The header line, or '' when there is nothing to say."""
        if not self.files:
            return ""
        host = f"{sys.version_info.major}.{sys.version_info.minor}"
        return (
            f"{len(self.files)} file(s) use Python {self.version} syntax, as requires-python "
            f"allows; this host's Python {host} cannot parse them: ruff's parser reads their "
            "lint, security checks and complexity, mypy cannot, and their syntax is not charged"
        )


def oldest_accepted(requires_python: str | None) -> str:
    """'3.12' when ``requires-python`` excludes the host's Python, else ''."""
    if not requires_python:
        return ""
    try:
        accepted = SpecifierSet(requires_python)
    except InvalidSpecifier:
        return ""
    host = sys.version_info.minor
    if accepted.contains(f"3.{host}", prereleases=True):
        return ""
    newer = (m for m in range(host + 1, NEWEST_MINOR + 1) if accepted.contains(f"3.{m}"))
    return next((f"3.{minor}" for minor in newer), "")


def candidates(ws: Workspace) -> frozenset[str]:
    """Files the host's parser rejected while the submission asks for a newer Python:
    ruff lints them for that Python, and radon counts their lines (its line count only
    tokenizes); facts decides which are truly broken."""
    if not oldest_accepted(requirements.read(ws).requires_python):
        return frozenset()
    return frozenset(f for f, problem in ws.unparsable if problem.startswith("not valid"))


def find(ctx: ToolContext, requires_python: str | None) -> NewerSyntax:
    """The files the host's parser rejected that ruff accepts for the requested Python."""
    version = oldest_accepted(requires_python)
    rejected = [f for f, problem in ctx.workspace.unparsable if problem.startswith("not valid")]
    if not version or not rejected:
        return NewerSyntax()
    target = "py3" + version.split(".")[1]
    paths = {str(ctx.workspace.path(f)): f for f in rejected}
    argv = python_module(
        "ruff", "check", "--isolated", "--no-cache", "--exit-zero", "--select", "E902",
        "--target-version", target, "--output-format", "json", "--", *paths,
    )  # fmt: skip
    result = run_static(ctx, argv)
    try:
        diagnostics = json.loads(result.stdout)
    except json.JSONDecodeError:
        return NewerSyntax()  # unknown: charged as before
    invalid = {
        paths.get(item.get("filename", ""))
        for item in diagnostics
        if isinstance(item, dict) and item.get("code") in _SYNTAX_ERRORS
    }
    valid = frozenset(f for f in rejected if f not in invalid)
    return NewerSyntax(version, valid) if valid else NewerSyntax()
