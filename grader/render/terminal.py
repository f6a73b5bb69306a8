"""The terminal summary of a grade, and the progress shown while grading. Uses rich.

A person reads this and acts on it: one table of criteria (score, bar, what cost the most),
then the changes worth the most points, then where the full report is. rich decides colour:
none when the stream is not a terminal, when ``NO_COLOR`` is set, or with ``--no-color``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import TextIO

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from grader.core.models import CriterionScore, Report
from grader.core.progress import Event
from grader.scoring.gains import Gain

BAR_WIDTH = 12
REASON_WIDTH = 70
MAX_WARNINGS = 5
LASTING_S = 1.0


def console(
    stream: TextIO | None = None, *, no_color: bool = False, record: bool = False
) -> Console:
    """A console on ``stream`` (stderr by default); colour only where it can be seen."""
    return Console(
        file=stream,
        stderr=stream is None,
        no_color=no_color or None,  # None lets rich honour NO_COLOR itself
        highlight=False,
        record=record,
        soft_wrap=False,
    )


def score_line(report: Report) -> str:
    """The one line ``--quiet`` prints: score and grade."""
    score = "not measured" if report.score is None else f"{report.score:.1f}"
    return f"grader: {score}/100, grade {report.grade}"


def _style(score: float | None) -> str:
    if score is None:
        return "dim"
    if score >= 80:
        return "green"
    return "yellow" if score >= 60 else "red"


def _bar(score: float | None) -> Text:
    if score is None:
        return Text("not measured", style="dim")
    filled = round(score / 100 * BAR_WIDTH)
    return Text.assemble(("█" * filled, _style(score)), ("░" * (BAR_WIDTH - filled), "dim"))


def printable(text: str) -> str:
    """Text the submission controls (paths, messages), with control characters escaped.

    rich passes ESC through, so a file named with a terminal escape sequence would
    otherwise recolour, retitle or rewrite the reader's terminal.
    """
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)


def _shorten(text: str, width: int = REASON_WIDTH) -> str:
    text = printable(text)
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def _number(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def _top_reason(criterion: CriterionScore) -> str:
    """What cost the criterion the most: a cap, else the metric furthest from full marks."""
    if criterion.score is None:
        return _shorten(criterion.reason)
    if criterion.caps_applied:
        return _shorten(criterion.caps_applied[0])
    measured = [m for m in criterion.metrics if m.points is not None]
    total = sum(m.weight for m in measured)
    worst = max(measured, key=lambda m: (100 - (m.points or 0)) * m.weight)
    cost = (100 - (worst.points or 0)) * worst.weight / total if total else 0
    if cost < 0.05 or worst.value is None:
        return "full marks"
    unit = (
        "" if worst.unit in {"ratio", ""} else worst.unit if worst.unit == "%" else f" {worst.unit}"
    )
    target = f", full marks at {_number(worst.threshold)}" if worst.threshold is not None else ""
    lost = f"{cost:.1f}" if cost < 1 else f"{cost:.0f}"
    return f"-{lost} pts: {worst.name} {_number(worst.value)}{unit}{target}"


def criteria_table(report: Report) -> Table:
    """Each criterion: score, a bar, its name and weight, and under it what cost the most."""
    table = Table(show_edge=False, pad_edge=False, box=None, header_style="bold")
    table.add_column("score", justify="right", no_wrap=True)
    table.add_column("", no_wrap=True)
    table.add_column("criterion (weight): what cost the most", overflow="fold")
    for c in report.criteria:
        score = "—" if c.score is None else f"{c.score:.0f}"
        table.add_row(
            Text(score, style=f"bold {_style(c.score)}"),
            _bar(c.score),
            Text.assemble((c.name, "bold"), f" ({c.weight:g})", "\n", (_top_reason(c), "dim")),
        )
    return table


def gains_table(gains: Sequence[Gain]) -> Table:
    """The changes worth the most points, each with where to start and what is there."""
    table = Table(show_header=False, show_edge=False, pad_edge=False, box=None)
    table.add_column(justify="right", style="bold green", no_wrap=True)
    table.add_column(overflow="fold")
    for gain in gains:
        where = f"{gain.location}: " if gain.location else ""
        table.add_row(
            f"+{gain.points:.1f}",
            Text.assemble(
                (printable(gain.action), "bold"),
                "\n",
                (_shorten(f"{gain.criterion} · {where}{gain.detail}", REASON_WIDTH + 20), "dim"),
            ),
        )
    return table


def summary(out: Console, report: Report, gains: Sequence[Gain], report_path: Path | None) -> None:
    """Everything a person acts on after a grade, in reading order."""
    out.print(Text(score_line(report), style=f"bold {_style(report.score)}"))
    if report.band is not None:
        out.print(Text(_shorten(report.band.summary(report.grade), 160), style="dim"))
    for warning in report.submission.warnings[:MAX_WARNINGS]:
        out.print(Text(f"! {_shorten(warning, 110)}", style="yellow"))
    out.print()
    out.print(criteria_table(report))
    if gains:
        out.print()
        out.print(Text("What would gain the most", style="bold"))
        out.print(gains_table(gains))
    out.print()  # the report's path follows (on stdout, for scripts)
    if report_path is not None:
        out.print(Text.assemble(("report: ", "bold"), str(report_path)))


class StageProgress:
    """Shows the stages running now with a spinner and elapsed time; lists each one done.

    Its ``__call__`` is the pipeline's ``on_event`` observer; tools report from their own
    threads, so every change holds a lock.
    """

    def __init__(self, out: Console) -> None:
        self._out = out
        self._lock = threading.Lock()
        self._started: dict[str, float] = {}
        self._live = Live(self, console=out, refresh_per_second=8, transient=True)

    def __rich__(self) -> RenderableType:
        now = time.monotonic()
        with self._lock:
            running = list(self._started.items())
        return Group(
            *(Spinner("dots", Text(f"{name}  {now - start:.0f}s")) for name, start in running)
        )

    def __call__(self, name: str, event: Event) -> None:
        with self._lock:
            if event is Event.START:
                self._started[name] = time.monotonic()
                return
            started = self._started.pop(name, time.monotonic())
        if event is Event.DONE and time.monotonic() - started < LASTING_S:
            return  # quick stages only flash by: the lasting ones are worth a line
        mark = "✓" if event is Event.DONE else "✗"
        style = "green" if event is Event.DONE else "red"
        self._live.console.print(
            Text.assemble(
                (mark, style), f" {name}", (f"  {time.monotonic() - started:.1f}s", "dim")
            )
        )

    def __enter__(self) -> StageProgress:
        self._live.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._live.stop()
