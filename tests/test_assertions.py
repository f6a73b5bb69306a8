"""Assertion strength read from test code: one row per kind of weak or real assertion."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from grader.acquire.workspace import inventory
from grader.sandbox.bubblewrap import Limits, NotNeeded
from grader.tools.assertions import strength
from grader.tools.base import ToolContext
from grader.tools.facts import Facts


def _read(body: str) -> tuple[bool, str]:
    source = "def test_it(self=None):\n" + "".join(f"    {line}\n" for line in body.split("\n"))
    function = ast.parse(source).body[0]
    assert isinstance(function, ast.FunctionDef)
    read = strength(function)
    return read.is_weak, read.describe("test_it")


WEAK = [
    ("call only", "f(1)", "asserts nothing"),
    ("call and print", "print(f(1))", "only calls and prints"),
    ("assert True", "assert True", "can never fail"),
    ("assert 1", "f()\nassert 1", "can never fail"),
    ("same both sides", "x = f()\nassert x == x", "compares a value with itself"),
    ("literal then truthy", "x = [1]\nassert x", "the test itself just built"),
    ("constructor then not None", "x = Cart()\nassert x is not None", "just built"),
    ("constructor then isinstance", "x = Cart()\nassert isinstance(x, Cart)", "just built"),
    ("any result not None", "result = f(2)\nassert result is not None", "something came back"),
    ("a validator's result unchecked", "ok = validate_size(f)", "asserts nothing"),
    ("a task scheduled, not a validator", "asyncio.ensure_future(f())", "asserts nothing"),
    ("a tensor flag, not a validator", "x.requires_grad_()", "asserts nothing"),
    ("raises Exception", "with pytest.raises(Exception):\n    f(-1)", "accepts any error"),
    ("raises BaseException", "with raises(BaseException):\n    f(-1)", "accepts any error"),
    ("unittest assertTrue(True)", "self.assertTrue(True)", "can never fail"),
    ("unittest assertIsNotNone", "self.assertIsNotNone(f(1))", "something came back"),
    ("unittest equal to itself", "x = f()\nself.assertEqual(x, x)", "with itself"),
    ("assertRaises(Exception)", "with self.assertRaises(Exception):\n    f(-1)", "any error"),
]

STRONG = [
    ("equality", "assert f(2) == 4"),
    ("call result truthy", "assert is_valid(2)"),
    ("one strong among weak", "assert True\nassert f(2) == 4"),
    ("reassigned from a call", "x = []\nx = f()\nassert x"),
    ("raises a specific error", "with pytest.raises(ValueError):\n    f(-1)"),
    ("unittest equal", "self.assertEqual(f(2), 4)"),
    ("unittest assertTrue on a call", "self.assertTrue(is_valid(2))"),
    ("mock assertion", "m = Mock()\nf(m)\nm.assert_called_once_with(2)"),
    ("assertRaises specific", "with self.assertRaises(KeyError):\n    f(-1)"),
    # the same call twice runs it twice: how a test checks that it is deterministic
    ("deterministic", "assert train(seed=7).predict(s) == train(seed=7).predict(s)"),
    ("unittest deterministic", "self.assertEqual(f(2), f(2))"),
    # a validator called for its effect: valid input must not raise
    ("valid input does not raise", 'validate_extension("cv.pdf", ALLOWED)'),
    ("ensured by a method", "form.ensure_complete()"),
]


@pytest.mark.parametrize(("case", "body", "why"), WEAK, ids=[row[0] for row in WEAK])
def test_weak_tests_are_named_with_the_reason(case: str, body: str, why: str) -> None:
    weak, described = _read(body)
    assert weak, case
    assert why in described


@pytest.mark.parametrize(("case", "body"), STRONG, ids=[row[0] for row in STRONG])
def test_tests_with_a_real_assertion_are_not_weak(case: str, body: str) -> None:
    assert _read(body)[0] is False, case


def test_weak_share_and_one_finding_per_weak_test(tmp_path: Path) -> None:
    tests = (
        "import pytest\n"
        "from app import double\n"
        "def test_real():\n"
        "    assert double(2) == 4\n"
        "def test_not_none():\n"
        "    result = double(2)\n"
        "    assert result is not None\n"
        "def test_prints():\n"
        "    print(double(2))\n"
        "def test_any_error():\n"
        "    with pytest.raises(Exception):\n"
        "        double(None)\n"
    )
    root = tmp_path / "s"
    (root / "tests").mkdir(parents=True)
    (root / "app.py").write_text("def double(x):\n    return 2 * x\n", encoding="utf-8")
    (root / "tests" / "test_app.py").write_text(tests, encoding="utf-8")
    work = tmp_path / "work"
    work.mkdir()
    result = Facts().run(ToolContext(inventory(root), work, NotNeeded(), Limits()))
    metrics = {m.name: m.value for m in result.metrics}
    assert metrics["tests.weak_assertion_share"] == 75.0
    assert metrics["tests.without_assert_share"] == 25.0
    weak = {
        f.location.line: f.message
        for f in result.findings
        if f.rule_id in {"test-weak-assertion", "test-without-assert"}
    }
    assert sorted(weak) == [5, 8, 10]
    assert "line 7 checks only that something came back" in weak[5]
    assert "only calls and prints" in weak[8]
    assert "`raises(Exception)` at line 11 accepts any error" in weak[10]
    assert {f.location.path for f in result.findings if f.rule_id == "test-weak-assertion"} == {
        "tests/test_app.py"
    }
