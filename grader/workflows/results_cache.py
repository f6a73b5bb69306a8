"""Results cache: grading what was already graded, with everything the same, is a lookup.

The key holds everything that changes a report: what is graded (the commit a git source
points to, asked with ``git ls-remote`` before anything is cloned; a digest of the content
of a plain folder or an archive), the source as written (reports quote it), the rubric's
hash, grader's version and a digest of grader's own code, tool configurations and
built-in rubrics (rubrics/ beside grader/ in a checkout), every tool's version, the Python
grader runs on, and the options that change results (limits, exclusions, sandboxing,
dependency policy). When the key cannot be known (an unreachable
remote), nothing is cached.

Reports are stored as JSON, never pickled, in grader's cache folder, written to a
temporary name and renamed; an entry that cannot be read is a miss. Reports in which a
tool failed or timed out are not stored: the next run tries again. Unpinned dependencies
are resolved when a commit is first graded; ``--no-cache`` regrades against today's.

A grade with an assignment has no key (its hidden tests and starter are files the key does
not hash); ``assignment_identity`` hashes them for a batch, which keeps its own rows.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import cattrs

from grader import __version__
from grader.acquire.workspace import walk_tree
from grader.assignment.spec import Assignment
from grader.core.models import Report, ToolStatus
from grader.pipeline import GradeOptions, current_commit, grade, load_rubric
from grader.scoring import rubric as rubric_module

FORMAT = 1
MAX_ENTRY_BYTES = 64 * 1024 * 1024
_CONVERTER = cattrs.Converter()
# Metric values keep the type they had (a count stays an int).
_CONVERTER.register_structure_hook(float, lambda value, _: value)


def _digest_files(files: list[tuple[str, Path]]) -> str:
    digest = hashlib.sha256()
    for relative, path in files:
        digest.update(relative.encode("utf-8", "surrogateescape") + b"\0")
        if path.is_symlink():
            digest.update(b"link:" + os.fsencode(path.readlink()))
        elif path.is_file():
            with path.open("rb") as stream:
                while chunk := stream.read(1 << 20):
                    digest.update(chunk)
        digest.update(b"\0")
    return digest.hexdigest()


def _tree_files(folder: Path) -> list[tuple[str, Path]]:
    return [
        (Path(entry.path).relative_to(folder).as_posix(), Path(entry.path))
        for _, entries in walk_tree(folder)
        for entry in entries
        if not entry.is_dir(follow_symlinks=False)
    ]


def source_identity(source: str, ref: str | None) -> str | None:
    """What ``source`` holds now: ``git:<commit>``, ``sha256:<content>``, or None if unknown."""
    commit = current_commit(source, ref)
    if commit:
        return f"git:{commit}"
    local = Path(source).expanduser()
    try:
        if ref is not None or not local.exists():
            return None
        if local.is_file():
            return "sha256:" + _digest_files([(local.name, local)])
        if local.is_dir() and not (local / ".git").exists():
            return "sha256:" + _digest_files(_tree_files(local))
    except OSError:  # something this user may not read: acquiring it says what
        return None
    return None


def assignment_identity(assignment: Assignment) -> str | None:
    """What the assignment holds now: its settings, the content of its hidden tests, what
    its starter points to and its stored calibration; None when the starter cannot be
    asked (then nothing graded with it counts as the same). Empty without an assignment."""
    if not assignment.active:
        return ""
    material: dict[str, Any] = {"assignment": assignment.to_data()}
    if assignment.hidden_tests is not None:
        material["hidden_tests"] = _digest_files(_own_files(assignment.hidden_tests))
    starter = assignment.starter
    if starter is not None and starter.source is not None:
        material["starter"] = source_identity(starter.source, starter.ref)
        if material["starter"] is None:
            return None
    calibration = assignment.calibration_path
    if calibration is not None and calibration.is_file():
        material["calibration"] = _digest_files([(calibration.name, calibration)])
    encoded = json.dumps(material, sort_keys=True).encode("utf-8")
    return hashlib.sha256(encoded).hexdigest()


def _own_files(folder: Path) -> list[tuple[str, Path]]:
    """A folder's files without Python's byte-code caches (running its tests writes them)."""
    return [
        (relative, path)
        for relative, path in _tree_files(folder)
        if "__pycache__" not in relative and not relative.endswith(".pyc")
    ]


@functools.cache
def _grader_digest() -> str:
    """grader's own code, tool configurations, templates, schemas and built-in rubrics: a
    development checkout changes them without changing the version number.

    An installed grader holds its rubrics in grader/rubrics; a checkout keeps them in
    rubrics/ beside grader/, so they are added by name. (The rubric a grade uses is in the
    key by its own hash too, whether built in or a file given by path.)
    """
    package = Path(__file__).resolve().parent.parent
    files = _own_files(package)
    rubrics = Path(str(rubric_module.builtin_dir())).resolve()
    if not rubrics.is_relative_to(package):
        files += [(f"rubrics/{relative}", path) for relative, path in _own_files(rubrics)]
    return _digest_files(files)


def key(options: GradeOptions) -> str | None:
    """The cache key of grading ``options``, or None when it cannot be known."""
    if options.assignment.active:
        return None  # hidden tests and a starter are files this key does not hash
    identity = source_identity(options.source, options.ref)
    if identity is None:
        return None
    environments = options.environments
    material: dict[str, Any] = {
        "format": FORMAT,
        "source": options.source,
        "ref": options.ref,
        "identity": identity,
        "rubric": load_rubric(options.rubric).info.sha256,
        # notebooks may choose another rubric when none was named
        **({"rubric_by_content": True} if options.rubric_by_content else {}),
        "grader": [__version__, _grader_digest(), sys.version],
        "tools": sorted(f"{tool.name} {tool.version()}" for tool in options.tools),
        "limits": dataclasses.asdict(options.limits),
        "mutation": dataclasses.asdict(options.mutation),
        "exclude": list(options.exclude),
        "unsandboxed": options.allow_unsandboxed,
        "environments": None
        if environments is None
        else [environments.offline, environments.allow_builds, environments.python_downloads],
    }
    encoded = json.dumps(material, sort_keys=True).encode("utf-8")
    return hashlib.sha256(encoded).hexdigest()


def _entry(root: Path, cache_key: str) -> Path:
    return root / "results" / cache_key[:2] / f"{cache_key}.json"


def load(root: Path, cache_key: str) -> Report | None:
    """The stored report, or None when there is none or it cannot be read."""
    path = _entry(root, cache_key)
    try:
        if path.stat().st_size > MAX_ENTRY_BYTES:
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
        return _CONVERTER.structure(data, Report)
    except (OSError, ValueError, TypeError, KeyError, cattrs.BaseValidationError):
        return None


def store(root: Path, cache_key: str, report: Report) -> None:
    """Keep ``report`` under ``cache_key``, all or nothing; a cache that cannot be written
    is skipped, never an error."""
    if any(t.status in (ToolStatus.FAILED, ToolStatus.TIMEOUT) for t in report.tools):
        return
    path = _entry(root, cache_key)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(prefix=".entry-", dir=path.parent)
    except OSError:
        return
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            json.dump(_CONVERTER.unstructure(report), stream)
        Path(temp).replace(path)
    except OSError:
        Path(temp).unlink(missing_ok=True)


def grade_cached(options: GradeOptions, *, use_cache: bool = True) -> tuple[Report, bool]:
    """The report for ``options`` and whether it came from the cache.

    Without an environment cache (so no cache folder) or when sources are kept for a batch,
    this is ``grade`` itself.
    """
    root = options.environments.root if options.environments else None
    cache_key = key(options) if root and options.keep_sources is None else None
    if root is None or cache_key is None:
        return grade(options), False
    if use_cache and (cached := load(root, cache_key)) is not None:
        return cached, True
    report = grade(options)
    store(root, cache_key, report)
    return report, False
