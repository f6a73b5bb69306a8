"""What a submission's tests need installed, read statically from its packaging files.

A careful reviewer installs what the tests need, not everything a repository declares:
the project's runtime dependencies, the extras and dependency groups meant for testing
(and the groups those include), requirement files that serve the tests, and lock files
reduced to just those groups. This module owns the result (``Requirements``, with every
``Source`` listed with how it was read or why it was left out), the order of preference
between the formats, and the entry points ``read`` and ``read_pyproject``. Each format is
read by its own module: lock_files, requirement_files, packaging_declarations (with
poetry_declarations), all collecting into requirement_entries' ``Collector``.
"""

from __future__ import annotations

import configparser
import dataclasses
import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from grader.acquire.workspace import Workspace
from grader.environment import lock_files, packaging_declarations, requirement_files
from grader.environment.requirement_entries import Collector, Source


@dataclass(frozen=True)
class Requirements:
    """The submission's third-party requirements and where they came from."""

    items: tuple[str, ...] = ()
    source: str = ""
    """The sources used, comma-separated."""
    locked: bool = False
    requires_python: str | None = None
    problems: tuple[str, ...] = ()
    sources: tuple[Source, ...] = ()
    direct_references: tuple[str, ...] = ()
    """Names declared from a git repository, a path or a URL: declared, but not installed
    (only the package index is), and never replaced by an index package of the same name."""

    @property
    def names(self) -> frozenset[str]:
        """Canonical names of every declared distribution, direct references included."""
        installed = {canonicalize_name(Requirement(item).name) for item in self.items}
        return frozenset(installed | set(self.direct_references))

    @property
    def left_out(self) -> tuple[Source, ...]:
        """Sources that were found and deliberately not used."""
        return tuple(s for s in self.sources if not s.used)


@dataclass(frozen=True)
class Exported:
    """A lock file exported by its own tool: the requirement lines and how they were chosen."""

    lock: str
    lines: tuple[str, ...]
    detail: str


Reader = Callable[[Workspace, Collector], str]
"""Adds a file's entries to the collector and says what it read."""

# In order of preference: the first file to declare a name (with its marker) wins.
_LOCKS: tuple[tuple[str, Reader], ...] = (
    ("uv.lock", lock_files.read_uv_lock),
    ("poetry.lock", lock_files.read_poetry_lock),
    ("pdm.lock", lock_files.read_pdm_lock),
    ("Pipfile.lock", lock_files.read_pipfile_lock),
)
_DECLARATIONS: tuple[tuple[str, Reader], ...] = (
    ("pyproject.toml", packaging_declarations.read_pyproject_declarations),
    ("setup.cfg", packaging_declarations.read_setup_cfg),
    ("setup.py", packaging_declarations.read_setup_py),
    ("Pipfile", packaging_declarations.read_pipfile),
)

# What a malformed packaging file can make a reader raise; each becomes a reported problem.
_MALFORMED = (ValueError, TypeError, AttributeError, KeyError, RecursionError, configparser.Error)


def _guarded(ws: Workspace, name: str, reader: Reader, c: Collector) -> Source:
    try:
        return Source(name, True, reader(ws, c))
    except _MALFORMED as exc:
        c.problems.append(f"{name}: unreadable ({type(exc).__name__})")
        return Source(name, False, f"unreadable ({type(exc).__name__})")


def read_declarations(ws: Workspace) -> Requirements:
    """What the project's own packaging files declare (pyproject.toml, setup.cfg,
    setup.py, Pipfile), whatever lock or requirement files it also has: the direct
    dependencies, where a lock lists every transitive one too."""
    collector = Collector(packaging_declarations.project_name(ws))
    read = []
    for name, reader in _DECLARATIONS:
        if name in ws.files and _guarded(ws, name, reader, collector).used:
            read.append(name)
    return Requirements(
        items=collector.installable(),
        source=", ".join(read),
        direct_references=tuple(sorted(collector.references)),
        problems=tuple(collector.problems),
    )


def read_requirement_files(ws: Workspace) -> Requirements:
    """What every requirement file of the project declares (those serving the tests and
    the others): a ``pip freeze`` beside a lock file still declares each name it pins."""
    collector = Collector(packaging_declarations.project_name(ws))
    serving, auxiliary, why = requirement_files.find_requirement_files(ws)
    sources = requirement_files.read_requirement_files(ws, serving, collector, why)
    sources += requirement_files.read_auxiliary(ws, auxiliary, collector)
    return Requirements(
        items=collector.installable(),
        source=", ".join(s.path for s in sources if s.used),
        direct_references=tuple(sorted(collector.references)),
    )


def read(ws: Workspace, exported: tuple[Exported, ...] = ()) -> Requirements:
    """Everything the tests need, from every source that serves them, in preference order:
    lock files, requirement files, then the declarative packaging files. A lock in
    ``exported`` is taken from its tool's export instead of its recorded groups."""
    return _read(ws, exported)


def _exported_reader(export: Exported) -> Reader:
    def reader(ws: Workspace, collector: Collector) -> str:
        del ws
        for line in export.lines:
            collector.add(line, export.lock)
        return export.detail

    return reader


@functools.lru_cache(maxsize=16)
def _read(ws: Workspace, exported: tuple[Exported, ...]) -> Requirements:
    collector = Collector(packaging_declarations.project_name(ws))
    by_lock = {e.lock: _exported_reader(e) for e in exported}
    sources = [
        _guarded(ws, name, by_lock.get(name, reader), collector)
        for name, reader in _LOCKS
        if name in ws.files
    ]
    locked = any(s.used for s in sources)
    serving, auxiliary, why = requirement_files.find_requirement_files(ws)
    sources += requirement_files.read_requirement_files(ws, serving, collector, why)
    for name, reader in _DECLARATIONS:
        if name in ws.files and not (name == "Pipfile" and "Pipfile.lock" in ws.files):
            sources.append(_guarded(ws, name, reader, collector))
    sources += requirement_files.read_auxiliary(
        ws, [f for f in auxiliary if f not in {s.path for s in sources}], collector
    )
    items = collector.installable()
    pinned = bool(items) and all("==" in item for item in items)
    return Requirements(
        items=items,
        source=", ".join(s.path for s in sources if s.used),
        locked=locked or pinned,
        requires_python=packaging_declarations.requires_python(ws),
        problems=tuple(collector.problems),
        sources=tuple(sources),
        direct_references=tuple(sorted(collector.references)),
    )


def without(requirements: Requirements, names: Iterable[str]) -> tuple[Requirements, list[str]]:
    """Drop the requirements named, saying which entries went."""
    drop = {canonicalize_name(n) for n in names}
    kept = [i for i in requirements.items if canonicalize_name(Requirement(i).name) not in drop]
    dropped = [i for i in requirements.items if i not in kept]
    return dataclasses.replace(requirements, items=tuple(kept)), dropped
