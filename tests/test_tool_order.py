"""The order tools start in: the analysers that work in grader's own process wait until
the test run is under way, and never for a test run that cannot come."""

from __future__ import annotations

import logging
import threading
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


def _run(tmp_path: Path, tools: list[_Tool]) -> tuple[ToolResult, ...]:
    (tmp_path / "sub").mkdir(parents=True)
    (tmp_path / "sub" / "app.py").write_text("x = 1\n", encoding="utf-8")
    options = pipeline.GradeOptions(source=str(tmp_path / "sub"), environments=None)
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
