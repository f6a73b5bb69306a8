"""The inventory of a checked-out submission: which files are code, tests, configs.

Built once after acquisition and shared read-only by every tool adapter. Symlinks are
never followed; the ones pointing outside the submission are recorded so they can be
reported.
"""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from grader.errors import AcquireError

# Folders that hold no candidate-authored code.
SKIPPED_DIRS = frozenset(
    {
        ".git",
        "__pycache__",
        "node_modules",
        "site-packages",
        "venv",
        "env",
        "build",
        "dist",
    }
)
MAX_FILES = 20_000

# The candidate's own tool settings: listed in the report, never used for scoring.
CANDIDATE_CONFIG_FILES = (
    "pyproject.toml",
    "setup.cfg",
    "tox.ini",
    "pytest.ini",
    "mypy.ini",
    ".mypy.ini",
    "ruff.toml",
    ".ruff.toml",
    ".coveragerc",
    ".bandit",
    ".flake8",
    ".pylintrc",
    "radon.cfg",
    "conftest.py",
)


@dataclass(frozen=True)
class Workspace:
    """A submission checked out into a private folder, with its files classified."""

    root: Path
    files: tuple[str, ...]
    python_files: tuple[str, ...]
    test_files: tuple[str, ...]
    source_files: tuple[str, ...]
    outside_symlinks: tuple[tuple[str, str], ...]
    candidate_configs: tuple[str, ...]
    excluded: tuple[str, ...] = ()
    """Paths left out by --exclude: still on disk (tests may need them), never analysed."""

    def path(self, relative: str) -> Path:
        """Absolute path of a file given relative to the submission root."""
        return self.root / relative


def is_test_file(relative: str) -> bool:
    """Pytest's own conventions, plus anything under a tests folder."""
    path = PurePosixPath(relative)
    name = path.name
    in_test_dir = any(part in {"tests", "test", "testing"} for part in path.parts[:-1])
    return (
        in_test_dir
        or name == "conftest.py"
        or (name.startswith("test_") and name.endswith(".py"))
        or name.endswith("_test.py")
    )


# Hidden folders are caches and virtualenvs, except these, which hold CI and deploy facts.
KEPT_HIDDEN_DIRS = frozenset({".github", ".gitlab", ".circleci"})


def _skip_dir(name: str) -> bool:
    if name in KEPT_HIDDEN_DIRS:
        return False
    return name in SKIPPED_DIRS or name.startswith(".") or name.endswith(".egg-info")


def _is_inside(root: Path, link: Path) -> tuple[bool, str]:
    target = str(link.readlink())
    resolved = (link.parent / target).resolve()
    return resolved.is_relative_to(root.resolve()), target


def excluded(relative: str, patterns: tuple[str, ...]) -> bool:
    """Whether a path matches an ``--exclude`` glob, or lies in a folder one names."""
    return any(
        fnmatch.fnmatchcase(relative, pattern) or relative.startswith(pattern.rstrip("/") + "/")
        for pattern in patterns
    )


@dataclass
class _Walk:
    """What one pass over the submission found."""

    root: Path
    exclude: tuple[str, ...]
    files: list[str] = field(default_factory=list)
    outside: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def keep(self, path: Path) -> bool:
        """Record symlinks and exclusions; True for entries to look into."""
        relative = path.relative_to(self.root).as_posix()
        if excluded(relative, self.exclude):
            self.skipped.append(relative)
            return False
        if path.is_symlink():
            inside, target = _is_inside(self.root, path)
            if not inside:
                self.outside.append((relative, target))
            return False
        return True

    def run(self) -> None:
        for current, dirnames, filenames in os.walk(self.root, followlinks=False):
            base = Path(current)
            dirnames[:] = sorted(d for d in dirnames if not _skip_dir(d) and self.keep(base / d))
            for filename in sorted(filenames):
                path = base / filename
                if self.keep(path) and path.is_file():
                    self.files.append(path.relative_to(self.root).as_posix())
                    if len(self.files) > MAX_FILES:
                        raise AcquireError(f"submission has more than {MAX_FILES} files")


def inventory(root: Path, exclude: tuple[str, ...] = ()) -> Workspace:
    """Classify every file under ``root`` without following symlinks."""
    walk = _Walk(root, exclude)
    walk.run()
    files = walk.files
    python_files = tuple(f for f in files if f.endswith(".py"))
    configs = tuple(
        f for f in files if PurePosixPath(f).name in CANDIDATE_CONFIG_FILES and f.count("/") <= 1
    )
    return Workspace(
        root=root,
        files=tuple(files),
        python_files=python_files,
        test_files=tuple(f for f in python_files if is_test_file(f)),
        source_files=tuple(f for f in python_files if not is_test_file(f)),
        outside_symlinks=tuple(walk.outside),
        candidate_configs=configs,
        excluded=tuple(walk.skipped),
    )
