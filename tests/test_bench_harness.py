"""The benchmark harness still fits the code it times (no timing is asserted here).

`make bench` runs outside the suite, so a stage that moved (a renamed function, a lazy
import) used to drop out of its table unnoticed. The harness now refuses to run when a
stage it patches is gone; running it once here on `grader rubrics` makes that a test
failure.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import bench_grade

ROOT = Path(__file__).resolve().parent.parent


def test_every_stage_the_benchmark_times_still_exists(tmp_path: Path) -> None:
    harness = tmp_path / "measured.py"
    harness.write_text(bench_grade.MEASURED, encoding="utf-8")
    run = subprocess.run(
        [sys.executable, str(harness), "rubrics"],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    figures = json.loads(run.stderr.strip().splitlines()[-1])
    assert figures["exit"] == 0
