"""radon: cyclomatic complexity (``cc -j``), maintainability index (``mi -j``) and size
(``raw -j``), plus the module and function size distribution derived from them.

radon reads its settings from the working folder, so it runs from the adapter's private
folder with absolute paths: the candidate's ``radon.cfg`` is never seen.
"""

from __future__ import annotations

import ast
import dataclasses
import json
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from grader.acquire.workspace import Workspace
from grader.core import proc
from grader.core.models import (
    FileStats,
    Finding,
    Location,
    Metric,
    MetricSpec,
    Severity,
    ToolResult,
    ToolStatus,
)
from grader.tools import newer_syntax, ruff_parsed
from grader.tools.base import (
    ToolContext,
    failure,
    package_version,
    python_module,
    relative,
    run_static,
)

COMPLEX_FUNCTION = 10  # radon rank C and worse, McCabe's own threshold
LONG_FUNCTION_LINES = 50
LARGE_MODULE_SLOC = 400
LOW_MAINTAINABILITY = 20.0


METRICS = (
    MetricSpec("code.sloc", "lines", "Source lines of non-test code."),
    MetricSpec("code.test_sloc", "lines", "Source lines of test code."),
    MetricSpec("code.total_sloc", "lines", "Source lines of all Python files."),
    MetricSpec("complexity.mean", "cc", "Mean cyclomatic complexity per function."),
    MetricSpec("complexity.max", "cc", "Highest cyclomatic complexity of any function."),
    MetricSpec(
        "complexity.high_share", "%", f"Functions with complexity above {COMPLEX_FUNCTION}."
    ),
    MetricSpec("maintainability.mi_mean", "MI", "Size-weighted mean maintainability index."),
    MetricSpec("maintainability.mi_min", "MI", "Lowest maintainability index of a module."),
    MetricSpec("design.max_module_sloc", "lines", "Size of the largest module."),
    MetricSpec("design.large_module_share", "%", f"Modules over {LARGE_MODULE_SLOC} source lines."),
    MetricSpec(
        "design.long_function_share", "%", f"Functions over {LONG_FUNCTION_LINES} lines long."
    ),
    MetricSpec("design.mean_function_length", "lines", "Mean length of a function."),
)


@dataclass(frozen=True)
class _Output:
    """One radon command's process result (None when not run) and parsed JSON."""

    result: proc.ProcResult | None
    data: dict[str, Any] | None

    @property
    def json(self) -> dict[str, Any]:
        """The parsed output, empty when radon was not run."""
        return self.data or {}

    @property
    def broken(self) -> bool:
        """radon ran but gave no JSON."""
        return self.data is None and self.result is not None

    @property
    def duration_s(self) -> float:
        """Time the command took."""
        return self.result.duration_s if self.result else 0.0


@dataclass(frozen=True)
class _Block:
    path: str
    name: str
    line: int
    end_line: int
    complexity: int
    docstring_lines: int = 0

    @property
    def length(self) -> int:
        """Lines of the function, its docstring left out: long doctest examples are
        documentation, not design."""
        return self.end_line - self.line + 1 - self.docstring_lines


def _docstring_lines(ws: Workspace, relative: str) -> dict[int, int]:
    """For each function in a file, keyed by its ``def`` line: how long its docstring is."""
    try:
        tree = ast.parse(ws.path(relative).read_bytes())
    except (SyntaxError, ValueError, RecursionError, MemoryError, OSError):
        return {}
    spans: dict[int, int] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
                and first.end_lineno
            ):
                spans[node.lineno] = first.end_lineno - first.lineno + 1
    return spans


def _without_docstrings(ws: Workspace, blocks: list[_Block]) -> list[_Block]:
    spans = {path: _docstring_lines(ws, path) for path in {b.path for b in blocks}}
    return [dataclasses.replace(b, docstring_lines=spans[b.path].get(b.line, 0)) for b in blocks]


def _blocks(raw: dict[str, Any], to_relative: Callable[[str], str]) -> list[_Block]:
    items = [item for value in raw.values() if isinstance(value, list) for item in value]
    # Classes are listed with their methods and the methods again on their own.
    return [
        _Block(
            to_relative(item.get("_path", "")),
            f"{item['classname']}.{item['name']}" if "classname" in item else item["name"],
            item["lineno"],
            item["endline"],
            item["complexity"],
        )
        for item in items
        if item.get("type") in {"function", "method"}
    ]


def _share(part: int, whole: int) -> float | None:
    return 100.0 * part / whole if whole else None


def _mean(values: list[int]) -> float | None:
    return statistics.fmean(values) if values else None


@dataclass(frozen=True)
class _Measurements:
    """radon's three outputs, keyed by path relative to the submission."""

    sloc: dict[str, int]
    code_sloc: dict[str, int]
    blocks: list[_Block]
    mi: dict[str, float]

    @property
    def weighted_mi(self) -> float | None:
        weights = {path: self.code_sloc.get(path, 0) for path in self.mi}
        total = sum(weights.values())
        if not total:
            return None
        return sum(value * weights[path] for path, value in self.mi.items()) / total

    def metrics(self) -> tuple[Metric, ...]:
        code = sum(self.code_sloc.values())
        tests = sum(self.sloc.values()) - code
        cc = [b.complexity for b in self.blocks]
        lengths = [b.length for b in self.blocks]
        no_functions = "no functions in non-test code"
        no_modules = "no non-test modules"
        modules = list(self.code_sloc.values())
        return (
            _metric("code.sloc", code, "lines"),
            _metric("code.test_sloc", tests, "lines"),
            _metric("code.total_sloc", code + tests, "lines"),
            _metric("complexity.mean", _mean(cc), "cc", no_functions),
            _metric("complexity.max", max(cc, default=None), "cc", no_functions),
            _metric(
                "complexity.high_share",
                _share(sum(c > COMPLEX_FUNCTION for c in cc), len(cc)),
                "%",
                no_functions,
            ),
            _metric("maintainability.mi_mean", self.weighted_mi, "MI", no_modules),
            _metric(
                "maintainability.mi_min", min(self.mi.values(), default=None), "MI", no_modules
            ),
            _metric("design.max_module_sloc", max(modules, default=None), "lines", no_modules),
            _metric(
                "design.large_module_share",
                _share(sum(n > LARGE_MODULE_SLOC for n in modules), len(modules)),
                "%",
                no_modules,
            ),
            _metric(
                "design.long_function_share",
                _share(sum(n > LONG_FUNCTION_LINES for n in lengths), len(lengths)),
                "%",
                no_functions,
            ),
            _metric("design.mean_function_length", _mean(lengths), "lines", no_functions),
        )

    def findings(self) -> tuple[Finding, ...]:
        complex_blocks = [
            Finding(
                tool="radon",
                rule_id="complexity",
                message=f"{b.name} has cyclomatic complexity {b.complexity} "
                f"(over {COMPLEX_FUNCTION})",
                severity=Severity.MEDIUM if b.complexity > 2 * COMPLEX_FUNCTION else Severity.LOW,
                location=Location(b.path, b.line, end_line=b.end_line),
            )
            for b in self.blocks
            if b.complexity > COMPLEX_FUNCTION
        ]
        long_blocks = [
            Finding(
                tool="radon",
                rule_id="function-length",
                message=f"{b.name} is {b.length} lines long (over {LONG_FUNCTION_LINES})",
                severity=Severity.LOW,
                location=Location(b.path, b.line, end_line=b.end_line),
            )
            for b in self.blocks
            if b.length > LONG_FUNCTION_LINES
        ]
        low_mi = [
            Finding(
                tool="radon",
                rule_id="maintainability-index",
                message=f"maintainability index {value:.0f} (below {LOW_MAINTAINABILITY:.0f})",
                severity=Severity.LOW,
                location=Location(path),
            )
            for path, value in sorted(self.mi.items())
            if value < LOW_MAINTAINABILITY
        ]
        return (*complex_blocks, *long_blocks, *low_mi)

    def per_file(self) -> tuple[FileStats, ...]:
        worst: dict[str, int] = {}
        for block in self.blocks:
            worst[block.path] = max(worst.get(block.path, 0), block.complexity)
        return tuple(
            FileStats(
                path, sloc=n, max_complexity=worst.get(path), maintainability=self.mi.get(path)
            )
            for path, n in sorted(self.code_sloc.items())
        )


def _measure(
    ctx: ToolContext, raw: dict[str, Any], cc: dict[str, Any], mi: dict[str, Any]
) -> _Measurements:
    def rel(path: str) -> str:
        return relative(ctx, path)

    ws = ctx.workspace
    # Migrations are a tool's output: not code to test, nor lines that dilute each rate.
    generated = set(ws.migrations)
    sloc = {rel(p): v["sloc"] for p, v in raw.items() if "sloc" in v and rel(p) not in generated}
    sources = {*ws.source_files, *(f for f, _ in ws.unparsable if f not in ws.test_files)}
    return _Measurements(
        sloc=sloc,
        code_sloc={p: n for p, n in sloc.items() if p in sources},
        blocks=_without_docstrings(ctx.workspace, _blocks(cc, rel)),
        mi={rel(p): v["mi"] for p, v in mi.items() if "mi" in v},
    )


def _metric(name: str, value: float | None, unit: str, reason: str = "") -> Metric:
    return Metric(name, value, unit, "radon", "" if value is not None else reason)


class Radon:
    """Complexity, maintainability and size of the candidate's code."""

    name = "radon"
    metrics = METRICS

    def version(self) -> str:
        """Installed radon version."""
        return package_version("radon")

    def _json(self, ctx: ToolContext, command: str, files: list[str]) -> _Output:
        if not files:
            return _Output(None, {})
        result = run_static(ctx, python_module("radon", command, "-j", "--", *files))
        try:
            data = json.loads(result.stdout) if result.exit_code == 0 else None
        except json.JSONDecodeError:
            data = None
        # radon names files as given; tag each block with its file for _blocks.
        if command == "cc" and isinstance(data, dict):
            for path, items in data.items():
                for item in items if isinstance(items, list) else []:
                    item["_path"] = path
        return _Output(result, data)

    def run(self, ctx: ToolContext) -> ToolResult:
        """Run radon raw, cc and mi and derive size and complexity metrics."""
        ws = ctx.workspace  # radon reads its config from cwd: always grader's folder
        # Migrations are written by a tool: their size counts, their complexity is not
        # the candidate's design.
        designed = [f for f in ws.source_files if f not in set(ws.migrations)]
        sources = [str(ws.path(f)) for f in designed]
        # Lines of files in newer syntax count too: radon's line count only tokenizes.
        newer = sorted(newer_syntax.candidates(ws))
        raw = self._json(ctx, "raw", [str(ws.path(f)) for f in (*ws.python_files, *newer)])
        cc = self._json(ctx, "cc", sources)
        mi = self._json(ctx, "mi", sources)
        outputs = (raw, cc, mi)
        for output in outputs:
            if output.broken and output.result:
                return failure(
                    self.name, self.version(), output.result, "radon failed", self.metrics
                )
        measured = _measure(ctx, raw.json, cc.json, mi.json)
        # Functions radon cannot parse (newer syntax) are read by ruff's parser instead:
        # leaving them out would score a module nobody measured as if it had no functions.
        unread = [f for f in ruff_parsed.newer_code(ctx) if f not in set(ws.migrations)]
        read_by_ruff = [
            _Block(f.path, f.name, f.line, f.end_line, f.complexity)
            for f in ruff_parsed.functions(ctx, unread)
        ]
        measured = dataclasses.replace(measured, blocks=[*measured.blocks, *read_by_ruff])
        notes = [f"complexity leaves out {len(ws.migrations)} migration files (written by a tool)"]
        if unread:
            notes.append(
                f"{len(unread)} file(s) in a newer Python's syntax: their functions' complexity "
                "comes from ruff's mccabe rule (C901) and their length from indentation"
            )
        return ToolResult(
            tool=self.name,
            version=self.version(),
            status=ToolStatus.OK,
            findings=measured.findings(),
            metrics=measured.metrics(),
            duration_s=sum(o.duration_s for o in outputs),
            per_file=measured.per_file(),
            notes=tuple(notes[0 if ws.migrations else 1 :]),
        )
