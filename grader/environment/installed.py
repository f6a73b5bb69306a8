"""What a built test environment holds: each installed distribution and the modules it
provides, read from its metadata on the host.

Read the way ``importlib.metadata.packages_distributions()`` builds its map, but for the
environment's own site-packages (``distributions(path=...)``) rather than grader's: the
files each distribution's RECORD lists, else its ``top_level.txt``. Only metadata files
are read; nothing of the environment is imported or run, so the submission's interpreter
never starts. Every level of a package counts as provided (``google``, ``google.cloud``,
``google.cloud.storage``), so a namespace package shared by several distributions is
told apart by the deeper module an import names.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

# Files that are modules: sources and compiled extensions (``_speedups.cpython-311-x86_64-
# linux-gnu.so`` is the module ``_speedups``).
_MODULE_SUFFIXES = (".py", ".so", ".pyd")
_STUBS = "-stubs"
# Entry-point groups through which a tool or a framework loads a plugin by itself: a
# distribution registering one is used without an import. Groups a library registers for
# its own optional features (NumPy's array_api, Jinja's babel.extractors) say nothing.
PLUGIN_GROUPS = frozenset(
    {"pytest11", "flake8.extension", "flake8.report", "mkdocs.plugins", "tox",
     "sqlalchemy.dialects", "sqlalchemy.plugins", "pylint.plugins", "sphinx.builders",
     "jupyter_serverextension", "celery.result_backends", "taskiq_brokers"}
)  # fmt: skip


@dataclass(frozen=True)
class Distribution:
    """One installed distribution: its canonical name, version and what it provides."""

    name: str
    version: str
    modules: frozenset[str]
    """Dotted names of the packages and modules it installs, every level included."""
    requires: frozenset[str] = frozenset()
    """Canonical names of the distributions it requires (markers not evaluated)."""
    tool_plugin: bool = False
    """Registers a plugin another package loads (a pytest, tox or flake8 plugin, a
    SQLAlchemy dialect): used without an import, by the package that loads it."""
    stubs_only: bool = False
    """Installs nothing but type stubs (PEP 561 ``-stubs`` packages): read by type
    checkers, never imported."""


def module_of(path: str) -> str | None:
    """The dotted module a file installed in site-packages is, or None (data, metadata,
    scripts outside site-packages, names no import can spell)."""
    *folders, name = path.split("/")
    if not name.endswith(_MODULE_SUFFIXES) or ".." in folders:
        return None
    stem = name.split(".", 1)[0]
    parts = folders if stem == "__init__" else [*folders, stem]
    if not parts or not all(part.isidentifier() for part in parts):
        return None
    return ".".join(parts)


def _with_parents(modules: set[str]) -> frozenset[str]:
    levels = set(modules)
    for module in modules:
        parts = module.split(".")
        levels.update(".".join(parts[:end]) for end in range(1, len(parts)))
    return frozenset(levels)


def _requires(lines: list[str]) -> frozenset[str]:
    names = set()
    for line in lines:
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            continue
        if "extra" not in str(requirement.marker or ""):
            names.add(canonicalize_name(requirement.name))
    return frozenset(names)


def _recorded(dist: metadata.Distribution) -> list[str]:
    """The paths RECORD lists, relative to site-packages (read as text: building a path
    object for each of a large package's thousands of files is most of the time)."""
    record = dist.read_text("RECORD") or ""
    return [row[0] for row in csv.reader(record.splitlines()) if row]


def _describe(dist: metadata.Distribution) -> Distribution | None:
    fields = dist.metadata  # parsed once: each access of dist.metadata parses it again
    # get_all: a missing field is None, where indexing warns (and will raise).
    name, version = ((fields.get_all(key) or [""])[0] for key in ("Name", "Version"))
    if not name or not version:
        return None
    files = _recorded(dist)
    modules = {m for m in map(module_of, files) if m}
    if not files:  # no RECORD: the top-level names setuptools recorded, if any
        listed = (dist.read_text("top_level.txt") or "").split()
        modules = {m for m in listed if all(part.isidentifier() for part in m.split("."))}
    stubs = any(f.split("/", 1)[0].endswith(_STUBS) for f in files if "/" in f)
    return Distribution(
        canonicalize_name(name),
        version,
        _with_parents(modules),
        _requires(fields.get_all("Requires-Dist") or []),
        tool_plugin=any(point.group in PLUGIN_GROUPS for point in dist.entry_points),
        stubs_only=stubs and not modules,
    )


def site_packages(environment: Path) -> Path | None:
    """The site-packages folder of the virtual environment at ``environment``."""
    found = sorted(environment.glob("lib/*/site-packages"))
    return found[0] if found else None


def read(environment: Path) -> tuple[Distribution, ...]:
    """Every distribution installed in the virtual environment at ``environment``, by
    name; empty when it has no site-packages."""
    folder = site_packages(environment)
    return () if folder is None else read_folder(folder)


def read_folder(folder: Path) -> tuple[Distribution, ...]:
    """Every distribution installed in the import folder ``folder``, by name."""
    found: dict[str, Distribution] = {}
    for dist in metadata.distributions(path=[str(folder)]):
        described = _describe(dist)
        if described is not None:
            found.setdefault(described.name, described)
    return tuple(found[name] for name in sorted(found))
