"""Facts read from the code and the repository without running anything.

Docstrings and annotations (ast), suppression comments (tokenize), print versus logging,
tests without assertions, README sections, packaging, container, infrastructure as code
and CI files. Everything here parses hostile input, so every parse is guarded and a file
that cannot be read becomes a finding, not a crash. Only iterative AST walks are used: a
deeply nested expression must not exhaust the interpreter's stack.
"""

from __future__ import annotations

import ast
import io
import re
import time
import tokenize
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
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
from grader.environment import requirements
from grader.environment.packaging_declarations import pyproject
from grader.tools import newer_syntax, suspicious
from grader.tools.base import ToolContext
from grader.tools.newer_syntax import NewerSyntax

MAX_PARSED_BYTES = 2 * 1024 * 1024
FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef

SUPPRESSIONS = {
    "noqa": re.compile(r"#.*\b(?:noqa|flake8:\s*noqa)\b", re.IGNORECASE),
    "type-ignore": re.compile(r"#.*\b(?:type:\s*ignore|mypy:\s*(?:ignore-errors|disable))"),
    "nosec": re.compile(r"#.*\bnosec\b", re.IGNORECASE),
    "no-cover": re.compile(r"#.*\bpragma:\s*no\s*(?:cover|branch)\b"),
    "pylint-disable": re.compile(r"#.*\bpylint:\s*disable"),
}
LOGGING_MODULES = frozenset({"logging", "structlog", "loguru", "opentelemetry"})
ASSERTING_CALL = re.compile(r"^(?:assert|expect|verify|check)|^(?:raises|warns|approx|fail)$")
README_SECTIONS = {
    "installation": ("install", "setup", "getting started", "requirements"),
    "usage": ("usage", "example", "how to run", "running", "quick start", "quickstart"),
    "testing": ("test",),
    "design": ("design", "architecture", "structure", "overview", "approach"),
    "deployment": ("deploy", "docker", "infrastructure", "production"),
}
CI_PATTERNS = (
    re.compile(r"^\.github/workflows/[^/]+\.ya?ml$"),
    re.compile(r"^\.gitlab-ci\.yml$"),
    re.compile(r"^\.circleci/config\.yml$"),
    re.compile(r"^(?:Jenkinsfile|azure-pipelines\.yml|bitbucket-pipelines\.yml|\.travis\.yml)$"),
)
CONTAINER = re.compile(r"(?:^|/)(?:Dockerfile|Containerfile)(?:\.[\w-]+)?$|\.dockerfile$")
IAC_NAMES = re.compile(
    r"(?:\.tf|\.tf\.json|(?:^|/)cdk\.json|(?:^|/)Pulumi\.ya?ml|(?:^|/)serverless\.ya?ml"
    r"|(?:^|/)Chart\.yaml|(?:^|/)samconfig\.toml|(?:^|/)kustomization\.ya?ml)$"
)
IAC_CONTENT = re.compile(
    r"AWSTemplateFormatVersion|Transform:\s*AWS::Serverless|^kind:\s*\w+", re.M
)
PIN = re.compile(r"==\s*[\w.*+!-]+")


@dataclass
class _Tally:
    """Counters accumulated over the files."""

    documented: int = 0
    documentable: int = 0
    annotated: int = 0
    annotatable: int = 0
    prints: int = 0
    uses_logging: bool = False
    tests: int = 0
    tests_without_assert: int = 0
    outcome_hooks: int = 0
    secrets: int = 0
    suppressions: Counter[str] = field(default_factory=Counter)
    findings: list[Finding] = field(default_factory=list)


def _read_python(ws: Workspace, relative: str, tally: _Tally) -> tuple[bytes, ast.Module] | None:
    path = ws.path(relative)
    try:
        if path.stat().st_size > MAX_PARSED_BYTES:
            raise ValueError(f"larger than {MAX_PARSED_BYTES} bytes")
        data = path.read_bytes()
        return data, ast.parse(data, filename=relative)
    except (SyntaxError, ValueError, RecursionError, MemoryError, OSError) as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        tally.findings.append(
            Finding(
                "facts",
                "unparsable-file",
                f"file could not be parsed as Python: {message[:200]}",
                Severity.HIGH,
                Location(relative),
            )
        )
        return None


def _comments(data: bytes) -> Iterator[tuple[int, str]]:
    try:
        for token in tokenize.tokenize(io.BytesIO(data).readline):
            if token.type == tokenize.COMMENT:
                yield token.start[0], token.string
    except (tokenize.TokenError, SyntaxError, UnicodeDecodeError):
        return


def _count_suppressions(relative: str, data: bytes, tally: _Tally) -> None:
    for line, comment in _comments(data):
        for kind, pattern in SUPPRESSIONS.items():
            if pattern.search(comment):
                tally.suppressions[kind] += 1
                tally.findings.append(
                    Finding(
                        "facts",
                        f"suppression-{kind}",
                        f"suppression comment: {comment.strip()[:120]}",
                        Severity.INFO,
                        Location(relative, line),
                    )
                )


def _is_public(name: str) -> bool:
    return not name.startswith("_") or (name.startswith("__") and name.endswith("__"))


def _signature_slots(node: FunctionNode, is_method: bool) -> list[bool]:
    args = node.args
    positional = [*args.posonlyargs, *args.args]
    if is_method and positional and positional[0].arg in {"self", "cls"}:
        positional = positional[1:]
    params = [*positional, *args.kwonlyargs]
    params += [a for a in (args.vararg, args.kwarg) if a is not None]
    slots = [p.annotation is not None for p in params]
    if node.name != "__init__":
        slots.append(node.returns is not None)
    return slots


def _method_ids(tree: ast.Module) -> set[int]:
    return {
        id(item)
        for node in ast.walk(tree)
        if isinstance(node, ast.ClassDef)
        for item in node.body
        if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef)
    }


def _definition(node: FunctionNode | ast.ClassDef, is_method: bool, tally: _Tally) -> None:
    if _is_public(node.name) and node.name != "__init__":
        tally.documentable += 1
        tally.documented += ast.get_docstring(node) is not None
    if not isinstance(node, ast.ClassDef):
        slots = _signature_slots(node, is_method)
        tally.annotatable += len(slots)
        tally.annotated += sum(slots)


def _is_print(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print"
    )


def _imported(node: ast.Import | ast.ImportFrom) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name.split(".")[0] for alias in node.names]
    return [(node.module or "").split(".")[0]]


def _code_facts(relative: str, tree: ast.Module, tally: _Tally) -> None:
    if tree.body:
        tally.documentable += 1
        tally.documented += ast.get_docstring(tree) is not None
    methods = _method_ids(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            _definition(node, id(node) in methods, tally)
        elif _is_print(node):
            tally.prints += 1
            tally.findings.append(
                Finding(
                    "facts",
                    "print-call",
                    "print() in non-test code: use logging so output can be routed and filtered",
                    Severity.LOW,
                    Location(relative, getattr(node, "lineno", None)),
                )
            )
        elif isinstance(node, ast.Import | ast.ImportFrom):
            tally.uses_logging |= bool(LOGGING_MODULES.intersection(_imported(node)))


def _asserts(function: ast.AST) -> bool:
    for node in ast.walk(function):
        if isinstance(node, ast.Assert):
            return True
        if isinstance(node, ast.Call) and ASSERTING_CALL.search(suspicious.call_name(node)):
            return True
    return False


def _test_facts(relative: str, tree: ast.Module, tally: _Tally) -> None:
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith(
            "test"
        ):
            tally.tests += 1
            if not _asserts(node):
                tally.tests_without_assert += 1
                tally.findings.append(
                    Finding(
                        "facts",
                        "test-without-assert",
                        f"{node.name} asserts nothing: it passes whatever the code does",
                        Severity.MEDIUM,
                        Location(relative, node.lineno),
                    )
                )


def _readme(ws: Workspace) -> str | None:
    names = [f for f in ws.files if "/" not in f and PurePosixPath(f).stem.upper() == "README"]
    return names[0] if names else None


_ATX_HEADING = re.compile(r"#{1,6}\s*(\S.*)")
# A title underlined (Markdown's setext, reStructuredText) with a run of one punctuation mark.
_UNDERLINE = re.compile(r"([=\-~^*+#`'\".:_])\1{2,}\s*")


def _headings(text: str) -> list[str]:
    """Markdown (``# Title``, setext) and reStructuredText headings, outside code blocks."""
    lines = text.splitlines()
    found: list[str] = []
    fenced = False
    for index, line in enumerate(lines):
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
            continue
        if fenced or line[:1].isspace():
            continue
        atx = _ATX_HEADING.fullmatch(line)
        underline = lines[index + 1] if index + 1 < len(lines) else ""
        if atx:
            found.append(atx.group(1).strip("# ").lower())
        elif line.strip() and _UNDERLINE.fullmatch(underline) and not _UNDERLINE.fullmatch(line):
            found.append(line.strip().lower())
    return found


def _readme_score(ws: Workspace) -> tuple[float, list[str]]:
    readme = _readme(ws)
    if readme is None:
        return 0.0, list(README_SECTIONS)
    headings = _headings(ws.path(readme).read_text(encoding="utf-8", errors="replace")[:200_000])
    missing = [
        section
        for section, words in README_SECTIONS.items()
        if not any(word in heading for heading in headings for word in words)
    ]
    return 100.0 * (len(README_SECTIONS) - len(missing)) / len(README_SECTIONS), missing


def _has_packaging(ws: Workspace) -> bool:
    if "setup.py" in ws.files or "setup.cfg" in ws.files:
        return True
    declared = pyproject(ws)
    tool = declared.get("tool")
    return "project" in declared or (isinstance(tool, dict) and "poetry" in tool)


def _has_iac(ws: Workspace) -> bool:
    for name in ws.files:
        if IAC_NAMES.search(name):
            return True
        if name.endswith((".yaml", ".yml", ".json")) and not name.startswith(".github/"):
            head = ws.path(name).read_text(encoding="utf-8", errors="replace")[:20_000]
            if IAC_CONTENT.search(head) and ("apiVersion" in head or "AWS" in head):
                return True
    return False


def _percent(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 2) if whole else None


def _flag(present: bool) -> float:
    return 100.0 if present else 0.0


class Facts:
    """Static facts about the code and the repository; runs in-process, reads only."""

    name = "facts"
    metrics = (
        MetricSpec(
            "docs.docstring_coverage",
            "%",
            "Public modules, classes and functions with a docstring.",
        ),
        MetricSpec("docs.readme_sections", "%", "Expected README sections present."),
        MetricSpec("types.annotation_coverage", "%", "Function parameters and returns annotated."),
        MetricSpec(
            "suppressions.count", "comments", "noqa, type: ignore, nosec, no cover, pylint."
        ),
        MetricSpec("observability.prints", "calls", "print() calls in non-test code."),
        MetricSpec("observability.logging", "%", "100 when non-test code uses a logging library."),
        MetricSpec("tests.without_assert_share", "%", "Test functions that assert nothing."),
        MetricSpec(
            "tests.outcome_tampering",
            "places",
            "pytest hooks that can rewrite outcomes, and calls that end the test process.",
        ),
        MetricSpec("packaging.metadata", "%", "100 when the project declares package metadata."),
        MetricSpec("packaging.pinned_share", "%", "Declared dependencies pinned or locked."),
        MetricSpec("deploy.container", "%", "100 when a Dockerfile or Containerfile is present."),
        MetricSpec("deploy.iac", "%", "100 when infrastructure as code is present."),
        MetricSpec("deploy.ci", "%", "100 when a CI workflow is present."),
        MetricSpec("safety.outside_symlinks", "links", "Symlinks pointing outside the submission."),
        MetricSpec("code.unparsable_files", "files", "Python files no tool can parse."),
        MetricSpec(
            "security.hardcoded_secrets", "secrets", "Credentials written into non-test code."
        ),
    )

    def version(self) -> str:
        """Facts are grader's own code."""
        return __version__

    def run(self, ctx: ToolContext) -> ToolResult:
        """Read every Python file once and the repository layout."""
        started = time.monotonic()
        ws = ctx.workspace
        newer = newer_syntax.find(ctx, requirements.read(ws).requires_python)
        tally = _read_code(ws, newer)
        readme, missing = _readme_score(ws)
        if missing:
            tally.findings.append(
                Finding(
                    "facts",
                    "readme-missing-sections",
                    f"README lacks a section on: {', '.join(missing)}",
                    Severity.INFO,
                    Location(_readme(ws) or "."),
                )
            )
        notes = []
        if tally.suppressions:
            counts = ", ".join(f"{k} {v}" for k, v in sorted(tally.suppressions.items()))
            notes.append(f"suppression comments: {counts}")
        metrics = (
            *_code_metrics(tally),
            Metric("docs.readme_sections", readme, "%", self.name),
            *_repository_metrics(ws, newer),
        )
        return ToolResult(
            tool=self.name,
            version=self.version(),
            status=ToolStatus.OK,
            findings=tuple(tally.findings),
            metrics=tuple(
                m if m.value is None else Metric(m.name, m.value, m.unit, m.source) for m in metrics
            ),
            duration_s=time.monotonic() - started,
            notes=tuple(notes),
            warnings=(newer.warning(),) if newer.files else (),
        )


def _file_facts(relative: str, tree: ast.Module, tally: _Tally, *, in_tests: bool) -> None:
    facts = _test_facts if in_tests else _code_facts
    facts(relative, tree, tally)
    if not in_tests:  # tests hold fake credentials on purpose
        found = suspicious.secrets(relative, tree)
        tally.secrets += len(found)
        tally.findings += found
    tampering, counted = suspicious.tampering(relative, tree, in_tests)
    tally.outcome_hooks += counted
    tally.findings += tampering


def _annotations(tree: ast.Module) -> tuple[int, int]:
    """(annotated, annotatable) signature slots of every function in ``tree``."""
    methods = _method_ids(tree)
    slots = [
        slot
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        for slot in _signature_slots(node, id(node) in methods)
    ]
    return sum(slots), len(slots)


def _typed_by_stub(ws: Workspace, relative: str, tree: ast.Module, tally: _Tally) -> None:
    """A module typed in a stub beside it (``foo.pyi``, as PEP 484 allows) counts the
    stub's annotations instead of its own."""
    stub = relative + "i"
    if relative in ws.test_files or stub not in ws.files:
        return
    try:
        stub_tree = ast.parse(ws.path(stub).read_bytes(), filename=stub)
    except (SyntaxError, ValueError, RecursionError, MemoryError, OSError):
        return
    own_annotated, own_annotatable = _annotations(tree)
    stub_annotated, stub_annotatable = _annotations(stub_tree)
    tally.annotated += stub_annotated - own_annotated
    tally.annotatable += stub_annotatable - own_annotatable


def _read_code(ws: Workspace, newer: NewerSyntax) -> _Tally:
    tally = _Tally()
    for relative in ws.python_files:
        parsed = _read_python(ws, relative, tally)
        if parsed is None:
            continue
        data, tree = parsed
        _count_suppressions(relative, data, tally)
        _typed_by_stub(ws, relative, tree, tally)
        try:
            _file_facts(relative, tree, tally, in_tests=relative in ws.test_files)
        except RecursionError:  # screened files stay shallow; this is a second line
            tally.findings.append(
                Finding(
                    "facts",
                    "unparsable-file",
                    "nested too deep to analyse",
                    Severity.HIGH,
                    Location(relative),
                )
            )
    tally.findings += [
        Finding(
            "facts",
            "unparsable-file",
            f"no tool can analyse this file: {problem}",
            Severity.HIGH,
            Location(relative),
        )
        if relative not in newer.files
        else Finding(
            "facts",
            "newer-python-syntax",
            f"not analysed: valid Python {newer.version}, which this host cannot parse",
            Severity.INFO,
            Location(relative),
        )
        for relative, problem in ws.unparsable
    ]
    tally.findings += [
        Finding(
            "facts",
            "undecodable-filename",
            "the file name is not UTF-8; the file was not analysed",
            Severity.MEDIUM,
            Location(name),
        )
        for name in ws.undecodable
    ]
    tally.findings += [
        Finding(
            "facts",
            "symlink-outside",
            f"symlink to {target[:200]} points outside the submission; not followed",
            Severity.HIGH,
            Location(link),
        )
        for link, target in ws.outside_symlinks
    ]
    return tally


def _code_metrics(tally: _Tally) -> tuple[Metric, ...]:
    return (
        Metric(
            "docs.docstring_coverage",
            _percent(tally.documented, tally.documentable),
            "%",
            "facts",
            "nothing to document",
        ),
        Metric(
            "types.annotation_coverage",
            _percent(tally.annotated, tally.annotatable),
            "%",
            "facts",
            "no functions",
        ),
        Metric("suppressions.count", sum(tally.suppressions.values()), "comments", "facts"),
        Metric("observability.prints", tally.prints, "calls", "facts"),
        Metric("observability.logging", _flag(tally.uses_logging), "%", "facts"),
        Metric("tests.outcome_tampering", tally.outcome_hooks, "places", "facts"),
        Metric("security.hardcoded_secrets", tally.secrets, "secrets", "facts"),
        Metric(
            "tests.without_assert_share",
            _percent(tally.tests_without_assert, tally.tests),
            "%",
            "facts",
            "no test functions",
        ),
    )


def _pinned_share(ws: Workspace) -> float | None:
    declared = requirements.read(ws)
    if declared.locked:
        return 100.0
    pinned = sum(bool(PIN.search(item)) for item in declared.items)
    return _percent(pinned, len(declared.items))


def _repository_metrics(ws: Workspace, newer: NewerSyntax) -> tuple[Metric, ...]:
    container = any(CONTAINER.search(f) for f in ws.files)
    ci = any(p.search(f) for p in CI_PATTERNS for f in ws.files)
    return (
        Metric("packaging.metadata", _flag(_has_packaging(ws)), "%", "facts"),
        Metric(
            "packaging.pinned_share",
            _pinned_share(ws),
            "%",
            "facts",
            "no third-party dependencies declared",
        ),
        Metric("deploy.container", _flag(container), "%", "facts"),
        Metric("deploy.iac", _flag(_has_iac(ws)), "%", "facts"),
        Metric("deploy.ci", _flag(ci), "%", "facts"),
        Metric("safety.outside_symlinks", len(ws.outside_symlinks), "links", "facts"),
        Metric("code.unparsable_files", len(ws.unparsable) - len(newer.files), "files", "facts"),
    )
