"""A README's Python examples that use the repository's own code.

A library is not run by a command: its README shows it in use, in a Python block that
imports the package (``from itsdangerous import URLSafeSerializer``), which a reader
runs as it stands once the package is installed. Such an example is the library's
working "run" command. It counts when it parses (an interactive session's ``>>>`` and
``...`` lines are read without their prompts, its output lines left out) and imports a
module the repository provides.
"""

from __future__ import annotations

import ast
import re

from markdown_it.token import Token

from grader.acquire.workspace import Workspace
from grader.environment.imports import local_names
from grader.tools.command_checks import Verdict

_PYTHON_BLOCKS = frozenset({"python", "py", "python3", "pycon", "ipython", "pytb"})
_PROMPT = re.compile(r"^(>>>|\.\.\.)( |$)")
# Folders every repository may have: importing them is no use of the submission's code.
_NOT_THE_CODE = frozenset({"tests", "test", "docs", "doc", "setup", "conftest", "noxfile"})


def _source(block: str) -> str:
    """The code of a block: an interactive session's input lines without their prompts."""
    lines = block.splitlines()
    if not any(_PROMPT.match(line) for line in lines):
        return block
    return "\n".join(_PROMPT.sub("", line) for line in lines if _PROMPT.match(line))


def _imported(source: str) -> set[str]:
    """Top-level modules ``source`` imports, or none when it does not parse."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return set()
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    return names


def examples(ws: Workspace, tokens: list[Token]) -> list[tuple[int, str, Verdict]]:
    """(line, description, verdict) of each Python block using the repository's code."""
    own = local_names(ws) - _NOT_THE_CODE
    found = []
    for token in tokens:
        language = token.info.strip().lower().split()[:1]
        if token.type != "fence" or not language or language[0] not in _PYTHON_BLOCKS:
            continue
        used = sorted(_imported(_source(token.content)) & own)
        if used:
            line = (token.map or [0])[0] + 1
            found.append((line, f"a Python example using {used[0]}", Verdict("run", True)))
    return found
