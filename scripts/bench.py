"""Benchmark: building a submission's test environment cold versus reusing it warm.

Usage: python scripts/bench.py [ROUNDS]

For each dependency sample, a cold build starts from an empty cache (grader's
environments and uv's download cache alike, so wheels are fetched from the package
registry), and a warm run finds the environment cached. Prints a table with the median
of ROUNDS rounds and the ratio. The warm time is what caching adds to a grade.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader import requirements  # noqa: E402
from grader.environment import RUNNER_DISTRIBUTIONS, EnvironmentCache, EnvStatus  # noqa: E402
from grader.workspace import inventory  # noqa: E402

SAMPLES = ("deps_requirements", "deps_lockfile", "exemplary")


def _time(cache: EnvironmentCache, declared: requirements.Requirements) -> float:
    started = time.perf_counter()
    env = cache.prepare(declared, Path(sys.executable).resolve())
    elapsed = time.perf_counter() - started
    if env.status is not EnvStatus.READY:
        raise SystemExit(f"bench: environment failed: {env.reason}")
    return elapsed


def main(rounds: int) -> int:
    """Print cold and warm times per sample."""
    rows = []
    for name in SAMPLES:
        declared, _ = requirements.without(
            requirements.read(inventory(ROOT / "sample_submissions" / name)), RUNNER_DISTRIBUTIONS
        )
        cold, warm = [], []
        for _ in range(rounds):
            with tempfile.TemporaryDirectory(prefix="grader-bench-") as folder:
                cache = EnvironmentCache(Path(folder))
                cold.append(_time(cache, declared))
                warm.append(_time(cache, declared))
        rows.append((name, len(declared.items), statistics.median(cold), statistics.median(warm)))
    header = (
        f"{'sample':<20} {'requirements':>12} {'cold build s':>13} {'warm s':>9} {'cold/warm':>10}"
    )
    sys.stdout.write(header + "\n" + "-" * len(header) + "\n")
    for name, count, cold_s, warm_s in rows:
        ratio = cold_s / warm_s if warm_s else float("inf")
        sys.stdout.write(f"{name:<20} {count:>12} {cold_s:>13.3f} {warm_s:>9.4f} {ratio:>9.0f}x\n")
    sys.stdout.write(f"median of {rounds} rounds; warm must stay under 1 s\n")
    return 0 if all(warm_s < 1.0 for *_, warm_s in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 3))
