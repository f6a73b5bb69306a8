"""How strong a test's assertions are, read from the test code (never run).

A test is weak when it asserts nothing, or when every assertion it makes is one that
cannot fail or that checks only that something came back: ``assert True``, ``assert x ==
x``, ``assert x`` or ``assert x is not None`` right after ``x`` was given a literal or a
constructed object, ``assert result is not None`` on any value, the unittest spellings of
the same (``self.assertTrue(True)``, ``self.assertIsNotNone(x)``), and
``pytest.raises(Exception)`` (or ``BaseException``), which catches every mistake as
readily as the one the test is about. A weak test that prints says so: it only calls and
prints. A validator called for its effect (``validate_size(upload)``) asserts that valid
input does not raise. Only iterative AST walks are used (hostile input).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from grader.tools import suspicious

FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef
ASSERTING_CALL = re.compile(r"^(?:assert|expect|verify|check)|^(?:raises|warns|approx|fail)$")
# A validator called for its effect (``validate_extension("cv.pdf", ALLOWED)``, its result
# unused) asserts that valid input does not raise: the test fails if the validator wrongly
# rejects it. Called for its result and never checked, it asserts nothing.
RAISING_VALIDATOR = re.compile(r"^(?:validate|ensure|require)(?:_|$)(?!future$)")
CATCH_ALL = frozenset({"Exception", "BaseException"})
RAISES_CALLS = frozenset({"raises", "assertRaises", "assertRaisesRegex"})
PRESENCE_CALLS = frozenset({"assertIsNotNone", "assertTrue", "assertIsInstance"})
"""unittest's spellings of ``assert x is not None``, ``assert x`` and ``isinstance``."""
EQUALITY_CALLS = frozenset({"assertEqual", "assertEquals", "assertIs", "assertGreaterEqual"})


@dataclass(frozen=True)
class Strength:
    """What a test function's assertions amount to."""

    assertions: int
    """Assertions the test makes (assert statements and asserting calls)."""
    weak: tuple[str, ...]
    """Each weak assertion, in words, in source order."""
    prints: bool

    @property
    def is_weak(self) -> bool:
        """True when no assertion in the test could catch a wrong result."""
        return len(self.weak) == self.assertions

    def describe(self, name: str) -> str:
        """Why the test is weak, in words (only meaningful when ``is_weak``)."""
        if not self.assertions:
            if self.prints:
                return f"{name} only calls and prints: it passes whatever the code does"
            return f"{name} asserts nothing: it passes whatever the code does"
        return f"{name} cannot catch a wrong result: " + "; ".join(self.weak)


def _literal(node: ast.expr | None) -> bool:
    """A literal, a display or a constructor call (a capitalised callee)."""
    if isinstance(
        node,
        ast.Constant | ast.List | ast.Tuple | ast.Dict | ast.Set | ast.JoinedStr | ast.ListComp,
    ):
        return True
    if isinstance(node, ast.Call):
        name = suspicious.call_name(node)
        return bool(name) and name[0].isupper()
    return False


def _assigned(function: FunctionNode) -> dict[str, list[tuple[int, bool]]]:
    """Every plain-name assignment in ``function``: name -> [(line, value is literal)]."""
    found: dict[str, list[tuple[int, bool]]] = {}
    for node in ast.walk(function):
        value: ast.expr | None
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign | ast.AugAssign):
            targets, value = [node.target], node.value
            if isinstance(node, ast.AugAssign):
                value = None
        else:
            continue
        for target in targets:
            if isinstance(target, ast.Name):
                found.setdefault(target.id, []).append((node.lineno, _literal(value)))
    return found


class _Reader:
    def __init__(self, function: FunctionNode) -> None:
        self.assigned = _assigned(function)

    def _fixed(self, node: ast.expr, line: int) -> bool:
        """A name whose latest assignment before ``line`` was a literal or constructor."""
        if not isinstance(node, ast.Name):
            return False
        earlier = [entry for entry in self.assigned.get(node.id, []) if entry[0] < line]
        return bool(earlier) and max(earlier)[1]

    def statement(self, node: ast.Assert) -> str:
        test, line = node.test, node.lineno
        source = ast.unparse(test)[:80]
        if isinstance(test, ast.Constant):
            return f"`assert {source}` at line {line} can never fail" if test.value else ""
        if isinstance(test, ast.Compare) and len(test.ops) == 1:
            left, op, right = test.left, test.ops[0], test.comparators[0]
            if isinstance(op, ast.Eq | ast.Is | ast.LtE | ast.GtE) and _same_value(left, right):
                return f"`assert {source}` at line {line} compares a value with itself"
            none = isinstance(right, ast.Constant) and right.value is None
            if isinstance(op, ast.IsNot) and none:
                return self._presence(left, line, f"`assert {source}`")
        if isinstance(test, ast.Call) and suspicious.call_name(test) == "isinstance" and test.args:
            return self._presence(test.args[0], line, f"`assert {source}`")
        if self._fixed(test, line):
            return f"`assert {source}` at line {line} tests a value the test itself just built"
        return ""

    def _presence(self, value: ast.expr, line: int, shown: str) -> str:
        if self._fixed(value, line):
            return f"{shown} at line {line} tests a value the test itself just built"
        return f"{shown} at line {line} checks only that something came back, not what"

    def call(self, node: ast.Call) -> str:
        name = suspicious.call_name(node)
        line = node.lineno
        args = node.args
        if name in RAISES_CALLS and args:
            caught = args[0].id if isinstance(args[0], ast.Name) else ""
            catch_all = caught in CATCH_ALL
            return f"`{name}({caught})` at line {line} accepts any error at all" * catch_all
        if name in PRESENCE_CALLS and args:
            first = args[0]
            if isinstance(first, ast.Constant):
                return f"`{name}({ast.unparse(first)[:40]})` at line {line} can never fail"
            if name == "assertIsNotNone":
                return self._presence(first, line, f"`{name}(...)`")
            if self._fixed(first, line):
                return f"`{name}(...)` at line {line} tests a value the test itself just built"
        if name in EQUALITY_CALLS and len(args) >= 2 and _same_value(args[0], args[1]):
            return f"`{name}` at line {line} compares a value with itself"
        return ""


def _same_value(left: ast.expr, right: ast.expr) -> bool:
    """Whether two expressions are one value written twice: the same text with no call
    in it. ``f(x) == f(x)`` runs f twice, which is how a test checks that f is
    deterministic, and can fail."""
    calls = any(isinstance(node, ast.Call | ast.Await) for node in ast.walk(left))
    return not calls and ast.dump(left) == ast.dump(right)


def _is_print(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print"
    )


def strength(function: FunctionNode) -> Strength:
    """Read every assertion in one test function (nested helpers included)."""
    reader = _Reader(function)
    assertions = 0
    weak: list[tuple[int, int, str]] = []
    prints = False
    for node in ast.walk(function):
        if isinstance(node, ast.Assert):
            assertions += 1
            why = reader.statement(node)
        elif isinstance(node, ast.Call) and ASSERTING_CALL.search(suspicious.call_name(node)):
            assertions += 1
            why = reader.call(node)
        elif (
            isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Call)
            and RAISING_VALIDATOR.search(suspicious.call_name(node.value))
        ):
            assertions += 1  # valid input does not raise
            continue
        else:
            prints |= _is_print(node)
            continue
        if why:
            weak.append((node.lineno, node.col_offset, why))
    return Strength(assertions, tuple(why for *_, why in sorted(weak)), prints)
