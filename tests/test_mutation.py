"""Mutation testing on a fixture pair: identical code, fully covered, one suite that
asserts and one that only calls (tests/fixtures/mutation)."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, run_grader

from grader.acquire.workspace import inventory
from grader.core.models import ToolResult
from grader.sandbox.bubblewrap import Limits, Unisolated, choose
from grader.tools import mutants, mutation, test_selection
from grader.tools.base import MutationBudget, ToolContext
from grader.tools.pytest_cov import PytestCoverage
from grader.tools.pytest_run import RunFolders

PAIR = ROOT / "tests" / "fixtures" / "mutation"
sandboxed = [pytest.mark.slow, pytest.mark.sandbox]


def _sources(name: str) -> dict[str, str]:
    return {"pricing.py": (PAIR / name / "pricing.py").read_text(encoding="utf-8")}


def test_the_pair_shares_its_code() -> None:
    assert _sources("strong") == _sources("weak")


def test_the_sample_is_seeded_by_the_code_and_stays_on_covered_lines() -> None:
    sources = _sources("strong")
    covered = {"pricing.py": frozenset({9, 10, 16})}
    first = mutants.sample(sources, mutants.sites(sources, covered), 3)
    again = mutants.sample(sources, mutants.sites(sources, covered), 3)
    assert [m.site for m in first] == [m.site for m in again]
    assert len(first) == 3
    assert {m.site.line for m in first} <= {9, 10, 16}
    everywhere = mutants.sites(sources, None)
    assert {s.line for s in everywhere} > {9, 10, 16}
    changed = {"pricing.py": sources["pricing.py"].replace("0.1", "0.2")}
    orders = {
        tuple(m.site for m in mutants.sample(code, mutants.sites(code, None), 8))
        for code in (sources, changed)
    }
    assert len(orders) == 2


def test_a_mutant_says_what_changed_where() -> None:
    sources = _sources("strong")
    site = next(
        s
        for s in mutants.sites(sources, None)
        if s.operator == "ReplaceComparisonOperator_Lt_LtE" and s.line == 16
    )
    mutant = mutants.sample(sources, [site], 1)[0]
    assert mutant.change == "`<` became `<=` at pricing.py:16"
    assert "if subtotal <= FREE_SHIPPING_FROM:" in mutant.source


def _pytest(root: Path, work: Path, budget: MutationBudget) -> ToolResult:
    work.mkdir()
    ctx = ToolContext(
        inventory(root), work, choose(allow_unisolated=False), Limits(), mutation=budget
    )
    return PytestCoverage().run(ctx)


def _mutation(result: ToolResult) -> tuple[float | None, str]:
    metric = next(m for m in result.metrics if m.name == "tests.mutation_score")
    return metric.value, metric.reason


@pytest.mark.parametrize("budget", [4])
@pytest.mark.slow
@pytest.mark.sandbox
def test_the_same_code_gets_the_same_mutants_within_the_budget(tmp_path: Path, budget: int) -> None:
    runs = [
        _pytest(PAIR / "weak", tmp_path / f"run{i}", MutationBudget(max_mutants=budget))
        for i in range(2)
    ]
    (score, reason), (again, reason_again) = (_mutation(r) for r in runs)
    assert score is not None
    assert (score, reason) == (again, reason_again)
    ran = int(re.search(r"of n=(\d+)", reason).group(1))  # type: ignore[union-attr]
    assert 0 < ran <= budget
    survivors = [[f.message for f in r.findings if f.rule_id == "mutant-survived"] for r in runs]
    assert survivors[0] == survivors[1]


@pytest.mark.slow
@pytest.mark.sandbox
def test_a_failing_suite_is_not_mutation_tested(tmp_path: Path) -> None:
    root = tmp_path / "failing"
    shutil.copytree(PAIR / "strong", root)
    with (root / "tests" / "test_pricing.py").open("a", encoding="utf-8") as tests:
        tests.write("\n\ndef test_wrong() -> None:\n    assert shipping(10) == 0\n")
    score, reason = _mutation(_pytest(root, tmp_path / "work", MutationBudget(max_mutants=4)))
    assert score is None
    assert reason == (
        "mutation testing not applicable: 1 test(s) failed or errored before any mutation"
    )


def _testability(report: dict[str, Any]) -> float:
    return float(next(c["score"] for c in report["criteria"] if c["id"] == "testability"))


@pytest.mark.slow
@pytest.mark.sandbox
def test_tests_that_assert_nothing_meaningful_lose_testability(tmp_path: Path) -> None:
    reports = {}
    for name in ("strong", "weak"):
        run = run_grader(
            PAIR / name, tmp_path / name, "--format", "json", "--no-cache", "--mutants", "12"
        )
        assert run.exit_code == 0, run.stderr
        reports[name] = run.report()
    coverage = {
        name: {
            m["name"]: m["value"]
            for c in report["criteria"]
            for m in c["metrics"]
            if m["name"].startswith("coverage.")
        }
        for name, report in reports.items()
    }
    assert coverage["strong"] == coverage["weak"] == {"coverage.line": 100, "coverage.branch": 100}
    assert _testability(reports["strong"]) - _testability(reports["weak"]) >= 20
    weak_pytest = next(t for t in reports["weak"]["tools"] if t["name"] == "pytest")
    survivors = [
        f
        for c in reports["weak"]["criteria"]
        for f in c["findings"]
        if f["rule"] == "mutant-survived"
    ]
    assert survivors, weak_pytest["notes"]
    for finding in survivors:
        assert finding["path"] == "pricing.py"
        assert re.fullmatch(
            r"`.+` became `.+` at pricing\.py:\d+( \(its \w+ `.+`\))? and every test still passed",
            finding["message"],
        )
        assert f"pricing.py:{finding['line']} " in finding["message"]


@pytest.mark.slow
@pytest.mark.sandbox
def test_the_command_line_sets_the_sample_size(tmp_path: Path) -> None:
    run = run_grader(PAIR / "weak", tmp_path / "out", "--format", "json", "--mutants", "2")
    assert run.exit_code == 0, run.stderr
    pytest_tool = next(t for t in run.report()["tools"] if t["name"] == "pytest")
    assert pytest_tool["metrics"]["tests.mutation_score"] is not None
    assert any(re.search(r"of n=[12] sampled mutants", note) for note in pytest_tool["notes"])


def test_a_large_submission_is_searched_in_a_seeded_choice_of_files(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(mutants, "MAX_ENUMERATED_BYTES", 100)
    sources = {f"m{i}.py": f"def f{i}(x):\n    return x + {i}\n" for i in range(10)}
    files = {site.path for site in mutants.sites(sources, None)}
    assert 1 < len(files) < 10
    assert files == {site.path for site in mutants.sites(sources, None)}


@pytest.mark.slow
@pytest.mark.sandbox
def test_a_suite_that_links_its_code_to_a_host_file_cannot_have_grader_write_there(
    tmp_path: Path,
) -> None:
    canary = tmp_path / "canary.txt"
    canary.write_text("host file\n", encoding="utf-8")
    root = tmp_path / "linking"
    shutil.copytree(PAIR / "strong", root)
    # At the end of every run, passed or failed, the suite swaps its code for a link.
    (root / "tests" / "conftest.py").write_text(
        "import os\nimport pathlib\n\nimport pytest\n\n\n"
        "@pytest.fixture(scope='session', autouse=True)\n"
        "def link_the_code_away():\n"
        "    yield\n"
        '    code = pathlib.Path(__file__).resolve().parent.parent / "pricing.py"\n'
        "    os.unlink(code)\n"
        f"    os.symlink({str(canary)!r}, code)\n",
        encoding="utf-8",
    )
    result = _pytest(root, tmp_path / "work", MutationBudget(max_mutants=2))
    assert _mutation(result)[0] is not None
    assert canary.read_text(encoding="utf-8") == "host file\n"


def test_two_mutants_on_one_line_say_which_place_changed() -> None:
    sources = {"flags.py": "def flags():\n    return (True, True)\n"}
    found = [s for s in mutants.sites(sources, None) if s.operator == "ReplaceTrueWithFalse"]
    changes = sorted(m.change for m in mutants.sample(sources, found, 2))
    assert changes == [
        "`True` became `False` at flags.py:2 (its first `True`)",
        "`True` became `False` at flags.py:2 (its second `True`)",
    ]


SPLIT = {
    "calc.py": (
        "def area(width, height):\n"
        "    if width < 0 or height < 0:\n"
        '        raise ValueError("negative")\n'
        "    return width * height\n"
    ),
    "names.py": 'def greet(name):\n    return f"hello {name}"\n',
    "tests/test_calc.py": (
        "import pytest\n\nfrom calc import area\n\n\n"
        "class TestArea:\n"
        '    @pytest.mark.parametrize("w, h, expected", [(2, 3, 6), (0, 5, 0)])\n'
        "    def test_area(self, w, h, expected):\n"
        "        assert area(w, h) == expected\n\n"
        "    def test_negative(self):\n"
        "        with pytest.raises(ValueError):\n"
        "            area(-1, 2)\n"
    ),
    "tests/test_names.py": (
        'from names import greet\n\n\ndef test_greet():\n    assert greet("ann") == "hello ann"\n'
    ),
}


@pytest.mark.slow
@pytest.mark.sandbox
def test_each_mutant_runs_only_the_tests_that_ran_its_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "split"
    for relative, text in SPLIT.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text, encoding="utf-8")
    chosen: list[frozenset[str] | None] = []
    run = mutation._exit

    def spy(*args: Any) -> int | None:
        chosen.append(args[3])
        return run(*args)

    monkeypatch.setattr(mutation, "_exit", spy)
    # Seven places, all drawn: six on line 2, one on line 4.
    score, reason = _mutation(_pytest(root, tmp_path / "work", MutationBudget(max_mutants=12)))
    assert score is not None
    # Only calc.py has places to mutate; test_names.py never runs for them.
    covering = (
        "tests/test_calc.py::TestArea::test_area",
        "tests/test_calc.py::TestArea::test_negative",
    )
    # `width * height` runs in test_area alone (both of its cases).
    assert sorted(chosen, key=len) == [{covering[0]}, *[set(covering)] * 6], chosen
    assert reason.endswith(
        "of n=7 sampled mutants killed; each mutant ran only the tests that ran its line "
        "(median 3 of 4)"
    ), reason


def test_a_chosen_run_gets_a_timeout_from_the_time_its_tests_took() -> None:
    cases = [("tests.test_a", "test_fast", 0.5), ("tests.test_a", "test_slow", 5.0)]
    tests = test_selection.collected(
        [*cases, ("tests.test_a", "test_b", 2.0)], {"tests/test_a.py": ""}
    )
    assert tests is not None
    selector = test_selection.Selector(tests, {})
    run = mutation.SuiteRun(Path("python"), {}, (), (), False, False, duration_s=10.0)
    assert mutation.timeout(run, None, None) == 30.0
    # 2.5 s outside any test, 0.5 s for the chosen one, 5 s for the slowest.
    assert mutation.timeout(run, selector, frozenset({"tests/test_a.py::test_fast"})) == 24.0
    short = dataclasses.replace(run, duration_s=2.0)
    assert mutation.timeout(short, selector, frozenset({"tests/test_a.py::test_fast"})) == 10.0


def test_a_mutant_on_a_line_no_test_ran_survives_without_running(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "code"
    root.mkdir()
    (root / "calc.py").write_text(SPLIT["calc.py"], encoding="utf-8")
    work = tmp_path / "work"
    work.mkdir()
    (work / "coverage.json").write_text(
        json.dumps({"files": {"calc.py": {"executed_lines": [1, 2, 4]}}}), encoding="utf-8"
    )
    tests = test_selection.collected([("tests.test_a", "test_a", 0.1)], {"tests/test_a.py": ""})
    assert tests is not None
    nothing_ran = test_selection.Selector(tests, {"calc.py": {1: ("",)}})
    monkeypatch.setattr(mutation, "_selector", lambda *_: nothing_ran)
    ctx = ToolContext(
        inventory(root), work, Unisolated(), Limits(), mutation=MutationBudget(max_mutants=2)
    )
    run = mutation.SuiteRun(Path("python"), {}, (), (), False, False, duration_s=1.0)
    outcome = mutation.measure(ctx, None, run, mutation.Recorded(work, None, None))  # type: ignore[arg-type]
    assert outcome.metric.value == 0
    assert (
        outcome.metric.reason
        == "0 of n=2 sampled mutants killed; 2 were on a line no test ran and did not run"
    )
    assert all(
        f.message.endswith("and no test ran that line (the mutant was not run)")
        for f in outcome.findings
    )


def test_every_mutant_gets_the_env_files_the_first_run_had(tmp_path: Path) -> None:
    # The first run's scratch got a .env copy of the template; a mutant's fresh copy must
    # too, or a suite that reloads its .env fails on every mutant and counts it killed.
    root = tmp_path / "sub"
    root.mkdir()
    (root / "calc.py").write_text("def double(x):\n    return x * 2\n", encoding="utf-8")
    ctx = ToolContext(inventory(root), tmp_path / "work", choose(allow_unisolated=True), Limits())
    folders = [tmp_path / name for name in ("scratch", "results", "config", "home", "tmp", "srv")]
    paths = RunFolders(*folders)
    run = mutation.SuiteRun(Path("python"), {}, (), (), False, False, 1.0, {".env": "TOKEN='t'\n"})
    sources = {"calc.py": (root / "calc.py").read_text(encoding="utf-8")}
    (mutant,) = mutants.sample(sources, mutants.sites(sources, None), 1)
    assert mutation._plant(ctx, paths, run, mutant)
    assert (paths.scratch / ".env").read_text(encoding="utf-8") == "TOKEN='t'\n"
    assert (paths.scratch / "calc.py").read_text(encoding="utf-8") == mutant.source


@pytest.mark.slow
@pytest.mark.sandbox
def test_code_too_small_to_fill_a_sample_is_not_scored(tmp_path: Path) -> None:
    """One mutable place gives one mutant: its survival is no estimate of the tests."""
    root = tmp_path / "tiny"
    (root / "tests").mkdir(parents=True)
    (root / "limit.py").write_text("LIMIT = 2500\n\n\ndef limit():\n    return LIMIT\n")
    (root / "tests" / "test_limit.py").write_text(
        "from limit import limit\n\n\ndef test_limit():\n    assert limit()\n"
    )
    result = _pytest(root, tmp_path / "work", MutationBudget(max_mutants=12))
    score, reason = _mutation(result)
    assert score is None
    assert re.search(r"of n=[1-4] sampled mutants killed.*too few to score", reason), reason
    assert [f for f in result.findings if f.rule_id == "mutant-survived"]  # still said
