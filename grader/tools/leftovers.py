"""Files the candidate's tests leave in the repository.

Tests that write into the project's own tree (a SQLite file beside the code, an upload
folder, a rewritten data file) instead of a temporary directory pass on a fresh clone,
then run against whatever the last run left there, and litter every checkout. The
scratch copy is listed (path, size, modification time) just before the suite starts and
again when it ends, so what grader itself put there (a ``.env`` copy, a built project)
is not counted; what is new or changed is what the run left. Caches of Python and of the
test tools (``__pycache__``, ``.pytest_cache``, ``.hypothesis``) are theirs, not the
candidate's choice, and are not counted; nor is what the repository's own ``.gitignore``
files name (read from the pristine copy, never the one the tests could rewrite): the
author expected the run to write ``logs/`` or ``uploads/`` and kept them out of git, and
the evidence says so. A new folder counts once, with its files. The listing never
follows links and stops after MAX_ENTRIES (the suite may fill its disk area with files);
a cut listing says so.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import pathspec

from grader.core.models import Finding, Location, Metric, Severity

METRIC = "tests.leftover_files"
MAX_ENTRIES = 20_000
TOOL_CACHES = frozenset(
    {
        "__pycache__",
        ".pytest_cache",
        ".hypothesis",
        ".mypy_cache",
        ".ruff_cache",
        ".benchmarks",
        ".git",
    }
)
SHOWN = 10
MAX_GITIGNORE_BYTES = 256 * 1024
# A .gitignore is the candidate's text, matched in grader's own process: a pattern with
# many wildcards backtracks for minutes on a long name (``*a*a*a*a*b``). Only patterns
# with at most two runs of ``*`` are read, on paths of at most MAX_MATCHED_PATH
# characters; real .gitignore files hardly ever need more.
MAX_WILDCARD_RUNS = 2
MAX_PATTERN_CHARS = 200
MAX_PATTERNS = 500
MAX_MATCHED_PATH = 512
FULL_CHARGE = 3
"""What a listing cut short is charged at least: the run left more than it can count."""
_WILDCARD_RUN = re.compile(r"\*+")


@dataclass(frozen=True)
class Listing:
    """The regular files (and links) under a folder, and its folders, by relative path."""

    files: dict[str, tuple[int, int]]
    """path -> (size, modification time in ns)."""
    folders: frozenset[str]
    complete: bool


def _counted(name: str) -> bool:
    return not (name.endswith((".pyc", ".pyo")) or name.startswith(".coverage"))


def listing(root: Path, limit: int = MAX_ENTRIES) -> Listing:
    """Every file and folder under ``root`` but the tool caches, up to ``limit`` entries."""
    files: dict[str, tuple[int, int]] = {}
    folders: set[str] = set()
    pending = [""]
    while pending:
        relative = pending.pop()
        try:
            with os.scandir(root / relative) as entries:  # read lazily: bounded by limit
                for entry in entries:
                    if len(files) + len(folders) >= limit:
                        return Listing(files, frozenset(folders), complete=False)
                    _add(
                        entry,
                        f"{relative}/{entry.name}" if relative else entry.name,
                        files,
                        folders,
                        pending,
                    )
        except OSError:
            continue  # unreadable or gone: a new folder still counts, as a folder
    return Listing(files, frozenset(folders), complete=True)


def _add(
    entry: os.DirEntry[str],
    path: str,
    files: dict[str, tuple[int, int]],
    folders: set[str],
    pending: list[str],
) -> None:
    try:
        info = entry.stat(follow_symlinks=False)
    except OSError:
        return
    if stat.S_ISDIR(info.st_mode):
        if entry.name not in TOOL_CACHES:
            folders.add(path)
            pending.append(path)
    elif _counted(entry.name):
        files[path] = (info.st_size, info.st_mtime_ns)


def _new_root(path: str, before: Listing) -> str:
    """The outermost folder of ``path`` the run created (with a slash), else the path."""
    parts = path.split("/")
    for depth in range(1, len(parts)):
        folder = "/".join(parts[:depth])
        if folder not in before.folders:
            return f"{folder}/"
    return path


@dataclass(frozen=True)
class LeftBehind:
    """What one run left: each path (a new folder ends with a slash) and whether the run
    created it (else rewrote it), sorted; and whether the listing was cut short."""

    paths: tuple[tuple[str, bool], ...]
    cut: bool
    ignored: tuple[str, ...] = ()
    """What the run left that the repository's .gitignore names: not counted."""
    unlisted: bool = False
    """The copy was too large to list before the run: nothing to compare with."""

    def metric(self) -> Metric:
        """The count, with the paths as evidence; a listing cut short is charged at least
        FULL_CHARGE (the run may have flooded a folder to hide what it left)."""
        shown = ", ".join(path for path, _ in self.paths[:SHOWN])
        more = f" and {len(self.paths) - SHOWN} more" if len(self.paths) > SHOWN else ""
        if self.unlisted:
            reason = f"the submission holds more than {MAX_ENTRIES} files and folders"
            return Metric(METRIC, None, "paths", "pytest", reason)
        cut = "; the listing was cut short" if self.cut else ""
        if self.ignored:
            named = ", ".join(self.ignored[:SHOWN])
            cut += f"; not counted, as the repository's .gitignore names them: {named}"
        evidence = f"{shown}{more}{cut}" if self.paths else f"nothing left{cut}"
        count = max(len(self.paths), FULL_CHARGE) if self.cut else len(self.paths)
        return Metric(METRIC, count, "paths", "pytest", evidence)

    def findings(self) -> tuple[Finding, ...]:
        """One finding per path, the first SHOWN of them."""
        return tuple(
            Finding(
                "pytest",
                "test-leftover",
                f"the test run {'left' if created else 'rewrote'} {path} in the repository: "
                "tests that write beside the code run against what the last run left; "
                "write to a temporary directory (pytest's tmp_path) instead",
                Severity.LOW,
                Location(path.rstrip("/") or "."),
            )
            for path, created in self.paths[:SHOWN]
        )


def git_ignored(root: Path, files: Iterable[str]) -> Callable[[str], bool]:
    """Whether the ``.gitignore`` files among ``files`` (paths under ``root``, each
    applying to its own folder) name a path; unreadable or oversized ones name nothing."""
    specs: list[tuple[str, pathspec.GitIgnoreSpec]] = []
    for relative in files:
        if PurePosixPath(relative).name != ".gitignore":
            continue
        path = root / relative
        try:
            if not path.is_file() or path.is_symlink() or path.stat().st_size > MAX_GITIGNORE_BYTES:
                continue
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
            spec = pathspec.GitIgnoreSpec.from_lines(_tame(lines))
        except (OSError, ValueError, re.error):
            continue
        folder = str(PurePosixPath(relative).parent)
        specs.append(("" if folder == "." else f"{folder}/", spec))

    def ignored(path: str) -> bool:
        return len(path) <= MAX_MATCHED_PATH and any(
            path.startswith(folder) and spec.match_file(path.removeprefix(folder))
            for folder, spec in specs
        )

    return ignored


def _tame(lines: list[str]) -> list[str]:
    """The patterns cheap to match: short, with few wildcard runs; at most MAX_PATTERNS."""
    kept = [
        line
        for line in lines
        if len(line) <= MAX_PATTERN_CHARS and len(_WILDCARD_RUN.findall(line)) <= MAX_WILDCARD_RUNS
    ]
    return [line for line in kept[:MAX_PATTERNS] if _compiles(line)]


def _compiles(line: str) -> bool:
    """Whether pathspec accepts the pattern (git skips one it cannot read; so does grader)."""
    try:
        pathspec.GitIgnoreSpec.from_lines([line])
    except (ValueError, re.error):
        return False
    return True


def left_behind(
    before: Listing, after: Listing, ignored: Callable[[str], bool] = lambda _: False
) -> LeftBehind:
    """What the run created or changed: new folders once (``instance/``), new files
    outside them, and files it rewrote; what ``ignored`` names apart."""
    if not before.complete:
        return LeftBehind((), cut=False, unlisted=True)
    found: dict[str, bool] = {}
    for path, signature in after.files.items():
        earlier = before.files.get(path)
        if earlier is None:
            found[_new_root(path, before)] = True
        elif earlier != signature:
            found[path] = False
    for folder in after.folders - before.folders:
        found[_new_root(f"{folder}/", before)] = True
    # git ignores only untracked paths: a file the run rewrote is charged whatever .gitignore says
    excused = {p for p, new in found.items() if new and ignored(p)}
    counted = tuple(sorted((p, new) for p, new in found.items() if p not in excused))
    return LeftBehind(counted, cut=not after.complete, ignored=tuple(sorted(excused)))
