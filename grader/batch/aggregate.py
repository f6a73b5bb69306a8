"""``grader aggregate``: one leaderboard from rows graded elsewhere (shards, single reports).

Each input is a batch output folder, one candidate's folder from it, a ``grader grade``
output folder (its name is the candidate id) or a report.json file (its folder's name
is). Rows are copied into the output folder (only the files grader writes, never links)
and the leaderboard, results.csv and results.json are built from there exactly as
``grader batch`` builds them, so shards aggregate to the page a single run would give.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path

from grader.batch import collect, store
from grader.batch.runner import LOCK_FILE, exit_code
from grader.batch.submissions import check_candidate
from grader.core.batch_models import BatchResult
from grader.core.errors import ExitCode, UsageError
from grader.core.locks import exclusive
from grader.render import prepare_output, write_batch

COPIED = (store.ROW_FILE, store.REPORT_JSON, store.REPORT_HTML, store.SOURCES_FILE, "report.md")


def _found(path: Path) -> Iterator[Path]:
    """Folders holding one row (row.json) or one report (report.json) under ``path``."""
    if path.is_file():
        if path.suffix != ".json":
            raise UsageError(f"{path} is not a report.json")
        yield path.parent
        return
    if not path.is_dir():
        raise UsageError(f"no such file or folder: {path}")
    if (path / store.ROW_FILE).is_file() or (path / store.REPORT_JSON).is_file():
        yield path
        return
    inside = [
        p
        for p in sorted(path.iterdir())
        if not p.name.startswith(".")
        and p.is_dir()
        and ((p / store.ROW_FILE).is_file() or (p / store.REPORT_JSON).is_file())
    ]
    if not inside:
        raise UsageError(f"{path} holds no grader rows or reports")
    yield from inside


def _record(folder: Path, index: int) -> store.Record:
    """The folder's row.json, or one made from its report.json."""
    if (folder / store.ROW_FILE).is_file():
        record = store.read_record(folder)
        if record is None:
            raise UsageError(f"{folder / store.ROW_FILE} is not a grader row")
        check_candidate(record.candidate, str(folder))
        if record.status == 0:
            collect.read_report(folder / store.REPORT_JSON)  # fails early when broken
        return record
    report = collect.read_report(folder / store.REPORT_JSON)
    candidate = check_candidate(folder.resolve().name, str(folder))
    return store.Record(
        candidate=candidate,
        index=index,
        source=report.source,
        ref=report.ref,
        extra=(),
        status=0,
        reason="",
        fingerprint=f"git:{report.commit}" if report.commit else None,
        rubric_sha256=report.rubric.sha256,
        grader_version=report.grader_version,
    )


def _import(folder: Path, record: store.Record, out_dir: Path) -> None:
    if (out_dir / record.candidate).resolve() == folder.resolve():
        return  # already in place
    staged = store.new_staging(out_dir, record.candidate)
    for name in COPIED:
        source = folder / name
        if source.is_file() and not source.is_symlink() and name != store.ROW_FILE:
            shutil.copyfile(source, staged / name)
    store.write_text(staged / store.ROW_FILE, record.to_json())
    store.install(staged, out_dir, record.candidate)


def aggregate(
    inputs: Sequence[Path], out_dir: Path, fail_under: float | None, threshold: float
) -> tuple[ExitCode, BatchResult]:
    """Copy every input row into ``out_dir`` and write its leaderboard and results."""
    rows: dict[str, tuple[Path, store.Record]] = {}
    for path in inputs:
        for folder in _found(path):
            record = _record(folder, len(rows))
            if record.candidate in rows:
                raise UsageError(
                    f"candidate {record.candidate!r} is in both {rows[record.candidate][0]} "
                    f"and {folder}"
                )
            rows[record.candidate] = (folder, record)
    prepare_output(out_dir)
    with exclusive(out_dir / LOCK_FILE, blocking=False) as held:
        if not held:
            raise UsageError(f"another grader batch is writing to {out_dir}")
        store.clear_staging(out_dir)
        try:
            for folder, record in rows.values():
                _import(folder, record, out_dir)
        finally:
            store.clear_staging(out_dir)
        result = collect.collect(out_dir, rows, fail_under, threshold)
        write_batch(result, out_dir)
    return exit_code(result), result
