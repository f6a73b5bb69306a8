"""``grader calibrate``: grade an assignment's bare starter (the floor) and its reference
solution (the ceiling), and store both next to the assignment file.

Reports graded against the assignment then say where the candidate lands between them,
and warn when the reference itself scores below a B: the rubric does not fit the
assignment. The stored result is tied to the rubric's hash, so a changed rubric asks
for a new calibration instead of showing stale numbers.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from grader.assignment.spec import Assignment
from grader.core.errors import AssignmentError, OutputError
from grader.core.models import Report
from grader.pipeline import GradeOptions, grade


def run(assignment: Assignment, options: GradeOptions) -> tuple[Report, Report, Path]:
    """Grade the starter and the reference with ``options``; store and return both."""
    target = assignment.calibration_path
    starter = assignment.starter
    if target is None:
        raise AssignmentError("calibrate needs an assignment file (--assignment)")
    if starter is None or starter.source is None:
        raise AssignmentError(f"{assignment.path}: calibrate needs starter.source")
    if assignment.reference is None:
        raise AssignmentError(f"{assignment.path}: calibrate needs reference")
    bare = dataclasses.replace(assignment, starter=None, deadline=None)
    floor = grade(
        dataclasses.replace(options, source=starter.source, ref=starter.ref, assignment=bare)
    )
    ceiling = grade(
        dataclasses.replace(options, source=assignment.reference, ref=None, assignment=bare)
    )
    data = {
        "rubric_sha256": floor.rubric.sha256,
        "floor": floor.score,
        "ceiling": ceiling.score,
        "ceiling_grade": ceiling.grade,
        "starter": starter.label,
        "reference": assignment.reference,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    _write(target, json.dumps(data, indent=2) + "\n")
    return floor, ceiling, target


def _write(target: Path, text: str) -> None:
    try:
        handle, temp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        Path(temp).replace(target)
    except OSError as exc:
        raise OutputError(f"cannot write {target}: {exc.strerror}") from None
