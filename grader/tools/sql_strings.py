"""What a string-built SQL statement interpolates: values, or only names.

bandit's B608 flags every query assembled from strings. Interpolating a *value*
(``WHERE id = {user_id}``) is injection; interpolating a table or column name
(``SELECT * FROM {table}``) is what a data pipeline or a migration helper must do, since
query parameters cannot bind identifiers. A reviewer rejects the first on sight and asks
about the second. This reads the statement at the flagged line (an f-string, or a
constant string's ``.format``) and says whether every interpolation stands where an
identifier goes. Anything it cannot read counts as a value: the finding stays charged.
"""

from __future__ import annotations

import ast
import re

# The SQL just before an interpolation that makes it a name: after FROM, INTO, JOIN,
# UPDATE, TABLE, EXISTS, ORDER/GROUP BY, SELECT, or a dot, comma or opening parenthesis
# of a column list; a double quote opens a quoted identifier.
_BEFORE_IDENTIFIER = re.compile(
    r'(?:\b(?:FROM|INTO|JOIN|UPDATE|TABLE|EXISTS|BY|SELECT|AS|ON)|[.,("])\s*$', re.IGNORECASE
)
# A VALUES list or a single-quoted literal: whatever is interpolated there is a value.
_VALUES = re.compile(r"\bVALUES\b|\bSET\b|\bWHERE\b|\bHAVING\b|\bLIMIT\b|\bOFFSET\b", re.I)
_FIELD = re.compile(r"\{[^{}]*\}")


def _pieces(node: ast.expr) -> list[str | None] | None:
    """The statement as text pieces, None standing for each interpolation; None when it
    is not an f-string or a constant string's ``.format(...)``."""
    if isinstance(node, ast.JoinedStr):
        return [
            value.value
            if isinstance(value, ast.Constant) and isinstance(value.value, str)
            else None
            for value in node.values
        ]
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "format"
        and isinstance(node.func.value, ast.Constant)
        and isinstance(node.func.value.value, str)
    ):
        text = node.func.value.value
        parts: list[str | None] = []
        for chunk in _FIELD.split(text)[:-1]:
            parts += [chunk, None]
        return [*parts, _FIELD.split(text)[-1]]
    return None


def _names_only(pieces: list[str | None]) -> bool:
    before = ""
    found = False
    for piece in pieces:
        if piece is not None:
            before += piece
            continue
        found = True
        in_literal = before.count("'") % 2 == 1
        if in_literal or _VALUES.search(before) or not _BEFORE_IDENTIFIER.search(before):
            return False
        before += "x"  # the name itself, for what follows
    return found


def interpolates_names_only(source: str, line: int) -> bool:
    """Whether the string-built statement on ``line`` of ``source`` interpolates only
    identifiers (table and column names), never a value."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError):
        return False
    statements = [
        pieces
        for node in ast.walk(tree)
        if isinstance(node, ast.JoinedStr | ast.Call)
        and node.lineno <= line <= (node.end_lineno or node.lineno)
        and (pieces := _pieces(node)) is not None
        and any(piece is None for piece in pieces)
    ]
    return bool(statements) and all(_names_only(pieces) for pieces in statements)
