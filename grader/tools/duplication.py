"""Copied blocks of code, found by pylint's similarity checker (symilar).

Runs in-process on the non-test files: symilar compares lines after stripping comments,
docstrings, imports and function signatures, and reports every block of at least
``MIN_LINES`` such lines that appears in two places. The duplicated share is what
pylint itself reports: each block's length times its extra copies, over all lines.
"""

from __future__ import annotations

import ast
import io
from dataclasses import dataclass
from typing import TYPE_CHECKING

from grader.acquire.workspace import Workspace

if TYPE_CHECKING:
    from astroid import nodes

MIN_LINES = 6
MAX_FILE_BYTES = 500_000
# symilar compares every pair of files: beyond this many, a take-home is something else
# (a vendored library, generated code) and the comparison is left out, saying so.
MAX_FILES = 400
TOO_MANY = f"more than {MAX_FILES} non-test files to compare"


@dataclass(frozen=True)
class Block:
    """One duplicated block: how many lines, and every (path, first line, last line)."""

    lines: int
    places: tuple[tuple[str, int, int], ...]


def _tree(text: str) -> nodes.Module | None:
    """The tree symilar reads imports and signatures from, built without astroid's
    inference transforms: they cost four fifths of the comparison and change no line."""
    import astroid  # noqa: PLC0415 (loaded in duplicated)

    try:
        return astroid.parse(text, apply_transforms=False)
    except (astroid.AstroidError, RecursionError, ValueError):
        return None


def _export_lists(text: str) -> list[tuple[int, int]]:
    """(first, last) lines of the module's ``__all__`` assignments: a package re-exporting
    its modules' names repeats their lists by design, and no logic is copied."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    spans = []
    for node in tree.body:
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        if any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
            spans.append((node.lineno, node.end_lineno or node.lineno))
    return spans


def _inside(spans: list[tuple[int, int]], first: int, last: int) -> bool:
    return any(start <= first and last <= end for start, end in spans)


def duplicated(ws: Workspace) -> tuple[float | None, list[Block]]:
    """The share of non-test lines that repeat another block, and the blocks; None when
    there is no non-test code or too much to compare."""
    if len(ws.source_files) > MAX_FILES:
        return None, []
    # Imported here, not at the top: pylint and astroid take 70 ms to import, which the
    # design analyser can spend while the tests run rather than before they start.
    from pylint.checkers.symilar import Symilar  # noqa: PLC0415

    symilar = Symilar(
        min_lines=MIN_LINES,
        ignore_comments=True,
        ignore_docstrings=True,
        ignore_imports=True,
        ignore_signatures=True,
    )
    unparsable = {path for path, _ in ws.unparsable} | set(ws.migrations)
    exports: dict[str, list[tuple[int, int]]] = {}
    for relative in ws.source_files:
        if relative in unparsable:
            continue
        data = ws.path(relative).read_bytes()
        if len(data) > MAX_FILE_BYTES:
            continue
        text = data.decode("utf-8", errors="replace")
        exports[relative] = _export_lists(text)
        symilar.append_stream(relative, io.StringIO(text), tree=_tree(text))
    total = sum(len(lineset) for lineset in symilar.linesets)
    if not total:
        return None, []
    blocks = []
    repeated = 0
    # _compute_sims is what pylint's own checker and command line report from (pinned).
    for lines, couples in symilar._compute_sims():
        places = tuple(sorted((lineset.name, start + 1, end) for lineset, start, end in couples))
        if all(_inside(exports.get(path, []), first, last) for path, first, last in places):
            continue
        blocks.append(Block(lines, places))
        repeated += lines * (len(couples) - 1)
    return round(100.0 * repeated / total, 2), blocks
