"""Hostile submissions (GitHub issue "Untrusted submissions"): grader must survive each one.

Every case under tests/hostile/ is a small submission whose tests (or files) attack
whatever runs them. Each test here copies one case to a temporary folder, fills in its
placeholders (``@@MARKER@@``, host paths, ports), grades it with ``python -m grader`` in a
subprocess and checks that:

- grader exits 0 (or 2 with one stderr line for refused archives) within a time bound;
- the report says what happened (a timeout, a crash, truncated output, a finding);
- nothing outside the scratch copy changed, and no canary secret from grader's own
  environment reached any output;
- no process carrying the case's marker outlives grader, and grader's temporary folder
  is gone.

What grader cannot do yet is marked ``xfail(strict=True)`` with the change it needs; see
docs/hostile.md. The cases run one after the other, except the one that checks that two
concurrent grades keep separate process limits.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
import threading
import time
import uuid
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from grader.sandbox import cgroups
from grader.sandbox.bubblewrap import SANDBOX_UIDS

REPO = Path(__file__).resolve().parents[1]
HOSTILE = REPO / "tests" / "hostile"
# --quiet: grader says one line (the score), so anything else on stderr is noise leaking.
FAST_LIMITS = ("--test-timeout", "60", "--per-test-timeout", "5", "--quiet")
GRADE_TIMEOUT_S = 120.0  # hard stop for one grader run; each test asserts a tighter bound
SURVIVOR_GRACE_S = 3.0  # the kernel tears a pid namespace down asynchronously
PLACEHOLDER = re.compile(r"@@[A-Z_]+@@")

# Planted in the environment of every grader run; none may appear in any output.
SECRETS = {
    "GRADER_CANARY_SECRET": f"canary-{uuid.uuid4()}",
    "GITHUB_TOKEN": f"ghp_canary{uuid.uuid4().hex}",
    "AWS_SECRET_ACCESS_KEY": f"canary-aws-{uuid.uuid4().hex}",
}

# tests/conftest.py skips "sandbox" tests, saying why, where bubblewrap cannot work.
pytestmark = [pytest.mark.slow, pytest.mark.sandbox]


# --------------------------------------------------------------------------- helpers


def marker_processes(marker: str) -> list[str]:
    """Live processes whose argv contains ``marker`` (zombies have an empty cmdline)."""
    needle = marker.encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        with contextlib.suppress(OSError):
            cmdline = (entry / "cmdline").read_bytes()
            if needle in cmdline:
                shown = cmdline.replace(b"\0", b" ")[:200]
                found.append(f"{entry.name}: {shown!r}")
    return found


def sandbox_user_processes() -> int:
    """How many processes run as the sandbox's unprivileged uid right now."""
    count = 0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if entry.stat().st_uid in SANDBOX_UIDS:
                    count += 1
    return count


def digest(path: Path) -> str | None:
    """Content hash of a file, or None when it does not exist."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        return None


def remove_tree(path: Path) -> None:
    """Delete a tree of any depth (shutil.rmtree is recursive on Python 3.11)."""
    subprocess.run(["rm", "-rf", "--", str(path)], check=False, timeout=120)


@dataclass
class Run:
    """One finished grader run and everything observed around it."""

    case: str
    marker: str
    source: Path
    out: Path
    exit_code: int
    stdout: str
    stderr: str
    duration_s: float
    marker_seen: bool
    survivors: list[str]
    leftovers: list[Path]

    @property
    def report(self) -> dict[str, Any]:
        path = self.out / "report.json"
        assert path.is_file(), f"{self.case}: no report.json; stderr: {self.stderr}"
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return data

    def tool(self, name: str) -> dict[str, Any]:
        tool: dict[str, Any] = next(t for t in self.report["tools"] if t["name"] == name)
        return tool

    @property
    def tests(self) -> dict[str, Any]:
        tests: dict[str, Any] = self.tool("pytest")["tests"]
        return tests

    def failure(self, test_name: str) -> str:
        """The failure message of a test (by substring of its name); fails when it passed."""
        for failure in self.tests["failures"]:
            if test_name in failure["name"]:
                message: str = failure["message"]
                return message
        raise AssertionError(f"{test_name} is not among the failures: {self.tests['failures']}")

    @property
    def findings(self) -> list[dict[str, Any]]:
        return [f for c in self.report["criteria"] for f in c["findings"]]

    def outputs(self) -> str:
        """Every byte grader left for a reader: report files, stdout, stderr."""
        parts = [self.stdout, self.stderr]
        if self.out.is_dir():
            for path in sorted(self.out.rglob("*")):
                if path.is_file() and not path.is_symlink():
                    parts.append(path.read_bytes().decode("utf-8", "replace"))
        return "\n".join(parts)


@dataclass
class Case:
    """A case copied to a temporary folder with its placeholders filled in."""

    name: str
    tmp: Path
    marker: str = field(default_factory=lambda: f"hostile-{uuid.uuid4().hex}")

    @property
    def source(self) -> Path:
        return self.tmp / "submission"

    @property
    def out(self) -> Path:
        return self.tmp / "out"

    def prepare(self, **values: str) -> Case:
        values = {"MARKER": self.marker, **values}
        shutil.copytree(
            HOSTILE / self.name, self.source, ignore=shutil.ignore_patterns("__pycache__")
        )
        for path in self.source.rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            for key, value in values.items():
                text = text.replace(f"@@{key}@@", value)
            assert not PLACEHOLDER.search(text), f"{path}: unfilled {PLACEHOLDER.search(text)}"
            path.write_text(text, encoding="utf-8")
        # Lets the test recognise grader's temporary folder for this run if it is left over.
        (self.source / "hostile_marker.txt").write_text(self.marker, encoding="utf-8")
        return self

    def grade(
        self,
        *extra: str,
        source: Path | None = None,
        watch: Callable[[], None] | None = None,
    ) -> Run:
        return grade(
            self.name,
            source or self.source,
            out=self.out,
            marker=self.marker,
            extra=extra,
            watch=watch,
        )


def _leftover_workdirs(marker: str) -> list[Path]:
    """grader's temporary folders that still hold this run's submission."""
    found = []
    for workdir in Path(tempfile.gettempdir()).glob("grader-*"):
        with contextlib.suppress(OSError):
            if (workdir / "submission" / "hostile_marker.txt").read_text("utf-8") == marker:
                found.append(workdir)
    return found


def grade(
    case: str,
    source: Path,
    *,
    out: Path,
    marker: str,
    extra: Sequence[str] = (),
    watch: Callable[[], None] | None = None,
) -> Run:
    """Run ``python -m grader grade`` and watch the process table while it runs."""
    argv = [sys.executable, "-m", "grader", "grade", str(source), "--out", str(out)]
    argv += [*FAST_LIMITS, *extra]
    seen = threading.Event()
    done = threading.Event()

    def watcher() -> None:
        while not done.is_set():
            if marker_processes(marker):
                seen.set()
            if watch is not None:
                watch()
            done.wait(0.1)

    thread = threading.Thread(target=watcher, daemon=True)
    thread.start()
    started = time.monotonic()
    try:
        result = subprocess.run(
            argv,
            cwd=REPO,
            env={**os.environ, **SECRETS},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=GRADE_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:  # a hang is a finding, reported by the asserts
        stderr = exc.stderr or b""
        result = subprocess.CompletedProcess(argv, -1, exc.stdout or b"", stderr + b"\nHANG")
    finally:
        duration = time.monotonic() - started
        done.set()
        thread.join()
    deadline = time.monotonic() + SURVIVOR_GRACE_S
    while (survivors := marker_processes(marker)) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid_line in survivors:  # never leave them running, whatever the assertions say
        with contextlib.suppress(OSError):
            os.kill(int(pid_line.split(":")[0]), signal.SIGKILL)
    leftovers = _leftover_workdirs(marker)
    for workdir in leftovers:
        remove_tree(workdir)
    return Run(
        case=case,
        marker=marker,
        source=source,
        out=out,
        exit_code=result.returncode,
        stdout=result.stdout.decode("utf-8", "replace"),
        stderr=result.stderr.decode("utf-8", "replace"),
        duration_s=duration,
        marker_seen=seen.is_set(),
        survivors=survivors,
        leftovers=leftovers,
    )


def assert_contained(run: Run, bound_s: float = 60.0, *, one_line: bool = True) -> None:
    """Whatever the outcome: in time, no traceback, no secret, no surviving process."""
    assert run.duration_s < bound_s, f"{run.case}: took {run.duration_s:.1f}s"
    assert "Traceback" not in run.stderr, run.stderr
    if one_line:
        assert len(run.stderr.strip().splitlines()) <= 1, run.stderr
    leaked = [name for name, value in SECRETS.items() if value in run.outputs()]
    assert not leaked, f"{run.case}: {leaked} reached grader's output"
    assert not run.survivors, f"{run.case}: processes outlived grader: {run.survivors}"


def assert_graded(run: Run, bound_s: float = 60.0) -> None:
    """grader finished the grade (exit 0) and wrote a report."""
    assert run.exit_code == 0, f"{run.case}: exit {run.exit_code}: {run.stderr}"
    assert_contained(run, bound_s, one_line=False)
    assert not run.leftovers, f"{run.case}: grader left {run.leftovers} behind"
    assert run.report["submission"]["tests_isolated"] is True
    statuses = {t["name"]: t["status"] for t in run.report["tools"]}
    for name, status in statuses.items():
        if status in {"failed", "timeout"}:
            warnings = run.report["submission"]["warnings"]
            assert any(w.startswith(f"{name} ") for w in warnings), (name, warnings)


def assert_refused(run: Run, words: str) -> None:
    """grader refused the input: exit 2, one ``grader: error:`` line naming the problem."""
    assert run.exit_code == 2, f"{run.case}: exit {run.exit_code}: {run.stderr}"
    assert_contained(run, bound_s=30)
    assert not run.leftovers, f"{run.case}: grader left {run.leftovers} behind"
    line = run.stderr.strip()
    assert line.startswith("grader: error:") and words in line, line
    assert not (run.out / "report.json").exists()


def require(condition: bool, message: str) -> None:
    """A precondition of an xfail test: the attack really ran. ``pytest.fail`` is not an
    AssertionError, so a broken setup fails loudly instead of passing as an xfail."""
    if not condition:
        pytest.fail(message)


def require_tests_ran(run: Run) -> None:
    """The candidate's tests ran in the sandbox (whatever grader then made of them)."""
    require(run.exit_code == 0, f"{run.case}: exit {run.exit_code}: {run.stderr}")
    tool = run.tool("pytest")
    require(
        tool["status"] in {"ok", "failed"} and "adapter failed" not in tool["reason"],
        f"{run.case}: the tests did not run: {tool['status']} {tool['reason']}",
    )


class Grades:
    """Runs each case once per session; several tests may look at the same run."""

    def __init__(self, factory: pytest.TempPathFactory) -> None:
        self._factory = factory
        self._runs: dict[str, Any] = {}

    def get(self, key: str, make: Callable[[Path], Any]) -> Any:
        if key not in self._runs:
            self._runs[key] = make(self._factory.mktemp(key))
        return self._runs[key]


@pytest.fixture(scope="session")
def grades(tmp_path_factory: pytest.TempPathFactory) -> Grades:
    return Grades(tmp_path_factory)


@contextlib.contextmanager
def python_sleeper(env: dict[str, str] | None = None) -> Iterator[subprocess.Popen[bytes]]:
    """A host process that only sleeps, for attacks that aim at a host pid."""
    with subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(600)"],
        env=env,
        stdin=subprocess.DEVNULL,
    ) as sleeper:
        try:
            yield sleeper
        finally:
            sleeper.kill()


# ------------------------------------------------------------------- resource attacks


def test_fork_bomb(tmp_path: Path) -> None:
    """A fork bomb meets the process limit; the pid namespace takes it down with pytest."""
    case = Case("fork_bomb", tmp_path).prepare()
    # A small process limit keeps the suite fast: 32 spinning processes, not 256.
    run = case.grade("--max-processes", "32")
    assert_graded(run)
    assert run.marker_seen, "the bomb never ran: the test proves nothing"
    # The candidate's own test passes only if its forks were refused.
    assert run.tests["passed"] == 2, run.tests


def test_memory_bomb(tmp_path: Path) -> None:
    """50 GB at once, then growth until refused: MemoryError inside the run, not on the host."""
    run = Case("memory_bomb", tmp_path).prepare().grade("--memory-mb", "512")
    assert_graded(run)
    assert "MemoryError" in run.failure("test_allocate_50_gb")
    assert "MemoryError" in run.failure("test_grow_until_refused")
    assert run.tests["passed"] == 1


def test_infinite_loop(tmp_path: Path) -> None:
    """``while True: pass`` is stopped by the per-test timeout; the other tests still count."""
    run = Case("infinite_loop", tmp_path).prepare().grade()
    assert_graded(run, bound_s=40)
    assert "Timeout" in run.failure("test_spin_forever")
    assert run.tests["passed"] == 1


def test_sleep_forever(tmp_path: Path) -> None:
    """``time.sleep(10**6)`` is stopped by the per-test timeout."""
    run = Case("sleep_forever", tmp_path).prepare().grade()
    assert_graded(run, bound_s=40)
    assert "Timeout" in run.failure("test_sleep_forever")
    assert run.tests["passed"] == 1


def test_timeout_evasion(tmp_path: Path) -> None:
    """A test that disarms pytest-timeout is stopped by the wall-clock limit of the run."""
    run = Case("timeout_evasion", tmp_path).prepare().grade("--test-timeout", "10")
    assert_graded(run, bound_s=45)
    pytest_tool = run.tool("pytest")
    assert pytest_tool["status"] == "failed"
    assert "exceeded its 10s limit" in pytest_tool["reason"]
    assert pytest_tool["metrics"]["tests.pass_rate"] == 0


DISK_MB = 64
MB = 1024 * 1024
NEEDS_MOUNTS = pytest.mark.skipif(
    os.geteuid() != 0,
    reason="a disk budget needs root to mount its filesystem; without it grader notes "
    "that the budget is not enforced",
)


@dataclass
class DiskWatch:
    """The disk areas seen mounted while a grade ran, and their largest footprint."""

    points: set[str] = field(default_factory=set)
    kinds: set[str] = field(default_factory=set)
    largest_bytes: int = 0
    largest_image_bytes: int = 0

    def __call__(self) -> None:
        for point, kind in grader_mounts():
            self.points.add(point)
            with contextlib.suppress(OSError):
                self._measure(point, kind)
                image = Path(point + ".img")
                if image.exists():
                    used = image.stat().st_blocks * 512
                    self.largest_image_bytes = max(self.largest_image_bytes, used)

    def _measure(self, point: str, kind: str) -> None:
        # The area can be unmounted between reading mountinfo and looking at it, and then
        # the folder shows the host's filesystem. An open descriptor pins whichever
        # filesystem it was opened on, so it is measured only when it is the mounted one.
        descriptor = os.open(point, os.O_RDONLY | os.O_DIRECTORY)
        try:
            if os.fstat(descriptor).st_dev == Path(point).parent.stat().st_dev:
                return
            info = os.fstatvfs(descriptor)
        finally:
            os.close(descriptor)
        self.kinds.add(kind)
        self.largest_bytes = max(self.largest_bytes, info.f_blocks * info.f_frsize)


def grader_mounts() -> list[tuple[str, str]]:
    """(mount point, filesystem type) of every mount inside a grader temporary folder."""
    prefix = str(Path(tempfile.gettempdir()).resolve() / "grader-")
    found = []
    for line in Path("/proc/self/mountinfo").read_text(encoding="utf-8").splitlines():
        fields = line.split(" ")
        kind = fields[fields.index("-") + 1]
        if fields[4].startswith(prefix):
            found.append((fields[4], kind))
    return found


def grader_loop_devices() -> list[str]:
    """Backing files of loop devices that are images inside a grader temporary folder."""
    prefix = str(Path(tempfile.gettempdir()).resolve() / "grader-")
    found = []
    for backing in Path("/sys/block").glob("loop*/loop/backing_file"):
        with contextlib.suppress(OSError):
            if (path := backing.read_text(encoding="utf-8").strip()).startswith(prefix):
                found.append(path.removesuffix(" (deleted)"))
    return found


def assert_released(points: set[str]) -> None:
    """None of these disk areas is still mounted or holding a loop device."""
    assert points, "no disk area was ever seen mounted: the test proves nothing"
    assert points.isdisjoint(point for point, _ in grader_mounts())
    assert points.isdisjoint(image.removesuffix(".img") for image in grader_loop_devices())


def _grade_disk_fill(tmp: Path, *, clean_up: bool) -> tuple[Run, DiskWatch]:
    watch = DiskWatch()
    case = Case("disk_fill", tmp).prepare(CLEAN_UP=str(clean_up))
    return case.grade("--disk-mb", str(DISK_MB), watch=watch), watch


def assert_disk_contained(run: Run, watch: DiskWatch) -> None:
    """The writes went into one ext4 image of about the budget, and nothing is left."""
    assert watch.kinds == {"ext4"}, watch.kinds
    # The budget, plus the scratch copy of a submission of a few KB and ext4's metadata.
    assert DISK_MB * MB <= watch.largest_bytes <= (DISK_MB + 8) * MB, watch
    assert watch.largest_image_bytes <= (DISK_MB + 8) * MB, watch
    assert_released(watch.points)
    assert not run.leftovers


@NEEDS_MOUNTS
def test_disk_fill(grades: Grades) -> None:
    """5 GB in 250 MB files over home, /tmp and the scratch copy: stopped at the budget."""
    run, watch = grades.get("disk_fill", functools.partial(_grade_disk_fill, clean_up=True))
    assert_graded(run)
    assert_disk_contained(run, watch)
    message = run.failure("test_write_5_gb_in_250_mb_files")
    assert "No space left on device" in message, message
    written = int(message.split(" wrote ", 1)[1].split(" bytes", 1)[0])
    assert (DISK_MB - 8) * MB <= written <= (DISK_MB + 8) * MB, written
    assert run.tests["passed"] == 1
    assert f"the test run hit its disk budget of {DISK_MB} MB" in " ".join(
        run.tool("pytest")["notes"]
    )


@NEEDS_MOUNTS
def test_disk_fill_leaving_no_room_for_results(grades: Grades) -> None:
    """The same files left behind: pytest cannot write its results, and the reason says why."""
    run, watch = grades.get("disk_fill_kept", functools.partial(_grade_disk_fill, clean_up=False))
    assert_graded(run)
    assert_disk_contained(run, watch)
    pytest_tool = run.tool("pytest")
    assert pytest_tool["status"] == "failed"
    assert pytest_tool["reason"].startswith(f"the test run hit its disk budget of {DISK_MB} MB"), (
        pytest_tool["reason"]
    )
    assert pytest_tool["metrics"]["tests.pass_rate"] == 0


@NEEDS_MOUNTS
def test_disk_budget_leaves_a_normal_suite_alone(tmp_path: Path) -> None:
    """The exemplary sample under the same small budget: every test passes, nothing noted."""
    marker = f"hostile-{uuid.uuid4().hex}"
    source = tmp_path / "submission"
    shutil.copytree(REPO / "sample_submissions" / "exemplary", source)
    (source / "hostile_marker.txt").write_text(marker, encoding="utf-8")
    watch = DiskWatch()
    run = grade(
        "exemplary",
        source,
        out=tmp_path / "out",
        marker=marker,
        extra=("--disk-mb", str(DISK_MB)),
        watch=watch,
    )
    assert_graded(run)
    assert_disk_contained(run, watch)
    pytest_tool = run.tool("pytest")
    assert pytest_tool["status"] == "ok", pytest_tool["reason"]
    assert run.tests["failed"] == run.tests["errors"] == 0
    assert run.tests["passed"] > 100
    assert pytest_tool["metrics"]["coverage.line"] > 90
    assert not [note for note in pytest_tool["notes"] if "disk budget" in note]


@NEEDS_MOUNTS
def test_ctrl_c_during_a_test_run_leaves_no_mount(tmp_path: Path) -> None:
    """Interrupted while the tests run in their disk area: unmounted, nothing left."""
    case = Case("sleep_forever", tmp_path).prepare()
    before = {point for point, _ in grader_mounts()}
    argv = [sys.executable, "-m", "grader", "grade", str(case.source), "--out", str(case.out)]
    with subprocess.Popen(
        [*argv, *FAST_LIMITS], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as child:
        deadline = time.monotonic() + 60
        while not (points := {point for point, _ in grader_mounts()} - before):
            assert time.monotonic() < deadline and child.poll() is None, "no disk area seen"
            time.sleep(0.05)
        require(child.poll() is None, "grader ended before it could be interrupted")
        child.send_signal(signal.SIGINT)
        _, stderr = child.communicate(timeout=GRADE_TIMEOUT_S)
    assert child.returncode == 2, stderr
    assert stderr.decode().strip() == "grader: error: interrupted; no report was written"
    assert_released(points)
    assert not _leftover_workdirs(case.marker)


def test_big_output(tmp_path: Path) -> None:
    """100 MB printed by a failing test: captured up to the cap, and the report says so."""
    run = Case("big_output", tmp_path).prepare().grade()
    assert_graded(run)
    assert any("truncated" in note for note in run.tool("pytest")["notes"])
    assert "printed 100 MB" in run.failure("test_print_100_mb_then_fail")
    written = sum(p.stat().st_size for p in run.out.iterdir())
    assert written < 5 * 1024 * 1024, f"reports take {written} bytes"


def test_memory_fanout_stays_under_the_memory_limit(grades: Grades) -> None:
    """Memory spread over processes: contained on this host, which is what this checks."""
    run = grades.get("memory_fanout", _grade_memory_fanout)
    assert_graded(run)
    assert run.tests["passed"] + run.tests["failed"] == 2


@pytest.mark.skipif(
    not cgroups.available(),
    reason="this host gives grader no control groups, so memory is limited per process only",
)
def test_memory_fanout_total_is_bounded(grades: Grades) -> None:
    run = grades.get("memory_fanout", _grade_memory_fanout)
    require_tests_ran(run)
    require(run.tests["passed"] + run.tests["failed"] == 2, f"not run: {run.tests}")
    assert run.tests["failed"] == 0, run.tests["failures"]


def _grade_memory_fanout(tmp: Path) -> Run:
    return Case("memory_fanout", tmp).prepare().grade("--memory-mb", "512")


# ----------------------------------------------------------- escaping the process tree


def test_os_exit(tmp_path: Path) -> None:
    """``os._exit(0)`` mid-run: no results, and the report says the suite ended early."""
    run = Case("os_exit", tmp_path).prepare().grade()
    assert_graded(run)
    pytest_tool = run.tool("pytest")
    assert pytest_tool["status"] == "failed"
    assert "ended without writing results" in pytest_tool["reason"]
    assert pytest_tool["metrics"]["tests.count"] == 0


def test_kill_parent(tmp_path: Path) -> None:
    """Killing the parent, everything in reach, a host pid and its own group hurts only itself."""
    with python_sleeper() as sentinel:
        case = Case("kill_parent", tmp_path).prepare(SENTINEL_PID=str(sentinel.pid))
        run = case.grade()
        assert sentinel.poll() is None, "the submission killed a host process"
    assert_graded(run)
    pytest_tool = run.tool("pytest")
    assert pytest_tool["status"] == "failed"
    assert "ended without writing results" in pytest_tool["reason"]


def test_daemon_escape(tmp_path: Path) -> None:
    """A double-forked daemon ignoring SIGTERM/SIGHUP dies with the run's pid namespace."""
    heartbeat = tmp_path / "host_heartbeat.txt"
    run = Case("daemon_escape", tmp_path).prepare(HOST_HEARTBEAT=str(heartbeat)).grade()
    assert_graded(run)
    assert run.marker_seen, "the daemon never ran: the test proves nothing"
    assert run.tests["passed"] == 2, run.tests  # it really started and heartbeated
    assert not heartbeat.exists(), "the daemon wrote to a host path"
    time.sleep(0.5)
    assert not marker_processes(run.marker)


def test_shared_process_limit(grades: Grades) -> None:
    """Two concurrent grades, one holding every process slot: both finish."""
    hog, victim = grades.get("shared_process_limit", _grade_hog_and_victim)
    assert_graded(hog)
    assert_graded(victim)
    assert hog.tests["passed"] == 2


@pytest.mark.skipif(
    os.geteuid() != 0,
    reason="without root every sandbox runs as the same user, so process limits are shared",
)
def test_shared_process_limit_does_not_hurt_a_concurrent_grade(grades: Grades) -> None:
    _, victim = grades.get("shared_process_limit", _grade_hog_and_victim)
    require_tests_ran(victim)
    assert victim.tests["failed"] == 0, victim.tests["failures"]


def _grade_hog_and_victim(tmp: Path) -> tuple[Run, Run]:
    hold_s = 12.0
    hog_case = Case("process_hog", tmp / "hog").prepare(HOLD_S=str(hold_s))
    victim_case = Case("shared_process_limit", tmp / "victim").prepare()
    baseline = sandbox_user_processes()
    results: dict[str, Run] = {}

    def run_hog() -> None:
        results["hog"] = hog_case.grade("--per-test-timeout", "40")

    thread = threading.Thread(target=run_hog)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while sandbox_user_processes() < baseline + 200 and time.monotonic() < deadline:
            time.sleep(0.1)
        require(sandbox_user_processes() >= baseline + 200, "the hog never took its slots")
        victim = victim_case.grade()
    finally:
        thread.join()
    return results["hog"], victim


# --------------------------------------------------------------- reaching the host


def test_network_loopback(tmp_path: Path) -> None:
    """The host's loopback TCP listener and abstract unix socket are unreachable."""
    abstract = f"hostile-{uuid.uuid4().hex}"
    with (
        socket.create_server(("127.0.0.1", 0)) as tcp,
        socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as unix,
    ):
        unix.bind("\0" + abstract)
        unix.listen()
        port = tcp.getsockname()[1]
        case = Case("network_loopback", tmp_path).prepare(PORT=str(port), ABSTRACT=abstract)
        run = case.grade()
        for listener in (tcp, unix):
            listener.setblocking(False)
            with pytest.raises(BlockingIOError):
                listener.accept()[0].close()
    assert_graded(run)
    assert run.failure("test_connect_host_loopback_tcp")
    assert run.failure("test_connect_host_abstract_unix_socket")
    assert run.tests["passed"] == 1


def test_env_secrets(tmp_path: Path) -> None:
    """The grader's environment never reaches the tests, whatever channel they try."""
    holder_secret = f"canary-holder-{uuid.uuid4().hex}"
    with python_sleeper({**os.environ, **SECRETS, "HOLDER_SECRET": holder_secret}) as holder:
        case = Case("env_secrets", tmp_path).prepare(HOLDER_PID=str(holder.pid))
        run = case.grade()
    assert_graded(run)
    assert holder_secret not in run.outputs()
    # The exfiltration channel works (the environment it saw is in the report)...
    loot = run.failure("test_fail_with_environment")
    assert "LOOT" in loot and "HOME" in loot
    # ...and the secrets were simply never there.
    assert run.tests["passed"] == 1 + 3 + 2, run.tests
    assert run.tests["skipped"] == 1


def test_write_outside(tmp_path: Path) -> None:
    """Writes to host paths (a canary, ~/.bashrc, /etc/passwd, grader, its venv) change nothing."""
    canary = tmp_path / "host_canary.txt"
    canary.write_text("original\n", encoding="utf-8")
    tag = uuid.uuid4().hex
    case = Case("write_outside", tmp_path)
    existing = [
        canary,
        Path("~/.bashrc").expanduser(),
        Path("/etc/passwd"),
        REPO / "grader" / "__init__.py",
        Path(pytest.__file__),
        case.source / "app.py",
    ]
    absent = [
        tmp_path / "created_by_submission.txt",
        REPO / f"hostile_{tag}.txt",
        Path(sysconfig.get_paths()["purelib"]) / f"zz_hostile_{tag}.pth",
        Path(tempfile.gettempdir()) / f"hostile_{tag}.txt",
        case.out / "pwned.txt",
        case.source / "pwned.txt",
    ]
    before = {path: digest(path) for path in existing}
    modes = {path: path.stat().st_mode for path in existing if path.exists()}
    case.prepare(TARGETS="|".join(str(p) for p in [*existing, *absent]))
    before[case.source / "app.py"] = digest(case.source / "app.py")
    run = case.grade()
    assert_graded(run)
    assert run.tests["passed"] == 2
    # The interpreter that ran the tests (possibly a cached environment shared with the
    # next submission) told us where it lives: none of it may carry the marker.
    message = run.failure("test_write_into_the_interpreter")
    interpreter = json.loads(message.split("PATHS=", 1)[1].splitlines()[0])
    assert not Path(interpreter["pth"]).exists()
    for name in ("pytest", "stdlib"):
        assert case.marker not in Path(interpreter[name]).read_text(encoding="utf-8")
    assert {path: digest(path) for path in existing} == before
    assert {path: path.stat().st_mode for path in modes} == modes
    assert [path for path in absent if path.exists()] == []


def _grade_symlinks(tmp: Path) -> tuple[Run, list[str]]:
    secrets = [f"canary-link-{uuid.uuid4().hex}" for _ in range(3)]
    host_py = tmp / "host_secret.py"
    host_py.write_text(
        "from typing import Literal\n"
        f'SECRET: Literal["{secrets[0]}"] = "{secrets[0]}"\n'
        "NUMBER: int = SECRET\n",
        encoding="utf-8",
    )
    host_txt = tmp / "host_secret.txt"
    host_txt.write_text(f"{secrets[1]}\n", encoding="utf-8")
    host_dir = tmp / "host_dir"
    host_dir.mkdir()
    (host_dir / "leak.py").write_text(f'LEAK = "{secrets[2]}"\n', encoding="utf-8")
    case = Case("symlink_outside", tmp).prepare()
    (case.source / "secret_link.py").symlink_to(host_py)
    (case.source / "notes.md").symlink_to(host_txt)
    (case.source / "hostdir").symlink_to(host_dir, target_is_directory=True)
    return case.grade(), secrets


def test_symlink_outside(grades: Grades) -> None:
    """Links to host files are reported as findings and never followed by the test run."""
    run, _ = grades.get("symlink_outside", _grade_symlinks)
    assert_graded(run)
    flagged = {f["path"] for f in run.findings if f["rule"] == "symlink-outside"}
    assert flagged == {"secret_link.py", "notes.md", "hostdir"}
    assert run.tool("facts")["metrics"]["safety.outside_symlinks"] == 3


def test_symlink_outside_content_never_reaches_the_report(grades: Grades) -> None:
    run, secrets = grades.get("symlink_outside", _grade_symlinks)
    require(run.exit_code == 0 and run.tool("mypy")["status"] == "ok", "mypy did not run")
    outputs = run.outputs()
    assert [s for s in secrets if s in outputs] == []


def test_symlink_outside_does_not_break_the_test_run(grades: Grades) -> None:
    run, _ = grades.get("symlink_outside", _grade_symlinks)
    require(run.exit_code == 0, run.stderr)
    assert run.tool("pytest")["status"] == "ok", run.tool("pytest")["reason"]


def test_tool_shadowing(tmp_path: Path) -> None:
    """mypy.py, ruff.py, pytest.py... at the root are never imported by the real tools."""
    canaries = tmp_path / "canaries"
    canaries.mkdir()
    run = Case("tool_shadowing", tmp_path).prepare(CANARY_DIR=str(canaries)).grade()
    assert_graded(run)
    assert list(canaries.iterdir()) == [], "a host-side tool imported a submission file"
    statuses = {t["name"]: t["status"] for t in run.report["tools"]}
    assert set(statuses.values()) == {"ok"}, statuses
    names = [t["name"] for t in run.tests["slowest"]]
    assert names == ["tests.test_tool_shadowing::test_real_suite_ran"], names
    assert "shadowed" not in run.outputs()


def _grade_poisoned_scratch(tmp: Path) -> tuple[Run, list[bool]]:
    """Grade while watching a host FIFO: opening it for writing succeeds only if someone
    (grader, on the host) has it open for reading; closing it then unblocks that reader."""
    fifo = tmp / "host_fifo"
    os.mkfifo(fifo)
    opened: list[bool] = []

    def watch() -> None:
        try:
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)  # ENXIO while nobody reads
        except OSError:
            return
        opened.append(True)
        os.close(fd)  # the reader sees end of file and goes on

    case = Case("poisoned_scratch", tmp).prepare(HOST_FIFO=str(fifo))
    return case.grade(watch=watch), opened


def test_poisoned_scratch(grades: Grades) -> None:
    """A measured source file swapped for a link to a host FIFO after the run: graded."""
    run, _ = grades.get("poisoned_scratch", _grade_poisoned_scratch)
    assert_graded(run)


def test_poisoned_scratch_is_never_read_on_the_host(grades: Grades) -> None:
    run, opened = grades.get("poisoned_scratch", _grade_poisoned_scratch)
    require_tests_ran(run)
    require(run.tests["passed"] == 1, f"the link was never planted: {run.tests}")
    assert opened == [], "the host opened a FIFO through a link planted in the scratch copy"


def _grade_poisoned_junit(tmp: Path) -> tuple[Run, str]:
    secret = f"canary-xml-{uuid.uuid4().hex}"
    host_xml = tmp / "host.xml"
    host_xml.write_text(
        f'<testsuite><testcase classname="{secret}" name="leaked"/></testsuite>\n',
        encoding="utf-8",
    )
    case = Case("poisoned_junit", tmp).prepare(HOST_XML=str(host_xml))
    return case.grade(), secret


def test_poisoned_junit(grades: Grades) -> None:
    """A JUnit file swapped for a link to a host file after the run: grader finishes."""
    run, _ = grades.get("poisoned_junit", _grade_poisoned_junit)
    assert_graded(run)


def test_poisoned_junit_host_file_never_read(grades: Grades) -> None:
    run, secret = grades.get("poisoned_junit", _grade_poisoned_junit)
    require_tests_ran(run)
    assert secret not in run.outputs()


def test_deep_tree_contained(grades: Grades) -> None:
    """A 3000-deep folder chain left in the scratch copy: no traceback, nothing survives."""
    run = grades.get("deep_tree", _grade_deep_tree)
    assert_contained(run)


def test_deep_tree_graded_and_cleaned_up(grades: Grades) -> None:
    run = grades.get("deep_tree", _grade_deep_tree)
    assert run.exit_code == 0, run.stderr
    require_tests_ran(run)
    require(run.tests["passed"] == 2, f"the tree was never made: {run.tests}")
    assert not run.leftovers


def _grade_deep_tree(tmp: Path) -> Run:
    return Case("deep_tree", tmp).prepare().grade()


# ------------------------------------------------------------------ hostile files


DEEP_SOURCES = {
    "deep_parens.py": "x = " + "(" * 100_000 + "1" + ")" * 100_000 + "\n",
    "deep_sum.py": "x = " + "+".join(["1"] * 100_000) + "\n",
    "deep_lists.py": "x = " + "[" * 100_000 + "]" * 100_000 + "\n",
    "deep_not.py": "x = " + "not " * 100_000 + "1\n",
}


def _grade_deep_nesting(tmp: Path) -> Run:
    case = Case("deep_nesting", tmp).prepare()
    for name, text in DEEP_SOURCES.items():
        (case.source / name).write_text(text, encoding="utf-8")
    return case.grade()


def test_deep_nesting(grades: Grades) -> None:
    """Sources 100 000 levels deep: grader's own parsing survives, failures are reported."""
    run = grades.get("deep_nesting", _grade_deep_nesting)
    assert_graded(run)
    assert run.tool("facts")["status"] == "ok"
    assert run.tool("radon")["status"] == "ok"
    assert run.tests["passed"] == 1
    assert run.tests["failed"] + run.tests["errors"] == len(DEEP_SOURCES)


def test_deep_nesting_does_not_hide_other_files(grades: Grades) -> None:
    run = grades.get("deep_nesting", _grade_deep_nesting)
    require(run.exit_code == 0, run.stderr)
    assert run.tool("ruff")["status"] == "ok", run.tool("ruff")["reason"]
    assert run.tool("mypy")["status"] == "ok", run.tool("mypy")["reason"]
    assert any(f["path"] == "lint_target.py" for f in run.findings if f["tool"] == "mypy")


def test_bad_encoding(tmp_path: Path) -> None:
    """A latin-1, a binary (NUL bytes) and a UTF-16 .py file: graded, failures reported."""
    case = Case("bad_encoding", tmp_path).prepare()
    (case.source / "latin1_source.py").write_bytes(b"# caf\xe9\nNAME = '\xe9t\xe9'\n")
    (case.source / "binary_source.py").write_bytes(bytes(range(256)) * 8)
    (case.source / "utf16_source.py").write_bytes("VALUE = 1\n".encode("utf-16"))
    run = case.grade()
    assert_graded(run)
    assert run.tool("facts")["status"] == "ok"
    assert run.tool("facts")["findings"] >= 3  # one unparsable-file finding per file
    assert run.tests["passed"] == 1
    assert run.tests["failed"] + run.tests["errors"] == 3


ODD_NAMES = (
    "--help.py",
    "-c.py",
    "--version.py",
    "$(touch PWNED).py",
    "`touch PWNED`.py",
    ";touch PWNED;.py",
    "new\nline.py",
)


def test_dash_filenames(tmp_path: Path) -> None:
    """Files named like options or shell code are files: no tool takes them as arguments."""
    case = Case("dash_filenames", tmp_path).prepare()
    for name in ODD_NAMES:
        (case.source / name).write_text("VALUE = 1\n", encoding="utf-8")
    run = case.grade()
    assert_graded(run)
    statuses = {t["name"]: t["status"] for t in run.report["tools"]}
    assert set(statuses.values()) == {"ok"}, statuses
    assert {f["path"] for f in run.report["files"]} >= {"--help.py", "-c.py", "--version.py"}
    assert run.tests["passed"] == 1
    for folder in (REPO, case.source, tmp_path, Path(tempfile.gettempdir())):
        assert not (folder / "PWNED").exists()


def _grade_undecodable_name(tmp: Path) -> Run:
    case = Case("undecodable_filename", tmp).prepare()
    (case.source / os.fsdecode(b"caf\xe9.py")).write_text("VALUE = 1\n", encoding="utf-8")
    return case.grade()


def test_undecodable_filename_contained(grades: Grades) -> None:
    """A file name that is not UTF-8: whatever happens, one line, no traceback, no litter."""
    run = grades.get("undecodable_filename", _grade_undecodable_name)
    assert_contained(run)
    assert not run.leftovers


def test_undecodable_filename_graded(grades: Grades) -> None:
    run = grades.get("undecodable_filename", _grade_undecodable_name)
    assert run.exit_code == 0, run.stderr


def _grade_forged(tmp: Path) -> Run:
    return Case("forged_outcome", tmp).prepare().grade()


def test_forged_outcome(grades: Grades) -> None:
    """A conftest rewriting failures to passes: the grade completes with every test counted."""
    run = grades.get("forged_outcome", _grade_forged)
    assert_graded(run)
    assert run.tool("pytest")["status"] == "ok"
    assert run.tool("pytest")["metrics"]["tests.count"] == 3


def test_forged_outcome_is_exposed(grades: Grades) -> None:
    """Results come from the candidate's own process, so they stay forgeable; the hook is
    what grader can see, and it must reach the reviewer."""
    run = grades.get("forged_outcome", _grade_forged)
    flagged = any("pytest_runtest_makereport" in f["message"] for f in run.findings)
    assert flagged or run.tests["failed"] + run.tests["errors"] >= 2, run.tests


# ---------------------------------------------------------------------- archives


def _pack_zip(folder: Path, archive: Path, extra: Callable[[zipfile.ZipFile], None]) -> Path:
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                bundle.write(path, path.relative_to(folder).as_posix())
        extra(bundle)
    return archive


@pytest.mark.parametrize("variant", ["relative", "absolute", "tar-symlink"])
def test_zip_slip(tmp_path: Path, variant: str) -> None:
    """Archive members escaping the target folder (or links) are refused before writing."""
    case = Case("zip_slip", tmp_path).prepare()
    escaped = tmp_path / "escaped.txt"
    if variant == "tar-symlink":
        archive = tmp_path / "submission.tar.gz"
        with tarfile.open(archive, "w:gz") as bundle:
            bundle.add(case.source, arcname="submission")
            link = tarfile.TarInfo("submission/passwd.py")
            link.type = tarfile.SYMTYPE
            link.linkname = "/etc/passwd"
            bundle.addfile(link)
        words = "it is a link"
    else:
        member = "../" * 30 + str(escaped).lstrip("/") if variant == "relative" else str(escaped)

        def add_escape(bundle: zipfile.ZipFile) -> None:
            bundle.writestr(zipfile.ZipInfo(member), "written outside the target folder\n")

        archive = _pack_zip(case.source, tmp_path / "submission.zip", add_escape)
        words = "escapes the target folder"
    run = case.grade(source=archive)
    assert_refused(run, words)
    assert not escaped.exists()


@pytest.mark.parametrize("variant", ["zeros", "members"])
def test_zip_bomb(tmp_path: Path, variant: str) -> None:
    """A small zip that inflates past 200 MB (or holds 20 001 members) is refused."""
    case = Case("zip_bomb", tmp_path).prepare()

    def add_bomb(bundle: zipfile.ZipFile) -> None:
        if variant == "members":
            for index in range(20_001):
                bundle.writestr(f"many/{index}.txt", "")
            return
        zeros = bytes(1024 * 1024)
        info = zipfile.ZipInfo("data/zeros.bin")
        info.compress_type = zipfile.ZIP_DEFLATED
        with bundle.open(info, "w", force_zip64=True) as sink:
            for _ in range(210):
                sink.write(zeros)

    archive = _pack_zip(case.source, tmp_path / "submission.zip", add_bomb)
    if variant == "zeros":
        assert archive.stat().st_size < 1024 * 1024  # a bomb: under 1 MB on disk
    run = case.grade(source=archive)
    assert_refused(run, "expands beyond 200 MB" if variant == "zeros" else "members")
