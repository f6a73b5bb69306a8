"""Benchmark: batch throughput at --jobs 1 and --jobs 2, and the batch process's memory.

Usage: python scripts/bench_batch.py

Grades 12 submissions (each sample submission twice, as git repositories) with
``grader batch``: once to fill the environment cache (not timed), then at --jobs 1 and
--jobs 2 with --force, so both timed runs grade everything against a warm cache. Prints
submissions per minute, their ratio, the peak resident memory of the batch process
itself and of the largest process it waited for (a worker or a tool it ran), and how
many cores the whole batch kept busy on average (CPU time over wall time): one grade
already runs its tools side by side, so that figure at --jobs 1 bounds what --jobs 2
can add.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = (
    "exemplary",
    "average",
    "poor",
    "deps_requirements",
    "deps_lockfile",
    "deps_unresolvable",
)
GIT = ["git", "-c", "user.name=Bench", "-c", "user.email=bench@example.invalid"]
# Runs the batch in a child that reports its own peak memory and its children's.
MEASURED = """
import json, resource, sys
from grader.cli import main
code = main(sys.argv[1:])
print(json.dumps({
    "exit": code,
    "self_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    "children_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
    "cpu_s": sum(
        getattr(resource.getrusage(who), field)
        for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
        for field in ("ru_utime", "ru_stime")
    ),
}), file=sys.stderr)
"""


def _repos(base: Path) -> Path:
    rows = []
    for copy in (1, 2):
        for name in SAMPLES:
            repo = base / f"{name}-{copy}"
            shutil.copytree(ROOT / "sample_submissions" / name, repo)
            for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "Submission"]):
                subprocess.run([*GIT, *args], cwd=repo, check=True)
            rows.append([f"{name.replace('_', '-')}-{copy}", repo.as_uri()])
    submissions = base / "submissions.csv"
    with submissions.open("w", encoding="utf-8", newline="") as stream:
        csv.writer(stream).writerows([["candidate", "source"], *rows])
    return submissions


def _batch(
    submissions: Path, out: Path, jobs: int, env: dict[str, str]
) -> tuple[float, dict[str, float]]:
    argv = ["batch", str(submissions), "--out", str(out), "--jobs", str(jobs), "--force"]
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", MEASURED, *argv],
        check=False,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - started
    measured = json.loads(done.stderr.strip().splitlines()[-1])
    if measured["exit"] not in (0, 1):
        raise SystemExit(f"bench: batch exited {measured['exit']}:\n{done.stderr[-2000:]}")
    return elapsed, measured


def main() -> int:
    """Print throughput per --jobs value, the ratio and peak memory."""
    with tempfile.TemporaryDirectory(prefix="grader-bench-batch-") as temp:
        base = Path(temp)
        submissions = _repos(base)
        env = {**os.environ, "GRADER_CACHE_DIR": str(base / "cache")}
        _batch(submissions, base / "warm", 2, env)  # fills the environment cache
        results = {jobs: _batch(submissions, base / f"jobs-{jobs}", jobs, env) for jobs in (1, 2)}
    count = 12
    print(f"batch of {count} submissions, warm environment cache, {os.cpu_count()} cores")
    print(
        "| --jobs | wall | submissions/min | cores busy | batch process peak | largest child peak |"
    )
    print("|---:|---:|---:|---:|---:|---:|")
    for jobs, (seconds, measured) in results.items():
        print(
            f"| {jobs} | {seconds:.0f} s | {count * 60 / seconds:.1f} | "
            f"{measured['cpu_s'] / seconds:.2f} | "
            f"{measured['self_kb'] / 1024:.0f} MB | {measured['children_kb'] / 1024:.0f} MB |"
        )
    ratio = results[1][0] / results[2][0]
    print(f"throughput ratio --jobs 2 / --jobs 1: {ratio:.2f} (target >= 1.6 on 2 cores)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
