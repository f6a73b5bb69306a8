"""``.env`` files written into the tests' scratch copy (see run_settings.dotenv_copies).

Only into the scratch copy the sandbox runs, never the workspace the static tools read;
only where the submission has no file of that name; never through a link (the copy keeps
the candidate's symlinks, so a folder could point outside it).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path


def write(scratch: Path, copies: Mapping[str, str]) -> list[str]:
    """Write each ``.env`` of ``copies`` under ``scratch``; the ones written."""
    root = scratch.resolve()
    written = []
    for relative, text in copies.items():
        target = scratch / relative
        if not target.parent.resolve().is_relative_to(root) or target.parent.is_symlink():
            continue
        try:
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
        except OSError:
            continue  # there already, or not a folder: the candidate's own stays
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            stream.write(text)
        written.append(relative)
    return written
