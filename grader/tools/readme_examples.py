"""A README's Python examples that use the repository's own code.

A library is not run by a command: its README shows it in use, in a Python block that
imports the package (``from itsdangerous import URLSafeSerializer``), which a reader
runs as it stands once the package is installed. Such an example is the library's
working "run" command. It counts in a repository installable as a package (setup.py,
setup.cfg, or a pyproject.toml with ``[project]`` or ``[tool.poetry]``), when it parses
(an interactive session's ``>>>`` and ``...`` lines are read without their prompts, its
output lines left out) and calls into a module the repository provides: an import
alone shows no use.
"""

from __future__ import annotations

import ast
import re

from markdown_it.token import Token

from grader.acquire.workspace import Workspace
from grader.environment.imports import local_names
from grader.environment.packaging_declarations import pyproject
from grader.tools.command_checks import Verdict
from grader.tools.module_state import dotted, import_bindings

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


def _used(source: str, own: set[str]) -> list[str]:
    """The repository's modules ``source`` imports and then calls into (an import alone
    shows no use), or none when it does not parse."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    bound = import_bindings(tree)
    roots = {
        dotted(node.func).split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Call)
    }
    return sorted({bound[r] for r in roots if r in bound and bound[r] in own})


def _packaged(ws: Workspace) -> bool:
    """Whether the repository is installable as a package, as a library is."""
    data = pyproject(ws)
    return any(name in ws.files for name in ("setup.py", "setup.cfg")) or (
        "project" in data or "poetry" in data.get("tool", {})
    )


def examples(ws: Workspace, tokens: list[Token]) -> list[tuple[int, str, Verdict]]:
    """(line, description, verdict) of each Python block using the repository's code."""
    if not _packaged(ws):
        return []
    own = local_names(ws) - _NOT_THE_CODE
    found = []
    for token in tokens:
        language = token.info.strip().lower().split()[:1]
        if token.type != "fence" or not language or language[0] not in _PYTHON_BLOCKS:
            continue
        used = _used(_source(token.content), own)
        if used:
            line = (token.map or [0])[0] + 1
            found.append((line, f"a Python example using {used[0]}", Verdict("run", True)))
    return found
