"""One batch row, graded in a process of its own: ``python -m grader.batch.worker FOLDER``.

The job arrives as FOLDER/job.json (removed once read). The worker calls ``grade()``,
writes report.json, report.html, sources.json and row.json into FOLDER and exits with
the row's status (the exit code ``grader grade`` would give). A process per row means a
crash, a runaway memory use or a hang in one grade can only ever end that row, and
Ctrl-C (SIGINT) lets grade() stop its tools and remove its scratch folders before the
worker exits 2 without writing row.json.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import sys
import traceback
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from grader import __version__
from grader.assignment import audience
from grader.assignment.spec import Assignment
from grader.batch import store
from grader.core.errors import ExitCode, GraderError
from grader.core.models import Audience
from grader.environment.cache import EnvironmentCache, default_cache_dir
from grader.pipeline import GradeOptions, grade
from grader.render import Format, write_reports
from grader.render.highlight import SourceFiles
from grader.sandbox.bubblewrap import Limits

JOB_FILE = "job.json"
MAX_SOURCES_BYTES = 4 * 1024 * 1024
log = logging.getLogger("grader")


@dataclass(frozen=True)
class Settings:
    """The grade options every row of a batch shares."""

    rubric: str = "default"
    exclude: tuple[str, ...] = ()
    limits: Limits = field(default_factory=Limits)
    allow_unsandboxed: bool = False
    cache_dir: str | None = None
    cache_size_gb: float = 10.0
    offline: bool = False
    allow_source_builds: bool = False
    python_downloads: bool = False
    assignment: Assignment = field(default_factory=Assignment)
    """Hidden tests, starter, deadline; its paths are absolute (workers may run elsewhere)."""
    audience: Audience = Audience.REVIEWER
    """Who each candidate's report is written for (the leaderboard is the team's)."""

    def to_data(self) -> dict[str, Any]:
        """Plain JSON-ready data."""
        data = asdict(self)
        data["assignment"] = self.assignment.to_data()
        data["audience"] = self.audience.value
        return data

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Settings:
        """The settings ``to_data`` gave."""
        return cls(
            **{
                **data,
                "exclude": tuple(data["exclude"]),
                "limits": Limits(**data["limits"]),
                "assignment": Assignment.from_data(data["assignment"]),
                "audience": Audience(data["audience"]),
            }
        )

    def grade_options(
        self, source: str, ref: str | None, sources: Path, starter: Path
    ) -> GradeOptions:
        """The options of one row's grade(): the candidate's code is kept in ``sources``,
        the starter's (when the assignment has one) in ``starter``, for similarity."""
        cache = Path(self.cache_dir) if self.cache_dir else default_cache_dir()
        return GradeOptions(
            source=source,
            ref=ref,
            rubric=self.rubric,
            limits=self.limits,
            allow_unsandboxed=self.allow_unsandboxed,
            exclude=self.exclude,
            environments=EnvironmentCache(
                cache,
                offline=self.offline,
                limit_bytes=int(self.cache_size_gb * 1024**3),
                allow_builds=self.allow_source_builds,
                python_downloads=self.python_downloads,
            ),
            keep_sources=sources,
            keep_starter=starter if self.assignment.starter else None,
            assignment=self.assignment,
        )


@dataclass(frozen=True)
class Job:
    """Everything a worker needs to grade one row (JSON-serialisable)."""

    candidate: str
    index: int
    source: str
    ref: str | None
    extra: tuple[tuple[str, str], ...]
    fingerprint: str | None
    """Content digest of a non-git source, taken before grading."""
    rubric_sha256: str
    assignment_sha256: str
    """What identifies the assignment's content (grader.batch.runner); empty without one."""
    settings: Settings

    def to_json(self) -> str:
        """The job as written to job.json."""
        return json.dumps({**asdict(self), "settings": self.settings.to_data()})

    @classmethod
    def from_json(cls, text: str) -> Job:
        """Parse what ``to_json`` wrote."""
        data = json.loads(text)
        settings = Settings.from_data(data.pop("settings"))
        data["extra"] = tuple(tuple(pair) for pair in data["extra"])
        return cls(**data, settings=settings)


def _python_files(folder: Path) -> dict[str, str]:
    """The Python files under ``folder`` as {path: text}, up to MAX_SOURCES_BYTES in all."""
    files: dict[str, str] = {}
    total = 0
    for path in sorted(p for p in folder.rglob("*.py") if p.is_file() and not p.is_symlink()):
        text = path.read_text(encoding="utf-8", errors="replace")
        total += len(text)
        if total > MAX_SOURCES_BYTES:
            break
        files[path.relative_to(folder).as_posix()] = text
    return files


def _sources_json(sources: Path, starter: Path) -> str:
    """The candidate's analysed code and the starter's code it was built on."""
    data = {"files": _python_files(sources), "starter": _python_files(starter)}
    return json.dumps(data, ensure_ascii=False) + "\n"


def grade_row(job: Job, folder: Path) -> store.Record:
    """Grade the job into ``folder``; any failure becomes the row's status and reason."""
    sources, starter = folder / ".sources", folder / ".starter"
    status, reason, fingerprint = ExitCode.GRADED, "", job.fingerprint
    settings = job.settings
    try:
        # grade(), never the results cache: a batch keeps its own rows (row.json), and an
        # assignment brings files the cache's key does not hash.
        report = grade(settings.grade_options(job.source, job.ref, sources, starter))
        report = audience.view(report, settings.audience)
        # The kept sources are the graded files: snippets are highlighted in context.
        write_reports(report, folder, [Format.JSON, Format.HTML], SourceFiles(sources))
        store.write_text(folder / store.SOURCES_FILE, _sources_json(sources, starter))
        # What the source pointed to before grading identifies the row (with a deadline
        # the graded commit is an older one); the graded commit when that was unknown.
        if fingerprint is None and report.submission.commit:
            fingerprint = f"git:{report.submission.commit}"
    except GraderError as exc:
        status, reason = exc.exit_code, str(exc)
    except Exception as exc:  # a bug in grader ends this row only, with its reason
        log.debug("internal error grading %s:\n%s", job.candidate, traceback.format_exc())
        status, reason = ExitCode.INTERNAL, f"internal error: {type(exc).__name__}: {exc}"
    finally:
        shutil.rmtree(sources, ignore_errors=True)
        shutil.rmtree(starter, ignore_errors=True)
    return store.Record(
        candidate=job.candidate,
        index=job.index,
        source=job.source,
        ref=job.ref,
        extra=job.extra,
        status=int(status),
        reason=reason,
        fingerprint=fingerprint,
        rubric_sha256=job.rubric_sha256,
        grader_version=__version__,
        assignment_sha256=job.assignment_sha256,
    )


def _interrupt_once(signum: int, frame: FrameType | None) -> None:
    del signum, frame
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise KeyboardInterrupt


def main(argv: Sequence[str]) -> int:
    """Grade the job on stdin into the folder named by ``argv[0]``; return the status."""
    logging.basicConfig(
        level=logging.DEBUG if os.environ.get("GRADER_VERBOSE") else logging.WARNING,
        format="grader: %(message)s",
    )
    folder = Path(argv[0])
    # The first SIGINT or SIGTERM unwinds grade() (stopping its tools, removing its scratch
    # folders); later ones are ignored so they cannot cut that cleanup short.
    signal.signal(signal.SIGINT, _interrupt_once)
    signal.signal(signal.SIGTERM, _interrupt_once)
    try:
        job_file = folder / JOB_FILE
        job = Job.from_json(job_file.read_text(encoding="utf-8"))
        job_file.unlink()
        record = grade_row(job, folder)
        store.write_text(folder / store.ROW_FILE, record.to_json())
    except KeyboardInterrupt:
        sys.stderr.write("grader: interrupted\n")
        return int(ExitCode.USAGE)
    return record.status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
