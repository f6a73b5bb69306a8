"""The contract every tool adapter satisfies, and helpers they share."""

from __future__ import annotations

import functools
import os
import sys
import threading
from dataclasses import dataclass, field
from importlib import metadata, resources
from pathlib import Path
from typing import Protocol

from grader.acquire.workspace import Workspace
from grader.core import proc
from grader.core.cores import CoreShare
from grader.core.models import Metric, MetricSpec, ToolResult, ToolStatus
from grader.core.progress import OnEvent
from grader.environment.cache import EnvironmentCache
from grader.sandbox.bubblewrap import Limits, Sandbox

DEFAULT_MUTANTS = 12
MUTANTS_VARIABLE = "GRADER_MUTANTS"


def default_mutants() -> int:
    """The sample size when none is given: $GRADER_MUTANTS (a whole number, 0 turns
    mutation testing off), else DEFAULT_MUTANTS."""
    configured = os.environ.get(MUTANTS_VARIABLE, "").strip()
    return int(configured) if configured.isdigit() else DEFAULT_MUTANTS


@dataclass(frozen=True)
class MutationBudget:
    """How much mutation testing a grade may do (see grader.tools.mutation)."""

    max_mutants: int = field(default_factory=default_mutants)
    """The sample size; 0 turns mutation testing off."""
    time_factor: float = 2.0
    """No new mutant starts once this many times the measured test run has passed..."""
    floor_s: float = 40.0
    """...or this many seconds, whichever is longer (a one-second suite still gets a sample)."""


@dataclass(frozen=True)
class ToolContext:
    """What an adapter gets: the submission, a private folder, and how to run things."""

    workspace: Workspace
    work_dir: Path
    sandbox: Sandbox
    limits: Limits
    environments: EnvironmentCache | None = None
    """Where the candidate's test environments are built; None runs tests with grader's own."""
    static_timeout_s: float = 300.0
    on_event: OnEvent | None = None
    """Told when a long step inside a tool (building the test environment) starts and ends."""
    mutation: MutationBudget = MutationBudget()
    tests_started: threading.Event | None = None
    """Set by the test run once the suite is running (or cannot run): the pipeline holds
    the analysers that work in grader's own process until then (see pipeline)."""
    cores: CoreShare | None = None
    """Told by the test run when its suite has ended, which frees its core for the
    analysers (see grader.core.cores); None when nothing is shared."""


class Tool(Protocol):
    """One analysis tool. Adding a tool means one module with one of these."""

    @property
    def name(self) -> str:
        """Short name used in reports and finding selectors."""
        ...

    @property
    def metrics(self) -> tuple[MetricSpec, ...]:
        """Every metric this tool may emit."""
        ...

    def version(self) -> str:
        """Version of the underlying tool, for the report footer."""
        ...

    def run(self, ctx: ToolContext) -> ToolResult:
        """Analyse the submission; failures are results with a status, never exceptions."""
        ...


def package_version(distribution: str) -> str:
    """Installed version of a pinned dependency, without spawning it."""
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


def config_path(name: str) -> Path:
    """A grader-owned tool configuration shipped in the package."""
    return Path(str(resources.files("grader.tools") / "configs" / name))


def python_module(module: str, *args: str) -> list[str]:
    """argv for ``python -I -m module``.

    ``-I`` keeps the current folder and PYTHON* variables off ``sys.path``, so a file in the
    submission named like the tool (``mypy.py``) can never be imported in its place.
    """
    return [sys.executable, "-I", "-m", module, *args]


# The candidate's test run is a grade's longest step; the static analysers run beside it
# at a lower priority, so on a machine with few cores they use what it leaves idle
# instead of slowing it down.
STATIC_NICENESS = 10


def run_static(ctx: ToolContext, argv: list[str]) -> proc.ProcResult:
    """Run a static analyser from the adapter's private folder, never from the submission."""
    return proc.run(
        argv, cwd=ctx.work_dir, timeout_s=ctx.static_timeout_s, niceness=STATIC_NICENESS
    )


def failure(
    tool: str, version: str, result: proc.ProcResult, reason: str, metrics: tuple[MetricSpec, ...]
) -> ToolResult:
    """A result for a tool that ran but gave nothing usable; every metric 'not measured'."""
    status = ToolStatus.TIMEOUT if result.timed_out else ToolStatus.FAILED
    if result.timed_out:
        reason = f"{tool} did not finish within {result.duration_s:.0f}s"
    return ToolResult(
        tool=tool,
        version=version,
        status=status,
        reason=reason,
        metrics=tuple(Metric(m.name, None, m.unit, tool, reason) for m in metrics),
        argv=result.argv,
        exit_code=result.exit_code,
        duration_s=result.duration_s,
        stderr_tail=proc.tail(result.stderr),
    )


def percent(part: int, whole: int) -> float | None:
    """``part`` as a percentage of ``whole``, to two places; None when there is no whole."""
    return round(100.0 * part / whole, 2) if whole else None


def relative(ctx: ToolContext, path: str) -> str:
    """A tool's reported path, relative to the submission root when it is inside it."""
    candidate = Path(path)
    if not candidate.is_absolute():
        candidate = ctx.work_dir / candidate
    try:
        return _resolved(candidate).relative_to(_resolved(ctx.workspace.root)).as_posix()
    except ValueError:
        return path


@functools.lru_cache(maxsize=8192)
def _resolved(path: Path) -> Path:
    # Tools name each file many times (radon: once per function); the files do not move
    # while they are graded, and resolving looks at every folder on the way each time.
    return path.resolve()
