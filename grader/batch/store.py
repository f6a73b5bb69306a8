"""The batch output folder: one folder per candidate, each installed in one rename.

``DIR/<candidate>/row.json`` records how the row ended (graded or why not) and what was
graded (commit or content digest, rubric hash, grader version, assignment digest), so a
rerun can skip it; a graded row also holds report.json, report.html and sources.json (the
candidate's analysed code and the starter's, for similarity). A worker writes into
``DIR/.grader-staging/``; only a finished folder is renamed into place, so an interrupted
run never leaves half a row.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from grader.core.errors import OutputError

ROW_FILE = "row.json"
SOURCES_FILE = "sources.json"
REPORT_JSON = "report.json"
REPORT_HTML = "report.html"
STAGING = ".grader-staging"
RETIRED = ".grader-retired-"


@dataclass(frozen=True)
class Record:
    """How one row ended, as saved in row.json."""

    candidate: str
    index: int
    source: str
    ref: str | None
    extra: tuple[tuple[str, str], ...]
    status: int
    """0 graded, 2 input error, 3 internal error (below --fail-under is decided later)."""
    reason: str
    fingerprint: str | None
    """What was graded: ``git:<commit>`` or ``sha256:<content digest>``; None if unknown."""
    rubric_sha256: str
    grader_version: str
    assignment_sha256: str = ""
    """What identified the assignment's content
    (grader.workflows.results_cache.assignment_identity); empty when graded without one."""

    def to_json(self) -> str:
        """row.json's text."""
        data = asdict(self)
        data["extra"] = [list(pair) for pair in self.extra]
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Record:
        """Parse row.json; ValueError (or KeyError, TypeError) when it is not one."""
        data: dict[str, Any] = json.loads(text)
        return cls(
            candidate=str(data["candidate"]),
            index=int(data["index"]),
            source=str(data["source"]),
            ref=None if data["ref"] is None else str(data["ref"]),
            extra=tuple((str(k), str(v)) for k, v in data["extra"]),
            status=int(data["status"]),
            reason=str(data["reason"]),
            fingerprint=None if data["fingerprint"] is None else str(data["fingerprint"]),
            rubric_sha256=str(data["rubric_sha256"]),
            grader_version=str(data["grader_version"]),
            assignment_sha256=str(data.get("assignment_sha256", "")),
        )


def write_text(path: Path, text: str) -> None:
    """Write to a temporary name beside ``path``, then rename it into place."""
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", errors="backslashreplace") as stream:
            stream.write(text)
        Path(temp).replace(path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            Path(temp).unlink()


def read_record(folder: Path) -> Record | None:
    """The row saved in ``folder``, or None when there is none (or it is unreadable)."""
    try:
        return Record.from_json((folder / ROW_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def candidate_folders(out_dir: Path) -> list[Path]:
    """Folders of ``out_dir`` that hold a row, in name order."""
    if not out_dir.is_dir():
        return []
    return sorted(
        p
        for p in out_dir.iterdir()
        if not p.name.startswith(".") and p.is_dir() and (p / ROW_FILE).is_file()
    )


def new_staging(out_dir: Path, candidate: str) -> Path:
    """A private folder for one worker, on the output folder's file system."""
    staging = out_dir / STAGING
    staging.mkdir(exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f"{candidate}-", dir=staging))


def clear_staging(out_dir: Path) -> None:
    """Remove what unfinished workers (and interrupted installs) left behind."""
    shutil.rmtree(out_dir / STAGING, ignore_errors=True)
    for retired in out_dir.glob(f"{RETIRED}*"):
        shutil.rmtree(retired, ignore_errors=True)


def install(staged: Path, out_dir: Path, candidate: str) -> Path:
    """Move a finished row folder to ``out_dir/<candidate>``, replacing an older one."""
    final = out_dir / candidate
    try:
        if final.exists():
            retired = out_dir / f"{RETIRED}{uuid.uuid4().hex}"
            final.rename(retired)
            staged.rename(final)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            staged.rename(final)
    except OSError as exc:
        raise OutputError(f"cannot write {final}: {exc.strerror}") from None
    return final


def remove_folder(folder: Path) -> None:
    """Delete a staging folder, whatever state a worker left it in."""
    shutil.rmtree(folder, ignore_errors=True)
