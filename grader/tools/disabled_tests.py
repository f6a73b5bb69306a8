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
from collections.abc import Callable, Collection, Iterable, Iterator
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


def _pytestmark(tree: ast.Module) -> list[ast.expr]:
    """The marks a module's ``pytestmark`` applies to all its tests."""
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "pytestmark" for t in node.targets
        ):
            value = node.value
            return value.elts if isinstance(value, ast.List | ast.Tuple) else [value]
    return []


def _classes(tree: ast.Module) -> dict[int, ast.ClassDef]:
    """id(method) -> the class it is defined in, for the module's classes."""
    return {
        id(member): node
        for node in tree.body
        if isinstance(node, ast.ClassDef)
        for member in node.body
    }


def _first(marks: Iterable[ast.expr], read: Callable[[ast.expr], str]) -> str:
    """What ``read`` says of the first of ``marks`` it says anything of, or ''."""
    return next(filter(None, map(read, marks)), "")


def _deselecting(deselected: Collection[str]) -> Callable[[ast.expr], str]:
    """Reads the deselected marker a mark applies (``pytest.mark.webtest``), or ''."""

    def read(mark: ast.expr) -> str:
        name = dotted(mark.func if isinstance(mark, ast.Call) else mark)
        last = name.rsplit(".", 1)[-1]
        return last if name.endswith(f"mark.{last}") and last in deselected else ""

    return read


def _skip(test: FunctionNode, owner: ast.ClassDef | None, module: list[ast.expr]) -> str:
    """How ``test`` is skipped whatever the conditions, in words, or ''."""
    on_module = _first(module, _always_skips)
    on_class = _first(owner.decorator_list, _always_skips) if owner else ""
    return (
        (on_module and f"pytestmark = {on_module}")
        or (on_class and owner and f"{on_class} on {owner.name}")
        or _first(test.decorator_list, _always_skips)
        or _skips_in_body(test)
    )


def skipped(
    tree: ast.Module, tests: Iterable[FunctionNode], deselected: Collection[str] = ()
) -> Iterator[Disabled]:
    """The collected ``tests`` of ``tree`` that are skipped whatever the conditions, or
    carry a marker the author's ``addopts`` deselects (``deselected``): those never run
    in the suite as the author runs it either."""
    module = _pytestmark(tree)
    classes = _classes(tree)
    deselecting = _deselecting(deselected)
    for test in tests:
        owner = classes.get(id(test))
        how = _skip(test, owner, module)
        marks = [*test.decorator_list, *(owner.decorator_list if owner else []), *module]
        marker = _first(marks, deselecting) if deselected else ""
        if how:
            message = f"{test.name} is skipped whatever the conditions ({how}): it never runs"
            yield Disabled(test.lineno, message, commented=False)
        elif marker:
            message = (
                f"{test.name} is marked {marker}, which the author's addopts deselects "
                f'(-m "not {marker}"): it never runs in the suite as configured'
            )
            yield Disabled(test.lineno, message, commented=False)


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
