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
            entries = list(os.scandir(root / relative))
        except OSError:
            continue  # unreadable or gone: nothing the listing can say about it
        for entry in entries:
            if len(files) + len(folders) >= limit:
                return Listing(files, frozenset(folders), complete=False)
            path = f"{relative}/{entry.name}" if relative else entry.name
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if stat.S_ISDIR(info.st_mode):
                if entry.name not in TOOL_CACHES:
                    folders.add(path)
                    pending.append(path)
            elif _counted(entry.name):
                files[path] = (info.st_size, info.st_mtime_ns)
    return Listing(files, frozenset(folders), complete=True)


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

    def metric(self) -> Metric:
        """The count, with the paths as evidence."""
        shown = ", ".join(path for path, _ in self.paths[:SHOWN])
        more = f" and {len(self.paths) - SHOWN} more" if len(self.paths) > SHOWN else ""
        cut = "; the listing was cut short" if self.cut else ""
        if self.ignored:
            named = ", ".join(self.ignored[:SHOWN])
            cut += f"; not counted, as the repository's .gitignore names them: {named}"
        evidence = f"{shown}{more}{cut}" if self.paths else f"nothing left{cut}"
        return Metric(METRIC, len(self.paths), "paths", "pytest", evidence)

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
            if path.is_symlink() or path.stat().st_size > MAX_GITIGNORE_BYTES:
                continue
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            continue
        folder = str(PurePosixPath(relative).parent)
        specs.append(
            ("" if folder == "." else f"{folder}/", pathspec.GitIgnoreSpec.from_lines(lines))
        )

    def ignored(path: str) -> bool:
        return any(
            path.startswith(folder) and spec.match_file(path.removeprefix(folder))
            for folder, spec in specs
        )

    return ignored


def left_behind(
    before: Listing, after: Listing, ignored: Callable[[str], bool] = lambda _: False
) -> LeftBehind:
    """What the run created or changed: new folders once (``instance/``), new files
    outside them, and files it rewrote; what ``ignored`` names apart."""
    found: dict[str, bool] = {}
    for path, signature in after.files.items():
        earlier = before.files.get(path)
        if earlier is None:
            found[_new_root(path, before)] = True
        elif earlier != signature:
            found[path] = False
    for folder in after.folders - before.folders:
        found[_new_root(f"{folder}/", before)] = True
    counted = tuple(sorted((p, new) for p, new in found.items() if not ignored(p)))
    skipped = tuple(sorted(p for p in found if ignored(p)))
    return LeftBehind(counted, cut=not after.complete, ignored=skipped)
