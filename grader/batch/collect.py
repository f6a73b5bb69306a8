"""Gather a batch output folder into a ``BatchResult``: rows, criteria, similar pairs.

Reads only what is on disk (row.json, report.json, sources.json), so a single run, a
resumed run and ``grader aggregate`` over shards all produce the same result.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader import __version__
from grader.batch import similarity, store
from grader.batch.progress import Outcome
from grader.core.batch_models import BatchResult, BatchRow
from grader.core.errors import ExitCode, UsageError
from grader.core.models import Calibration, RubricInfo

DEFAULT_SIMILARITY_THRESHOLD = 0.5
CORRECTNESS_METRIC = "correctness.pass_rate"


@dataclass(frozen=True)
class ReportSummary:
    """What the leaderboard needs from one report.json."""

    score: float | None
    grade: str
    criteria: tuple[tuple[str, str, float | None], ...]
    """(id, name, score) in rubric order."""
    commit: str | None
    rubric: RubricInfo
    source: str
    ref: str | None
    grader_version: str
    hidden_tests: float | None = None
    """The hidden tests' pass rate (%), as the Correctness criterion measured it."""
    calibration: Calibration | None = None


def _pass_rate(criteria: list[dict[str, Any]]) -> float | None:
    """The hidden tests' pass rate, from whichever criterion the rubric measures it in."""
    for criterion in criteria:
        for metric in criterion["metrics"]:
            if metric["name"] == CORRECTNESS_METRIC:
                return _number(metric["value"])
    return None


def _calibration(data: dict[str, Any]) -> Calibration | None:
    stored = (data.get("assignment") or {}).get("calibration")
    if stored is None:
        return None
    return Calibration(
        floor=_number(stored["floor"]),
        ceiling=_number(stored["ceiling"]),
        ceiling_grade=str(stored["ceiling_grade"]),
        position=_number(stored["position"]),
        warning=str(stored["warning"]),
    )


def read_report(path: Path) -> ReportSummary:
    """Parse a report.json written by ``grader grade``; UsageError when it is not one."""
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        rubric = data["rubric"]
        return ReportSummary(
            score=_number(data["score"]),
            grade=str(data["grade"]),
            criteria=tuple(
                (str(c["id"]), str(c["name"]), _number(c["score"])) for c in data["criteria"]
            ),
            commit=_text(data["submission"]["commit"]),
            rubric=RubricInfo(
                str(rubric["name"]),
                str(rubric["title"]),
                str(rubric["audience"]),
                str(rubric["sha256"]),
            ),
            source=str(data["submission"]["source"]),
            ref=_text(data["submission"]["ref"]),
            grader_version=str(data["grader_version"]),
            hidden_tests=_pass_rate(data["criteria"]),
            calibration=_calibration(data),
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise UsageError(
            f"{path} is not a grader report.json ({type(exc).__name__}: {exc})"
        ) from None


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _number(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{value!r} is not a number")
    return float(value)


def outcome(folder: Path, *, kept: bool = False, seconds: float = 0.0) -> Outcome:
    """How the row saved in ``folder`` ended, for progress output."""
    record = store.read_record(folder)
    if record is None:
        return Outcome(folder.name, int(ExitCode.INTERNAL), "no row.json was written")
    if record.status != 0:
        return Outcome(record.candidate, record.status, record.reason, seconds=seconds)
    report = read_report(folder / store.REPORT_JSON)
    return Outcome(record.candidate, 0, "", report.score, report.grade, seconds=seconds, kept=kept)


def _status(record: store.Record, score: float | None, fail_under: float | None) -> int:
    if record.status != 0:
        return record.status
    if fail_under is not None and (score is None or score < fail_under):
        return int(ExitCode.BELOW_FAIL_UNDER)
    return int(ExitCode.GRADED)


def _row(
    folder: Path, record: store.Record, fail_under: float | None
) -> tuple[BatchRow, ReportSummary | None]:
    report = read_report(folder / store.REPORT_JSON) if record.status == 0 else None
    html = folder / store.REPORT_HTML
    row = BatchRow(
        candidate=record.candidate,
        status=_status(record, report.score if report else None, fail_under),
        reason=record.reason,
        score=report.score if report else None,
        grade=report.grade if report else "",
        criteria=tuple((cid, score) for cid, _, score in report.criteria) if report else (),
        commit=report.commit if report else None,
        source=record.source,
        ref=record.ref,
        report=f"{record.candidate}/{store.REPORT_HTML}" if report and html.is_file() else None,
        extra=record.extra,
        hidden_tests=report.hidden_tests if report else None,
        calibration=report.calibration.position if report and report.calibration else None,
    )
    return row, report


def _sort_key(row: BatchRow) -> tuple[bool, float, str]:
    return (row.score is None, -(row.score or 0.0), row.candidate)


def _extra_columns(rows: Iterable[BatchRow]) -> tuple[str, ...]:
    names: dict[str, None] = {}
    for row in rows:
        names.update((name, None) for name, _ in row.extra)
    return tuple(names)


def _criteria(reports: list[ReportSummary]) -> tuple[tuple[str, str], ...]:
    """Every criterion any row was scored on, in rubric order: a row without hidden tests
    or a git history has no Correctness or Process, one with no work has none at all."""
    ordered = sorted(reports, key=lambda r: -len(r.criteria))
    criteria: dict[str, str] = {}
    for report in ordered:
        for cid, name, _ in report.criteria:
            criteria.setdefault(cid, name)
    return tuple(criteria.items())


def load_sources(folder: Path, part: str = "files") -> dict[str, str] | None:
    """The candidate's analysed code saved beside its report (``part="starter"``: the
    starter code it was graded against, empty without one), or None."""
    try:
        data = json.loads((folder / store.SOURCES_FILE).read_text(encoding="utf-8"))
        files = data[part] if part == "files" else data.get(part, {})
        return {str(path): str(text) for path, text in files.items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def collect(
    out_dir: Path,
    candidates: Iterable[str] | None,
    fail_under: float | None,
    similarity_threshold: float,
) -> BatchResult:
    """The result of the rows saved in ``out_dir`` (only ``candidates`` when given)."""
    wanted = None if candidates is None else set(candidates)
    rows: list[BatchRow] = []
    reports: list[ReportSummary] = []
    sources: dict[str, dict[str, str]] = {}
    starter: set[str] = set()
    rubric_hashes: set[str] = set()
    for folder in store.candidate_folders(out_dir):
        record = store.read_record(folder)
        if record is None or (wanted is not None and record.candidate not in wanted):
            continue
        row, report = _row(folder, record, fail_under)
        rows.append(row)
        rubric_hashes.add(record.rubric_sha256)
        if report is not None:
            reports.append(report)
            code = load_sources(folder)
            if code is not None:
                sources[row.candidate] = code
                starter.update((load_sources(folder, "starter") or {}).values())
    if len(rubric_hashes) > 1:
        raise UsageError(
            f"{out_dir} holds rows graded with {len(rubric_hashes)} different rubrics; "
            "a leaderboard compares one rubric"
        )
    first = reports[0] if reports else None
    rows.sort(key=_sort_key)
    compared = sources if len(sources) >= 2 else {}
    return BatchResult(
        grader_version=__version__,
        rubric=first.rubric if first else None,
        criteria=_criteria(reports),
        rows=tuple(rows),
        extra_columns=_extra_columns(rows),
        fail_under=fail_under,
        similarity_threshold=similarity_threshold,
        similarity_compared=len(compared),
        similar=similarity.similar_pairs(compared, similarity_threshold, starter)
        if compared
        else (),
        calibration=next(
            (dataclasses.replace(r.calibration, position=None) for r in reports if r.calibration),
            None,
        ),
    )
