"""explain and rubrics read the rubric itself; the command line starts without heavy imports."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

from grader.cli import main
from grader.pipeline import load_rubric


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_explain_a_criterion(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "explain", "testability")
    assert code == 0
    assert out.startswith("Testability (testability): weight 20, 20 % of the overall score")
    assert "coverage.line  (weight 3, 23 % of Testability, required)" in out
    # 1 of the mean's 13 and the three deductions' 3
    assert "tests.leftover_files  (weight 1, a deduction of up to 6 % of Testability)" in out
    assert "points: <= 0% → 0, 50% → 45, 80% → 90, >= 90% → 100 (linear in between)" in out
    assert "at most 50 while tests.outcome_tampering > 0: the suite can rewrite" in out
    assert "Tests that assert nothing inflate coverage" in out  # a metric's rationale


def test_explain_a_metric(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "explain", "lint.issues_per_kloc")
    assert code == 0
    assert out.startswith("lint.issues_per_kloc: Lint violations per 1000 lines.")
    # 20 % of the score x 2 of Maintainability's 11 metric weights
    assert "In Maintainability (maintainability): worth up to 3.6 points" in out
    assert "<= 5 per kloc → 100, 20 per kloc → 70, >= 60 per kloc → 0" in out


def test_explain_a_cap_metric_in_another_rubric(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "explain", "security.reject_on_sight", "--rubric", "data-science")
    assert code == 0
    assert "Caps Security at 40 while above 0" in out


def test_explain_an_unknown_name_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "explain", "nonsense")
    assert code == 2 and out == ""
    assert err.splitlines() == [
        "grader: error: no criterion or metric 'nonsense' in rubric 'default' (criteria: "
        "maintainability, testability, security, type_safety, documentation, packaging, "
        "design, observability)"
    ]


def test_rubrics_lists_the_built_in_rubrics(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "rubrics")
    assert code == 0
    names = [line.split()[0] for line in out.splitlines() if not line.startswith(" ")]
    assert names == ["data-science", "default"]
    assert "default        Python AI software engineer (for the hiring team)" in out


def test_the_command_line_starts_without_heavy_imports() -> None:
    probe = (
        "import sys, grader.cli\n"
        "heavy = ('grader.pipeline', 'grader.render', 'jinja2', 'pygments', 'rich')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy or m in heavy))\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert run.stdout.strip() == "[]"


ARTICLE = (
    'the article "Why hiring an Python AI Software Engineer is so difficult, and why its not '
    'your fault" by Manuel Pasieka'
)


@pytest.mark.parametrize("rubric", ["default", "data-science"])
def test_explain_names_the_article_its_rationales_quote(
    capsys: pytest.CaptureFixture[str], rubric: str
) -> None:
    loaded = load_rubric(rubric)
    names = [c.id for c in loaded.criteria]
    names += sorted({r.metric for c in loaded.criteria for r in c.metrics})
    mentions = 0
    for name in names:
        code, out, _ = _run(capsys, "explain", name, "--rubric", rubric)
        if code:  # correctness and process: scored only against an assignment
            continue
        mentions += "the article" in out.lower()
        assert " ".join(out.split()).endswith(f"Rationales quote {ARTICLE}.")
    assert mentions  # testability: "The article names testing among the concepts ..."


def test_explain_of_a_rubric_without_a_source_adds_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    custom = (ROOT / "rubrics" / "default.toml").read_text(encoding="utf-8")
    custom = re.sub(r'^source = """.*?"""\n', "", custom, flags=re.DOTALL | re.MULTILINE)
    path = tmp_path / "mine.toml"
    path.write_text(custom, encoding="utf-8")
    code, out, _ = _run(capsys, "explain", "testability", "--rubric", str(path))
    assert code == 0
    assert "The article names testing" in out and "Rationales quote" not in out
