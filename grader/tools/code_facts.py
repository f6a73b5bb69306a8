"""What the Python files say when read, never run: docstrings and annotations (a stub
beside a module counts instead of it), suppression comments, print versus logging,
tests without assertions or with only weak ones
(assertions), credentials and outcome tampering (through suspicious), and
the files that could not be analysed at all.

Everything here parses hostile input, so every parse is guarded and a file that cannot
be read becomes a finding, not a crash. Only iterative AST walks are used: a deeply
nested expression must not exhaust the interpreter's stack.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from grader.acquire.workspace import Workspace
from grader.core.models import Finding, Location, Severity
from grader.environment import pytest_settings
from grader.tools import assertions, disabled_tests, likely_bugs, log_lines, suspicious
from grader.tools.module_state import dotted, is_main_guard, reads_argv
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


@dataclass
class CodeTally:
    """Counters accumulated over the files (filled in place, file by file, by read_code)."""

    documented: int = 0
    documentable: int = 0
    annotated: int = 0
    annotatable: int = 0
    prints: int = 0
    uses_logging: bool = False
    returned_exceptions: int = 0
    """Exceptions returned where they were meant to be raised (see returned_exceptions)."""
    tests: int = 0
    tests_without_assert: int = 0
    tests_weak: int = 0
    """Tests that assert nothing, or only what cannot fail (see assertions)."""
    tests_disabled: int = 0
    """Tests commented out or skipped whatever the conditions (see disabled_tests)."""
    tests_commented_out: int = 0
    deselected: tuple[str, ...] = ()
    """Markers the author's addopts deselects (see pytest_settings)."""
    outcome_hooks: int = 0
    path_edits: int = 0
    """Test files that edit sys.path or change directory (see _path_edit)."""
    secrets: int = 0
    development_secrets: int = 0
    suppressions: Counter[str] = field(default_factory=Counter)
    findings: list[Finding] = field(default_factory=list)


def _read_python(ws: Workspace, relative: str, tally: CodeTally) -> tuple[bytes, ast.Module] | None:
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


def _comments(data: bytes) -> Iterator[tuple[int, int, str]]:
    """Each comment's line, column and text."""
    try:
        for token in tokenize.tokenize(io.BytesIO(data).readline):
            if token.type == tokenize.COMMENT:
                yield token.start[0], token.start[1], token.string
    except (tokenize.TokenError, SyntaxError, UnicodeDecodeError):
        return


def _count_suppressions(
    relative: str, comments: list[tuple[int, int, str]], tally: CodeTally
) -> None:
    for line, _, comment in comments:
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


def _definition(node: FunctionNode | ast.ClassDef, is_method: bool, tally: CodeTally) -> None:
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


# Command-line programs answer on standard output: print is their product there, not a
# log line. So are scripts kept apart from the code, and a module's ``__main__`` block.
_CLI_LIBRARIES = frozenset({"argparse", "click", "typer", "fire", "docopt"})
_SCRIPT_FOLDERS = frozenset({"scripts", "bin", "examples", "example", "demo", "demos"})


def _command_line_output(relative: str, tree: ast.Module) -> set[int]:
    """The ids of the print calls that are a command-line program's own output."""
    imported = {
        name
        for node in tree.body
        if isinstance(node, ast.Import | ast.ImportFrom)
        for name in _imported(node)
    }
    guarded = any(is_main_guard(b) for b in tree.body)
    if (
        _CLI_LIBRARIES & imported
        or _SCRIPT_FOLDERS & set(PurePosixPath(relative).parts[:-1])
        or (guarded and reads_argv(tree))  # a command line parsed by hand
    ):
        return {id(node) for node in ast.walk(tree) if _is_print(node)}
    return {
        id(node)
        for block in tree.body
        if is_main_guard(block)
        for node in ast.walk(block)
        if _is_print(node)
    }


def _code_facts(relative: str, tree: ast.Module, tally: CodeTally) -> None:
    if tree.body:
        tally.documentable += 1
        tally.documented += ast.get_docstring(tree) is not None
    methods = _method_ids(tree)
    output = _command_line_output(relative, tree)
    for line, called in likely_bugs.returned_exceptions(tree):
        tally.returned_exceptions += 1
        tally.findings.append(
            Finding(
                "facts",
                "returned-exception",
                f"returns {called}(...) instead of raising it: the caller gets the exception "
                "as an ordinary value and carries on",
                Severity.MEDIUM,
                Location(relative, line),
            )
        )
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            _definition(node, id(node) in methods, tally)
        elif _is_print(node) and id(node) not in output:
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
        elif log_lines.records_or_sets_up(node):
            tally.uses_logging = True
        elif isinstance(node, ast.Import | ast.ImportFrom):
            tally.uses_logging |= bool(log_lines.TRACING_MODULES.intersection(_imported(node)))


_PATH_EDITS = frozenset(
    {"sys.path.append", "sys.path.insert", "sys.path.extend", "os.chdir", "site.addsitedir"}
)


def _path_edit(tree: ast.Module) -> int | None:
    """The line of the first sys.path edit or chdir in a test file, or None. Tests that
    put the code on the path themselves pass only from where their author ran them: the
    package's own metadata or pytest's ``pythonpath`` setting says it once, for everyone."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and dotted(node.func) in _PATH_EDITS:
            return node.lineno
        if isinstance(node, ast.AugAssign) and dotted(node.target) == "sys.path":
            return node.lineno
    return None


def _is_fixture(function: FunctionNode) -> bool:
    return any(
        dotted(d.func if isinstance(d, ast.Call) else d).rsplit(".", 1)[-1] == "fixture"
        for d in function.decorator_list
    )


def _test_class(node: ast.ClassDef) -> bool:
    """A class whose test methods pytest collects: ``Test*``, or a unittest TestCase."""
    bases = [dotted(base).rsplit(".", 1)[-1] for base in node.bases]
    return node.name.startswith("Test") or any(b.endswith("TestCase") for b in bases)


def _collected_tests(relative: str, tree: ast.Module) -> Iterator[FunctionNode]:
    """The test functions pytest collects: ``test*`` functions at module level and
    methods of test classes, never a fixture that happens to be named ``test_client``,
    a helper nested inside a test, or anything in a conftest.py."""
    if relative.rsplit("/", 1)[-1] == "conftest.py":
        return
    for node in tree.body:
        members = node.body if isinstance(node, ast.ClassDef) and _test_class(node) else [node]
        for member in members:
            if (
                isinstance(member, ast.FunctionDef | ast.AsyncFunctionDef)
                and member.name.startswith("test")
                and not _is_fixture(member)
            ):
                yield member


def _test_facts(relative: str, tree: ast.Module, tally: CodeTally) -> None:
    edited = _path_edit(tree)
    if edited is not None:
        tally.path_edits += 1
        tally.findings.append(
            Finding(
                "facts",
                "test-path-edit",
                "the tests edit sys.path (or change directory) to find the code: they pass "
                "only from where their author runs them; declare the package or set pytest's "
                "pythonpath",
                Severity.LOW,
                Location(relative, edited),
            )
        )
    for node in _collected_tests(relative, tree):
        tally.tests += 1
        read = assertions.strength(node)
        if not read.is_weak:
            continue
        tally.tests_weak += 1
        tally.tests_without_assert += not read.assertions
        tally.findings.append(
            Finding(
                "facts",
                "test-weak-assertion" if read.assertions else "test-without-assert",
                read.describe(node.name),
                Severity.MEDIUM,
                Location(relative, node.lineno),
            )
        )


def _disabled_tests(
    relative: str, tree: ast.Module, comments: list[tuple[int, int, str]], tally: CodeTally
) -> None:
    tests = _collected_tests(relative, tree)
    for found in disabled_tests.find(relative, tree, tests, comments, tally.deselected):
        tally.tests_disabled += 1
        tally.tests_commented_out += found.commented
        where = Location(relative, found.line)
        tally.findings.append(
            Finding("facts", "test-disabled", found.message, Severity.MEDIUM, where)
        )


def _file_facts(
    relative: str, tree: ast.Module, tally: CodeTally, *, in_tests: bool, generated: bool
) -> None:
    # A migration is a tool's output (its docstrings, annotations and Alembic's logging
    # setup are the tool's): only what could tamper with a test's outcome is read there.
    if not generated:
        facts = _test_facts if in_tests else _code_facts
        facts(relative, tree, tally)
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


def _typed_by_stub(ws: Workspace, relative: str, tree: ast.Module, tally: CodeTally) -> None:
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


def read_code(ws: Workspace, newer: NewerSyntax) -> CodeTally:
    """Read every Python file once; files no tool can analyse (unparsable, newer syntax,
    an undecodable name, a link outside the submission) become findings."""
    tally = CodeTally(deselected=pytest_settings.read(ws).deselected)
    generated = set(ws.migrations)
    for relative in ws.python_files:
        parsed = _read_python(ws, relative, tally)
        if parsed is None:
            continue
        data, tree = parsed
        comments = list(_comments(data))
        _count_suppressions(relative, comments, tally)
        _typed_by_stub(ws, relative, tree, tally)
        try:
            _file_facts(
                relative,
                tree,
                tally,
                in_tests=relative in ws.test_files,
                generated=relative in generated,
            )
            if relative in ws.test_files and relative not in generated:
                _disabled_tests(relative, tree, comments, tally)
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
            f"valid Python {newer.version}, which this host cannot parse: read by ruff's "
            "parser (lint, security, complexity), not type-checked",
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
