"""Python sources saved in a legacy encoding their coding line declares (PEP 263).

``# -*- coding: latin-1 -*-`` makes a file valid Python whatever bytes its strings hold,
but ruff and radon read only UTF-8: such a file would be reported as unreadable and left
out of every measure. grader's private copy of each one is rewritten once, before any
tool runs, as UTF-8 with the declaration taken out of its comment. The code means the
same (PEP 263 decodes the whole file before compiling; bytes literals can hold only
ASCII) and every line keeps its number, so findings point at the candidate's lines.
"""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

from grader.acquire.workspace import Workspace

_UTF8 = frozenset({"utf-8", "utf-8-sig"})
# PEP 263's declaration, in a comment on one of the first two lines: the comment stays.
_DECLARATION = re.compile(r"^([ \t\f]*#.*?)coding[:=][ \t]*[-\w.]+", re.MULTILINE)


def _declared(data: bytes) -> str:
    """The encoding a source declares, or 'utf-8' when it declares none or a bad one."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError:
        return "utf-8"
    return encoding


def _as_utf8(data: bytes, encoding: str) -> bytes | None:
    """``data`` re-encoded as UTF-8 without its declaration, or None when it does not
    decode in the encoding it declares (then it is unparsable, and reported as such)."""
    try:
        text = data.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None
    head = "\n".join(text.split("\n", 2)[:2])
    # The declaration goes (UTF-8 needs none, and linters flag one); the line stays, so
    # every line keeps its number.
    rewritten, found = _DECLARATION.subn(r"\1", head, count=1)
    if not found:
        return None
    return (rewritten + text[len(head) :]).encode("utf-8")


def to_utf8(workspace: Workspace) -> tuple[tuple[str, str], ...]:
    """Rewrite the private copy's legacy-encoded Python files as UTF-8; returns each
    rewritten path with the encoding it declared."""
    rewritten: list[tuple[str, str]] = []
    for relative in workspace.python_files:
        path: Path = workspace.root / relative
        try:
            if path.is_symlink() or not path.is_file():
                continue
            data = path.read_bytes()
        except OSError:
            continue
        encoding = _declared(data)
        if encoding in _UTF8:
            continue
        utf8 = _as_utf8(data, encoding)
        if utf8 is not None:
            path.write_bytes(utf8)
            rewritten.append((relative, encoding))
    return tuple(rewritten)
