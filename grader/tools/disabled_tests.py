"""Tests the candidate turned off: commented out, or skipped whatever the conditions.

A test commented out (``# def test_login(...)``) or marked to skip with no condition
(``@pytest.mark.skip``, ``@unittest.skip``, a module's ``pytestmark = pytest.mark.skip``,
a skip decorator on its test class, or ``pytest.skip()``, ``self.skipTest()`` or ``raise
SkipTest`` among the test's own statements, outside any branch) never runs: the suite
stays green over behaviour nobody checks any more, usually the behaviour that failed. A
skip with a condition (``skipif``, ``skipUnless``, a skip inside an ``if``) is how a test
says where it cannot run, and is not counted; ``skipif(True)`` is. Read from the test
files only, never run; only iterative AST walks (hostile input).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass

from grader.tools.module_state import dotted

FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef
COMMENTED_TEST = re.compile(r"^#+([ \t]*)(?:async\s+)?def\s+(test\w*)\s*\(")
MAX_TEST_INDENT = 4
"""A test method's indentation; deeper, a commented ``def test_...`` is nested."""
SKIP_DECORATORS = frozenset({"skip", "mark.skip", "pytest.mark.skip", "unittest.skip"})
CONDITIONAL_SKIPS = frozenset({"skipif", "skipIf", "skipUnless"})
SKIP_CALLS = frozenset({"pytest.skip", "self.skipTest", "skipTest"})
SKIP_EXCEPTIONS = frozenset({"SkipTest", "unittest.SkipTest", "pytest.skip.Exception"})


@dataclass(frozen=True)
class Disabled:
    """One test that never runs, and how it was turned off, in words."""

    line: int
    message: str
    commented: bool
    """Commented out (not collected, so not among the tests counted)."""


def _always_skips(decorator: ast.expr) -> str:
    """How ``decorator`` skips whatever the conditions, or '' when it does not."""
    name = dotted(decorator.func if isinstance(decorator, ast.Call) else decorator)
    if name in SKIP_DECORATORS:
        return name
    last = name.rsplit(".", 1)[-1]
    if last in CONDITIONAL_SKIPS and isinstance(decorator, ast.Call) and decorator.args:
        condition = decorator.args[0]
        always = last != "skipUnless"
        if isinstance(condition, ast.Constant) and condition.value is always:
            return f"{name}({condition.value})"
    return ""


def _skips_in_body(function: FunctionNode) -> str:
    """The skip among the test's own top-level statements, or ''."""
    for statement in function.body:
        if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call):
            name = dotted(statement.value.func)
            if name in SKIP_CALLS:
                return f"{name}() outside any branch"
        if isinstance(statement, ast.Raise) and statement.exc is not None:
            raised = statement.exc
            name = dotted(raised.func if isinstance(raised, ast.Call) else raised)
            if name in SKIP_EXCEPTIONS:
                return f"raise {name} outside any branch"
    return ""


def _module_mark(tree: ast.Module) -> str:
    """The unconditional skip a module's ``pytestmark`` applies to all its tests, or ''."""
    for node in tree.body:
        if not isinstance(node, ast.Assign):
            continue
        if not any(isinstance(t, ast.Name) and t.id == "pytestmark" for t in node.targets):
            continue
        marks = node.value.elts if isinstance(node.value, ast.List | ast.Tuple) else [node.value]
        for mark in marks:
            found = _always_skips(mark)
            if found:
                return f"pytestmark = {found}"
    return ""


def _class_marks(tree: ast.Module) -> dict[int, str]:
    """id(method) -> the unconditional skip on its class, for every skipped class."""
    marked: dict[int, str] = {}
    for node in tree.body:
        if not isinstance(node, ast.ClassDef):
            continue
        found = next(filter(None, map(_always_skips, node.decorator_list)), "")
        if found:
            marked.update((id(member), f"{found} on {node.name}") for member in node.body)
    return marked


def skipped(
    tree: ast.Module, tests: Iterable[FunctionNode], deselected: Collection[str] = ()
) -> Iterator[Disabled]:
    """The collected ``tests`` of ``tree`` that are skipped whatever the conditions, or
    carry a marker the author's ``addopts`` deselects (``deselected``): those never run
    in the suite as the author runs it either."""
    module = _module_mark(tree)
    classes = _class_marks(tree)
    marked = _deselected_marks(tree, deselected)
    for test in tests:
        how = (
            module
            or classes.get(id(test), "")
            or next(filter(None, map(_always_skips, test.decorator_list)), "")
            or _skips_in_body(test)
        )
        if how:
            message = f"{test.name} is skipped whatever the conditions ({how}): it never runs"
            yield Disabled(test.lineno, message, commented=False)
        elif id(test) in marked or 0 in marked:
            marker = marked.get(id(test)) or marked[0]
            message = (
                f"{test.name} is marked {marker}, which the author's addopts deselects "
                f'(-m "not {marker}"): it never runs in the suite as configured'
            )
            yield Disabled(test.lineno, message, commented=False)


def _marker(decorator: ast.expr, deselected: Collection[str]) -> str:
    """The deselected marker ``decorator`` applies (``pytest.mark.webtest``), or ''."""
    name = dotted(decorator.func if isinstance(decorator, ast.Call) else decorator)
    last = name.rsplit(".", 1)[-1]
    return last if name.endswith(f"mark.{last}") and last in deselected else ""


def _first(marks: Iterable[ast.expr], deselected: Collection[str]) -> str:
    return next(filter(None, (_marker(m, deselected) for m in marks)), "")


def _deselected_marks(tree: ast.Module, deselected: Collection[str]) -> dict[int, str]:
    """id(test) -> the deselected marker on it or on its class; key 0 for the module's
    ``pytestmark``."""
    if not deselected:
        return {}
    marks: dict[int, str] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "pytestmark" for t in node.targets
        ):
            values = (
                node.value.elts if isinstance(node.value, ast.List | ast.Tuple) else [node.value]
            )
            found = next(filter(None, (_marker(v, deselected) for v in values)), "")
            marks.update({0: found} if found else {})
        members = node.body if isinstance(node, ast.ClassDef) else [node]
        on_class = _first(node.decorator_list, deselected) if isinstance(node, ast.ClassDef) else ""
        for member in members:
            if isinstance(member, ast.FunctionDef | ast.AsyncFunctionDef):
                own = next(
                    filter(None, (_marker(d, deselected) for d in member.decorator_list)), ""
                )
                if own or on_class:
                    marks[id(member)] = own or on_class
    return marks


def commented_out(comments: Iterable[tuple[int, int, str]]) -> Iterator[Disabled]:
    """Test functions commented out, from a test file's comments (line, column, text):
    at a module's level or a test class's (indented at most one level, in the code or
    after the ``#``); a ``def test_...`` commented out inside a function is a helper."""
    for line, column, text in comments:
        match = COMMENTED_TEST.match(text)
        if match and column + max(len(match.group(1)) - 1, 0) <= MAX_TEST_INDENT:
            message = f"{match.group(2)} is commented out: it never runs"
            yield Disabled(line, message, commented=True)


def find(
    relative: str,
    tree: ast.Module,
    tests: Iterable[FunctionNode],
    comments: Iterable[tuple[int, int, str]],
    deselected: Collection[str],
) -> list[Disabled]:
    """Every test of a test file turned off: skipped, deselected or commented out (never
    in conftest.py, which holds fixtures and hooks: pytest collects no test there)."""
    if relative.endswith("conftest.py"):
        return list(skipped(tree, tests, deselected))
    # a ``def test_...`` commented out inside a function's lines is a nested helper
    inside = {
        line
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        for line in range(node.lineno + 1, (node.end_lineno or node.lineno) + 1)
    }
    commented = [c for c in commented_out(comments) if c.line not in inside]
    return [*skipped(tree, tests, deselected), *commented]
