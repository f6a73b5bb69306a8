"""Where a graded submission lands between an assignment's floor (the bare starter) and
ceiling (the reference solution), as stored by ``grader calibrate`` (grader.workflows.calibrate)."""

from __future__ import annotations

import json
from typing import Any

from grader.assignment.spec import Assignment
from grader.core.models import Calibration
from grader.scoring.rubric import Rubric

DEFAULT_PASS = 80.0
"""The lowest B when a rubric has no B."""


def warning(ceiling: float | None, rubric: Rubric) -> str:
    """Said when the reference solution scores below a B under this rubric."""
    floor_b = rubric.floor_of("B") or DEFAULT_PASS
    if ceiling is None or ceiling >= floor_b:
        return ""
    return (
        f"the reference solution scores {ceiling:.1f}, below a B ({floor_b:g}): "
        "the rubric does not fit this assignment"
    )


def place(assignment: Assignment, rubric: Rubric, score: float | None) -> Calibration | None:
    """Where ``score`` lands between the stored floor and ceiling, when they are stored."""
    path = assignment.calibration_path
    if path is None or not path.is_file():
        return None
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        floor, ceiling = data["floor"], data["ceiling"]
        grade_letter = str(data["ceiling_grade"])
    except (OSError, ValueError, KeyError, TypeError):
        return Calibration(
            None, None, "n/a", warning=f"{path} cannot be read: run grader calibrate"
        )
    if data.get("rubric_sha256") != rubric.info.sha256:
        return Calibration(
            floor, ceiling, grade_letter,
            warning="the calibration was made with another rubric: run grader calibrate again",
        )  # fmt: skip
    position = None
    if score is not None and floor is not None and ceiling is not None and ceiling > floor:
        position = round(100.0 * (score - floor) / (ceiling - floor), 1)
    return Calibration(floor, ceiling, grade_letter, position, warning(ceiling, rubric))
