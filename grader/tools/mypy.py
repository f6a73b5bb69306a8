"""mypy: type errors from ``--output json``, with a fallback for what it prints as text.

mypy emits most errors as JSON lines, but fatal conditions (duplicate module names,
invalid package names) arrive as plain ``file: error: message`` text; both are parsed.
mypy never executes the code it checks, so it runs with the submission as its working
folder (module names are resolved from there) but always with grader's config file.
"""

from __future__ import annotations

import ast
import functools
import json
import re
import shutil
from pathlib import Path

from grader.acquire.workspace import Workspace
from grader.core import proc
from grader.core.models import (
    Finding,
    Location,
    Metric,
    MetricSpec,
    Severity,
    ToolResult,
    ToolStatus,
)
from grader.environment import imports, requirements
from grader.tools import mypy_cache, newer_syntax
from grader.tools.base import (
    STATIC_NICENESS,
    ToolContext,
    config_path,
    failure,
    package_version,
    python_module,
)

_TEXT_ERROR = re.compile(r"^(?P<path>[^:\n]+):(?:(?P<line>\d+):)?(?:\d+:)? error: (?P<msg>.*)$")
_FATAL_MARKERS = (
    "Duplicate module named",
    "is not a valid Python package name",
    "Source file found twice under different module names",
)
DOCS = "https://mypy.readthedocs.io/en/stable/"


def help_url(code: str) -> str | None:
    """mypy's page for an error code: codes on by default and optional ones have a page each."""
    # Imported when first asked, not at the top: mypy's compiled modules take 20 ms to
    # load, and grader runs mypy itself as a command.
    from mypy.errorcodes import error_codes  # noqa: PLC0415

    known = error_codes.get(code)
    if known is None:
        return None
    page = "error_code_list.html" if known.default_enabled else "error_code_list2.html"
    return f"{DOCS}{page}#code-{code}"


@functools.lru_cache(maxsize=256)
def _tree(ws: Workspace, path: str) -> ast.Module | None:
    """The syntax tree of the file at ``path``, parsed once for every filter here."""
    try:
        return ast.parse(ws.path(path).read_bytes())
    except (OSError, SyntaxError, ValueError, RecursionError):
        return None


@functools.lru_cache(maxsize=256)
def _functions(ws: Workspace, path: str) -> list[tuple[int, int, bool]]:
    """(first line, last line, annotated) of every function in the file at ``path``."""
    tree = _tree(ws, path)
    if tree is None:
        return []
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            arguments = node.args
            every = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
            every += [a for a in (arguments.vararg, arguments.kwarg) if a is not None]
            annotated = node.returns is not None or any(a.annotation for a in every)
            found.append((node.lineno, node.end_lineno or node.lineno, annotated))
    return found


def _in_untyped_def(ws: Workspace, finding: Finding) -> bool:
    """Whether ``finding`` is mypy asking for a variable's type (``x = []``) inside a
    function with no annotation at all: checked (check_untyped_defs) for its real type
    errors, but its missing annotations are annotation coverage's to charge, once."""
    line = finding.location.line
    if finding.rule_id != "var-annotated" or line is None:
        return False
    holding = [f for f in _functions(ws, finding.location.path) if f[0] <= line <= f[1]]
    # The innermost function decides: an annotated helper nested in an untyped one counts.
    return bool(holding) and not max(holding, key=lambda f: f[0])[2]


# mypy's two errors on a class whose base is made at run time (`Base = declarative_base()`,
# the SQLAlchemy declarative pattern of countless tutorials): a class mypy cannot see
# without the library's plugin, not a type error in the code.
_DYNAMIC_BASE = re.compile(r'^(Invalid base class "|Variable "[\w.]+" is not valid as a type)')


@functools.lru_cache(maxsize=256)
def _class_lines(ws: Workspace, path: str) -> frozenset[int]:
    """Lines of the file at ``path`` that a class statement's bases stand on."""
    tree = _tree(ws, path)
    return frozenset(
        base.lineno
        for node in ast.walk(tree or ast.Module(body=[], type_ignores=[]))
        if isinstance(node, ast.ClassDef)
        for base in node.bases
    )


def _dynamic_base(ws: Workspace, finding: Finding) -> bool:
    """Whether ``finding`` is mypy refusing a class base that is a variable."""
    line = finding.location.line
    if finding.rule_id not in {"misc", "valid-type"} or line is None:
        return False
    matched = _DYNAMIC_BASE.match(finding.message) is not None
    return matched and line in _class_lines(ws, finding.location.path)


def _parse(stdout: str, stderr: str) -> list[Finding]:
    findings: list[Finding] = []
    for raw in (stdout + "\n" + stderr).splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("{"):
            try:
                item = json.loads(line)
            except json.JSONDecodeError:
                continue
            if item.get("severity") != "error":
                continue
            findings.append(
                Finding(
                    tool="mypy",
                    rule_id=item.get("code") or "error",
                    message=item["message"],
                    severity=Severity.HIGH if item.get("code") == "syntax" else Severity.MEDIUM,
                    location=Location(item["file"], item.get("line"), item.get("column")),
                    help_url=help_url(item.get("code") or ""),
                )
            )
        elif match := _TEXT_ERROR.match(line):
            findings.append(
                Finding(
                    tool="mypy",
                    rule_id="error",
                    message=match["msg"],
                    severity=Severity.MEDIUM,
                    location=Location(match["path"], int(match["line"]) if match["line"] else None),
                )
            )
    return findings


class Mypy:
    """Type-check with grader's settings, ignoring the candidate's mypy configuration."""

    name = "mypy"
    metrics = (MetricSpec("types.errors", "errors", "Type errors found by mypy."),)

    def version(self) -> str:
        """Installed mypy version."""
        return package_version("mypy")

    def _run(
        self, ctx: ToolContext, files: tuple[str, ...], cache: Path, root: Path | None = None
    ) -> proc.ProcResult:
        root = root or ctx.workspace.root
        argv = python_module(
            "mypy",
            "--config-file",
            str(config_path("mypy.ini")),
            "--cache-dir",
            str(cache),
            "--output",
            "json",
            "--",
            *files,
        )
        env = {}
        if (root / "src").is_dir():
            env["MYPYPATH"] = str(root / "src")
        return proc.run(
            argv,
            cwd=root,
            timeout_s=ctx.static_timeout_s,
            env=proc.scrubbed_env(env),
            niceness=STATIC_NICENESS,
        )

    def _check(self, ctx: ToolContext) -> tuple[proc.ProcResult, list[Finding], list[str]]:
        """Run mypy, working around what makes it stop before checking anything."""
        notes: list[str] = []
        migrations = set(ctx.workspace.migrations)
        files = tuple(f for f in ctx.workspace.python_files if f not in migrations)
        if migrations:
            # An Alembic folder named alembic/ also shadows the installed package, and a
            # generated migration is not the candidate's typing.
            notes.append(f"left out {len(migrations)} migration files (written by a tool)")
        # The standard library's analysis comes from grader's shared cache, copied: this
        # run's writes never reach another submission's.
        shared = mypy_cache.shared(ctx.environments.root) if ctx.environments else None
        cache = mypy_cache.private_copy(shared, ctx.work_dir / "cache")
        # An Alembic folder named alembic/ (no __init__.py) is a namespace package to mypy,
        # found before the library: `from alembic import command` in a test would be an
        # error of the candidate's. Checked in a tree without the migrations instead.
        hidden = migrations if _migrations_shadow_imports(ctx.workspace) else set()
        root = _copy_without(ctx, hidden) if hidden else None
        result = self._run(ctx, files, cache, root)
        # A file named like a standard module (typing.py) stops mypy before it checks
        # anything: report the file, and check the rest without it.
        shadows = _shadowing_files(result.stdout + result.stderr)
        if shadows:
            files = tuple(f for f in files if f not in shadows)
            root = _copy_without(ctx, shadows | hidden)
            result = self._run(ctx, files, cache, root)
        if _fatal(result) and ctx.workspace.source_files:
            notes.append("mypy could not check tests and code together; checked code only")
            files = tuple(f for f in ctx.workspace.source_files if f not in shadows | migrations)
            result = self._run(ctx, files, cache, root)
        return result, [_shadow_finding(path) for path in sorted(shadows)], notes

    def _unchecked(self, ctx: ToolContext) -> str:
        """Why mypy cannot judge the code's types here, or ''."""
        ws = ctx.workspace
        if not ws.source_files:
            # Every code file is one the host's Python cannot parse (newer syntax, or
            # broken, which Maintainability charges): checking only the tests would give
            # the code full marks for types nobody checked.
            return "no code file this host's Python can parse, so none was type-checked"
        newer = newer_syntax.find(ctx, requirements.read(ws).requires_python)
        code = sorted(newer.files - set(ws.test_files))
        if not code:
            return ""
        # mypy parses with the host's Python: checking the rest would score the types of
        # the code it never read. A broken file is charged elsewhere and never lands here
        # (find keeps only files valid for the Python the submission asks for).
        return (
            f"{len(code)} code file(s) use Python {newer.version} syntax, which mypy cannot "
            f"parse on this host's Python ({', '.join(code[:3])}); the rest alone would not "
            "tell the submission's types"
        )

    def run(self, ctx: ToolContext) -> ToolResult:
        """Type-check all Python files; failures to check are results, not crashes."""
        reason = self._unchecked(ctx)
        if reason:
            return ToolResult(
                self.name,
                self.version(),
                ToolStatus.NOT_APPLICABLE,
                reason=reason,
                metrics=tuple(
                    Metric(m.name, None, m.unit, self.name, reason) for m in self.metrics
                ),
            )
        result, shadowing, notes = self._check(ctx)
        output = result.stdout + result.stderr
        if result.timed_out or _fatal(result):
            return failure(self.name, self.version(), result, proc.tail(output, 1), self.metrics)
        parsed = _parse(result.stdout, result.stderr)
        findings = [f for f in parsed if not _in_untyped_def(ctx.workspace, f)]
        if len(findings) < len(parsed):
            notes.append(
                f"{len(parsed) - len(findings)} 'need type annotation' error(s) in functions "
                "with no annotation left out: annotation coverage charges those functions"
            )
        typed = [f for f in findings if not _dynamic_base(ctx.workspace, f)]
        if len(typed) < len(findings):
            notes.append(
                f"{len(findings) - len(typed)} error(s) on classes built on a base made at run "
                "time (Base = declarative_base()) left out: mypy cannot see such a class "
                "without the library's plugin"
            )
        findings = typed
        # Exit 2 is mypy's "could not check": only syntax errors may explain it.
        stopped = result.exit_code not in (0, 1)
        if stopped and not any(f.rule_id == "syntax" for f in findings):
            return failure(self.name, self.version(), result, proc.tail(output, 1), self.metrics)
        findings = [*shadowing, *findings]
        return ToolResult(
            tool=self.name,
            version=self.version(),
            status=ToolStatus.OK,
            findings=tuple(findings),
            metrics=(Metric("types.errors", len(findings), "errors", self.name),),
            argv=result.argv,
            exit_code=result.exit_code,
            duration_s=result.duration_s,
            notes=tuple(notes),
        )


def _fatal(result: proc.ProcResult) -> bool:
    output = result.stdout + result.stderr
    return any(marker in output for marker in _FATAL_MARKERS)


_SHADOWS = re.compile(r'"file": "(?P<path>[^"]+)"[^\n]*shadows library module')


def _copy_without(ctx: ToolContext, left_out: set[str]) -> Path:
    """The submission's Python files and stubs but ``left_out``, in a tree of their own:
    mypy finds a shadowing module on disk even when it is not listed."""
    tree = ctx.work_dir / "tree"
    shutil.rmtree(tree, ignore_errors=True)  # a first copy may hold what this one leaves out
    kept = [f for f in ctx.workspace.files if f.endswith((".py", ".pyi")) and f not in left_out]
    for relative in kept:
        target = tree / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ctx.workspace.path(relative), target)
    return tree


def _migrations_shadow_imports(ws: Workspace) -> bool:
    """Whether a top-level folder of migrations is named like a module the code imports."""
    folders = {m.split("/", 1)[0] for m in ws.migrations if "/" in m}
    folders = {f for f in folders if not ws.path(f"{f}/__init__.py").is_file()}
    return bool(folders) and any(m.split(".", 1)[0] in folders for m in imports.modules(ws))


def _shadowing_files(output: str) -> set[str]:
    return {match["path"] for match in _SHADOWS.finditer(output)}


def _shadow_finding(path: str) -> Finding:
    return Finding(
        tool="mypy",
        rule_id="shadows-stdlib",
        message="this file shadows a standard library module: imports of it break",
        severity=Severity.MEDIUM,
        location=Location(path),
    )
