"""Python files a tool wrote rather than the candidate: installers vendored whole and
modules that are one data literal.

``get-pip.py`` is 2 MB of base85 in a string; analysing it tells a reviewer nothing about
the candidate and keeps radon busy for minutes. Such files are left out of every tool,
as ``--exclude`` would, and the report names them.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

# Bootstrap scripts their projects publish for copying into a repository whole.
VENDORED_NAMES = frozenset({"get-pip.py", "ez_setup.py", "distribute_setup.py", "get-poetry.py"})
# No person writes a line this long; a generator embedding data does.
LONGEST_WRITTEN_LINE = 20_000


def generated(path: Path, relative: str) -> str:
    """Why the file at ``path`` was generated or vendored, or '' when a person wrote it."""
    if PurePosixPath(relative).name in VENDORED_NAMES:
        return "a bootstrap script its project publishes for copying whole"
    try:
        with path.open("rb") as stream:
            for line in stream:
                if len(line) > LONGEST_WRITTEN_LINE:
                    return f"a line of {len(line):,} characters: data a tool embedded"
    except OSError:
        return ""
    return ""
