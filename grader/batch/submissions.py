"""What to grade: a CSV (``candidate,source[,ref]`` plus any columns) or a folder of
submissions, and which of them belong to this machine's shard."""

from __future__ import annotations

import csv
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from grader.core.errors import UsageError

# A candidate id names an output folder: letters, digits and . _ @ + -, not starting
# with a punctuation mark (no hidden folders, no spreadsheet formulas), no path separator.
CANDIDATE = re.compile(r"^[^\W_][\w.@+-]{0,99}$")
ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".zip")
# Columns grader writes itself to results.csv: the submissions CSV may not reuse them.
RESERVED_COLUMNS = frozenset(
    {
        "candidate", "score", "grade", "status", "reason", "commit", "report",
        "hidden_tests_pass_rate", "calibration_position",
    }
)  # fmt: skip


@dataclass(frozen=True)
class Row:
    """One submission to grade."""

    index: int
    """Position in the input, so every shard and every rerun sorts rows alike."""
    candidate: str
    source: str
    ref: str | None
    extra: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Submissions:
    """The rows of a CSV or folder, with the CSV's extra column names in order."""

    rows: tuple[Row, ...]
    extra_columns: tuple[str, ...] = ()


def check_candidate(value: str, where: str) -> str:
    """The id itself, or a UsageError saying why it cannot name a folder."""
    if not CANDIDATE.match(value) or value.endswith("."):
        raise UsageError(
            f"{where}: candidate id {value!r} must be 1-100 letters, digits or . _ @ + - "
            "starting with a letter or digit"
        )
    return value


def read(path: Path, reserved: frozenset[str] = frozenset()) -> Submissions:
    """Rows from a CSV file or from the entries of a folder."""
    if path.is_dir():
        return _from_folder(path)
    if not path.is_file():
        raise UsageError(f"no such CSV file or folder: {path}")
    return _from_csv(path, RESERVED_COLUMNS | reserved)


def _from_folder(folder: Path) -> Submissions:
    rows: list[Row] = []
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            candidate = entry.name
        elif entry.is_file() and entry.name.endswith(ARCHIVE_SUFFIXES):
            candidate = next(
                entry.name.removesuffix(s) for s in ARCHIVE_SUFFIXES if entry.name.endswith(s)
            )
        else:
            continue
        check_candidate(candidate, str(entry))
        rows.append(Row(len(rows), candidate, str(entry.resolve()), None))
    if not rows:
        raise UsageError(f"{folder} holds no submissions (folders, git repositories or archives)")
    return Submissions(tuple(rows))


def _from_csv(path: Path, reserved: frozenset[str]) -> Submissions:
    try:
        with path.open(encoding="utf-8-sig", newline="") as stream:
            reader = csv.reader(stream)
            header = [name.strip() for name in next(reader, [])]
            lines = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise UsageError(f"cannot read {path}: {exc}") from None
    _check_header(path, header, reserved)
    rows: list[Row] = []
    seen: set[str] = set()
    for number, values in enumerate(lines, start=2):
        if not any(v.strip() for v in values):
            continue
        if len(values) != len(header):
            raise UsageError(f"{path}:{number}: {len(values)} cells, the header has {len(header)}")
        cells = dict(zip(header, values, strict=True))
        candidate = check_candidate(cells["candidate"].strip(), f"{path}:{number}")
        if candidate in seen:
            raise UsageError(f"{path}:{number}: candidate {candidate!r} appears twice")
        seen.add(candidate)
        source = cells["source"].strip()
        if not source:
            raise UsageError(f"{path}:{number}: empty source")
        # A relative path is read from the CSV's folder, wherever grader runs from.
        beside = path.parent / source
        if not Path(source).is_absolute() and beside.exists():
            source = str(beside.resolve())
        extra = tuple(
            (name, cells[name]) for name in header if name not in {"candidate", "source", "ref"}
        )
        rows.append(Row(len(rows), candidate, source, cells.get("ref", "").strip() or None, extra))
    if not rows:
        raise UsageError(f"{path} has a header but no submissions")
    extras = tuple(name for name in header if name not in {"candidate", "source", "ref"})
    return Submissions(tuple(rows), extras)


def _check_header(path: Path, header: list[str], reserved: frozenset[str]) -> None:
    missing = [name for name in ("candidate", "source") if name not in header]
    if missing:
        raise UsageError(
            f"{path}: the first line must be a header with columns candidate,source[,ref] "
            f"(missing {', '.join(missing)})"
        )
    if len(set(header)) != len(header) or "" in header:
        raise UsageError(f"{path}: header columns must be named and distinct")
    clashing = sorted((set(header) - {"candidate", "source", "ref"}) & reserved)
    if clashing:
        raise UsageError(
            f"{path}: column {clashing[0]!r} is written by grader to results.csv; rename it"
        )


def parse_shard(text: str) -> tuple[int, int]:
    """``I/N`` (0 <= I < N) as a pair; a UsageError otherwise."""
    match = re.fullmatch(r"(\d+)/(\d+)", text.strip())
    if not match or not 0 <= int(match[1]) < int(match[2]):
        raise UsageError(f"--shard {text!r}: expected I/N with 0 <= I < N, e.g. 0/4")
    return int(match[1]), int(match[2])


def shard_of(candidate: str, count: int) -> int:
    """The shard a candidate belongs to: a stable hash of its id, the same on every machine."""
    digest = hashlib.sha256(candidate.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % count


def select(submissions: Submissions, shard: tuple[int, int] | None) -> Submissions:
    """The rows of one shard (all rows without --shard)."""
    if shard is None:
        return submissions
    index, count = shard
    rows = tuple(r for r in submissions.rows if shard_of(r.candidate, count) == index)
    return Submissions(rows, submissions.extra_columns)
