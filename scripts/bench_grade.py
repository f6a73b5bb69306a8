"""Benchmark: one grade against the alternatives, and where a grade's time goes.

Usage: python scripts/bench_grade.py [--repeats N] [--work DIR]

On three submissions (the exemplary sample, a generated ~5,000-line library with its
tests, and the same library four times the size; see bench_submission.py), each as a git
repository, prints one table of medians (min-max) over N runs:

a. ``grader grade --no-cache --mutants 0`` (the environment cache warm, as it is after
   the first submission with the same requirements), and once with mutation testing at
   its default sample;
b. the same tools run one after another by hand with grader's own configuration files on
   a fresh checkout of the same commit (ruff, mypy, bandit, radon cc/mi/raw,
   ``coverage run -m pytest`` and ``coverage json``), in a virtual environment with the
   submission installed (set up beforehand, not timed). mypy's cache starts empty, as on
   any freshly cloned checkout;
c. ``prospector`` from PyPI, installed into its own virtual environment in the work folder;

the whole machine's CPU time during a (over its cores: with the test run by hand, the floor
no grade can beat), their ratios, a breakdown of a grade by stage and of its test run,
grader's own peak memory (the grading process alone, children excluded), a re-grade of an
unchanged commit (the results cache) and ``grader --version`` start-up. The machine is
shared: the load average before and after is printed with the table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from bench_submission import generate  # noqa: E402

CONFIGS = ROOT / "grader" / "tools" / "configs"
GIT = ["git", "-c", "user.name=Bench", "-c", "user.email=bench@example.invalid"]
UV = [sys.executable, "-m", "uv"]
# prospector 1.20 imports typing_extensions without declaring it.
PROSPECTOR = ("prospector==1.20.0", "typing_extensions")

# Runs one grade in a child process and reports, as JSON on stderr's last line, its wall
# time, its own peak memory and the time spent in each stage (found by wrapping the
# functions that make up a grade; a stage whose function is missing is left out).
MEASURED = r"""
import json, os, resource, sys, threading, time
import grader.cli as cli
import grader.pipeline as pipeline
import grader.scoring.score as scoring
import grader.scoring.evidence as evidence
from grader.sandbox import bubblewrap as sandbox_module
from grader.tools import ALL_TOOLS
from grader.environment import test_environment
from grader.tools import pytest_cov, pytest_run

spent = {}
lock = threading.Lock()

def timed(name, function):
    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            with lock:
                spent[name] = spent.get(name, 0.0) + time.perf_counter() - started
    return wrapper

def patch(owner, attribute, name):
    # A stage that moved must fail the bench, not vanish from its table.
    if not hasattr(owner, attribute):
        raise SystemExit(f"bench: {owner.__name__}.{attribute} is gone; update the harness")
    setattr(owner, attribute, timed(name, getattr(owner, attribute)))

patch(pipeline, "acquire", "acquire")
patch(pipeline, "inventory", "inventory")
patch(pipeline, "screen", "inventory")
patch(sandbox_module, "choose", "sandbox probe")
patch(test_environment, "prepare", "environment")
patch(scoring, "score_all", "scoring")
patch(pipeline, "with_fingerprints", "scoring")
patch(evidence, "with_snippets", "scoring")
# cli imports the renderers when it writes (its start-up stays light): patch the source.
import grader.render as render_module
patch(render_module, "write_reports", "rendering")
for tool in ALL_TOOLS:
    patch(type(tool), "run", "tool " + tool.name)
if not hasattr(pytest_run.RunFolders, "prepare"):
    raise SystemExit("bench: pytest_run.RunFolders.prepare is gone; update the harness")
pytest_run.RunFolders.prepare = classmethod(
    timed("test: copy to scratch", pytest_run.RunFolders.prepare.__func__)
)
try:
    from grader.sandbox import scratch
except ImportError:
    scratch = None
if scratch is not None:
    patch(scratch, "_mount", "test: disk area mount")
    patch(scratch, "release_all", "test: disk area release")
patch(pytest_cov.PytestCoverage, "_install_project", "test: project install")
patch(pytest_cov, "run_suite", "test: sandboxed pytest")
from grader.tools import mutation
patch(mutation, "measure", "test: mutation testing")
patch(pytest_cov, "coverage_figures", "test: coverage report")
from grader.tools import leftovers
patch(leftovers, "listing", "test: listing the scratch copy")

def busy():
    # Every core's busy time, whole machine: the sandboxed test run is no child the
    # kernel accounts to this process (bubblewrap's own init reaps it).
    with open("/proc/stat") as stat:
        fields = [int(x) for x in stat.readline().split()[1:9]]
    user, nice, system, idle, iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")

started, busy_before = time.perf_counter(), busy()
code = cli.main(sys.argv[1:])
wall = time.perf_counter() - started
print(json.dumps({
    "exit": code,
    "wall": wall,
    "cpu_s": busy() - busy_before,
    "self_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "stages": spent,
}), file=sys.stderr)
"""

# The sandbox's own start-up: an empty command through the same sandbox, limits and
# control groups a test run uses.
SANDBOX_START = r"""
import json, sys, time
from pathlib import Path
from grader.sandbox import bubblewrap as sandbox
box = sandbox.choose(allow_unisolated=False)
times = []
for _ in range(int(sys.argv[1])):
    started = time.perf_counter()
    box.run(["/bin/true"], cwd=Path("/"), writable=[], readable=[], env={"PATH": "/usr/bin"},
            limits=sandbox.Limits())
    times.append(time.perf_counter() - started)
print(json.dumps(times))
"""


def run(argv: Sequence[str], cwd: Path, env: dict[str, str] | None = None) -> float:
    """Run a command to completion and return its wall time; fail loudly if it breaks."""
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise SystemExit(
            f"bench: {' '.join(argv)} exited {done.returncode}:\n{done.stderr[-3000:]}"
        )
    return elapsed


def git_repo(folder: Path) -> Path:
    """Commit everything in ``folder``; grader and the clones read it as a git repository."""
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "Submission"]):
        subprocess.run([*GIT, *args], cwd=folder, check=True)
    return folder


def submissions(work: Path) -> dict[str, Path]:
    """The three benchmark submissions, made once per work folder."""
    made = {}
    for name, scale in (("exemplary", 0), ("large", 1), ("large x4", 4)):
        folder = work / "submissions" / name.replace(" ", "")
        if not folder.exists():
            if scale:
                generate(folder, scale)
            else:
                shutil.copytree(ROOT / "sample_submissions" / "exemplary", folder)
            git_repo(folder)
        made[name] = folder
    return made


def python_lines(repo: Path) -> int:
    """Lines of Python in the committed tree."""
    files = subprocess.run(
        ["git", "ls-files", "*.py"], cwd=repo, capture_output=True, text=True, check=True
    ).stdout.split()
    return sum((repo / f).read_text(encoding="utf-8").count("\n") for f in files)


def checkout(repo: Path, dest: Path) -> Path:
    """A fresh clone of ``repo``: what a reviewer grading by hand starts from."""
    subprocess.run(["git", "clone", "-q", str(repo), str(dest)], check=True)
    return dest


def test_venv(work: Path, name: str, repo: Path) -> Path:
    """A virtual environment with the submission, its dev extra, pytest and coverage."""
    venv = work / "venvs" / name.replace(" ", "")
    python = venv / "bin" / "python"
    if python.exists():
        return python
    subprocess.run([*UV, "venv", "-q", "--python", sys.executable, str(venv)], check=True)
    pins = [f"coverage=={_version('coverage')}", f"pytest=={_version('pytest')}"]
    subprocess.run(
        [*UV, "pip", "install", "-q", "--python", str(python), "-e", f"{repo}[dev]", *pins],
        check=True,
    )
    return python


def prospector(work: Path) -> Path:
    """prospector in its own virtual environment, apart from grader's pinned tools."""
    venv = work / "venvs" / "prospector"
    executable = venv / "bin" / "prospector"
    if not executable.exists():
        subprocess.run([*UV, "venv", "-q", "--python", sys.executable, str(venv)], check=True)
        python = str(venv / "bin" / "python")
        subprocess.run([*UV, "pip", "install", "-q", "--python", python, *PROSPECTOR], check=True)
    return executable


def _version(distribution: str) -> str:
    return metadata.version(distribution)


def by_hand(repo: Path, python: Path, scratch: Path) -> dict[str, float]:
    """Each tool once, one after another, on a fresh checkout; seconds per tool."""
    tree = checkout(repo, scratch)
    # The checkout is what the tests import and coverage measures: install it (untimed,
    # the environment's dependencies are there already) in place of the previous one.
    subprocess.run(
        [*UV, "pip", "install", "-q", "--no-deps", "--python", str(python), "-e", str(tree)],
        check=True,
    )
    files = subprocess.run(
        ["git", "ls-files", "*.py"], cwd=tree, capture_output=True, text=True, check=True
    ).stdout.split()
    code = [f for f in files if not f.startswith("tests/")]
    tool = [sys.executable, "-I", "-m"]
    env = {**os.environ, "MYPYPATH": str(tree / "src")} if (tree / "src").is_dir() else None
    steps: list[tuple[str, list[str], dict[str, str] | None]] = [
        ("ruff", [*tool, "ruff", "check", "--config", str(CONFIGS / "ruff.toml"),
                  "--exit-zero", "--", *files], None),
        ("mypy", [*tool, "mypy", "--config-file", str(CONFIGS / "mypy.ini"), "--", *files], env),
        ("bandit", [*tool, "bandit", "-c", str(CONFIGS / "bandit.yaml"), "-q", "-f", "json",
                    "--", *code], None),
        ("radon", [*tool, "radon", "cc", "-j", "--", *code], None),
        ("radon", [*tool, "radon", "mi", "-j", "--", *code], None),
        ("radon", [*tool, "radon", "raw", "-j", "--", *files], None),
        ("coverage run -m pytest", [str(python), "-m", "coverage", "run",
                                    f"--rcfile={CONFIGS / 'coveragerc'}", f"--source={tree}",
                                    "--omit=tests/*", "-m", "pytest", "-q",
                                    "-p", "no:cacheprovider"], None),
        ("coverage json", [str(python), "-m", "coverage", "json",
                           f"--rcfile={CONFIGS / 'coveragerc'}", "-o", "coverage.json"], None),
    ]  # fmt: skip
    spent: dict[str, float] = {}
    for name, argv, step_env in steps:
        spent[name] = spent.get(name, 0.0) + run(argv, tree, step_env)
    spent["total"] = sum(spent.values())
    return spent


def grade(repo: Path, out: Path, env: dict[str, str], *options: str) -> dict[str, object]:
    """One measured ``grader grade``; its wall time, peak memory and stages."""
    if "--no-cache" in options and not _has_results_cache():
        options = tuple(o for o in options if o != "--no-cache")
    argv = [sys.executable, "-c", MEASURED, "grade", str(repo), "--out", str(out), *options]
    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    measured: dict[str, object] = json.loads(done.stderr.strip().splitlines()[-1])
    if measured["exit"] not in (0, 1):
        raise SystemExit(
            f"bench: grade of {repo} exited {measured['exit']}:\n{done.stderr[-3000:]}"
        )
    return measured


def _has_results_cache() -> bool:
    usage = subprocess.run(
        [sys.executable, "-m", "grader", "grade", "--help"],
        cwd=ROOT, capture_output=True, text=True, check=False,
    ).stdout  # fmt: skip
    return "--no-cache" in usage


class Figures:
    """Repeated measurements, printed as median (min-max)."""

    def __init__(self) -> None:
        self.values: dict[tuple[str, str], list[float]] = {}

    def add(self, row: str, column: str, value: float) -> None:
        self.values.setdefault((row, column), []).append(value)

    def median(self, row: str, column: str) -> float | None:
        found = self.values.get((row, column))
        return statistics.median(found) if found else None

    def cell(self, row: str, column: str, unit: str = "s") -> str:
        found = self.values.get((row, column))
        if not found:
            return "-"
        digits = 0 if unit == "MB" else (2 if max(found) < 10 else 1)
        middle = f"{statistics.median(found):.{digits}f}"
        if len(found) == 1:
            return f"{middle} {unit}"
        return f"{middle} {unit} ({min(found):.{digits}f}-{max(found):.{digits}f})"


def measure_all(work: Path, repeats: int) -> tuple[Figures, dict[str, int], list[str]]:
    """Every figure of the table."""
    figures = Figures()
    repos = submissions(work)
    lines = {name: python_lines(repo) for name, repo in repos.items()}
    # As installed by pip, grader's modules are compiled once; this shell may say otherwise.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["GRADER_CACHE_DIR"] = str(work / "cache")
    stages: list[str] = []
    runner = prospector(work)
    for name, repo in repos.items():
        python = test_venv(work, name, repo)
        grade(repo, work / "out" / "warm", env, "--no-cache")  # warms the environment cache
        # With mutation testing at its default sample, once: its own budget bounds it.
        mutated = grade(repo, work / "out" / "am", env, "--no-cache")
        figures.add("a+m", name, float(mutated["wall"]))  # type: ignore[arg-type]
        for _ in range(repeats):
            measured = grade(repo, work / "out" / "a", env, "--no-cache", "--mutants", "0")
            figures.add("a", name, float(measured["wall"]))  # type: ignore[arg-type]
            figures.add("memory", name, float(measured["self_mb"]))  # type: ignore[arg-type]
            cores = os.cpu_count() or 1
            figures.add("cpu/cores", name, float(measured["cpu_s"]) / cores)  # type: ignore[arg-type]
            for stage, seconds in dict(measured["stages"]).items():  # type: ignore[call-overload]
                figures.add(stage, name, seconds)
                if stage not in stages:
                    stages.append(stage)
            with tempfile.TemporaryDirectory(dir=work) as scratch:
                for step, seconds in by_hand(repo, python, Path(scratch) / "tree").items():
                    figures.add("b " + step, name, seconds)
            with tempfile.TemporaryDirectory(dir=work) as scratch:
                tree = checkout(repo, Path(scratch) / "tree")
                figures.add("c", name, run([str(runner)], tree))
        grade(repo, work / "out" / "hit", env)  # fills the results cache
        for _ in range(repeats):
            hit = [
                sys.executable,
                "-m",
                "grader",
                "grade",
                str(repo),
                "--out",
                str(work / "out" / "hit"),
            ]
            figures.add("re-grade", name, run(hit, ROOT, env))
    for _ in range(repeats):
        version = [sys.executable, "-m", "grader", "--version"]
        figures.add("version", "exemplary", run(version, ROOT, env))
    started = subprocess.run(
        [sys.executable, "-c", SANDBOX_START, str(repeats * 3)],
        cwd=ROOT, env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    for seconds in json.loads(started.stdout):
        figures.add("test: sandbox start", "exemplary", seconds)
    return figures, lines, stages


def ratio(figures: Figures, top: str, bottom: str, column: str) -> str:
    upper, lower = figures.median(top, column), figures.median(bottom, column)
    return f"{upper / lower:.2f}" if upper and lower else "-"


def _floor_ratio(figures: Figures, column: str) -> str:
    grade = figures.median("a", column)
    floor = max(
        figures.median("b coverage run -m pytest", column) or 0.0,
        figures.median("cpu/cores", column) or 0.0,
    )
    return f"{grade / floor:.2f}" if grade and floor else "-"


def table(figures: Figures, lines: dict[str, int], stages: list[str]) -> list[str]:
    """The markdown table."""
    columns = list(lines)
    head = [f"{name} ({lines[name]:,} lines)" for name in columns]
    rows = [
        "| measure | " + " | ".join(head) + " |",
        "|---|" + "---:|" * len(columns),
    ]

    def row(label: str, key: str, unit: str = "s") -> None:
        rows.append(
            f"| {label} | " + " | ".join(figures.cell(key, c, unit) for c in columns) + " |"
        )

    row("**a. grader grade** (--no-cache --mutants 0, environments cached)", "a")
    row("a with mutation testing (default sample, once; bounded by its own budget)", "a+m")
    row("**b. the tools by hand, one after another**", "b total")
    row("**c. prospector** (default profile)", "c")
    rows.append(
        "| **a/b** (target ≤ 0.6) | "
        + " | ".join(ratio(figures, "a", "b total", c) for c in columns)
        + " |"
    )
    rows.append("| **a/c** | " + " | ".join(ratio(figures, "a", "c", c) for c in columns) + " |")
    row("total CPU over cores during a (whole machine, /proc/stat)", "cpu/cores")
    rows.append(
        "| a / max(the test run by hand, CPU over cores) (target ≤ 1.1) | "
        + " | ".join(_floor_ratio(figures, c) for c in columns)
        + " |"
    )
    # No grade can end before the candidate's test run does: its share of b bounds a/b.
    rows.append(
        "| floor of a/b: the test run by hand / b | "
        + " | ".join(ratio(figures, "b coverage run -m pytest", "b total", c) for c in columns)
        + " |"
    )
    rows.append(
        "| grader's test stage / the test run by hand (target ≤ 1.2) | "
        + " | ".join(ratio(figures, "tool pytest", "b coverage run -m pytest", c) for c in columns)
        + " |"
    )
    row("grader process peak memory (RSS, children excluded; target ≤ 250 MB)", "memory", "MB")
    row("re-grade of an unchanged commit (results cache; target ≤ 1 s)", "re-grade")
    row("`grader --version` start-up", "version")
    rows.append(
        "| *a grade by stage* (threads overlap: tools run side by side) |" + " |" * len(columns)
    )
    order = ["acquire", "inventory", "sandbox probe"]
    tools = [s for s in stages if s.startswith("tool ")]
    tests = [s for s in stages if s.startswith("test: ")]
    for stage in [*order, *tools, "environment", *tests, "scoring", "rendering"]:
        if stage in stages or stage == "test: sandbox start":
            indent = "&nbsp;&nbsp;" if stage.startswith(("test:", "environment")) else ""
            row(indent + stage, stage)
    row(
        "&nbsp;&nbsp;test: sandbox start (empty command, cgroups + bubblewrap)",
        "test: sandbox start",
    )
    rows.append("| *b by tool* |" + " |" * len(columns))
    for step in ("ruff", "mypy", "bandit", "radon", "coverage run -m pytest", "coverage json"):
        row(step, "b " + step)
    big, bigger = figures.median("a", "large"), figures.median("a", "large x4")
    if big and bigger:
        rows.append(f"\nlarge x4 / large grade time: {bigger / big:.2f} (target ≤ 4.5)")
    return rows


def machine() -> str:
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")),
        platform.processor(),
    )  # fmt: skip
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    return (
        f"{cpu}, {os.cpu_count()} cores, {memory:.0f} GB, Linux {platform.release()}, "
        f"Python {platform.python_version()}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Measure and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--work", type=Path, default=ROOT / "grader-bench")
    args = parser.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()
    started = time.perf_counter()
    figures, lines, stages = measure_all(args.work.resolve(), args.repeats)
    load_after = os.getloadavg()
    say: Callable[[str], object] = print
    say(f"machine: {machine()}")
    say(
        f"load average (1/5/15 min) before {' '.join(f'{x:.2f}' for x in load_before)}, "
        f"after {' '.join(f'{x:.2f}' for x in load_after)}; "
        f"median (min-max) of {args.repeats} runs; bench took {time.perf_counter() - started:.0f} s"
    )
    for line in table(figures, lines, stages):
        say(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
