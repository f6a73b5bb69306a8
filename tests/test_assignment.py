"""The assignment (issue 9): assignment.toml, hidden tests, audiences.

Hidden tests run for real in the sandbox against a small submission whose own conftest
forges outcomes; reports are rendered in every format for both audiences.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import textwrap
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from grader.acquire import history
from grader.assignment import calibration
from grader.assignment.spec import Assignment, load, override, split_starter
from grader.cli import main
from grader.core.errors import AssignmentError
from grader.core.models import Visibility
from grader.pipeline import load_rubric
from tests.conftest import SAMPLES, STARTER, Run, git, make_candidate_repo, run_grader

SAMPLE_ASSIGNMENT = SAMPLES / "assignment" / "assignment.toml"

CALC = {
    "calc/__init__.py": '''
        """A calculator with a bug in add."""


        def add(a: int, b: int) -> int:
            """Sum of a and b (wrong on purpose)."""
            return a - b


        def mul(a: int, b: int) -> int:
            """Product of a and b."""
            return a * b


        def ratio(a: int, b: int) -> float:
            """a over b; 0 when b is 0 (it raises instead)."""
            return a / b
        ''',
    "tests/test_calc.py": """
        from calc import add


        def test_add_own() -> None:
            assert add(2, 2) == 4
        """,
    # The candidate's forgery: every failing test reported as passed.
    "conftest.py": """
        import pytest


        @pytest.hookimpl(hookwrapper=True)
        def pytest_runtest_makereport(item, call):
            outcome = yield
            report = outcome.get_result()
            report.outcome = "passed"
        """,
}

HIDDEN = {
    "test_visible.py": """
        from calc import add


        def test_visible_token_alpha():
            assert add(2, 3) == 5, "VISIBLE_MSG_alpha"
        """,
    "test_counted.py": """
        from calc import add, mul


        def test_counted_token_beta():
            assert add(1, 1) == 2, "COUNTED_MSG_beta"


        def test_counted_token_passes():
            assert mul(2, 3) == 6
        """,
    "test_secret.py": """
        from calc import ratio


        def test_hidden_token_gamma():
            assert ratio(5, 0) == 0, "HIDDEN_MSG_gamma"
        """,
}

ASSIGNMENT_TOML = """
name = "calc"

[hidden_tests]
path = "hidden"

  [hidden_tests.tests]
  "test_visible.py" = "visible"
  "test_secret.py::test_hidden_token_gamma" = "hidden"
"""


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def calc_assignment(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The forging submission and an assignment whose hidden tests it fails."""
    base = tmp_path_factory.mktemp("calc")
    submission = _write(base / "submission", CALC)
    team = base / "team"
    _write(team / "hidden", HIDDEN)
    (team / "assignment.toml").write_text(ASSIGNMENT_TOML, encoding="utf-8")
    return submission, team / "assignment.toml"


FORMATS = ("html", "json", "md", "sarif")


@pytest.fixture(scope="module")
def audiences(
    calc_assignment: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Run]:
    """The forging submission graded once per audience, every format written."""
    submission, assignment = calc_assignment
    runs = {}
    for audience in ("reviewer", "candidate"):
        out = tmp_path_factory.mktemp(audience)
        run = run_grader(
            submission,
            out,
            "--assignment",
            str(assignment),
            "--audience",
            audience,
            "--format",
            ",".join(FORMATS),
        )
        assert run.exit_code == 0, run.stderr
        runs[audience] = run
    return runs


def _outputs(run: Run) -> dict[str, str]:
    texts = {f: (run.out / f"report.{f}").read_text(encoding="utf-8") for f in FORMATS}
    texts["md"] = texts["md"].replace("\\", "")  # Markdown escapes: test_\_x -> test_x
    return {**texts, "terminal": run.stdout + run.stderr}


@pytest.mark.sandbox
def test_a_forging_conftest_cannot_change_hidden_outcomes(audiences: dict[str, Run]) -> None:
    report = audiences["reviewer"].report()
    hidden = {t["name"]: t["outcome"] for t in report["assignment"]["hidden_tests"]["tests"]}
    assert hidden == {
        "test_counted.py::test_counted_token_beta": "failed",
        "test_counted.py::test_counted_token_passes": "passed",
        "test_secret.py::test_hidden_token_gamma": "failed",
        "test_visible.py::test_visible_token_alpha": "failed",
    }
    correctness = next(c for c in report["criteria"] if c["id"] == "correctness")
    assert correctness["metrics"][0]["value"] == 25.0
    # The same conftest did forge the candidate's own run: its failing test "passed".
    own = next(t for t in report["tools"] if t["name"] == "pytest")
    assert own["tests"]["failed"] == 0
    # A failure inside the candidate's code points at their line.
    cases = {t["name"].split("::")[1]: t for t in report["assignment"]["hidden_tests"]["tests"]}
    gamma = cases["test_hidden_token_gamma"]
    assert (gamma["path"], gamma["line"]) == ("calc/__init__.py", 16)
    assert "ZeroDivisionError" in gamma["message"]
    assert cases["test_visible_token_alpha"]["path"] == "."


@pytest.mark.sandbox
def test_the_reviewer_sees_every_hidden_test(audiences: dict[str, Run]) -> None:
    for fmt, text in _outputs(audiences["reviewer"]).items():
        if fmt in {"terminal"}:
            continue
        for token in ("alpha", "beta", "gamma"):
            assert token in text, (fmt, token)


@pytest.mark.sandbox
@pytest.mark.parametrize("fmt", [*FORMATS, "terminal"])
def test_the_candidate_sees_only_what_the_team_allows(audiences: dict[str, Run], fmt: str) -> None:
    text = _outputs(audiences["candidate"])[fmt]
    assert "test_visible_token_alpha" in text  # visible: name ...
    assert "VISIBLE_MSG_alpha" in text  # ... and message
    for leaked in ("beta", "gamma", "test_counted_token_passes", "test_secret", "COUNTED_MSG"):
        assert leaked not in text, leaked
    if fmt in {"html", "md"}:
        assert "1 of 2 further tests passed" in text  # count: only how many passed
    if fmt == "terminal":
        assert "reference tests: 1 of 3 passed" in text


@pytest.mark.sandbox
def test_candidate_json_counts_without_names(audiences: dict[str, Run]) -> None:
    for fmt in ("json", "sarif"):
        data: Any = json.loads((audiences["candidate"].out / f"report.{fmt}").read_text())
        section = (
            data["assignment"] if fmt == "json" else data["runs"][0]["properties"]["assignment"]
        )
        hidden = section["hidden_tests"]
        assert hidden["counted"] == {"passed": 1, "total": 2}
        assert [t["name"] for t in hidden["tests"]] == ["test_visible.py::test_visible_token_alpha"]
        assert "traceback" not in hidden["tests"][0]
        assert section["audience"] == "candidate"
        assert section["discussion"] == []


@pytest.mark.sandbox  # the graded fixture runs the submission's tests
def test_no_correctness_criterion_without_hidden_tests(graded: dict[str, Any]) -> None:
    for report in graded.values():
        assert "correctness" not in [c["id"] for c in report["criteria"]]
        assert "assignment" not in report


def test_visibility_rules() -> None:
    assignment = Assignment(
        visibility=(
            ("a.py", Visibility.VISIBLE),
            ("a.py::test_secret", Visibility.HIDDEN),
            ("sub/", Visibility.HIDDEN),
        )
    )
    assert assignment.visibility_of("a.py::test_x") is Visibility.VISIBLE
    assert assignment.visibility_of("a.py::test_secret[1-2]") is Visibility.HIDDEN
    assert assignment.visibility_of("sub/b.py::test_y") is Visibility.HIDDEN
    assert assignment.visibility_of("b.py::test_y") is Visibility.COUNT


def test_the_sample_assignment_loads() -> None:
    assignment = load(SAMPLE_ASSIGNMENT)
    assert assignment.hidden_tests == SAMPLES / "assignment" / "hidden_tests"
    assert assignment.starter is not None
    assert assignment.starter.source == str(SAMPLES / "assignment" / "starter")
    assert assignment.reference == str(SAMPLES / "exemplary")
    assert assignment.deadline is not None


def test_an_assignment_reaches_batch_workers_whole_with_absolute_paths(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(SAMPLES)
    given = override(
        load(SAMPLE_ASSIGNMENT),
        starter="assignment/starter",
        deadline="2025-03-09T12:00:00+01:00",
        rubric="data-science",
    )
    assert given.starter is not None and given.starter.source == str(STARTER)
    assert given.hidden_tests is not None and given.hidden_tests.is_absolute()
    sent = json.loads(json.dumps(given.to_data()))
    assert Assignment.from_data(sent) == given
    assert Assignment.from_data(json.loads(json.dumps(Assignment().to_data()))) == Assignment()
    # A URL is left as written, never taken for a folder.
    url = override(Assignment(), starter="https://example.invalid/org/starter.git@v2")
    assert (
        url.starter is not None and url.starter.source == "https://example.invalid/org/starter.git"
    )


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ("nmae = 'x'", "nmae: unknown key"),
        ("[hidden_tests]\npath = 'nowhere'", "hidden_tests.path: "),
        ("[hidden_tests]\npath = '.'\nvisibility = 'secret'", "'secret' is not a visibility"),
        ("deadline = 2024-05-01T18:00:00", "has no time zone"),
        ("deadline = 'tomorrow'", "not an ISO-8601 timestamp"),
        ("[starter]\nref = 'main'", "starter.source"),
        ("[starter]\nsource = 'a'\nbase = 'b'", "not both"),
        ("name = ", "not valid TOML"),
    ],
)
def test_a_malformed_assignment_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], toml: str, expected: str
) -> None:
    path = tmp_path / "assignment.toml"
    path.write_text(toml, encoding="utf-8")
    with pytest.raises(AssignmentError, match=expected.replace("(", r"\(")):
        load(path)
    code = main(["grade", str(tmp_path), "--assignment", str(path), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1
    assert expected in err
    assert not (tmp_path / "o").exists()


def test_starter_argument_splits_the_ref() -> None:
    assert split_starter("https://example.invalid/org/starter.git@v2").ref == "v2"
    assert split_starter("git@example.invalid:org/starter.git").ref is None
    assert split_starter("./starter@main").source == "./starter"


STARTER_CORE = '''"""Core helpers given to every candidate."""

import os


def given(values):
    """Starter code the candidate never touches."""
    try:
        return sorted(values)
    except:
        return []


def todo(text: str) -> str:
    """Candidate: implement me."""
    raise NotImplementedError
'''

CANDIDATE_CORE = STARTER_CORE.replace(
    '''    """Candidate: implement me."""
    raise NotImplementedError''',
    '''    """Upper-cased text."""
    try:
        return text.upper()
    except:
        return text''',
)


@pytest.fixture(scope="module")
def edited_starter(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A starter repository and a candidate's history on it that edits a starter file."""
    base = tmp_path_factory.mktemp("edited")
    starter = base / "starter"
    (starter / "app").mkdir(parents=True)
    (starter / "app" / "core.py").write_text(STARTER_CORE, encoding="utf-8")
    git(starter, "init", "--quiet", "--initial-branch=main")
    git(starter, "add", "-A")
    git(starter, "commit", "--quiet", "-m", "Starter", date="2025-03-01T09:00:00Z")
    candidate = base / "candidate"
    git(base, "clone", "--quiet", str(starter), str(candidate))
    (candidate / "app" / "core.py").write_text(CANDIDATE_CORE, encoding="utf-8")
    git(candidate, "commit", "--quiet", "-am", "Implement todo", date="2025-03-02T10:00:00Z")
    (candidate / "app" / "late.py").write_text('"""Late."""\n', encoding="utf-8")
    git(candidate, "add", "-A")
    git(candidate, "commit", "--quiet", "-m", "Add late module", date="2025-03-05T10:00:00Z")
    return starter, candidate


def _ruff(report: dict[str, Any]) -> list[tuple[str, int]]:
    return [
        (f["rule"], f["line"])
        for c in report["criteria"]
        for f in c["findings"]
        if f["tool"] == "ruff"
    ]


def test_findings_on_untouched_starter_lines_are_not_scored(
    edited_starter: tuple[Path, Path], grade_cli: Any
) -> None:
    starter, candidate = edited_starter
    run = grade_cli(candidate.as_uri(), "--starter", str(starter))
    assert run.exit_code == 0, run.stderr
    report = run.report()
    scored = _ruff(report)
    # The candidate's bare except (line 18) is scored; the starter's (line 10) and its
    # unused import (line 3) are listed apart, not scored.
    assert ("E722", 18) in scored
    assert ("E722", 10) not in scored and ("F401", 3) not in scored
    authorship = report["assignment"]["authorship"]
    starter_rules = {(f["rule"], f["line"]) for f in authorship["starter_findings"]}
    assert {("E722", 10), ("F401", 3)} <= starter_rules
    assert authorship["files_changed"] == 1 and authorship["files_added"] == 1
    assert authorship["lines_changed"] >= 1
    lint = next(
        m for c in report["criteria"] for m in c["metrics"] if m["name"] == "lint.issues_per_kloc"
    )
    ruff_tool = next(t for t in report["tools"] if t["name"] == "ruff")
    assert ruff_tool["metrics"]["lint.issues"] > sum(1 for rule, _ in scored)
    # Normalised over the candidate's own lines: 5 in core.py and 1 in late.py.
    assert authorship["candidate_sloc"] == 6
    assert lint["value"] == pytest.approx(1000 * len(scored) / 6, rel=0.01)
    assert "starter-findings" in (run.out / "report.html").read_text(encoding="utf-8")


def test_an_untouched_starter_is_no_work_submitted(
    edited_starter: tuple[Path, Path], grade_cli: Any
) -> None:
    starter, _ = edited_starter
    run = grade_cli(starter.as_uri(), "--starter", str(starter))
    assert run.exit_code == 0, run.stderr
    assert "no work submitted" in run.stderr
    report = run.report()
    assert report["score"] is None
    assert report["assignment"]["no_work"] is True
    assert "No work submitted" in (run.out / "report.html").read_text(encoding="utf-8")
    assert "No work submitted" in (run.out / "report.md").read_text(encoding="utf-8")


def test_the_deadline_grades_the_last_commit_before_it(
    edited_starter: tuple[Path, Path], grade_cli: Any
) -> None:
    starter, candidate = edited_starter
    before = git(candidate, "rev-parse", "HEAD~1")
    late = git(candidate, "rev-parse", "HEAD")
    run = grade_cli(
        candidate.as_uri(), "--starter", str(starter), "--deadline", "2025-03-03T00:00:00Z"
    )
    assert run.exit_code == 0, run.stderr
    report = run.report()
    assert report["submission"]["commit"] == before
    history = report["assignment"]["history"]
    assert [c["sha"] for c in history["after_deadline"]] == [late]
    assert [c["subject"] for c in history["commits"]] == ["Implement todo"]
    assert any("after the deadline" in w for w in report["submission"]["warnings"])
    assert "process" in [c["id"] for c in report["criteria"]]


def test_history_flags_rewritten_dates() -> None:
    raw = [
        history._Raw("a" * 40, "t", "2025-03-02T10:00:00+00:00", "one", (), 1),
        history._Raw("b" * 40, "t", "2025-03-01T10:00:00+00:00", "two", (), 1),
        history._Raw("c" * 40, "t", "2099-01-01T10:00:00+00:00", "wip", (), 1),
    ]
    flags = history._flags(raw, datetime.now(UTC))
    assert any("backwards" in f for f in flags)
    assert any("future" in f for f in flags)
    same = [dataclasses.replace(r, date="2025-03-01T10:00:00+00:00") for r in raw]
    assert any("same date" in f for f in history._flags(same, datetime.now(UTC)))
    assert [m.split(":")[0] for m in history._messages(raw)] == ["c" * 10]


def test_interview_points_are_for_the_reviewer_about_the_candidates_lines(
    edited_starter: tuple[Path, Path], grade_cli: Any
) -> None:
    starter, candidate = edited_starter
    reviewer = grade_cli(candidate.as_uri(), "--starter", str(starter)).report()
    points = reviewer["assignment"]["discussion"]
    assert points, "the candidate's bare except deserves a question"
    candidate_lines = {("app/core.py", n) for n in range(14, 19)} | {("app/late.py", 1)}
    assert all((p["path"], p["line"]) in candidate_lines for p in points), points
    assert all(p["question"].rstrip().endswith("?") for p in points)
    assert [p["cost"] for p in points] == sorted((p["cost"] for p in points), reverse=True)
    shown = grade_cli(candidate.as_uri(), "--starter", str(starter), "--audience", "candidate")
    assert shown.report()["assignment"]["discussion"] == []
    assert "Discussion points" not in (shown.out / "report.html").read_text(encoding="utf-8")


@pytest.mark.slow
@pytest.mark.sandbox
def test_a_sample_graded_as_a_candidate_of_the_sample_assignment(
    tmp_path: Path, grade_cli: Any
) -> None:
    repo = make_candidate_repo(SAMPLES / "poor", tmp_path / "poor")
    run = grade_cli(repo.as_uri(), "--assignment", str(SAMPLE_ASSIGNMENT))
    assert run.exit_code == 0, run.stderr
    report = run.report()
    section = report["assignment"]
    assert section["history"]["commits"][0]["subject"].startswith("Implement")
    assert section["authorship"]["files_deleted"] == 2  # the starter's docqa/ it replaced
    assert section["hidden_tests"]["passed"] == 0
    assert 5 <= len(section["discussion"]) <= 10
    ids = [c["id"] for c in report["criteria"]]
    assert "correctness" in ids and "process" in ids


@pytest.mark.sandbox
def test_calibration_floor_and_ceiling_are_shown_in_a_report(
    calc_assignment: tuple[Path, Path], tmp_path: Path, grade_cli: Any
) -> None:
    submission, assignment = calc_assignment
    team = tmp_path / "team"
    shutil.copytree(assignment.parent, team)
    _write(team / "starter", {"calc/__init__.py": CALC["calc/__init__.py"].split("def add")[0]})
    reference = {**CALC, "calc/__init__.py": CALC["calc/__init__.py"].replace("a - b", "a + b")}
    reference["calc/__init__.py"] = reference["calc/__init__.py"].replace(
        "return a / b", "return a / b if b else 0.0"
    )
    del reference["conftest.py"]
    _write(team / "reference", reference)
    toml = team / "assignment.toml"
    toml.write_text(
        'reference = "reference"\n[starter]\nsource = "starter"\n'
        + ASSIGNMENT_TOML.split("\n", 2)[2],
        encoding="utf-8",
    )
    assert main(["calibrate", "--assignment", str(toml)]) == 0
    stored = json.loads((team / "assignment.calibration.json").read_text(encoding="utf-8"))
    assert stored["floor"] < stored["ceiling"]
    run = grade_cli(submission, "--assignment", str(toml))
    assert run.exit_code == 0, run.stderr
    calibration = run.report()["assignment"]["calibration"]
    assert (calibration["floor"], calibration["ceiling"]) == (stored["floor"], stored["ceiling"])
    expected = (
        100 * (run.report()["score"] - stored["floor"]) / (stored["ceiling"] - stored["floor"])
    )
    assert calibration["position"] == pytest.approx(expected, abs=0.1)
    assert (stored["ceiling"] < 80) == bool(calibration["warning"])
    html = (run.out / "report.html").read_text(encoding="utf-8")
    assert f"The bare starter scores {stored['floor']:.1f}" in html
    assert "from the starter" in run.stderr


def test_a_reference_below_b_means_the_rubric_does_not_fit() -> None:
    rubric = load_rubric("default")
    floor = rubric.floor_of("B")
    assert floor is not None
    assert "does not fit" in calibration.warning(floor - 0.1, rubric)
    assert calibration.warning(floor, rubric) == ""


def test_a_candidate_line_that_looks_like_a_diff_header_stays_in_its_file(
    tmp_path: Path,
) -> None:
    from grader.assignment import authorship  # noqa: PLC0415

    starter, submission, work = tmp_path / "starter", tmp_path / "submission", tmp_path / "w"
    for folder in (starter, submission, work):
        folder.mkdir()
    (starter / "notes.txt").write_text("one\n", encoding="utf-8")
    (starter / "app.py").write_text("x = 1\n", encoding="utf-8")
    # "++ two" is written by git as "+++ two": a header's shape inside a hunk.
    (submission / "notes.txt").write_text("one\n++ two\n@@ -1 +1 @@\n", encoding="utf-8")
    (submission / "app.py").write_text("x = 1\ny = 2\n", encoding="utf-8")
    summary, lines = authorship.compare(starter, submission, work, "starter")
    assert dict(lines.changed_lines) == {"notes.txt": {2, 3}, "app.py": {2}}
    assert (summary.lines_added, summary.lines_changed, summary.lines_deleted) == (3, 0, 0)
    assert summary.files_changed == 2
