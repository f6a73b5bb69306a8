"""The README: which of the sections a reviewer expects (installation, usage, testing,
design, deployment) its headings cover.

Markdown (ATX and setext) and reStructuredText headings are read, outside fenced code
blocks; a section counts when any heading holds one of its words.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from grader.acquire.workspace import Workspace

README_SECTIONS = {
    "installation": ("install", "setup", "getting started", "requirements"),
    "usage": ("usage", "example", "how to run", "running", "quick start", "quickstart"),
    "testing": ("test",),
    "design": ("design", "architecture", "structure", "overview", "approach"),
    "deployment": ("deploy", "docker", "infrastructure", "production"),
}


def find_readme(ws: Workspace) -> str | None:
    """The README at the root (any extension), if there is one."""
    names = [f for f in ws.files if "/" not in f and PurePosixPath(f).stem.upper() == "README"]
    return names[0] if names else None


_ATX_HEADING = re.compile(r"#{1,6}\s*(\S.*)")
# A title underlined (Markdown's setext, reStructuredText) with a run of one punctuation mark.
_UNDERLINE = re.compile(r"([=\-~^*+#`'\".:_])\1{2,}\s*")


def _headings(text: str) -> list[str]:
    """Markdown (``# Title``, setext) and reStructuredText headings, outside code blocks."""
    lines = text.splitlines()
    found: list[str] = []
    fenced = False
    for index, line in enumerate(lines):
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
            continue
        if fenced or line[:1].isspace():
            continue
        atx = _ATX_HEADING.fullmatch(line)
        underline = lines[index + 1] if index + 1 < len(lines) else ""
        if atx:
            found.append(atx.group(1).strip("# ").lower())
        elif line.strip() and _UNDERLINE.fullmatch(underline) and not _UNDERLINE.fullmatch(line):
            found.append(line.strip().lower())
    return found


def readme_score(ws: Workspace) -> tuple[float, list[str]]:
    """The share of expected sections the README covers, and the sections it lacks."""
    readme = find_readme(ws)
    if readme is None:
        return 0.0, list(README_SECTIONS)
    headings = _headings(ws.path(readme).read_text(encoding="utf-8", errors="replace")[:200_000])
    missing = [
        section
        for section, words in README_SECTIONS.items()
        if not any(word in heading for heading in headings for word in words)
    ]
    return 100.0 * (len(README_SECTIONS) - len(missing)) / len(README_SECTIONS), missing
