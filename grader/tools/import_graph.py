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

import importlib.machinery
import json
import os
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
        if _importable_by_the_probe(name):
            continue
        found[name] = "" if str(folder.parent) == "." else str(folder.parent)
    return found


def _importable_by_the_probe(name: str) -> bool:
    """Whether the probe's interpreter (isolated: no current folder, no PYTHONPATH) finds
    a top-level module ``name`` on its own. The folder grader was started from is not
    its: a candidate's ``scripts`` package is not grader's checkout's ``scripts``."""
    if name in sys.builtin_module_names:
        return True
    own = {Path(p).resolve() for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p}
    own.add(Path.cwd().resolve())
    path = [p for p in sys.path if p and Path(p).resolve() not in own]
    return importlib.machinery.PathFinder.find_spec(name, path) is not None


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


def django_apps(ws: Workspace) -> frozenset[str]:
    """Folders that are Django apps (an ``apps.py`` declaring an AppConfig). An app holds
    every layer of its own (models, views, serializers, mixins) whatever it is called: a
    ``core`` or ``common`` app is no storage layer, its ``models.py`` still is."""
    found = set()
    for relative in ws.python_files:
        path = PurePosixPath(relative)
        if path.name != "apps.py":
            continue
        try:
            text = ws.path(relative).read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        if "AppConfig" in text:
            found.add(path.parent.as_posix())
    return frozenset(found)


def path_parts(relative: str, apps: frozenset[str] = frozenset()) -> list[str]:
    """The parts of a file's path that can name its layer: below the Django app that
    holds it, if any, without ``src`` and ``__init__``."""
    path = PurePosixPath(relative)
    parts = [*path.parent.parts, path.stem]
    holding = [len(PurePosixPath(app).parts) for app in apps if path.is_relative_to(app)]
    if holding:
        parts = parts[max(holding) :]
    return [p for p in parts if p not in {"src", "__init__"}]


def _level_of(graph: ImportGraph, module: str, apps: frozenset[str]) -> str | None:
    file = graph.files.get(module)
    if file is not None and any(PurePosixPath(file).is_relative_to(app) for app in apps):
        return level_of_parts(path_parts(file, apps))
    return level(module)


def level_of_parts(parts: Sequence[str]) -> str | None:
    """'lower', 'higher' or None, from the deepest of ``parts`` that names a layer."""
    for part in reversed(parts):
        if part in LOWER:
            return "lower"
        if part in HIGHER:
            return "higher"
    return None


def upward_imports(graph: ImportGraph, apps: frozenset[str] = frozenset()) -> list[Import]:
    """Imports from a lower-level module of a higher-level one, one per pair of modules
    (in a Django app, the layer is read below the app: see django_apps)."""
    seen: set[tuple[str, str]] = set()
    found = []
    for imp in sorted(graph.imports, key=lambda i: (i.path, i.line)):
        pair = (imp.importer, imp.imported)
        upward = (
            _level_of(graph, imp.importer, apps) == "lower"
            and _level_of(graph, imp.imported, apps) == "higher"
        )
        if upward and pair not in seen and not _related(*pair):
            seen.add(pair)
            found.append(imp)
    return found
