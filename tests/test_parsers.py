"""Parsers of tool output, on outputs recorded from the real tools (tests/fixtures/outputs)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import run_tool

from grader.acquire.workspace import inventory
from grader.core.models import Severity, TestSummary, ToolStatus
from grader.core.proc import ProcResult
from grader.sandbox.bubblewrap import Limits, NotNeeded
from grader.tools import bandit
from grader.tools.bandit import _finding as bandit_finding
from grader.tools.base import ToolContext
from grader.tools.junit_results import _consistent, parse_junit
from grader.tools.mypy import Mypy, _fatal, _parse
from grader.tools.run_outcomes import why_nothing_ran

OUTPUTS = Path(__file__).parent / "fixtures" / "outputs"


def test_mypy_json_lines() -> None:
    findings = _parse((OUTPUTS / "mypy.jsonl").read_text(encoding="utf-8"), "")
    assert [(f.rule_id, f.location.path, f.location.line) for f in findings] == [
        ("return-value", "m.py", 2),
        ("attr-defined", "m.py", 5),
    ]
    assert all(f.severity is Severity.MEDIUM for f in findings)


def test_mypy_text_fallback() -> None:
    findings = _parse("", (OUTPUTS / "mypy-text.txt").read_text(encoding="utf-8"))
    assert [(f.location.path, f.location.line, f.message) for f in findings] == [
        ("m.py", 3, "invalid syntax  [syntax]")
    ]


def test_mypy_fatal_duplicate_module_is_recognised() -> None:
    output = (OUTPUTS / "mypy-duplicate.txt").read_text(encoding="utf-8")
    recorded = ProcResult(("mypy",), 2, output, "", 0.1)
    clean = ProcResult(("mypy",), 1, (OUTPUTS / "mypy.jsonl").read_text(encoding="utf-8"), "", 0.1)
    assert _fatal(recorded)  # Mypy.run retries without the tests, then reports a failure
    assert not _fatal(clean)


def test_junit_outcomes_timings_and_failures() -> None:
    summary = parse_junit(OUTPUTS / "junit.xml")
    assert (summary.passed, summary.failed, summary.errors, summary.skipped) == (1, 1, 1, 1)
    assert summary.total == 4
    assert [name for name, _ in summary.failures] == [
        "tests.test_j::test_bad",
        "tests.test_j::test_err",
    ]
    assert summary.failures[0][1] == "assert 1 == 2"
    assert len(summary.slowest) == 4


def test_results_that_disagree_with_pytests_exit_code_are_rejected() -> None:
    all_pass = TestSummary(passed=50)
    one_failure = TestSummary(passed=3, failed=1)
    assert _consistent(all_pass, 0) == (all_pass, "")
    assert _consistent(one_failure, 1) == (one_failure, "")
    assert _consistent(all_pass, 1)[0] is None
    assert "changed after pytest wrote them" in _consistent(all_pass, 1)[1]
    assert _consistent(one_failure, 0)[0] is None
    assert _consistent(all_pass, 2) == (all_pass, "")  # interrupted: nothing to compare


@pytest.mark.slow
def test_a_module_shadowing_the_standard_library_is_reported_and_the_rest_checked(
    tmp_path: Path,
) -> None:
    root = tmp_path / "sub"
    root.mkdir()
    (root / "typing.py").write_text("x = 1\n", encoding="utf-8")
    (root / "app.py").write_text("def f(x: int) -> str:\n    return x\n", encoding="utf-8")
    work = tmp_path / "work"
    work.mkdir()
    result = Mypy().run(ToolContext(inventory(root), work, NotNeeded(), Limits()))
    assert result.status is ToolStatus.OK, result.reason
    assert sorted((f.rule_id, f.location.path) for f in result.findings) == [
        ("return-value", "app.py"),
        ("shadows-stdlib", "typing.py"),
    ]


@pytest.mark.slow
def test_code_imported_under_two_names_is_checked_on_its_own(tmp_path: Path) -> None:
    # The tests import src.shop.main, the code imports shop.main: mypy stops, finding the
    # file twice. The code alone still has its types checked, and charged.
    files = {
        "src/shop/__init__.py": "",
        "src/shop/main.py": "def f(x: int) -> str:\n    return x\n",
        "src/shop/api.py": "from shop.main import f\n\nVALUE = f(1)\n",
        "tests/__init__.py": "",
        "tests/test_main.py": "from src.shop.main import f\n\n\ndef test_f():\n    f(1)\n",
    }
    result = run_tool(Mypy(), tmp_path, files)
    assert result.status is ToolStatus.OK, result.reason
    assert [(f.rule_id, f.location.path) for f in result.findings] == [
        ("return-value", "src/shop/main.py")
    ]
    assert "checked code only" in " ".join(result.notes)


def test_collection_failures_keep_the_error_pytest_reports() -> None:
    summary = parse_junit(OUTPUTS / "junit-collection.xml")
    assert (summary.passed, summary.errors) == (1, 2)
    messages = dict(summary.failures)
    assert (
        "RuntimeError: The starlette.testclient module requires the httpx"
        in (messages["tests.test_api"])
    )
    assert "No module named 'no_such_module_here'" in messages["tests.test_db"]


@pytest.mark.parametrize(
    ("summary", "exit_code", "reason"),
    [
        (TestSummary(), 5, "no test ran: pytest collected none (exit code 5)"),
        (TestSummary(skipped=3), 0, "no test ran: pytest collected 3 and skipped every one"),
        (TestSummary(passed=1, skipped=1), 0, ""),
        (TestSummary(errors=1), 1, ""),  # an error is a test that ran and failed
    ],
)
def test_a_run_that_tested_nothing_is_never_ok(
    summary: TestSummary, exit_code: int, reason: str
) -> None:
    assert why_nothing_ran(summary, exit_code) == reason


def _bandit_item(test_id: str, severity: str = "HIGH") -> dict[str, object]:
    return {
        "test_id": test_id,
        "issue_text": "bandit says",
        "issue_severity": severity,
        "issue_confidence": "HIGH",
        "filename": "app.py",
        "line_number": 3,
    }


@pytest.mark.parametrize(
    ("test_id", "severity", "rejected"),
    [
        ("B307", "MEDIUM", 1),  # eval
        ("B602", "HIGH", 1),  # shell=True
        ("B608", "MEDIUM", 1),  # SQL built from strings
        ("B501", "HIGH", 1),  # TLS verification off
        ("B301", "MEDIUM", 0),  # unpickling a file the submission wrote: charged, not capped
        ("B506", "MEDIUM", 0),  # yaml.load
        ("B201", "HIGH", 0),  # Flask debug=True for a local run
        ("B324", "HIGH", 0),  # md5 as a checksum
    ],
)
def test_only_what_a_reviewer_rejects_on_sight_caps_security(
    tmp_path: Path, test_id: str, severity: str, rejected: int
) -> None:
    ctx = ToolContext(inventory(tmp_path), tmp_path, NotNeeded(), Limits())
    finding = bandit_finding(ctx, _bandit_item(test_id, severity), lambda _path: None)
    metrics = {m.name: m.value for m in bandit.metrics_of((finding,))}
    assert metrics["security.reject_on_sight"] == rejected
    if test_id == "B324":
        assert finding.severity is Severity.LOW and "checksum" in finding.message
        assert metrics["security.weighted"] == 1.0


@pytest.mark.parametrize(
    ("statement", "rejected"),
    [
        ('cur.execute(f"SELECT * FROM {table} LIMIT 0")', 0),
        ('cur.execute(f"SELECT * FROM users WHERE id = {user_id}")', 1),
    ],
)
def test_sql_that_interpolates_only_names_is_asked_about_not_rejected(
    tmp_path: Path, statement: str, rejected: int
) -> None:
    (tmp_path / "app.py").write_text(f"def q(cur, table, user_id):\n\n    {statement}\n")
    ctx = ToolContext(inventory(tmp_path), tmp_path, NotNeeded(), Limits())
    item = {**_bandit_item("B608", "MEDIUM"), "filename": str(tmp_path / "app.py")}
    finding = bandit_finding(ctx, item, lambda _path: None)
    metrics = {m.name: m.value for m in bandit.metrics_of((finding,))}
    assert metrics["security.reject_on_sight"] == rejected
    assert ("only table or column names" in finding.message) is (rejected == 0)


@pytest.mark.slow
def test_a_variable_type_mypy_asks_for_in_an_untyped_function_is_not_a_type_error(
    tmp_path: Path,
) -> None:
    # Annotation coverage charges the untyped function; its real type errors still count.
    source = (
        "def untyped(rows):\n"
        "    seen = []\n"  # var-annotated, in an untyped def: left out
        "    return len(rows) + len(seen) + 'x'\n"  # a real error, still charged
        "\n"
        "\n"
        "def typed(rows: list[int]) -> int:\n"
        "    seen = []\n"  # var-annotated where the author annotates: charged
        "    return len(seen) + len(rows)\n"
        "\n"
        "\n"
        "def outer(rows):\n"
        "    def inner(x: int) -> int:\n"
        "        found = {}\n"  # the innermost function decides: annotated, charged
        "        return x + len(found)\n"
        "    return inner(rows)\n"
    )
    root = tmp_path / "sub"
    root.mkdir()
    (root / "app.py").write_text(source, encoding="utf-8")
    work = tmp_path / "work"
    work.mkdir()
    result = Mypy().run(ToolContext(inventory(root), work, NotNeeded(), Limits()))
    assert result.status is ToolStatus.OK, result.reason
    assert sorted((f.location.line, f.rule_id) for f in result.findings) == [
        (3, "operator"),
        (7, "var-annotated"),
        (13, "var-annotated"),
    ]
    assert "1 'need type annotation' error(s) in functions with no annotation" in result.notes[0]


@pytest.mark.slow
def test_an_alembic_folder_does_not_hide_the_library_a_test_imports(tmp_path: Path) -> None:
    # `alembic init alembic` leaves alembic/ without an __init__.py: to mypy a namespace
    # package found before the library, so `from alembic import command` looked wrong.
    files = {
        "alembic/env.py": "from alembic import context\n\ncontext.configure()\n",
        "alembic/versions/0001_first.py": 'revision = "0001"\n',
        "app.py": "def total(values: list[int]) -> int:\n    return sum(values) + 'x'\n",
        "tests/conftest.py": (
            "from alembic import command\nfrom alembic.config import Config\n\n\n"
            "def migrate() -> None:\n    command.upgrade(Config('alembic.ini'), 'head')\n"
        ),
    }
    files["fastmath.pyi"] = "def speed() -> int: ...\n"  # the candidate's own stub
    files["use.py"] = "from fastmath import speed\n\nLABEL: str = speed()\n"
    result = run_tool(Mypy(), tmp_path, files)
    assert [(f.location.path, f.rule_id) for f in result.findings] == [
        ("app.py", "operator"),
        ("use.py", "assignment"),
    ]


@pytest.mark.slow
def test_a_class_built_on_a_base_made_at_run_time_is_no_type_error(tmp_path: Path) -> None:
    # `Base = declarative_base()`: mypy cannot see the class without SQLAlchemy's plugin.
    files = {
        "models.py": (
            "from sqlalchemy.orm import declarative_base\n\n"
            "Base = declarative_base()\n\n\n"
            "class Item(Base):\n    pass\n\n\n"
            "def count(items: list[Item]) -> int:\n    return len(items) + 'x'\n"
        ),
    }
    result = run_tool(Mypy(), tmp_path, files)
    assert [(f.location.line, f.rule_id) for f in result.findings] == [(11, "operator")]
    assert any("made at run time" in note for note in result.notes)
