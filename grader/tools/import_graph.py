"""How the submission's own packages import each other, read by grimp.

A top-level package is a folder holding ``__init__.py`` whose parent holds none (``src/``
layouts included), or a folder of code at the root or in ``src/`` with no ``__init__.py``
anywhere below (a namespace package). grimp builds the graph in a process of its own
(import_graph_probe), parsing the files without importing them. From the graph:

- cycles: modules that import each other, directly or through others (strongly connected
  components); an import between a package and its own submodule is left out, as that is
  how a package re-exports its parts;
- upward imports: a lower-level module (storage, repository, db, models, core, domain,
  services) importing a higher-level one (routes, api, views, cli, main, app): the
  layering turned upside down. A module's level is read from the deepest part of its
  dotted name that names a level; the top-level package's own name does not count.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from grader.acquire.workspace import Workspace
from grader.core import proc
from grader.tools.base import ToolContext, run_static

LOWER = frozenset(
    {"storage", "store", "stores", "repository", "repositories", "repo", "repos", "db",
     "database", "databases", "models", "model", "core", "domain", "services", "service",
     "entities", "persistence", "dal", "crud"}
)  # fmt: skip
HIGHER = frozenset(
    {"routes", "route", "routers", "router", "api", "apis", "views", "view", "cli", "main",
     "app", "endpoints", "handlers", "web", "controllers", "__main__", "server", "ui"}
)  # fmt: skip
PROBE = Path(__file__).with_name("import_graph_probe.py")


@dataclass(frozen=True)
class Import:
    """One import statement between two of the submission's modules."""

    importer: str
    imported: str
    path: str
    """The importer's file, relative to the submission root."""
    line: int


@dataclass(frozen=True)
class ImportGraph:
    """The submission's non-test package modules (dotted name -> file) and their imports."""

    files: dict[str, str]
    imports: tuple[Import, ...]


def _namespace_packages(ws: Workspace, inits: set[PurePosixPath]) -> set[PurePosixPath]:
    """Folders at the root or in ``src/`` holding code but no ``__init__.py`` anywhere
    below: namespace packages, which Python and grimp import like any other."""
    found = set()
    for source in (PurePosixPath(f) for f in ws.source_files):
        parts = source.parts[1:] if source.parts[0] == "src" else source.parts
        base = PurePosixPath("src") if source.parts[0] == "src" else PurePosixPath()
        if len(parts) > 1:
            found.add(base / parts[0])
    return {f for f in found if not any(f == i or f in i.parents for i in inits)}


def package_folders(ws: Workspace) -> set[PurePosixPath]:
    """Every folder that is a package of the submission's own: one with ``__init__.py``,
    or a namespace package at the root or in ``src/`` (read from the files alone)."""
    inits = {PurePosixPath(f).parent for f in ws.python_files if f.endswith("__init__.py")}
    return inits | _namespace_packages(ws, inits)


def top_packages(ws: Workspace) -> dict[str, str]:
    """Top-level package name -> the folder it sits in ('' for the root), first found wins.

    A name grader's own interpreter already imports (``json``, ``yaml``) is left out: the
    probe could not tell the two apart.
    """
    inits = {PurePosixPath(f).parent for f in ws.python_files if f.endswith("__init__.py")}
    sources = [PurePosixPath(f) for f in ws.source_files]
    found: dict[str, str] = {}
    candidates = inits | _namespace_packages(ws, inits)
    for folder in sorted(candidates, key=lambda p: (len(p.parts), str(p))):
        name = folder.name
        if folder.parent in inits or not name.isidentifier() or name in found:
            continue
        if not any(folder in s.parents for s in sources):
            continue
        if importlib.util.find_spec(name) is not None:
            continue
        found[name] = "" if str(folder.parent) == "." else str(folder.parent)
    return found


def _file_of(module: str, root: str, ws: Workspace) -> str | None:
    base = PurePosixPath(root, *module.split(".")) if root else PurePosixPath(*module.split("."))
    for candidate in (f"{base}.py", f"{base}/__init__.py"):
        if candidate in ws.source_files:
            return candidate
    return None


def build(ctx: ToolContext) -> ImportGraph | str:
    """The import graph, or why it could not be read."""
    ws = ctx.workspace
    packages = top_packages(ws)
    if not packages:
        return ImportGraph({}, ())
    base = ws.root.resolve()
    roots = sorted({str(base / root) if root else str(base) for root in packages.values()})
    request = json.dumps({"roots": roots, "packages": sorted(packages)})
    result = run_static(ctx, [sys.executable, "-I", str(PROBE), request])
    if result.exit_code != 0 or result.timed_out:
        return f"grimp could not read the imports: {proc.tail(result.stderr) or 'no output'}"
    data = json.loads(result.stdout)
    files = {}
    for module in data["modules"]:
        path = _file_of(module, packages[module.split(".")[0]], ws)
        if path is not None:
            files[module] = path
    imports = tuple(
        Import(importer, imported, files[importer], line)
        for importer, imported, line in data["imports"]
        if importer in files and imported in files
    )
    return ImportGraph(files, imports)


def _related(a: str, b: str) -> bool:
    return a.startswith(b + ".") or b.startswith(a + ".")


def _reachable(edges: dict[str, set[str]], start: str) -> set[str]:
    seen: set[str] = set()
    todo = list(edges[start])
    while todo:
        node = todo.pop()
        if node not in seen:
            seen.add(node)
            todo += edges[node]
    return seen


def cycles(graph: ImportGraph) -> list[list[str]]:
    """Groups of modules that import each other, directly or through others (the strongly
    connected components, by reachability: a take-home has tens of modules, not thousands)."""
    edges: dict[str, set[str]] = {m: set() for m in graph.files}
    for imp in graph.imports:
        if not _related(imp.importer, imp.imported) and imp.importer != imp.imported:
            edges[imp.importer].add(imp.imported)
    reach = {module: _reachable(edges, module) for module in edges}
    groups = {
        tuple(sorted({m} | {n for n in reach[m] if m in reach[n]})) for m in edges if m in reach[m]
    }
    return sorted(list(g) for g in groups)


def level(module: str) -> str | None:
    """'lower', 'higher' or None, from the deepest part of the name below the top package."""
    return level_of_parts(module.split(".")[1:])


def level_of_parts(parts: Sequence[str]) -> str | None:
    """'lower', 'higher' or None, from the deepest of ``parts`` that names a layer."""
    for part in reversed(parts):
        if part in LOWER:
            return "lower"
        if part in HIGHER:
            return "higher"
    return None


def upward_imports(graph: ImportGraph) -> list[Import]:
    """Imports from a lower-level module of a higher-level one, one per pair of modules."""
    seen: set[tuple[str, str]] = set()
    found = []
    for imp in sorted(graph.imports, key=lambda i: (i.path, i.line)):
        pair = (imp.importer, imp.imported)
        upward = level(imp.importer) == "lower" and level(imp.imported) == "higher"
        if upward and pair not in seen and not _related(*pair):
            seen.add(pair)
            found.append(imp)
    return found
