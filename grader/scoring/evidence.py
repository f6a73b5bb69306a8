"""Evidence: the source lines around each finding, with credentials redacted.

Scoring says which lines cost points; this shows them. A snippet is read only from a
regular file inside the submission (never through a symlink), cut to a few lines, and a
line that holds a credential never leaves unredacted.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable

from grader.acquire.workspace import Workspace
from grader.core.models import CriterionScore, Finding, Location

SNIPPET_CONTEXT = 2
MAX_SNIPPET_LINE = 300
SNIPPETS_PER_CRITERION = 10

# Findings whose line holds a credential: the line never reaches a snippet unredacted.
_CREDENTIAL_RULES = frozenset({"hardcoded-secret", "development-secret", "B105", "B106", "B107"})
_STRING_LITERAL = re.compile(r"""(?P<q>["'])(?:(?!(?P=q)).){4,}(?P=q)""")


def _credential_lines(criteria: Iterable[CriterionScore]) -> set[tuple[str, int]]:
    return {
        (f.location.path, f.location.line)
        for c in criteria
        for f in c.findings
        if f.rule_id in _CREDENTIAL_RULES and f.location.line is not None
    }


def _redacted(line: str) -> str:
    return _STRING_LITERAL.sub(lambda m: f"{m.group('q')}«redacted»{m.group('q')}", line)


def _snippet(
    workspace: Workspace, location: Location, secret: set[tuple[str, int]] | None = None
) -> Location:
    """The location with the source lines around it, when they can be read safely; lines
    that hold a credential have their string literals redacted."""
    if location.line is None:
        return location
    if location.cell is not None:
        return _cell_snippet(workspace, location)
    path = workspace.root / location.path
    root = workspace.root.resolve()
    if path.is_symlink() or not path.is_file() or not path.resolve().is_relative_to(root):
        return location
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return location
    start = max(location.line - 1 - SNIPPET_CONTEXT, 0)
    chosen = lines[start : location.line + SNIPPET_CONTEXT]
    if not chosen:
        return location
    secret = secret or set()
    text = "\n".join(
        (_redacted(line) if (location.path, number) in secret else line)[:MAX_SNIPPET_LINE]
        for number, line in enumerate(chosen, start=start + 1)
    )
    return dataclasses.replace(location, snippet=text, snippet_start=start + 1)


def _cell_snippet(workspace: Workspace, location: Location) -> Location:
    """The lines around a finding in a notebook, from its cell's source."""
    cells = [c for n in workspace.notebooks if n.notebook == location.path for c in n.cells]
    source = next((c.source for c in cells if c.number == location.cell), None)
    if source is None or location.line is None:
        return location
    start = max(location.line - 1 - SNIPPET_CONTEXT, 0)
    chosen = source.splitlines()[start : location.line + SNIPPET_CONTEXT]
    if not chosen:
        return location
    text = "\n".join(line[:MAX_SNIPPET_LINE] for line in chosen)
    return dataclasses.replace(location, snippet=text, snippet_start=start + 1)


def with_snippets(
    workspace: Workspace, criteria: Iterable[CriterionScore]
) -> tuple[CriterionScore, ...]:
    """Each criterion's first findings with the source lines around them."""
    criteria = tuple(criteria)
    secret = _credential_lines(criteria)

    def enrich(finding: Finding) -> Finding:
        return dataclasses.replace(finding, location=_snippet(workspace, finding.location, secret))

    return tuple(
        dataclasses.replace(
            c,
            findings=tuple(enrich(f) for f in c.findings[:SNIPPETS_PER_CRITERION])
            + c.findings[SNIPPETS_PER_CRITERION:],
        )
        for c in criteria
    )
