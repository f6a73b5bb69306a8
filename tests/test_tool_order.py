"""The order tools start in: the analysers that work in grader's own process wait until
the test run is under way, and never for a test run that cannot come."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from grader import pipeline
from grader.acquire.workspace import inventory
from grader.core.models import MetricSpec, ToolResult, ToolStatus
from grader.sandbox.bubblewrap import NotNeeded
from grader.tools.base import ToolContext


@dataclass
class _Tool:
    name: str
    log: list[str]
    fail: bool = False
    metrics: tuple[MetricSpec, ...] = ()
    started: threading.Event = field(default_factory=threading.Event)

    def version(self) -> str:
        return "0"

    def run(self, ctx: ToolContext) -> ToolResult:
        self.log.append(f"{self.name} started")
        if self.fail:
            raise RuntimeError("broken before the suite ran")
        if self.name == pipeline.LONGEST_TOOL and ctx.tests_started is not None:
            self.log.append("suite running")
            ctx.tests_started.set()
        return ToolResult(tool=self.name, version="0", status=ToolStatus.OK)


def _run(
    tmp_path: Path, tools: list[_Tool], spare: Callable[[], None] | None = None
) -> tuple[ToolResult, ...]:
    (tmp_path / "sub").mkdir(parents=True)
    (tmp_path / "sub" / "app.py").write_text("x = 1\n", encoding="utf-8")
    options = pipeline.GradeOptions(
        source=str(tmp_path / "sub"), environments=None, while_tests_run=spare
    )
    work = tmp_path / "work"
    work.mkdir()
    return pipeline.run_tools(tools, inventory(tmp_path / "sub"), work, NotNeeded(), options)


def test_in_process_analysers_start_once_the_suite_is_running(tmp_path: Path) -> None:
    log: list[str] = []
    tools = [_Tool("facts", log), _Tool("design", log), _Tool("ruff", log), _Tool("pytest", log)]
    results = _run(tmp_path, tools)
    assert [r.tool for r in results] == ["facts", "design", "ruff", "pytest"]
    running = log.index("suite running")
    assert log.index("facts started") > running and log.index("design started") > running


def test_nothing_waits_for_a_test_run_that_failed_or_is_not_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(pipeline, "HEAD_START_MAX_S", 5.0)
    caplog.set_level(logging.DEBUG, logger="grader")
    log: list[str] = []
    failed = _run(tmp_path / "a", [_Tool("facts", log), _Tool("pytest", log, fail=True)])
    assert failed[1].status is ToolStatus.FAILED and "facts started" in log
    alone = _run(tmp_path / "b", [_Tool("design", log)])
    assert alone[0].status is ToolStatus.OK
    assert not [r for r in caplog.records if "did not start" in r.getMessage()]


@dataclass
class _Counting:
    """Analysers that record how many of them run at once, and a suite held open until
    they have all had a turn (or given up waiting)."""

    name: str
    tally: dict[str, int]
    lock: threading.Lock
    suite_done: threading.Event
    metrics: tuple[MetricSpec, ...] = ()

    def version(self) -> str:
        return "0"

    def run(self, ctx: ToolContext) -> ToolResult:
        if self.name == pipeline.LONGEST_TOOL:
            if ctx.tests_started is not None:
                ctx.tests_started.set()
            self.suite_done.wait(10)
            if ctx.cores is not None:
                ctx.cores.suite_ended()
            return ToolResult(tool=self.name, version="0", status=ToolStatus.OK)
        with self.lock:
            self.tally["now"] += 1
            self.tally["most"] = max(self.tally["most"], self.tally["now"])
        threading.Event().wait(0.05)  # long enough for another to overlap, if allowed
        with self.lock:
            self.tally["now"] -= 1
            self.tally["done"] += 1
            if self.tally["done"] == self.tally["analysers"]:
                self.suite_done.set()
        return ToolResult(tool=self.name, version="0", status=ToolStatus.OK)


def test_analysers_take_turns_on_the_core_the_suite_leaves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("grader.core.cores.usable_cores", lambda: 2)
    names = ["ruff", "mypy", "bandit", "radon", "facts", "design"]
    tally = {"now": 0, "most": 0, "done": 0, "analysers": len(names)}
    lock, suite_done = threading.Lock(), threading.Event()
    tools = [_Counting(n, tally, lock, suite_done) for n in [*names, "pytest"]]
    results = _run(tmp_path, tools)  # type: ignore[arg-type]
    assert all(r.status is ToolStatus.OK for r in results)
    # Every analyser ran while the suite was still going, one at a time.
    assert tally["done"] == len(names) and tally["most"] == 1


def test_the_callers_spare_work_runs_once_after_every_analyser_and_cannot_fail_a_grade(
    tmp_path: Path,
) -> None:
    log: list[str] = []
    tools = [_Tool("facts", log), _Tool("ruff", log), _Tool("pytest", log)]
    results = _run(tmp_path / "a", tools, spare=lambda: log.append("spare work"))
    assert log.count("spare work") == 1
    assert log.index("spare work") > max(log.index("facts started"), log.index("ruff started"))

    def broken() -> None:
        raise OSError("renderers missing")

    failing = _run(tmp_path / "b", [_Tool("facts", []), _Tool("pytest", [])], spare=broken)
    assert [r.status for r in (*results, *failing)] == [ToolStatus.OK] * 5
