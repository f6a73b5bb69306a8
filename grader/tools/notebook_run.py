"""Notebook execution: each notebook run top to bottom in a fresh kernel, in the sandbox.

Stored outputs say how a notebook ran once, on its author's machine; this says whether it
runs at all: in the submission's own test environment (grader.environment.test_environment,
shared with the test run), with grader's notebook runners beside it
(grader.environment.notebook_runners), on a scratch copy, with no network, a timeout per
cell (the per-test timeout) and one for the whole notebook (the test run's). Each
notebook ran clean, failed at cell N, or timed out at cell N.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from grader.core.errors import NoRoomError
from grader.core.models import (
    Finding,
    Location,
    Metric,
    MetricSpec,
    Severity,
    ToolResult,
    ToolStatus,
)
from grader.core.progress import stage
from grader.environment import notebook_runners, test_environment
from grader.sandbox.bubblewrap import Limits, interpreter_paths
from grader.sandbox.scratch import disk_area, footprint
from grader.tools.base import ToolContext, percent
from grader.tools.pytest_run import RunFolders, pytest_environment, take_result

NAME = "notebook-run"
RUNNER = Path(__file__).with_name("notebook_runner.py")
MAX_RESULTS_BYTES = 256 * 1024
METRICS = (
    MetricSpec(
        "notebooks.ran_clean", "%",
        "Notebooks that ran top to bottom without an error in a fresh kernel, in the sandbox.",
    ),
)  # fmt: skip


def _unmeasured(reason: str, *, status: ToolStatus = ToolStatus.SKIPPED) -> ToolResult:
    return ToolResult(
        NAME,
        ", ".join(notebook_runners.NOTEBOOK_RUNNERS),
        status,
        metrics=(Metric("notebooks.ran_clean", None, "%", NAME, reason),),
        reason=reason,
    )


def outcome(lines: str, timed_out: bool) -> tuple[str, int, str]:
    """(ran | failed | timeout, cell, error) from the runner's results file; a run the
    sandbox stopped timed out at the last cell it started."""
    records = []
    for line in lines.splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    last = next((r for r in reversed(records) if "outcome" in r), None)
    started = max((int(r.get("started", 0)) for r in records), default=0)
    if last is not None and not timed_out:
        return str(last["outcome"]), int(last.get("cell", 0)), str(last.get("error", ""))
    if timed_out:
        return "timeout", started, "the notebook exceeded its time limit"
    return "failed", started, "the runner stopped without a result"


def finding(notebook: str, result: tuple[str, int, str], limits: Limits) -> Finding | None:
    """What the report says about one notebook's run; None when it ran clean."""
    kind, cell, error = result
    where = Location(notebook, cell=cell or None)
    if kind == "ran":
        return None
    if kind == "timeout":
        return Finding(
            NAME, "notebook-timeout",
            f"running the notebook top to bottom timed out at cell {cell} "
            f"({limits.per_test_s:g}s per cell, {limits.wall_s:g}s in all)",
            Severity.MEDIUM, where,
        )  # fmt: skip
    return Finding(
        NAME, "notebook-failed",
        f"running the notebook top to bottom in a fresh kernel failed at cell {cell}: {error}",
        Severity.MEDIUM, where,
    )  # fmt: skip


class NotebookRun:
    """Run every readable notebook in the sandbox, in the submission's environment."""

    name = NAME
    metrics = METRICS

    def version(self) -> str:
        """The runners' pins."""
        return ", ".join(notebook_runners.NOTEBOOK_RUNNERS)

    def run(self, ctx: ToolContext) -> ToolResult:
        """Not measured without notebooks, a sandbox or an environment cache."""
        ws = ctx.workspace
        if not ws.notebooks:
            return _unmeasured("no readable notebooks", status=ToolStatus.OK)  # nothing to run
        if not ctx.sandbox.isolated or ctx.environments is None:
            return _unmeasured("notebooks run only in the sandbox, in a built environment")
        with stage("environment", ctx.on_event):
            prepared = test_environment.prepare(ctx)
        if prepared.python is None:
            return _unmeasured(f"no environment to run notebooks in: {prepared.problem}")
        runners = notebook_runners.prepare(
            ctx.environments.root, prepared.python, offline=ctx.environments.offline
        )
        if runners.path is None:
            return _unmeasured(runners.reason)
        try:
            with disk_area(ctx.work_dir / "disk", ctx.limits.disk_mb, footprint(ws.root)) as area:
                return self._measure(ctx, area.root, prepared.python, runners.path)
        except NoRoomError as exc:
            return _unmeasured(str(exc))

    def _measure(self, ctx: ToolContext, area: Path, python: Path, runners: Path) -> ToolResult:
        paths = RunFolders.prepare(ctx, area)
        # A copy of the runner in a folder of its own: run from grader/tools, its
        # neighbours (secrets.py, mypy.py) would shadow modules of those names.
        runner = paths.config / RUNNER.name
        shutil.copyfile(RUNNER, runner)
        env = pytest_environment(paths, python, own_env=True)
        env["PYTHONPATH"] = f"{runners}:{paths.scratch}"
        findings: list[Finding] = []
        clean = 0
        private = ctx.work_dir / "taken"
        private.mkdir()
        for number, script in enumerate(ctx.workspace.notebooks):
            notebook = paths.scratch / script.notebook
            name = f"notebook-{number}.jsonl"
            argv = [str(python), "-s", str(runner), str(notebook), str(notebook.parent)]
            argv += [str(paths.results / name), f"{ctx.limits.per_test_s:g}"]
            run = ctx.sandbox.run(
                argv,
                cwd=notebook.parent,
                writable=list(paths.writable()),
                readable=[*interpreter_paths(python), runners, paths.config],
                env=env,
                limits=ctx.limits,
            )
            taken = take_result(paths.results, name, private, MAX_RESULTS_BYTES)
            text = taken.read_text(encoding="utf-8", errors="replace") if taken else ""
            said = finding(script.notebook, outcome(text, run.timed_out), ctx.limits)
            clean += said is None
            findings += [said] if said else []
        ran = percent(clean, len(ctx.workspace.notebooks))
        return ToolResult(
            NAME,
            self.version(),
            ToolStatus.OK,
            findings=tuple(findings),
            metrics=(Metric("notebooks.ran_clean", ran, "%", NAME),),
        )
