"""``grader batch``: grade many submissions, resumably, N at a time, each in its own process.

Each row runs ``python -m grader.batch.worker`` (worker.py) through grader.core.proc, so a
crash, a hang past its deadline or an out-of-memory kill ends that row only. Ctrl-C
sends one SIGINT to every running worker, which lets grade() stop its tools and remove
its scratch folders; rows that finished stay, unfinished ones leave nothing behind.
"""

from __future__ import annotations

import hashlib
import os
import sys
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed, wait
from dataclasses import dataclass, field, replace
from pathlib import Path

from grader import __version__
from grader.batch import collect, progress, store
from grader.batch.submissions import Row, read, select
from grader.batch.worker import JOB_FILE, Job, Settings
from grader.core import proc
from grader.core.batch_models import BatchResult
from grader.core.errors import ExitCode, InterruptedByUserError, UsageError
from grader.core.locks import exclusive
from grader.pipeline import current_commit, load_rubric
from grader.render import prepare_output, write_batch
from grader.sandbox.bubblewrap import Limits
from grader.workflows.results_cache import assignment_identity

# Beyond the test run's own limit: environment builds, static tools and writing reports.
WORKER_OVERHEAD_S = 1800.0
STOP_GRACE_S = 60.0
# What grader's own tools (mypy, ruff, radon, bandit) take beside the candidate's tests.
TOOLS_MEMORY_MB = 1024
LOCK_FILE = ".grader-batch.lock"


@dataclass(frozen=True)
class BatchOptions:
    """``grader batch``'s options."""

    submissions: Path
    out: Path
    settings: Settings = field(default_factory=Settings)
    jobs: int | None = None
    shard: tuple[int, int] | None = None
    force: bool = False
    fail_under: float | None = None
    similarity_threshold: float = collect.DEFAULT_SIMILARITY_THRESHOLD


def default_jobs(limits: Limits) -> int:
    """As many jobs as there are cores, but no more than memory holds at the test limit."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    per_job_mb = limits.memory_mb + TOOLS_MEMORY_MB
    available_mb = _available_memory_mb()
    by_memory = (cores or 1) if available_mb is None else available_mb // per_job_mb
    return max(1, min(cores or 1, by_memory))


def _available_memory_mb() -> int | None:
    try:
        with Path("/proc/meminfo").open(encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) // 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def fingerprint(row: Row) -> str | None:
    """What the row's source holds now: its commit, or a digest of a local archive or folder."""
    commit = current_commit(row.source, row.ref)
    if commit:
        return f"git:{commit}"
    local = Path(row.source)
    if local.is_file():
        return "sha256:" + _digest([(local.name, local)])
    if local.is_dir() and not (local / ".git").exists():
        files = [
            (Path(base, name).relative_to(local).as_posix(), Path(base, name))
            for base, _, names in os.walk(local)
            for name in names
        ]
        return "sha256:" + _digest(sorted(files))
    return None


def _digest(files: Sequence[tuple[str, Path]]) -> str:
    digest = hashlib.sha256()
    for relative, path in files:
        digest.update(relative.encode("utf-8", "surrogateescape") + b"\0")
        if path.is_file() and not path.is_symlink():
            with path.open("rb") as stream:
                while chunk := stream.read(1 << 20):
                    digest.update(chunk)
        digest.update(b"\0")
    return digest.hexdigest()


def exit_code(result: BatchResult) -> ExitCode:
    """4 when a row could not be graded, else 1 when one is below --fail-under, else 0."""
    statuses = {row.status for row in result.rows}
    if statuses & {int(ExitCode.USAGE), int(ExitCode.INTERNAL)}:
        return ExitCode.NOT_ALL_GRADED
    if int(ExitCode.BELOW_FAIL_UNDER) in statuses:
        return ExitCode.BELOW_FAIL_UNDER
    return ExitCode.GRADED


class _Batch:
    """One run over the selected rows."""

    def __init__(
        self, options: BatchOptions, rubric_sha256: str, assignment_sha256: str | None
    ) -> None:
        self.options = options
        self.rubric_sha256 = rubric_sha256
        self.assignment_sha256 = assignment_sha256
        """None when the assignment's starter cannot be asked: no earlier row is kept."""
        self.stop = threading.Event()
        self.reporter: progress.Reporter = progress.PlainReporter(0)

    def kept(self, row: Row, now: str | None) -> store.Record | None:
        """The earlier result of this row, when it graded the same thing the same way."""
        if self.options.force or now is None or self.assignment_sha256 is None:
            return None
        folder = self.options.out / row.candidate
        record = store.read_record(folder)
        if record is None or not (folder / store.REPORT_JSON).is_file():
            return None
        same = (
            record.status == 0
            and record.fingerprint == now
            and record.rubric_sha256 == self.rubric_sha256
            and record.assignment_sha256 == self.assignment_sha256
            and record.grader_version == __version__
            and (record.source, record.ref) == (row.source, row.ref)
        )
        if not same:
            return None
        if (record.index, record.extra) != (row.index, row.extra):
            record = replace(record, index=row.index, extra=row.extra)
            store.write_text(folder / store.ROW_FILE, record.to_json())
        return record

    def grade(self, row: Row) -> progress.Outcome | None:
        """Grade one row (or keep its earlier result); None when the batch was stopped."""
        if self.stop.is_set():
            return None
        now = fingerprint(row)
        if self.kept(row, now) is not None:
            outcome = collect.outcome(self.options.out / row.candidate, kept=True)
            self.reporter.finished(outcome)
            return outcome
        if self.stop.is_set():
            return None
        self.reporter.started(row.candidate)
        folder = store.new_staging(self.options.out, row.candidate)
        job = Job(
            row.candidate,
            row.index,
            row.source,
            row.ref,
            row.extra,
            now,
            self.rubric_sha256,
            self.assignment_sha256 or "",
            self.options.settings,
        )
        store.write_text(folder / JOB_FILE, job.to_json())
        result = proc.run(
            [sys.executable, "-m", "grader.batch.worker", str(folder)],
            cwd=Path.cwd(),
            timeout_s=self.options.settings.limits.wall_s + WORKER_OVERHEAD_S,
            env=dict(os.environ),
            output_cap=64 * 1024,
        )
        record = store.read_record(folder)
        if record is None:
            if self.stop.is_set():  # interrupted: nothing of this row is kept
                store.remove_folder(folder)
                return None
            store.remove_folder(folder)
            folder.mkdir()
            record = store.Record(
                row.candidate,
                row.index,
                row.source,
                row.ref,
                row.extra,
                int(ExitCode.INTERNAL),
                _death_reason(result),
                now,
                self.rubric_sha256,
                __version__,
                self.assignment_sha256 or "",
            )
            store.write_text(folder / store.ROW_FILE, record.to_json())
        final = store.install(folder, self.options.out, row.candidate)
        outcome = collect.outcome(final, seconds=result.duration_s)
        self.reporter.finished(outcome)
        return outcome

    def run(self, rows: Sequence[Row], jobs: int) -> list[progress.Outcome]:
        """Grade ``rows``, ``jobs`` at a time; on Ctrl-C stop every worker cleanly."""
        self.reporter = progress.reporter(len(rows))
        outcomes: list[progress.Outcome] = []
        pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="batch")
        futures = [pool.submit(self.grade, row) for row in rows]
        try:
            for future in as_completed(futures):
                outcome = future.result()
                if outcome is not None:
                    outcomes.append(outcome)
        except BaseException:
            self._stop(futures)
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            self.reporter.close()
            store.clear_staging(self.options.out)
        return outcomes

    def _stop(self, futures: list[Future[progress.Outcome | None]]) -> None:
        self.stop.set()
        for future in futures:
            future.cancel()
        proc.interrupt_all()
        try:
            _, pending = wait(futures, timeout=STOP_GRACE_S)
        except KeyboardInterrupt:  # asked twice: stop at once
            pending = set(futures)
        if pending:
            proc.stop_all()
            wait(futures)


def _death_reason(result: proc.ProcResult) -> str:
    if result.timed_out:
        return f"grading took longer than {result.duration_s:.0f}s and was stopped"
    last = [line for line in result.stderr.splitlines() if line.strip()][-1:]
    code = result.exit_code
    how = f"was killed by signal {-code}" if code is not None and code < 0 else f"exited {code}"
    return f"the grading process {how}" + (f": {last[0][:300]}" if last else "")


def run(options: BatchOptions) -> tuple[ExitCode, BatchResult]:
    """Grade the selected rows into ``options.out`` and write the leaderboard and results."""
    rubric = load_rubric(options.settings.rubric)  # a bad rubric fails before any work
    reserved = frozenset(c.id for c in rubric.criteria)
    rows = select(read(options.submissions, reserved), options.shard).rows
    prepare_output(options.out)
    jobs = options.jobs or default_jobs(options.settings.limits)
    with exclusive(options.out / LOCK_FILE, blocking=False) as held:
        if not held:
            raise UsageError(f"another grader batch is writing to {options.out}")
        store.clear_staging(options.out)
        identity = assignment_identity(options.settings.assignment)
        batch = _Batch(options, rubric.info.sha256, identity)
        try:
            batch.run(rows, jobs)
        except KeyboardInterrupt:
            done = len(
                [r for r in rows if store.read_record(options.out / r.candidate) is not None]
            )
            raise InterruptedByUserError(
                f"interrupted; {done} of {len(rows)} rows are kept in {options.out}, "
                "run the same command again to resume"
            ) from None
        result = collect.collect(
            options.out,
            [r.candidate for r in rows],
            options.fail_under,
            options.similarity_threshold,
        )
        write_batch(result, options.out)
    return exit_code(result), result
