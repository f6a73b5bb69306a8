"""What a running batch shows: live lines on a terminal (rich), one line per event otherwise."""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass
from typing import Protocol

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

STATUS_WORDS = {0: "graded", 1: "below --fail-under", 2: "input error", 3: "internal error"}


@dataclass(frozen=True)
class Outcome:
    """How one row ended in this run."""

    candidate: str
    status: int
    reason: str = ""
    score: float | None = None
    grade: str = ""
    seconds: float = 0.0
    kept: bool = False
    """Graded by an earlier run at the same commit, rubric and grader version."""

    def describe(self) -> str:
        """One human line."""
        if self.kept:
            return f"{self.candidate}: already graded, kept"
        if self.status == 0:
            score = "not measured" if self.score is None else f"{self.score:.1f}/100"
            return f"{self.candidate}: {score}, grade {self.grade} ({self.seconds:.0f}s)"
        word = STATUS_WORDS.get(self.status, f"status {self.status}")
        return f"{self.candidate}: not graded ({word}): {self.reason}"


class Reporter(Protocol):
    """Receives the batch's events; called from worker threads."""

    def started(self, candidate: str) -> None:
        """A row's grading began."""

    def finished(self, outcome: Outcome) -> None:
        """A row ended (graded, failed or kept)."""

    def close(self) -> None:
        """The batch is over."""


class PlainReporter:
    """One line on stderr per event: for logs and CI."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.done = 0
        self.lock = threading.Lock()

    def started(self, candidate: str) -> None:
        """Print that a row started."""
        with self.lock:
            sys.stderr.write(f"grader: {candidate}: grading\n")
            sys.stderr.flush()

    def finished(self, outcome: Outcome) -> None:
        """Print how a row ended, with the count so far."""
        with self.lock:
            self.done += 1
            sys.stderr.write(f"grader: [{self.done}/{self.total}] {outcome.describe()}\n")
            sys.stderr.flush()

    def close(self) -> None:
        """Nothing to tidy."""


class LiveReporter:
    """A live line per running job and an overall bar with counts and time left."""

    def __init__(self, total: int, console: Console) -> None:
        self.console = console
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[counts]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        )
        self.total = total
        self.overall = self.progress.add_task("batch", total=total, counts=f"0/{total}")
        self.running: dict[str, tuple[TaskID, float]] = {}
        self.graded = 0
        self.failed = 0
        self.lock = threading.Lock()
        self.progress.start()

    def started(self, candidate: str) -> None:
        """Add the job's live line."""
        with self.lock:
            task = self.progress.add_task(f"  {candidate}", total=None, counts="grading")
            self.running[candidate] = (task, time.monotonic())

    def finished(self, outcome: Outcome) -> None:
        """Drop the job's line, print its result above the bars, advance the counts."""
        with self.lock:
            task_started = self.running.pop(outcome.candidate, None)
            if task_started is not None:
                self.progress.remove_task(task_started[0])
            if outcome.status in (0, 1):
                self.graded += 1
            else:
                self.failed += 1
            self.progress.console.print(outcome.describe(), markup=False, highlight=False)
            self.progress.update(
                self.overall,
                advance=1,
                counts=f"{self.graded + self.failed}/{self.total}: "
                f"{self.graded} graded, {self.failed} failed",
            )

    def close(self) -> None:
        """Stop redrawing."""
        self.progress.stop()


def reporter(total: int) -> Reporter:
    """Live lines on a terminal, plain lines otherwise."""
    console = Console(stderr=True)
    if console.is_terminal:
        return LiveReporter(total, console)
    return PlainReporter(total)
