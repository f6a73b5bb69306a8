"""ruff: lint findings, one per violation, from ``--output-format json``."""

from __future__ import annotations

import ast
import functools
import json
import re
from pathlib import PurePosixPath

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
from grader.environment import requirements
from grader.tools import callbacks, newer_syntax
from grader.tools.base import (
    ToolContext,
    config_path,
    failure,
    package_version,
    python_module,
    relative,
    run_static,
)

_SERIOUS_PREFIXES = ("E9", "F", "B", "PLE", "BLE")


def _severity(code: str | None) -> Severity:
    if code is None:  # ruff reports syntax errors without a code
        return Severity.HIGH
    return Severity.MEDIUM if code.startswith(_SERIOUS_PREFIXES) else Severity.LOW


_SYNTAX_ERRORS = frozenset({None, "invalid-syntax", "E999"})


# pyflakes' view of a test module that imports a pytest fixture and requests it by
# parameter: the import is "unused" and each test "redefines" it. It is how such a
# fixture is shared without a conftest.py, not dead code.
_FIXTURE_RULES = frozenset({"F401", "F811"})
_NAMED = re.compile(r"`([\w.]+)`")
_STAR = re.compile(r"`from ([\w.]+) import \*`")


def _fixture_import(ws: Workspace, finding: Finding) -> bool:
    """Whether ``finding`` is pyflakes flagging an imported fixture that a test of the
    same module requests by name."""
    path = finding.location.path
    if finding.rule_id not in _FIXTURE_RULES or path not in ws.test_files:
        return False
    named = _NAMED.search(finding.message)
    return named is not None and named.group(1).rsplit(".", 1)[-1] in _parameters(ws, path)


@functools.lru_cache(maxsize=256)
def _tree(ws: Workspace, path: str) -> ast.Module | None:
    """The syntax tree of the file at ``path``, parsed once for every filter here."""
    try:
        return ast.parse(ws.path(path).read_bytes())
    except (OSError, SyntaxError, ValueError, RecursionError):
        return None


@functools.lru_cache(maxsize=256)
def _parameters(ws: Workspace, path: str) -> frozenset[str]:
    """Every parameter name of every function in the file at ``path``."""
    tree = _tree(ws, path)
    if tree is None:
        return frozenset()
    return frozenset(
        argument.arg
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        for argument in (*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs)
    )


def _package_reexport(finding: Finding) -> bool:
    """Whether ``finding`` is pyflakes flagging an import in a package's ``__init__.py``
    from that package itself (``from .bronze import bronze``): the package's public
    interface, re-exported for its users, not an unused import."""
    location = PurePosixPath(finding.location.path)
    if finding.rule_id not in {"F401", "F403"} or location.name != "__init__.py":
        return False
    named = (_STAR if finding.rule_id == "F403" else _NAMED).search(finding.message)
    if named is None:
        return False
    imported = named.group(1)
    return imported.startswith(".") or imported.split(".")[0] in location.parent.parts


def _dictated_by_caller(ws: Workspace, finding: Finding) -> bool:
    """Whether ``finding`` judges a parameter of a callback, whose signature its caller
    dictates (see ``callbacks``)."""
    named = _NAMED.search(finding.message)
    line = finding.location.line
    if finding.rule_id not in callbacks.DICTATED_RULES or named is None or line is None:
        return False
    return callbacks.is_callback(ws, finding.location.path, named.group(1), line)


class Ruff:
    """Lint with grader's rule selection, ignoring the candidate's ruff settings."""

    name = "ruff"
    metrics = (
        MetricSpec("lint.issues", "issues", "Lint violations found by ruff."),
        MetricSpec("lint.serious_issues", "issues", "Violations that are likely bugs."),
    )

    def version(self) -> str:
        """Installed ruff version."""
        return package_version("ruff")

    def run(self, ctx: ToolContext) -> ToolResult:
        """Run ruff on every Python file and notebook of the submission (ruff reads
        notebooks itself and names the cell, so their scripts are left out)."""
        ws = ctx.workspace
        scripts = {s.script for s in ws.notebooks}
        # ruff's parser knows every Python: files the host's cannot parse are linted for
        # the oldest Python the submission accepts (facts charges the truly broken ones).
        rejected = newer_syntax.candidates(ws)
        version = newer_syntax.oldest_accepted(requirements.read(ws).requires_python)
        target = ["--target-version", "py3" + version.split(".")[1]] if rejected else []
        # Migrations are a tool's output, as mypy and radon treat them.
        left_out = scripts | set(ws.migrations)
        files = [
            str(ws.path(f)) for f in (*ws.python_files, *sorted(rejected)) if f not in left_out
        ]
        files += [str(ws.path(s.notebook)) for s in ws.notebooks]
        argv = python_module(
            "ruff",
            "check",
            "--config",
            str(config_path("ruff.toml")),
            *target,
            "--output-format",
            "json",
            "--no-cache",
            "--exit-zero",
            "--",
            *files,
        )
        result = run_static(ctx, argv)
        try:
            raw = json.loads(result.stdout)
        except json.JSONDecodeError:
            return failure(self.name, self.version(), result, "ruff gave no JSON", self.metrics)
        findings = tuple(
            Finding(
                tool=self.name,
                rule_id=item.get("code") or "syntax-error",
                message=item["message"],
                severity=_severity(item.get("code")),
                location=Location(
                    path=relative(ctx, item["filename"]),
                    line=item["location"]["row"],
                    column=item["location"]["column"],
                    end_line=item["end_location"]["row"],
                    cell=item.get("cell"),  # in a notebook, rows count from the cell's top
                ),
                help_url=item.get("url"),
            )
            for item in raw
            if not (
                item.get("code") in _SYNTAX_ERRORS and relative(ctx, item["filename"]) in rejected
            )
        )
        findings = tuple(
            f
            for f in findings
            if not _fixture_import(ws, f)
            and not _package_reexport(f)
            and not _dictated_by_caller(ws, f)
        )
        serious = sum(1 for f in findings if f.severity.rank >= Severity.MEDIUM.rank)
        return ToolResult(
            tool=self.name,
            version=self.version(),
            status=ToolStatus.OK,
            findings=findings,
            metrics=(
                Metric("lint.issues", len(findings), "issues", self.name),
                Metric("lint.serious_issues", serious, "issues", self.name),
            ),
            argv=result.argv,
            exit_code=result.exit_code,
            duration_s=result.duration_s,
        )
