"""Design and modularity beyond size: how the code is divided into packages and modules,
how they import each other (grimp), what they do when imported, the state they share,
and the blocks copied between them (pylint's symilar).

Everything is read from the files; nothing of the submission runs. Each metric names the
places that cost points: the import that closes a cycle or points up the layers, the
call that connects at import, the ``global``, the copied block.
"""

from __future__ import annotations

import ast
import time
from collections.abc import Iterable
from pathlib import PurePosixPath

from grader import __version__
from grader.acquire.workspace import Workspace
from grader.core.models import (
    Finding,
    Location,
    Metric,
    MetricSpec,
    Severity,
    ToolResult,
    ToolStatus,
)
from grader.tools import (
    duplication,
    hardcoded_config,
    import_graph,
    layer_leaks,
    module_state,
    repository_files,
)
from grader.tools.base import ToolContext, percent

MAX_FINDINGS_PER_RULE = 20

METRICS = (
    MetricSpec(
        "design.packaged_share",
        "%",
        "Lines of non-test code inside the submission's own packages (folders with "
        "__init__.py), as grimp finds them; scripts side by side at the top are flat.",
    ),
    MetricSpec(
        "design.code_modules",
        "modules",
        "Non-test modules that hold code (an empty __init__.py is not one): everything in "
        "one or two modules is flat.",
    ),
    MetricSpec(
        "design.import_cycle_share",
        "%",
        "Package modules that import each other in a cycle (grimp's import graph).",
    ),
    MetricSpec(
        "design.upward_imports",
        "imports",
        "Imports from a lower layer (storage, repository, db, models, core, domain, "
        "services) of a higher one (routes, api, views, cli, main, app).",
    ),
    MetricSpec(
        "design.import_side_effects",
        "calls",
        "Module-level calls that connect, build a client or engine, or do I/O when the "
        "module is imported (outside if __name__ == '__main__').",
    ),
    MetricSpec(
        "design.framework_in_core",
        "modules",
        "Storage, models, services or domain modules that import a web framework's HTTP "
        "layer (FastAPI, Flask, django.http, DRF, ...), each counted once.",
    ),
    MetricSpec(
        "design.global_state",
        "places",
        "global statements in functions, and module-level lists, dicts and sets that "
        "functions mutate.",
    ),
    MetricSpec(
        "design.hardcoded_addresses",
        "places",
        "Database, cache or broker URLs written into non-test code outside the settings "
        "module, a settings class or the fallback of an environment read.",
    ),
    MetricSpec(
        "design.duplicated_share",
        "%",
        f"Non-test lines in blocks of {duplication.MIN_LINES}+ lines copied elsewhere "
        "(pylint's similarity checker).",
    ),
)


def _finding(rule: str, message: str, path: str, line: int | None) -> Finding:
    return Finding("design", rule, message, Severity.LOW, Location(path, line))


def _parse(ws: Workspace, relative: str) -> ast.Module | None:
    try:
        return ast.parse(ws.path(relative).read_bytes())
    except (SyntaxError, ValueError, RecursionError, OSError):
        return None


def _lines(ws: Workspace, relative: str) -> int:
    try:
        text = ws.path(relative).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return 0
    return sum(1 for line in text.splitlines() if line.strip() and not line.strip().startswith("#"))


def _imported_names(trees: Iterable[ast.Module]) -> set[str]:
    """Every name an import statement in ``trees`` mentions: each part of a dotted module
    and each name taken from one (``from app import database`` gives app and database)."""
    names: set[str] = set()
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names.update(part for alias in node.names for part in alias.name.split("."))
            elif isinstance(node, ast.ImportFrom):
                names.update((node.module or "").split("."))
                names.update(alias.name for alias in node.names)
    return names


def _module_name(relative: str) -> str:
    path = PurePosixPath(relative)
    return path.parent.name if path.name == "__init__.py" else path.stem


def _own_code(ws: Workspace) -> list[str]:
    """The code files the candidate wrote as the product: generated migrations are a
    tool's output, which Django and Alembic put inside the candidate's packages (mypy and
    radon leave them out too), and would count as packaged, layered modules; the files
    that configure tools (setup.py, noxfile.py, manage.py) belong beside the packages."""
    left_out = {*ws.migrations, *repository_files.tooling_files(ws.source_files)}
    return [f for f in ws.source_files if f not in left_out]


def _module_metrics(ws: Workspace, findings: list[Finding]) -> tuple[Metric, ...]:
    effects = shared = modules = leaks = addresses = 0
    skipped = {path for path, _ in ws.unparsable}
    trees = {
        relative: tree
        for relative in ws.python_files
        if relative not in skipped and (tree := _parse(ws, relative)) is not None
    }
    # A module no other file imports is a script run directly (manage.py, docs/conf.py,
    # a notebook): work it does at the top is what running it means, not a side effect.
    imported = _imported_names(trees.values())
    apps = import_graph.django_apps(ws)
    for relative in _own_code(ws):
        tree = trees.get(relative)
        if tree is None:
            continue
        if tree.body and not relative.endswith("__init__.py"):
            modules += 1
        effects_here = module_state.import_side_effects(tree)
        for place in effects_here if _module_name(relative) in imported else ():
            effects += 1
            findings.append(_finding("import-side-effect", place.message, relative, place.line))
        for place in layer_leaks.leaks(relative, tree, apps):
            leaks += 1
            findings.append(_finding("framework-in-core", place.message, relative, place.line))
        for place in module_state.global_state(tree):
            shared += 1
            findings.append(_finding("global-state", place.message, relative, place.line))
        for place in hardcoded_config.places(relative, tree):
            addresses += 1
            findings.append(_finding("hardcoded-address", place.message, relative, place.line))
    return (
        Metric("design.code_modules", modules, "modules", "design"),
        Metric("design.import_side_effects", effects, "calls", "design"),
        Metric("design.global_state", shared, "places", "design"),
        Metric("design.framework_in_core", leaks, "modules", "design"),
        Metric("design.hardcoded_addresses", addresses, "places", "design"),
    )


def _graph_metrics(ctx: ToolContext, findings: list[Finding]) -> tuple[Metric, ...]:
    ws = ctx.workspace
    graph = import_graph.build(ctx)
    if isinstance(graph, str):
        return tuple(
            Metric(name, None, unit, "design", graph)
            for name, unit in (
                ("design.packaged_share", "%"),
                ("design.import_cycle_share", "%"),
                ("design.upward_imports", "imports"),
            )
        )
    all_lines = sum(_lines(ws, f) for f in _own_code(ws))
    # From the layout, not the graph: a package named like one grader itself imports
    # (its own, when grader grades itself) is still the candidate's package.
    folders = import_graph.package_folders(ws)
    packaged = sum(_lines(ws, f) for f in _own_code(ws) if PurePosixPath(f).parent in folders)
    flat = "no package of the submission's own: its modules are scripts side by side"
    if folders:
        flat = (
            "its packages are named like modules grader itself imports, so their imports "
            "were not read (grader never loads the submission in place of its own modules)"
        )
    if not graph.files:
        return (
            Metric("design.packaged_share", percent(packaged, all_lines), "%", "design", "no code"),
            Metric("design.import_cycle_share", None, "%", "design", flat),
            Metric("design.upward_imports", None, "imports", "design", flat),
        )
    groups = import_graph.cycles(graph)
    for group in groups:
        members = set(group)
        closing = next(i for i in graph.imports if i.importer in members and i.imported in members)
        findings.append(
            _finding(
                "import-cycle",
                f"{closing.importer} imports {closing.imported}: an import cycle of "
                f"{', '.join(group)}",
                closing.path,
                closing.line,
            )
        )
    apps = import_graph.django_apps(ws)
    for imp in import_graph.upward_imports(graph, apps):
        findings.append(
            _finding(
                "upward-import",
                f"{imp.importer} (a lower layer) imports {imp.imported} (a higher layer)",
                imp.path,
                imp.line,
            )
        )
    in_cycles = sum(len(g) for g in groups)
    upward = len(import_graph.upward_imports(graph, apps))
    return (
        Metric("design.packaged_share", percent(packaged, all_lines), "%", "design", "no code"),
        Metric("design.import_cycle_share", percent(in_cycles, len(graph.files)), "%", "design"),
        Metric("design.upward_imports", upward, "imports", "design"),
    )


def _duplication_metric(ws: Workspace, findings: list[Finding]) -> Metric:
    share, blocks = duplication.duplicated(ws)
    for block in blocks:
        path, first, last = block.places[0]
        copies = ", ".join(f"{p}:{a}-{b}" for p, a, b in block.places[1:])
        findings.append(
            _finding(
                "duplicate-code",
                f"{block.lines} lines ({path}:{first}-{last}) repeated at {copies}",
                path,
                first,
            )
        )
    too_many = len(ws.source_files) > duplication.MAX_FILES
    reason = duplication.TOO_MANY if too_many else "no non-test code"
    return Metric("design.duplicated_share", share, "%", "design", reason)


def _capped(findings: list[Finding]) -> tuple[Finding, ...]:
    kept: list[Finding] = []
    counts: dict[str, int] = {}
    for finding in findings:
        counts[finding.rule_id] = counts.get(finding.rule_id, 0) + 1
        if counts[finding.rule_id] <= MAX_FINDINGS_PER_RULE:
            kept.append(finding)
    return tuple(kept)


class Design:
    """Package structure, import graph, import-time effects, shared state, duplication."""

    name = "design"
    metrics = METRICS

    def version(self) -> str:
        """grader's own readers over grimp and pylint's symilar."""
        return __version__

    def run(self, ctx: ToolContext) -> ToolResult:
        """Read the files and the import graph; nothing is run."""
        started = time.monotonic()
        findings: list[Finding] = []
        metrics = (
            *_graph_metrics(ctx, findings),
            *_module_metrics(ctx.workspace, findings),
            _duplication_metric(ctx.workspace, findings),
        )
        return ToolResult(
            tool=self.name,
            version=self.version(),
            status=ToolStatus.OK,
            findings=_capped(findings),
            metrics=tuple(
                m if m.value is None else Metric(m.name, m.value, m.unit, m.source) for m in metrics
            ),
            duration_s=time.monotonic() - started,
        )
