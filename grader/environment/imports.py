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
from dataclasses import dataclass
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


def _statements(tree: ast.Module) -> Iterator[tuple[ast.AST, bool]]:
    """``ast.walk`` restricted to statements (and the except and case clauses holding
    them), in the same order, each with whether it is guarded: inside a ``try`` that
    catches a failed import, or in that ``try``'s handlers (the fallback), or under ``if
    TYPE_CHECKING:``, which only a type checker reads. Imports are
    statements, and an expression never holds one, so the expressions, most of a tree,
    need not be visited."""
    pending: deque[tuple[ast.AST, bool]] = deque([(tree, False)])
    while pending:
        node, guarded = pending.popleft()
        yield node, guarded
        shielded: set[int] = set()
        if isinstance(node, ast.Try | ast.TryStar) and any(map(_catches_imports, node.handlers)):
            shielded = {id(child) for child in (*node.body, *node.handlers)}
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            shielded = {id(child) for child in node.body}
        pending.extend(
            (child, guarded or id(child) in shielded)
            for child in ast.iter_child_nodes(node)
            if isinstance(child, _HOLDS_STATEMENTS)
        )


_HOLDS_STATEMENTS = (ast.stmt, ast.excepthandler, ast.match_case)
_IMPORT_ERRORS = frozenset({"ImportError", "ModuleNotFoundError", "Exception", "BaseException"})


def _is_type_checking(test: ast.expr) -> bool:
    """``TYPE_CHECKING`` or ``typing.TYPE_CHECKING`` (under any alias of typing)."""
    if isinstance(test, ast.Attribute):
        return test.attr == "TYPE_CHECKING"
    return isinstance(test, ast.Name) and test.id == "TYPE_CHECKING"


def _catches_imports(handler: ast.excepthandler) -> bool:
    """Whether an except clause catches a failed import (a bare ``except`` does)."""
    if not isinstance(handler, ast.ExceptHandler) or handler.type is None:
        return True
    caught = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any(isinstance(c, ast.Name) and c.id in _IMPORT_ERRORS for c in caught)


@dataclass(frozen=True)
class Imported:
    """One import: the dotted module, its line, and whether the code runs without it (it
    is guarded by a ``try`` that catches the failure, is that ``try``'s fallback, or is
    read only by type checkers)."""

    module: str
    line: int
    optional: bool


@functools.lru_cache(maxsize=4096)
def _file_imports(path: Path, size: int, modified_ns: int) -> tuple[Imported, ...]:
    """Each import in a file, in ``ast.walk`` order; keyed by the file's size and
    modification time, so the tools and the test environment that all ask about the
    same files parse each once. ``from a.b import c`` is ``a.b.c``: ``c`` may be a
    submodule, which is what tells namespace packages apart (``from google.cloud import
    storage``)."""
    del size, modified_ns  # part of the cache key only
    try:
        tree = ast.parse(path.read_bytes())
    except (SyntaxError, ValueError, RecursionError, MemoryError, OSError):
        return ()  # facts reports unparsable files
    found: list[Imported] = []
    for node, optional in _statements(tree):
        if isinstance(node, ast.Import):
            found += [Imported(alias.name, node.lineno, optional) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found += [
                Imported(
                    node.module if alias.name == "*" else f"{node.module}.{alias.name}",
                    node.lineno,
                    optional,
                )
                for alias in node.names
            ]
    return tuple(found)


_PARSING = threading.Lock()


def _each_import(ws: Workspace, files: Iterable[str]) -> Iterator[tuple[str, Imported]]:
    """(file, import) of every import in ``files``."""
    for relative in files:
        path = ws.path(relative)
        try:
            info = path.stat()
        except OSError:
            continue
        # Tools running side by side ask at once: one parses, the others then find it done.
        with _PARSING:
            listed = _file_imports(path, info.st_size, info.st_mtime_ns)
        for imported in listed:
            yield relative, imported


def modules_by_file(ws: Workspace, files: Iterable[str]) -> dict[str, set[str]]:
    """The dotted modules each of ``files`` imports (from the cached parse)."""
    found: dict[str, set[str]] = {}
    for relative, imported in _each_import(ws, files):
        found.setdefault(relative, set()).add(imported.module)
    return found


def modules(
    ws: Workspace, files: Iterable[str] | None = None, *, required: bool = False
) -> dict[str, Location]:
    """Dotted module names imported in ``files`` (default: all), with their first place;
    with ``required``, only those some file cannot run without (see ``Imported``)."""
    found: dict[str, Location] = {}
    for relative, imported in _each_import(ws, ws.python_files if files is None else files):
        if not (required and imported.optional):
            found.setdefault(imported.module, Location(relative, imported.line))
    return found


def third_party_modules(
    ws: Workspace, files: Iterable[str] | None = None, *, required: bool = False
) -> dict[str, Location]:
    """Dotted imports whose top level is neither the standard library's nor the
    submission's own, with their first place (``required``: see ``modules``)."""
    not_third_party = sys.stdlib_module_names | local_names(ws)
    return {
        module: where
        for module, where in modules(ws, files, required=required).items()
        if module.split(".")[0] not in not_third_party
    }


def third_party(ws: Workspace, files: Iterable[str] | None = None) -> dict[str, Location]:
    """Imported top-level modules that are neither the standard library's nor the
    submission's own."""
    found: dict[str, Location] = {}
    for module, where in third_party_modules(ws, files).items():
        found.setdefault(module.split(".")[0], where)
    return found
