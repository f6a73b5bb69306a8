"""results.csv and results.json: one row per candidate, for applicant-tracking systems.

SCHEMA_VERSION history (results.json):
  1.0  first version: rubric, criteria, rows (status, reason, scores, extra columns),
       similarity pairs.
  1.1  graded with an assignment: each row's ``hidden_tests_pass_rate`` and
       ``calibration`` (its place between floor and ceiling), and the top-level
       ``calibration`` (floor, ceiling); null without them. results.csv has the columns
       hidden_tests_pass_rate and calibration_position only when some row has a value.
The JSON Schema lives in grader/schema/results.schema.json and tests validate against it.

A spreadsheet runs a cell that starts with = + - @ (or a tab or carriage return) as a
formula, so every text cell that starts so is written with a leading apostrophe.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from grader.core.batch_models import BatchResult, BatchRow, SourceRegion

SCHEMA_VERSION = "1.1"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
STATUS_LABELS = {
    0: "graded",
    1: "below --fail-under",
    2: "input error",
    3: "internal error",
}


def status_label(status: int) -> str:
    """The words for a row's status code."""
    return STATUS_LABELS.get(status, f"status {status}")


def safe_cell(text: str) -> str:
    """``text``, defused when a spreadsheet would take it for a formula."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _number(value: float | None) -> str:
    return "" if value is None else repr(value)


def _assignment_columns(result: BatchResult) -> list[str]:
    """The columns an assignment adds, when it gave anything to show."""
    shown = []
    if result.has_hidden_tests:
        shown.append("hidden_tests_pass_rate")
    if result.calibration is not None:
        shown.append("calibration_position")
    return shown


def csv_header(result: BatchResult) -> list[str]:
    """results.csv's columns, in order."""
    return [
        "candidate",
        "score",
        "grade",
        "status",
        *(cid for cid, _ in result.criteria),
        *_assignment_columns(result),
        "commit",
        "report",
        "reason",
        *result.extra_columns,
    ]


def _csv_row(result: BatchResult, row: BatchRow) -> list[str]:
    scores = dict(row.criteria)
    extra = dict(row.extra)
    values = {"hidden_tests_pass_rate": row.hidden_tests, "calibration_position": row.calibration}
    return [
        safe_cell(row.candidate),
        _number(row.score),
        safe_cell(row.grade),
        str(row.status),
        *(_number(scores.get(cid)) for cid, _ in result.criteria),
        *(_number(values[name]) for name in _assignment_columns(result)),
        safe_cell(row.commit or ""),
        safe_cell(row.report or ""),
        safe_cell(row.reason),
        *(safe_cell(extra.get(name, "")) for name in result.extra_columns),
    ]


def render_csv(result: BatchResult) -> str:
    """results.csv's text."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(csv_header(result))
    writer.writerows(_csv_row(result, row) for row in result.rows)
    return buffer.getvalue()


def _region(region: SourceRegion) -> dict[str, Any]:
    return {"path": region.path, "first_line": region.first_line, "last_line": region.last_line}


def to_dict(result: BatchResult) -> dict[str, Any]:
    """results.json as plain data; keys keep their documented order."""
    rubric = result.rubric
    calibration = result.calibration
    return {
        "schema_version": SCHEMA_VERSION,
        "grader_version": result.grader_version,
        "rubric": None
        if rubric is None
        else {
            "name": rubric.name,
            "title": rubric.title,
            "audience": rubric.audience,
            "sha256": rubric.sha256,
        },
        "criteria": [{"id": cid, "name": name} for cid, name in result.criteria],
        "fail_under": result.fail_under,
        "calibration": None
        if calibration is None
        else {
            "floor": calibration.floor,
            "ceiling": calibration.ceiling,
            "ceiling_grade": calibration.ceiling_grade,
            "warning": calibration.warning,
        },
        "rows": [
            {
                "candidate": row.candidate,
                "status": row.status,
                "status_label": status_label(row.status),
                "reason": row.reason,
                "score": row.score,
                "grade": row.grade or None,
                "criteria": dict(row.criteria),
                "hidden_tests_pass_rate": row.hidden_tests,
                "calibration": row.calibration,
                "commit": row.commit,
                "source": row.source,
                "ref": row.ref,
                "report": row.report,
                "extra": dict(row.extra),
            }
            for row in result.rows
        ],
        "similarity": {
            "threshold": result.similarity_threshold,
            "compared": result.similarity_compared,
            "pairs": [
                {
                    "first": pair.first,
                    "second": pair.second,
                    "first_share": pair.first_share,
                    "second_share": pair.second_share,
                    "score": pair.score,
                    "first_regions": [_region(r) for r in pair.first_regions],
                    "second_regions": [_region(r) for r in pair.second_regions],
                }
                for pair in result.similar
            ],
        },
    }


def render_json(result: BatchResult) -> str:
    """results.json's text."""
    return json.dumps(to_dict(result), indent=2, ensure_ascii=False) + "\n"
