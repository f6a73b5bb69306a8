"""Which tests ran a line: coverage's contexts as pytest node ids (grader.tools.test_selection),
on tables of the shapes pytest and coverage really give, then on a real run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from grader.tools.coverage_data import contexts_rcfile, line_contexts
from grader.tools.junit_results import junit_cases
from grader.tools.test_selection import MAX_ARGUMENT_CHARS, Selector, collected, node_id

SHAPES = "tests/unit/test_shapes.py"
SHAPES_SOURCE = """import unittest

import pytest

from calc import add, div, mul, neg, sub


def test_plain():
    assert add(1, 2) == 3


@pytest.mark.parametrize("a, b", [(1, 2), (3, 4)], ids=["one two", "x::y"])
def test_param(a, b):
    assert sub(a, b) == a - b


class TestGroup:
    def test_method(self):
        assert mul(2, 3) == 6

    class TestInner:
        def test_nested(self):
            assert div(6, 3) == 2


class Case(unittest.TestCase):
    def test_unit(self):
        self.assertEqual(neg(1), -1)


class Base:
    def test_inherited(self):
        assert add(0, 0) == 0


class TestChild(Base):
    pass


class TestParent:
    kind = "parent"

    def test_kind(self):
        assert neg(0) == 0


class TestSubclass(TestParent):
    kind = "subclass"
"""
CALC = """def add(a, b):
    return a + b


def sub(a, b):
    return a - b


def mul(a, b):
    return a * b


def div(a, b):
    return a / b


def neg(a):
    return -a
"""
# JUnit's (classname, name) for every test of SHAPES, as pytest 9 writes them.
CASES = [
    ("tests.unit.test_shapes", "test_plain"),
    ("tests.unit.test_shapes", "test_param[one two]"),
    ("tests.unit.test_shapes", "test_param[x::y]"),
    ("tests.unit.test_shapes.TestGroup", "test_method"),
    ("tests.unit.test_shapes.TestGroup.TestInner", "test_nested"),
    ("tests.unit.test_shapes.Case", "test_unit"),
    ("tests.unit.test_shapes.TestChild", "test_inherited"),
    ("tests.unit.test_shapes.TestParent", "test_kind"),
    ("tests.unit.test_shapes.TestSubclass", "test_kind"),
]


def _collected() -> Selector:
    tests = collected([(c, n, 0.5) for c, n in CASES], {SHAPES: SHAPES_SOURCE})
    assert tests is not None
    return Selector(tests, {})


@pytest.mark.parametrize(
    ("classname", "name", "node"),
    [
        ("tests.unit.test_shapes", "test_plain", f"{SHAPES}::test_plain"),
        ("tests.unit.test_shapes", "test_param[x::y]", f"{SHAPES}::test_param"),
        ("tests.unit.test_shapes.TestGroup", "test_method", f"{SHAPES}::TestGroup::test_method"),
        (
            "tests.unit.test_shapes.TestGroup.TestInner",
            "test_nested",
            f"{SHAPES}::TestGroup::TestInner::test_nested",
        ),
        ("tests.unit.test_shapes.Case", "test_unit", f"{SHAPES}::Case::test_unit"),
        ("test_top", "test_it[1.5]", "test_top.py::test_it"),
        ("elsewhere.test_shapes", "test_plain", None),
    ],
)
def test_a_junit_case_becomes_a_node_id(classname: str, name: str, node: str | None) -> None:
    modules = {"tests.unit.test_shapes": SHAPES, "test_top": "test_top.py"}
    assert node_id(classname, name, modules) == node


@pytest.mark.parametrize(
    ("context", "nodes"),
    [
        # The module as pytest imported it: by its path, or as a top-level module.
        ("tests.unit.test_shapes.test_plain", {"test_plain"}),
        ("test_shapes.test_plain", {"test_plain"}),
        # Parameters are dropped: the node id runs every case.
        ("test_shapes.test_param", {"test_param"}),
        ("test_shapes.TestGroup.test_method", {"TestGroup::test_method"}),
        ("test_shapes.TestGroup.TestInner.test_nested", {"TestGroup::TestInner::test_nested"}),
        ("test_shapes.Case.test_unit", {"Case::test_unit"}),
        # An inherited method is named by the class that defines it.
        ("test_shapes.Base.test_inherited", {"TestChild::test_inherited"}),
        ("test_shapes.TestParent.test_kind", {"TestParent::test_kind", "TestSubclass::test_kind"}),
        # pytest-cov's node id and phase.
        (f"{SHAPES}::test_param[x::y]|run", {"test_param"}),
        (f"{SHAPES}::TestGroup::test_method|setup", {"TestGroup::test_method"}),
        # Names no collected test: never guessed.
        ("hapes.test_plain", set()),
        ("test_shapes.test_missing", set()),
        ("calc.add", set()),
        (f"{SHAPES}::test_missing|run", set()),
    ],
)
def test_a_context_names_the_collected_tests_it_ran_in(context: str, nodes: set[str]) -> None:
    assert _collected().tests.named(context) == {f"{SHAPES}::{n}" for n in nodes}


@pytest.mark.parametrize(
    ("contexts", "nodes"),
    [
        (
            ("test_shapes.test_plain", "test_shapes.Case.test_unit"),
            {"test_plain", "Case::test_unit"},
        ),
        # Run outside any test (an import, a fixture): every test may depend on it.
        (("", "test_shapes.test_plain"), None),
        # One context that names no collected test: the choice could miss it.
        (("test_shapes.test_plain", "test_shapes.helper_test"), None),
        # No context: no test ran the line.
        ((), set()),
    ],
)
def test_a_line_gets_its_tests_or_the_whole_suite(
    contexts: tuple[str, ...], nodes: set[str] | None
) -> None:
    chosen = _collected().tests.select(contexts)
    assert chosen == (None if nodes is None else {f"{SHAPES}::{n}" for n in nodes})


def test_the_count_and_time_are_of_test_cases() -> None:
    tests = _collected().tests
    assert tests.total == len(CASES)
    assert tests.count({f"{SHAPES}::test_param", f"{SHAPES}::test_plain"}) == 3
    assert tests.duration_s({f"{SHAPES}::test_param"}) == 1.0
    assert tests.slowest_s() == 1.0


def test_lines_of_a_file_without_contexts_run_the_whole_suite() -> None:
    tests = _collected().tests
    selector = Selector(tests, {"calc.py": {2: ("test_shapes.test_plain",)}})
    assert selector.for_line("calc.py", 2) == {f"{SHAPES}::test_plain"}
    assert selector.for_line("calc.py", 5) == frozenset()
    assert selector.for_line("other.py", 2) is None


def test_without_a_readable_test_file_or_a_known_test_there_is_no_choice() -> None:
    assert collected([(c, n, 0.0) for c, n in CASES], {SHAPES: "class (:\n"}) is None
    assert collected([("elsewhere", "test_x", 0.0)], {SHAPES: SHAPES_SOURCE}) is None


def test_a_choice_too_long_for_a_command_line_runs_the_whole_suite() -> None:
    many = [("tests.unit.test_shapes", f"test_{i:06d}") for i in range(MAX_ARGUMENT_CHARS // 30)]
    tests = collected([(c, n, 0.0) for c, n in many], {SHAPES: SHAPES_SOURCE})
    assert tests is not None
    assert tests.select([f"test_shapes.test_{i:06d}" for i in range(10)]) is not None
    assert tests.select([f"test_shapes.{name}" for _, name in many]) is None


def _pytest(root: Path, runner: list[str], chosen: list[str]) -> list[str]:
    """Run pytest (under ``runner``) on ``chosen``; the tests that ran, as class.name."""
    (root / "pytest.ini").write_text(f"[pytest]\npythonpath = {root}\n", encoding="utf-8")
    options = ["-c", str(root / "pytest.ini"), f"--rootdir={root}", "-p", "no:cacheprovider"]
    junit = root / "j.xml"
    subprocess.run(
        [sys.executable, "-I", "-m", *runner, *options, f"--junitxml={junit}", "--", *chosen],
        cwd=root,
        check=True,
        capture_output=True,
    )
    return sorted(f"{c.classname.rpartition('.')[2]}.{c.name}" for c in junit_cases(junit))


def test_the_node_ids_of_a_real_run_select_exactly_the_tests_that_ran_each_line(
    tmp_path: Path,
) -> None:
    root = tmp_path / "shapes"
    (root / "tests" / "unit").mkdir(parents=True)
    (root / SHAPES).write_text(SHAPES_SOURCE, encoding="utf-8")
    (root / "calc.py").write_text(CALC, encoding="utf-8")
    rcfile = contexts_rcfile(tmp_path)
    data = tmp_path / ".coverage"
    coverage = ["coverage", "run", f"--rcfile={rcfile}", f"--data-file={data}"]
    _pytest(root, [*coverage, f"--source={root}", f"--omit={root}/tests/*", "-m", "pytest"], [])
    cases = [(c.classname, c.name, c.duration_s) for c in junit_cases(root / "j.xml")]
    assert sorted((c, n) for c, n, _ in cases) == sorted(CASES)
    tests = collected(cases, {SHAPES: SHAPES_SOURCE})
    contexts = line_contexts(
        data, root, ("calc.py",), tmp_path / "contexts.json", memory_mb=2048, timeout_s=60
    )
    assert tests is not None
    assert contexts is not None
    selector = Selector(tests, contexts)
    ran = {}
    for line in (2, 6, 10, 14, 18):
        chosen = selector.for_line("calc.py", line)
        assert chosen
        ran[line] = _pytest(root, ["pytest"], [f"{root}/{node}" for node in sorted(chosen)])
    assert ran == {
        2: ["TestChild.test_inherited", "test_shapes.test_plain"],
        6: ["test_shapes.test_param[one two]", "test_shapes.test_param[x::y]"],
        10: ["TestGroup.test_method"],
        14: ["TestInner.test_nested"],
        18: ["Case.test_unit", "TestParent.test_kind", "TestSubclass.test_kind"],
    }
    # A def line runs when the module is imported, outside any test.
    assert selector.for_line("calc.py", 1) is None
