"""Which third-party modules a submission imports, and where.

Read statically with ``ast``; nothing is imported or run. Shared by the dependency check
(undeclared and unused requirements), the test environment's notes and requirement-source
selection (an auxiliary requirements file is used only when the code imports something
only it declares). Which distribution provides a module is ``providers``' question.
"""

from __future__ import annotations

import ast
import functools
import sys
import threading
from collections import deque
from collections.abc import Iterable, Iterator
from pathlib import Path, PurePosixPath

from grader.acquire.workspace import Workspace
from grader.core.models import Location


def local_names(ws: Workspace) -> set[str]:
    """Module and package names the submission itself provides (files no tool can
    parse included: importing them is still importing the candidate's own code).

    A name is the submission's own where an import can reach it at the top: a module or
    folder in a folder that is not itself a package (the root, ``src/``, a folder of
    scripts run from there, a namespace folder), so ``src.app`` and a script's sibling
    module are the candidate's; a folder deep inside a package (``app/services/redis/``)
    is not a top-level ``redis``, which stays the distribution it is."""
    paths = [PurePosixPath(p) for p in (*ws.python_files, *(f for f, _ in ws.unparsable))]
    packages = {str(path.parent) for path in paths if path.name == "__init__.py"}
    names: set[str] = set()
    for path in paths:
        for depth, part in enumerate(path.parts):
            folder = str(PurePosixPath(*path.parts[:depth])) if depth else "."
            if folder == "." or folder not in packages:
                names.add(part.removesuffix(".py"))
    return names


def run_from_folder(ws: Workspace, module: str) -> str | None:
    """The folder of the submission from which ``module`` is its own code, when only
    running from there reaches it: ``node.crud`` is ``app/node/crud.py`` when the code
    runs from ``app/``. A bare name (``import redis`` beside ``app/services/redis/``)
    proves nothing and gives None, as does a module at the top (see local_names)."""
    parts = module.split(".")
    if len(parts) < 2:  # a package and one of its members
        return None
    return _nested_members(ws).get("/".join(parts[:2]))


@functools.lru_cache(maxsize=8)
def _nested_members(ws: Workspace) -> dict[str, str]:
    """``package/member`` -> the folder holding ``package``, for packages an import can
    reach only from inside that folder; indexed once per workspace, as every import of
    the code (deps, the test environment's note) asks."""
    top = local_names(ws)
    members: dict[str, str] = {}
    for path in (PurePosixPath(p) for p in ws.python_files):
        parts = path.with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        for depth in range(1, len(parts) - 1):
            if parts[depth] not in top:
                key = f"{parts[depth]}/{parts[depth + 1]}"
                members.setdefault(key, str(PurePosixPath(*parts[:depth])))
    return members


def _statements(tree: ast.Module) -> Iterator[ast.AST]:
    """``ast.walk`` restricted to statements (and the except and case clauses holding
    them), in the same order: imports are statements, and an expression never holds one,
    so the expressions, most of a tree, need not be visited."""
    pending: deque[ast.AST] = deque([tree])
    while pending:
        node = pending.popleft()
        yield node
        pending.extend(
            child for child in ast.iter_child_nodes(node) if isinstance(child, _HOLDS_STATEMENTS)
        )


_HOLDS_STATEMENTS = (ast.stmt, ast.excepthandler, ast.match_case)


@functools.lru_cache(maxsize=4096)
def _file_imports(path: Path, size: int, modified_ns: int) -> tuple[tuple[str, int], ...]:
    """(dotted module, line) of each import in a file, in ``ast.walk`` order; keyed by
    the file's size and modification time, so the tools and the test environment that
    all ask about the same files parse each once. ``from a.b import c`` is ``a.b.c``:
    ``c`` may be a submodule, which is what tells namespace packages apart
    (``from google.cloud import storage``)."""
    del size, modified_ns  # part of the cache key only
    try:
        tree = ast.parse(path.read_bytes())
    except (SyntaxError, ValueError, RecursionError, MemoryError, OSError):
        return ()  # facts reports unparsable files
    found: list[tuple[str, int]] = []
    for node in _statements(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found += [
                (node.module if alias.name == "*" else f"{node.module}.{alias.name}", node.lineno)
                for alias in node.names
            ]
    return tuple(found)


_PARSING = threading.Lock()


def _each_import(ws: Workspace, files: Iterable[str]) -> Iterator[tuple[str, str, int]]:
    """(file, dotted module, line) of every import in ``files``."""
    for relative in files:
        path = ws.path(relative)
        try:
            info = path.stat()
        except OSError:
            continue
        # Tools running side by side ask at once: one parses, the others then find it done.
        with _PARSING:
            listed = _file_imports(path, info.st_size, info.st_mtime_ns)
        for module, line in listed:
            yield relative, module, line


def modules_by_file(ws: Workspace, files: Iterable[str]) -> dict[str, set[str]]:
    """The dotted modules each of ``files`` imports (from the cached parse)."""
    found: dict[str, set[str]] = {}
    for relative, module, _ in _each_import(ws, files):
        found.setdefault(relative, set()).add(module)
    return found


def modules(ws: Workspace, files: Iterable[str] | None = None) -> dict[str, Location]:
    """Dotted module names imported in ``files`` (default: all), with their first place."""
    found: dict[str, Location] = {}
    for relative, module, line in _each_import(ws, ws.python_files if files is None else files):
        found.setdefault(module, Location(relative, line))
    return found


def third_party_modules(ws: Workspace, files: Iterable[str] | None = None) -> dict[str, Location]:
    """Dotted imports whose top level is neither the standard library's nor the
    submission's own, with their first place."""
    not_third_party = sys.stdlib_module_names | local_names(ws)
    return {
        module: where
        for module, where in modules(ws, files).items()
        if module.split(".")[0] not in not_third_party
    }


def third_party(ws: Workspace, files: Iterable[str] | None = None) -> dict[str, Location]:
    """Imported top-level modules that are neither the standard library's nor the
    submission's own."""
    found: dict[str, Location] = {}
    for module, where in third_party_modules(ws, files).items():
        found.setdefault(module.split(".")[0], where)
    return found
