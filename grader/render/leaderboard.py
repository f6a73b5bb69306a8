"""index.html of a batch: the leaderboard, built from view models like report.html.

One self-contained page: report.css plus leaderboard.css inline, one script
(report.js's table sorting plus leaderboard.js's status filter) allowed by its CSP
hash, small inline-SVG histograms, no external request. Everything a candidate
controls (the source, the reason a row failed, the code shown for similar pairs) goes
through Jinja2 autoescaping.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass

from grader.core.batch_models import BatchResult, BatchRow, SimilarPair, SourceRegion
from grader.render.html import environment, score_band, script_hash
from grader.render.results import status_label

SCRIPTS = ("report.js", "leaderboard.js")
BINS = 10
BIN_WIDTH = 6
CHART_HEIGHT = 18


@dataclass(frozen=True)
class BinView:
    """One bar of a small histogram (SVG coordinates precomputed)."""

    x: int
    y: int
    height: int
    mine: bool


@dataclass(frozen=True)
class CellView:
    """A score cell: the number, and where it sits among the other candidates."""

    text: str
    value: str
    band: str
    position: str
    bins: tuple[BinView, ...]


@dataclass(frozen=True)
class PlaceView:
    """Where a candidate lands between the assignment's floor and ceiling."""

    text: str
    value: str
    title: str


@dataclass(frozen=True)
class PairLink:
    """A pointer from a row to a similar pair."""

    anchor: str
    text: str


@dataclass(frozen=True)
class RowView:
    """A leaderboard row."""

    candidate: str
    rank: str
    rank_value: int
    """Sort key: ungraded rows after every rank."""
    group: str
    """graded or not-graded, for the filter."""
    report: str | None
    status: int
    status_label: str
    reason: str
    grade: str
    overall: CellView
    hidden_tests: CellView | None
    """The hidden tests' pass rate, when the batch had hidden tests."""
    calibration: PlaceView | None
    """The place between floor and ceiling, when the assignment was calibrated."""
    cells: tuple[CellView, ...]
    commit: str
    similar: tuple[PairLink, ...]


@dataclass(frozen=True)
class RegionView:
    """A stretch of matching code."""

    where: str
    text: str


@dataclass(frozen=True)
class PairView:
    """A pair of similar candidates with their matching code side by side."""

    anchor: str
    first: str
    second: str
    first_share: str
    second_share: str
    score: str
    first_regions: tuple[RegionView, ...]
    second_regions: tuple[RegionView, ...]


@dataclass(frozen=True)
class LeaderboardView:
    """Everything index.html shows."""

    title: str
    rubric: str
    rubric_hash: str
    grader_version: str
    total: int
    graded: int
    not_graded: int
    fail_under: str
    chart_width: int
    chart_height: int
    criteria: tuple[tuple[str, str], ...]
    criteria_column: int
    """The column number of the first criterion (after the assignment's columns)."""
    hidden_tests: bool
    calibration: bool
    calibration_note: str
    calibration_warning: str
    rows: tuple[RowView, ...]
    statuses: tuple[tuple[int, str, int], ...]
    """(status, label, how many rows) for the filter."""
    similarity_note: str
    pairs: tuple[PairView, ...]
    script_hash: str


def _bin(score: float) -> int:
    return min(int(score // (100 / BINS)), BINS - 1)


def _histogram(scores: list[float | None]) -> Counter[int]:
    return Counter(_bin(s) for s in scores if s is not None)


def _cell(score: float | None, counts: Counter[int], ranked: list[float]) -> CellView:
    tallest = max(counts.values(), default=1)
    mine = None if score is None else _bin(score)
    bins = tuple(
        BinView(
            i * BIN_WIDTH,
            CHART_HEIGHT - round(CHART_HEIGHT * counts[i] / tallest),
            round(CHART_HEIGHT * counts[i] / tallest),
            i == mine,
        )
        for i in range(BINS)
    )
    if score is None:
        return CellView("n/a", "-1", "none", "not measured", bins)
    above = sum(1 for other in ranked if other > score)
    return CellView(
        f"{score:.0f}",
        f"{score:.2f}",
        score_band(score),
        f"{score:.0f}: {above + 1} of {len(ranked)}",
        bins,
    )


def _percent(cell: CellView) -> CellView:
    return cell if cell.text == "n/a" else dataclasses.replace(cell, text=f"{cell.text}%")


def _place(result: BatchResult, position: float | None) -> PlaceView | None:
    calibration = result.calibration
    if calibration is None:
        return None
    if position is None:
        return PlaceView("n/a", "-1000", "not placed: no score, or no usable calibration")
    return PlaceView(
        f"{position:.0f}%",
        f"{position:.1f}",
        f"{position:.0f}% of the way from the bare starter ({calibration.floor}) "
        f"to the reference solution ({calibration.ceiling})",
    )


def _calibration_note(result: BatchResult) -> str:
    calibration = result.calibration
    if calibration is None or calibration.floor is None or calibration.ceiling is None:
        return ""
    return (
        f"Starter → reference: where each score lands between the bare starter "
        f"({calibration.floor:.1f}, 0%) and the team's reference solution "
        f"({calibration.ceiling:.1f}, grade {calibration.ceiling_grade}, 100%), "
        "as grader calibrate measured them."
    )


def _pair_links(result: BatchResult) -> dict[str, list[PairLink]]:
    links: dict[str, list[PairLink]] = {}
    for number, pair in enumerate(result.similar, start=1):
        text = f"{pair.score:.0%}"
        links.setdefault(pair.first, []).append(PairLink(f"pair-{number}", f"{pair.second} {text}"))
        links.setdefault(pair.second, []).append(PairLink(f"pair-{number}", f"{pair.first} {text}"))
    return links


def _rows(result: BatchResult) -> tuple[RowView, ...]:
    ids = [cid for cid, _ in result.criteria]
    columns: dict[str, list[float | None]] = {
        cid: [dict(row.criteria).get(cid) for row in result.rows] for cid in ids
    }
    overall_scores = [row.score for row in result.rows]
    hidden = [row.hidden_tests for row in result.rows]
    hidden_histogram = _histogram(hidden)
    hidden_ranked = [s for s in hidden if s is not None]
    histograms = {cid: _histogram(scores) for cid, scores in columns.items()}
    ranked = {cid: [s for s in scores if s is not None] for cid, scores in columns.items()}
    overall_histogram = _histogram(overall_scores)
    overall_ranked = [s for s in overall_scores if s is not None]
    links = _pair_links(result)
    views = []
    rank = 0
    for row in result.rows:
        scores = dict(row.criteria)
        graded = row.status in (0, 1)
        rank += graded
        views.append(
            RowView(
                candidate=row.candidate,
                rank=str(rank) if graded else "",
                rank_value=rank if graded else len(result.rows) + 1,
                group="graded" if graded else "not-graded",
                report=row.report,
                status=row.status,
                status_label=status_label(row.status),
                reason=row.reason,
                grade=row.grade,
                overall=_cell(row.score, overall_histogram, overall_ranked),
                hidden_tests=_percent(_cell(row.hidden_tests, hidden_histogram, hidden_ranked))
                if result.has_hidden_tests
                else None,
                calibration=_place(result, row.calibration),
                cells=tuple(_cell(scores.get(c), histograms[c], ranked[c]) for c in ids),
                commit=(row.commit or "")[:12],
                similar=tuple(links.get(row.candidate, ())),
            )
        )
    return tuple(views)


def _regions(regions: tuple[SourceRegion, ...]) -> tuple[RegionView, ...]:
    return tuple(RegionView(f"{r.path}:{r.first_line}-{r.last_line}", r.text) for r in regions)


def _pair(number: int, pair: SimilarPair) -> PairView:
    return PairView(
        f"pair-{number}",
        pair.first,
        pair.second,
        f"{pair.first_share:.0%}",
        f"{pair.second_share:.0%}",
        f"{pair.score:.0%}",
        _regions(pair.first_regions),
        _regions(pair.second_regions),
    )


def _similarity_note(result: BatchResult) -> str:
    if result.similarity_compared < 2:
        return "Similarity was not checked: it needs the code of at least two graded candidates."
    found = len(result.similar)
    return (
        f"The code of {result.similarity_compared} candidates was compared pairwise "
        f"(copydetect fingerprints; identifiers renamed and functions reordered still match). "
        f"{found or 'No'} pair{'' if found == 1 else 's'} share at least "
        f"{result.similarity_threshold:.0%} of one candidate's code."
    )


def _statuses(rows: tuple[BatchRow, ...]) -> tuple[tuple[int, str, int], ...]:
    counts = Counter(row.status for row in rows)
    return tuple((status, status_label(status), counts[status]) for status in sorted(counts))


def view(result: BatchResult) -> LeaderboardView:
    """Build the page's view model from a batch result."""
    graded = sum(1 for row in result.rows if row.status in (0, 1))
    assignment_columns = int(result.has_hidden_tests) + int(result.calibration is not None)
    return LeaderboardView(
        title="grader leaderboard",
        rubric=result.rubric.title if result.rubric else "no submission was graded",
        rubric_hash=result.rubric.sha256[:16] if result.rubric else "",
        grader_version=result.grader_version,
        total=len(result.rows),
        graded=graded,
        not_graded=len(result.rows) - graded,
        fail_under="" if result.fail_under is None else f"{result.fail_under:g}",
        chart_width=BINS * BIN_WIDTH,
        chart_height=CHART_HEIGHT,
        criteria=result.criteria,
        criteria_column=5 + assignment_columns,
        hidden_tests=result.has_hidden_tests,
        calibration=result.calibration is not None,
        calibration_note=_calibration_note(result),
        calibration_warning=result.calibration.warning if result.calibration else "",
        rows=_rows(result),
        statuses=_statuses(result.rows),
        similarity_note=_similarity_note(result),
        pairs=tuple(_pair(n, p) for n, p in enumerate(result.similar, start=1)),
        script_hash=script_hash(*SCRIPTS),
    )


def render(result: BatchResult) -> str:
    """The whole page as one string."""
    return environment().get_template("leaderboard.html.j2").render(page=view(result))
