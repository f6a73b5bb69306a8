"""Rubrics are data: the built-in ones load, malformed ones are rejected with file and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.core.errors import RubricError
from grader.core.models import Metric
from grader.pipeline import known_metrics, load_rubric
from grader.scoring.rubric import builtin_names
from grader.scoring.score import score_all

VALID = """
name = "mini"
title = "Mini"
description = "A small rubric."
[[criteria]]
id = "maintainability"
name = "Maintainability"
weight = 60
rationale = "Because."
  [[criteria.metrics]]
  metric = "lint.issues_per_kloc"
  points = [[5, 100], [60, 0]]
  rationale = "Lint."
[[criteria]]
id = "testability"
name = "Testability"
weight = 40
rationale = "Because."
  [[criteria.metrics]]
  metric = "coverage.line"
  points = [[0, 0], [100, 100]]
  rationale = "Coverage."
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rubric.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("name", ["default", "data-science"])
def test_builtin_rubrics_load_and_cover_the_core_criteria(name: str) -> None:
    rubric = load_rubric(name)
    ids = {c.id for c in rubric.criteria}
    assert {
        "maintainability",
        "testability",
        "security",
        "type_safety",
        "documentation",
        "packaging",
        "design",
        "observability",
    } <= ids
    core = [
        c.weight for c in rubric.criteria if c.id in {"maintainability", "testability", "security"}
    ]
    others = [
        c.weight
        for c in rubric.criteria
        if c.id not in {"maintainability", "testability", "security"}
    ]
    assert min(core) >= max(others)
    assert all(rule.rationale and c.rationale for c in rubric.criteria for rule in c.metrics)


def test_builtin_names() -> None:
    assert {"default", "data-science"} <= set(builtin_names())


@pytest.mark.parametrize(
    ("old", "new", "key", "problem"),
    [
        ('name = "mini"', 'name = "mini', "", "not valid TOML"),
        (
            'metric = "coverage.line"',
            'metric = "coverage.lines"',
            "criteria[1].metrics[0].metric",
            "unknown metric 'coverage.lines'",
        ),
        ("weight = 40", "weight = 140", "criteria[1].weight", "out of range"),
        ("weight = 40", "weight = -1", "criteria[1].weight", "out of range"),
        ('id = "testability"', 'id = "maintainability"', "criteria[1].id", "duplicate id"),
        ('title = "Mini"', 'title = "Mini"\ncolour = "red"', "colour", "unknown key"),
        ('title = "Mini"', 'title = "Mini"\nsource = 3', "source", "non-empty string"),
        (
            "points = [[0, 0], [100, 100]]",
            "points = [[100, 0], [0, 100]]",
            "criteria[1].metrics[0].points",
            "strictly increasing",
        ),
        (
            "points = [[0, 0], [100, 100]]",
            "points = [[0, 0], [100, 101]]",
            "criteria[1].metrics[0].points",
            "out of range",
        ),
        (
            "points = [[0, 0], [100, 100]]",
            "points = [[0, 0]]",
            "criteria[1].metrics[0].points",
            "at least two",
        ),
        ('rationale = "Coverage."', "", "criteria[1].metrics[0].rationale", "non-empty string"),
        ('description = "A small rubric."', "", "description", "required key is missing"),
        (
            "points = [[0, 0], [100, 100]]",
            'points = [[0, 0], [100, 100]]\ndeduction = "yes"',
            "criteria[1].metrics[0].deduction",
            "must be true or false",
        ),
        (
            "points = [[0, 0], [100, 100]]",
            "points = [[0, 0], [100, 100]]\nrequired = true\ndeduction = true",
            "criteria[1].metrics[0].deduction",
            "cannot be required",
        ),
        (
            'description = "A small rubric."',
            'description = "A small rubric."\n[grades]\nA = 80\nF = 0\n[decisions]\nA = "advance"',
            "decisions",
            "must give each grade (A, F) one",
        ),
        (
            'description = "A small rubric."',
            'description = "A small rubric."\n[grades]\nA = 80\nF = 0\n'
            '[decisions]\nA = "hire"\nF = "reject"',
            "decisions.A",
            "must be one of advance, discuss, reject",
        ),
    ],
)
def test_malformed_rubric_is_rejected_naming_file_and_key(
    tmp_path: Path, old: str, new: str, key: str, problem: str
) -> None:
    assert old in VALID
    path = _write(tmp_path, VALID.replace(old, new, 1))
    with pytest.raises(RubricError) as error:
        load_rubric(str(path))
    message = str(error.value)
    assert message.startswith(str(path))
    assert key in message and problem in message
    assert "\n" not in message


def test_unknown_builtin_name_lists_the_builtins() -> None:
    with pytest.raises(RubricError, match=r"unknown rubric 'nope'.*default"):
        load_rubric("nope")


def test_overall_is_weighted_and_says_what_was_left_out(tmp_path: Path) -> None:
    rubric = load_rubric(str(_write(tmp_path, VALID)))
    metrics = {
        "lint.issues_per_kloc": Metric("lint.issues_per_kloc", 5, "per kloc", "t"),
        "coverage.line": Metric("coverage.line", 50, "%", "t"),
    }
    _, score, grade, _ = score_all(rubric, metrics, [])
    assert (score, grade) == (80.0, "B")  # (100*60 + 50*40) / 100
    del metrics["coverage.line"]
    criteria, score, grade, reason = score_all(rubric, metrics, [])
    assert criteria[1].score is None
    assert (score, grade) == (100.0, "A")
    assert "not measured and left out: Testability" in reason


def test_same_bytes_same_hash(tmp_path: Path) -> None:
    path = _write(tmp_path, VALID)
    assert load_rubric(str(path)).info.sha256 == load_rubric(str(path)).info.sha256
    assert len(known_metrics()) > 30


@pytest.mark.parametrize(
    ("score", "letter", "decision", "floor", "ceiling"),
    [
        (100.0, "A", "advance", 85.0, None),
        (85.0, "A", "advance", 85.0, None),
        (84.9, "B", "advance", 72.0, 85.0),
        (60.0, "C", "discuss", 60.0, 72.0),
        (59.9, "F", "reject", 0.0, 60.0),
    ],
)
def test_a_score_falls_in_a_band_that_names_the_decision_and_the_calibration(
    tmp_path: Path, score: float, letter: str, decision: str, *, floor: float, ceiling: float | None
) -> None:
    banded = VALID.replace(
        'description = "A small rubric."',
        'description = "A small rubric."\ncalibration = "Set from 10 tiered submissions."\n'
        "[grades]\nA = 85\nB = 72\nC = 60\nF = 0\n"
        '[decisions]\nA = "advance"\nB = "advance"\nC = "discuss"\nF = "reject"',
    )
    rubric = load_rubric(str(_write(tmp_path, banded)))
    band = rubric.band(score)
    assert rubric.grade(score) == letter
    assert (band.decision.value, band.floor, band.ceiling) == (decision, floor, ceiling)
    assert band.summary(letter).endswith("Set from 10 tiered submissions.")
    assert f"{letter} means {decision}" in band.summary(letter)


def test_without_decisions_a_and_b_advance_c_and_d_are_discussed_f_is_rejected(
    tmp_path: Path,
) -> None:
    rubric = load_rubric(str(_write(tmp_path, VALID)))
    decisions = [rubric.band(s).decision.value for s in (95, 85, 75, 65, 10)]
    assert decisions == ["advance", "advance", "discuss", "discuss", "reject"]
