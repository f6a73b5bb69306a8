"""Text files as their editors saved them: a byte-order mark decides the encoding.

A requirements file or a settings file saved by a Windows editor is often UTF-16 with a
byte-order mark, or UTF-8 with one; read as plain UTF-8 it looks empty or garbled, and
what it declares is lost. Line endings are normalised to ``\\n``.
"""

from __future__ import annotations

import codecs
from pathlib import Path

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE: it starts with the same bytes
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def decode(data: bytes) -> str:
    """``data`` decoded by its byte-order mark (UTF-8 without one), undecodable bytes
    replaced, CRLF and CR line endings made ``\\n``."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            text = data[len(bom) :].decode(encoding, errors="replace")
            break
    else:
        text = data.decode("utf-8", errors="replace")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def read_text(path: Path) -> str:
    """A configuration or requirements file's text, whatever Unicode encoding it was saved in."""
    return decode(path.read_bytes())
