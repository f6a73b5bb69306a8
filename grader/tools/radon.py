"""radon: cyclomatic complexity (``cc -j``), maintainability index (``mi -j``) and size
(``raw -j``), plus the module and function size distribution derived from them.

radon reads its settings from the working folder, so it runs from the adapter's private
folder with absolute paths: the candidate's ``radon.cfg`` is never seen.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from grader.models import FileStats, Finding, Location, Metric, Severity, ToolResult, ToolStatus
from grader.tools.base import (
    MetricSpec,
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


@dataclass(frozen=True)
class _Block:
    path: str
    name: str
    line: int
    end_line: int
    complexity: int

    @property
    def length(self) -> int:
        return self.end_line - self.line + 1


def _blocks(raw: dict[str, Any], to_relative: Any) -> list[_Block]:
    blocks = []
    for path, items in raw.items():
        if not isinstance(items, list):
            continue  # {"error": ...} for files radon could not parse
        for item in items:
            if item.get("type") in {"function", "method"}:
                name = (
                    f"{item['classname']}.{item['name']}" if "classname" in item else item["name"]
                )
                blocks.append(
                    _Block(
                        to_relative(path), name, item["lineno"], item["endline"], item["complexity"]
                    )
                )
    return blocks


def _share(part: int, whole: int) -> float | None:
    return 100.0 * part / whole if whole else None


def _metric(name: str, value: float | None, unit: str, reason: str = "") -> Metric:
    return Metric(name, value, unit, "radon", "" if value is not None else reason)


class Radon:
    """Complexity, maintainability and size of the candidate's code."""

    name = "radon"
    metrics = (
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
        MetricSpec(
            "design.large_module_share", "%", f"Modules over {LARGE_MODULE_SLOC} source lines."
        ),
        MetricSpec(
            "design.long_function_share", "%", f"Functions over {LONG_FUNCTION_LINES} lines long."
        ),
        MetricSpec("design.mean_function_length", "lines", "Mean length of a function."),
    )

    def version(self) -> str:
        """Installed radon version."""
        return package_version("radon")

    def _json(self, ctx: ToolContext, command: str, files: Iterable[str]) -> Any:
        argv = python_module("radon", command, "-j", "--", *files)
        result = run_static(ctx, argv)
        return result, json.loads(result.stdout) if result.exit_code == 0 else None

    def run(self, ctx: ToolContext) -> ToolResult:
        """Run radon raw, cc and mi and derive size and complexity metrics."""
        ws = ctx.workspace
        all_files = [str(ws.path(f)) for f in ws.python_files]
        sources = [str(ws.path(f)) for f in ws.source_files]
        try:
            raw_result, raw = self._json(ctx, "raw", all_files)
            cc_result, cc = self._json(ctx, "cc", sources) if sources else (raw_result, {})
            mi_result, mi = self._json(ctx, "mi", sources) if sources else (raw_result, {})
        except json.JSONDecodeError:
            return failure(
                self.name, self.version(), raw_result, "radon gave no JSON", self.metrics
            )
        if raw is None or cc is None or mi is None:
            bad = next(
                r for r, v in ((raw_result, raw), (cc_result, cc), (mi_result, mi)) if v is None
            )
            return failure(self.name, self.version(), bad, "radon failed", self.metrics)

        def rel(path: str) -> str:
            return relative(ctx, path)

        sloc = {rel(p): v["sloc"] for p, v in raw.items() if "sloc" in v}
        source_set = set(ws.source_files)
        code_sloc = {p: n for p, n in sloc.items() if p in source_set}
        code = sum(code_sloc.values())
        tests = sum(n for p, n in sloc.items() if p not in source_set)
        blocks = _blocks(cc, rel)
        mis = {rel(p): v["mi"] for p, v in mi.items() if "mi" in v}
        weighted_mi = None
        if mis and sum(code_sloc.get(p, 0) for p in mis):
            weighted_mi = sum(mi_value * code_sloc.get(p, 0) for p, mi_value in mis.items()) / sum(
                code_sloc.get(p, 0) for p in mis
            )
        no_functions = "no functions in non-test code"
        no_modules = "no non-test modules"
        metrics = (
            _metric("code.sloc", code, "lines"),
            _metric("code.test_sloc", tests, "lines"),
            _metric("code.total_sloc", code + tests, "lines"),
            _metric(
                "complexity.mean",
                statistics.fmean(b.complexity for b in blocks) if blocks else None,
                "cc",
                no_functions,
            ),
            _metric(
                "complexity.max",
                max((b.complexity for b in blocks), default=None),
                "cc",
                no_functions,
            ),
            _metric(
                "complexity.high_share",
                _share(sum(b.complexity > COMPLEX_FUNCTION for b in blocks), len(blocks)),
                "%",
                no_functions,
            ),
            _metric("maintainability.mi_mean", weighted_mi, "MI", no_modules),
            _metric("maintainability.mi_min", min(mis.values(), default=None), "MI", no_modules),
            _metric(
                "design.max_module_sloc", max(code_sloc.values(), default=None), "lines", no_modules
            ),
            _metric(
                "design.large_module_share",
                _share(sum(n > LARGE_MODULE_SLOC for n in code_sloc.values()), len(code_sloc)),
                "%",
                no_modules,
            ),
            _metric(
                "design.long_function_share",
                _share(sum(b.length > LONG_FUNCTION_LINES for b in blocks), len(blocks)),
                "%",
                no_functions,
            ),
            _metric(
                "design.mean_function_length",
                statistics.fmean(b.length for b in blocks) if blocks else None,
                "lines",
                no_functions,
            ),
        )
        findings = [
            Finding(
                tool=self.name,
                rule_id="complexity",
                message=f"{b.name} has cyclomatic complexity {b.complexity} "
                f"(over {COMPLEX_FUNCTION})",
                severity=Severity.MEDIUM if b.complexity > 20 else Severity.LOW,
                location=Location(b.path, b.line, end_line=b.end_line),
            )
            for b in blocks
            if b.complexity > COMPLEX_FUNCTION
        ]
        findings += [
            Finding(
                tool=self.name,
                rule_id="function-length",
                message=f"{b.name} is {b.length} lines long (over {LONG_FUNCTION_LINES})",
                severity=Severity.LOW,
                location=Location(b.path, b.line, end_line=b.end_line),
            )
            for b in blocks
            if b.length > LONG_FUNCTION_LINES
        ]
        findings += [
            Finding(
                tool=self.name,
                rule_id="maintainability-index",
                message=f"maintainability index {value:.0f} (below {LOW_MAINTAINABILITY:.0f})",
                severity=Severity.LOW,
                location=Location(path),
            )
            for path, value in sorted(mis.items())
            if value < LOW_MAINTAINABILITY
        ]
        per_file = tuple(
            FileStats(
                path=path,
                sloc=n,
                max_complexity=max((b.complexity for b in blocks if b.path == path), default=None),
                maintainability=mis.get(path),
            )
            for path, n in sorted(code_sloc.items())
        )
        return ToolResult(
            tool=self.name,
            version=self.version(),
            status=ToolStatus.OK,
            findings=tuple(findings),
            metrics=metrics,
            argv=cc_result.argv,
            exit_code=cc_result.exit_code,
            duration_s=raw_result.duration_s + cc_result.duration_s + mi_result.duration_s,
            per_file=per_file,
        )
