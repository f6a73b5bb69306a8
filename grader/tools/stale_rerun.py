"""Running a suite again when a release the candidate pinned crashed on this Python: the
pytest adapter's retry loop (see grader.environment.stale_pins for which pins and how
far they are raised).

Each round raises the pins the last run's tracebacks passed through, rebuilds the
environment and measures again in folders of its own; the run that exercised the most
tests is reported. At most MAX_PIN_ROUNDS rounds.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

from grader.core.models import ToolResult
from grader.environment import run_settings, stale_pins, test_environment
from grader.tools import run_outcomes as outcomes
from grader.tools.base import ToolContext

Measure = Callable[
    [ToolContext, test_environment.TestEnvironment, Path, list[str], run_settings.RunSettings],
    tuple[ToolResult, str],
]
"""One measured run: the result, and what the run printed."""


def rerun(
    ctx: ToolContext,
    prepared: test_environment.TestEnvironment,
    first: tuple[ToolResult, str],
    settings: run_settings.RunSettings,
    measure: Measure,
) -> ToolResult:
    """``first`` (a run and its output), or a later run with stale pins raised that
    exercised more tests."""
    best, output = first
    steps: dict[str, int] = {}
    pinned = prepared.declared
    seeded = False
    for round_number in range(1, outcomes.MAX_PIN_ROUNDS + 1):
        crashed = stale_pins.crashed_in(output, pinned, prepared.installed)
        stale = {name for name in crashed if steps.get(name, 0) < stale_pins.LAST_STEP}
        seed = not seeded and stale_pins.wants_seeded_setuptools(output, pinned)
        if not (stale or seed) or not outcomes.blocked(best):
            break
        steps |= {name: steps.get(name, 0) + 1 for name in stale}
        seeded = seeded or seed
        prepared = test_environment.prepare_with_raised_pins(ctx, steps, seed_setuptools=seeded)
        if prepared.python is None:
            break
        notes = [*prepared.notes, *settings.notes()]
        # Each run gets folders of its own: the last one's results must not be read.
        again = dataclasses.replace(ctx, work_dir=ctx.work_dir / f"raised-{round_number}")
        again.work_dir.mkdir()
        attempt, output = measure(again, prepared, prepared.python, notes, settings)
        best = max(best, attempt, key=outcomes.progress)
    return best
