"""Benchmark: building a submission's test environment cold versus reusing it warm, the
command line's start-up, and starting a test run's servers.

Usage: python scripts/bench.py [ROUNDS] [--startup-only]

For each dependency sample, a cold build starts from an empty cache (grader's
environments and uv's download cache alike, so wheels are fetched from the package
registry), and a warm run finds the environment cached. Prints a table with the median
of ROUNDS rounds and the ratio. The warm time is what caching adds to a grade.

Start-up times ``grader --version`` and ``grader --help`` as hyperfine does: one warm-up
run, then STARTUP_RUNS runs, reporting the median and the fastest. It must stay well
under 0.3 s: the command line imports the pipeline and rich only when a command runs.

Service start times an empty command in the sandbox alone, then after starting
PostgreSQL (initdb, start, a role and a database) and Redis in it, as a test run that
needs them does (median of ROUNDS); skipped where bubblewrap or a server is missing.

Notebook runs time a grade of each notebook sample with no tool, then with only the
notebook run (a fresh kernel per notebook in the sandbox, every cell executed), its
environment warm: the difference is what kernel start-up and execution add to a grade.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader.acquire.workspace import inventory  # noqa: E402
from grader.environment import interpreters, requirements  # noqa: E402
from grader.environment.cache import RUNNER_DISTRIBUTIONS, EnvironmentCache, EnvStatus  # noqa: E402
from grader.pipeline import GradeOptions, grade  # noqa: E402
from grader.sandbox import bubblewrap, services  # noqa: E402
from grader.tools.base import Tool  # noqa: E402
from grader.tools.notebook_run import NotebookRun  # noqa: E402

SAMPLES = ("deps_requirements", "deps_lockfile", "exemplary")
NOTEBOOK_SAMPLES = ("notebook_tidy", "notebook_messy")
STARTUP_RUNS = 20
STARTUP_BUDGET_S = 0.3


def _startup_times(args: list[str]) -> list[float]:
    argv = [sys.executable, "-m", "grader", *args]
    subprocess.run(argv, check=True, capture_output=True)  # warm-up: the OS file cache
    times = []
    for _ in range(STARTUP_RUNS):
        started = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return times


def startup() -> bool:
    """Print the start-up row; True when both commands stay within the budget."""
    header = f"{'start-up':<20} {'median s':>9} {'min s':>7}"
    sys.stdout.write(header + "\n" + "-" * len(header) + "\n")
    within = True
    for args in (["--version"], ["--help"]):
        times = _startup_times(args)
        median = statistics.median(times)
        within = within and median < STARTUP_BUDGET_S
        label = f"grader {args[0]}"
        sys.stdout.write(f"{label:<20} {median:>9.3f} {min(times):>7.3f}\n")
    sys.stdout.write(f"{STARTUP_RUNS} runs after a warm-up; must stay under {STARTUP_BUDGET_S} s\n")
    return within


def _time(cache: EnvironmentCache, declared: requirements.Requirements) -> float:
    started = time.perf_counter()
    env = cache.prepare(declared, interpreters.host())
    elapsed = time.perf_counter() - started
    if env.status is not EnvStatus.READY:
        raise SystemExit(f"bench: environment failed: {env.reason}")
    return elapsed


def _sandboxed_true(wanted: list[services.Service]) -> float:
    """Seconds for an empty command in the sandbox after starting ``wanted`` there."""
    executable = bubblewrap.bubblewrap_executable()
    assert executable is not None  # noqa: S101 - checked by the caller
    sandbox = bubblewrap.Bubblewrap(executable)
    with tempfile.TemporaryDirectory(prefix="grader-bench-") as folder:
        root = Path(folder)
        root.chmod(0o755)
        state, config = root / "state", root / "config"
        state.mkdir()
        config.mkdir()
        sandbox.own(state)
        launch = services.prepare(wanted, Path(sys.executable), state, config, 60.0)
        started = time.perf_counter()
        result = sandbox.run(
            launch.wrap(["/bin/true"]),
            cwd=root,
            writable=[state],
            readable=[*bubblewrap.interpreter_paths(Path(sys.executable)), config],
            env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", **launch.env()},
            limits=bubblewrap.Limits(wall_s=120),
            hosts=["db", "cache"],
        )
        elapsed = time.perf_counter() - started
    if result.exit_code != 0:
        raise SystemExit(f"bench: services did not start: {launch.failure(result.stderr)}")
    return elapsed


def service_start(rounds: int) -> None:
    """Print the cost of starting a test run's servers inside its sandbox."""
    header = f"{'service start':<36} {'median s':>9} {'min s':>7}"
    sys.stdout.write(header + "\n" + "-" * len(header) + "\n")
    if bubblewrap.bubblewrap_problem():
        sys.stdout.write(f"skipped: {bubblewrap.bubblewrap_problem()}\n")
        return
    postgres = services.Service(services.Kind.POSTGRES, 5432, "bench", ("app",), ("app",))
    redis = services.Service(services.Kind.REDIS, 6379, "bench")
    cases = {
        "sandbox alone (empty command)": [],
        "+ PostgreSQL (initdb, start, setup)": [postgres],
        "+ Redis": [redis],
        "+ PostgreSQL and Redis": [postgres, redis],
    }
    for label, wanted in cases.items():
        missing = [services.missing(s.kind) for s in wanted if services.missing(s.kind)]
        if missing:
            sys.stdout.write(f"{label:<36} skipped: {missing[0]}\n")
            continue
        times = [_sandboxed_true(wanted) for _ in range(rounds)]
        sys.stdout.write(f"{label:<36} {statistics.median(times):>9.3f} {min(times):>7.3f}\n")
    sys.stdout.write(f"median of {rounds} rounds\n\n")


def _grade_seconds(folder: Path, tools: tuple[Tool, ...]) -> float:
    started = time.perf_counter()
    grade(GradeOptions(source=str(folder), tools=tools))
    return time.perf_counter() - started


def notebook_runs(rounds: int) -> None:
    """Print what running the notebook samples' notebooks adds to a grade."""
    header = f"{'notebook run':<20} {'notebooks':>9} {'no tool s':>10} {'run s':>7} {'added s':>8}"
    sys.stdout.write(header + "\n" + "-" * len(header) + "\n")
    if bubblewrap.bubblewrap_problem():
        sys.stdout.write(f"skipped: {bubblewrap.bubblewrap_problem()}\n")
        return
    for name in NOTEBOOK_SAMPLES:
        folder = ROOT / "sample_submissions" / name
        count = len(inventory(folder).notebook_files)
        _grade_seconds(folder, (NotebookRun(),))  # builds the environment and its runners
        bare = statistics.median(_grade_seconds(folder, ()) for _ in range(rounds))
        ran = statistics.median(_grade_seconds(folder, (NotebookRun(),)) for _ in range(rounds))
        sys.stdout.write(f"{name:<20} {count:>9} {bare:>10.2f} {ran:>7.2f} {ran - bare:>8.2f}\n")
    sys.stdout.write(f"median of {rounds} rounds, environments warm\n\n")


def main(rounds: int, startup_only: bool = False) -> int:
    """Print the start-up row, then cold and warm times per sample."""
    quick = startup()
    if startup_only:
        return 0 if quick else 1
    sys.stdout.write("\n")
    service_start(rounds)
    notebook_runs(rounds)
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
    return 0 if quick and all(warm_s < 1.0 for *_, warm_s in rows) else 1


if __name__ == "__main__":
    numbers = [a for a in sys.argv[1:] if a.isdigit()]
    raise SystemExit(main(int(numbers[0]) if numbers else 3, "--startup-only" in sys.argv))
