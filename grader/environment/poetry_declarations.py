"""What a pyproject.toml declares to Poetry: its dependency tables, its test groups and
extras, and Poetry's version constraints read by Poetry's own parser (poetry-core).

``[tool.poetry.dependencies]``, the legacy ``dev-dependencies`` and the test groups'
tables are read. Each dependency is made by poetry-core exactly as Poetry makes it
(``^0.2.3`` is ``>=0.2.3,<0.3.0``, ``~1.2.3`` is ``>=1.2.3,<1.3.0``, ``||`` unions,
extras, ``python``/``platform``/``markers``, a list of constraints per Python) and written
as PEP 508. An optional dependency is read only when a test extra names it. A git, path
or URL dependency is a direct reference: declared, never installed from the index.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

# packaging before poetry-core: importing poetry.core puts its vendored copy of packaging
# first on sys.path, and grader must keep the packaging it pins.
from packaging.markers import InvalidMarker, Marker
from packaging.utils import canonicalize_name

from grader.environment.requirement_entries import (
    TEST_EXTRAS,
    Collector,
    strings_at,
    table_at,
)

if TYPE_CHECKING:
    from poetry.core.constraints.version import VersionConstraint

# poetry-core is imported in the functions that use it, not at the top: it takes 25 ms to
# import, and only a submission that declares its dependencies to Poetry needs it.

# Poetry's keys for a dependency that does not come from the package index.
_DIRECT = {"git": "a git repository", "path": "a path", "url": "a URL"}
_TEXT_KEYS = ("version", "python", "platform", "markers")


def poetry_test_groups(data: dict[str, Any]) -> tuple[list[str], list[str]]:
    """The groups and extras meant for testing that a pyproject declares to poetry (its
    own groups, the legacy dev-dependencies, PEP 735 groups), as ``poetry export`` names
    them: asking for a group that does not exist is an error there."""
    poetry = table_at(data, "tool", "poetry")
    groups = set(table_at(poetry, "group")) | set(table_at(data, "dependency-groups"))
    if table_at(poetry, "dev-dependencies"):
        groups.add("dev")
    extras = set(table_at(poetry, "extras"))
    extras |= set(table_at(data, "project", "optional-dependencies"))
    return sorted(groups & set(TEST_EXTRAS)), sorted(extras & set(TEST_EXTRAS))


def pep440(constraint: VersionConstraint) -> str:
    """A Poetry constraint as a PEP 440 specifier ('' for any version). PEP 440 has no
    "or": a union with a gap wider than one version is widened to span its parts, a bound
    any version the resolver picks inside it almost always meets. ValueError when no
    version satisfies it."""
    from poetry.core.constraints.version import VersionRange, VersionUnion  # noqa: PLC0415

    if constraint.is_any():
        return ""
    if constraint.is_empty():
        raise ValueError("no version satisfies the constraint")
    if isinstance(constraint, VersionUnion) and not (
        constraint.excludes_single_version or constraint.excludes_single_wildcard_range
    ):
        first, last = constraint.ranges[0], constraint.ranges[-1]
        constraint = VersionRange(first.min, last.max, first.include_min, last.include_max)
    written = str(constraint).replace(" ", "")
    return written if written[0] in "<>=!~" else f"=={written}"


def poetry_python(value: str) -> str | None:
    """Poetry's ``python`` constraint as a PEP 440 specifier; None when Poetry could not
    read it either."""
    from poetry.core.constraints.version import parse_constraint  # noqa: PLC0415

    try:
        return pep440(parse_constraint(value)) or None
    except ValueError:
        return None


def _problem(spec: Any) -> str | None:
    """Why a dependency's table is not one Poetry reads, checked before poetry-core sees
    it: its parsers raise anything, a bare marker error included."""
    table = spec if isinstance(spec, dict) else {"version": spec}
    for key in _TEXT_KEYS:
        if key in table and not isinstance(table[key], str):
            return f"its {key} is not a string"
    extras = table.get("extras", [])
    if not (isinstance(extras, list) and all(isinstance(e, str) for e in extras)):
        return "its extras are not a list of names"
    try:
        Marker(table.get("markers") or "python_version > '0'")
    except InvalidMarker:
        return "its markers are not PEP 508 markers"
    return None


def _requirement(name: str, spec: Any) -> str | None:
    """One dependency made by poetry-core, as PEP 508; None when Poetry refuses it."""
    from poetry.core.factory import Factory  # noqa: PLC0415

    try:
        dependency = Factory.create_dependency(name, spec)
        version = pep440(dependency.constraint)
    except ValueError:
        return None
    extras = f"[{','.join(sorted(dependency.extras))}]" if dependency.extras else ""
    marker = "" if dependency.marker.is_any() else f"; {dependency.marker}"
    return f"{name}{extras}{version}{marker}"


def _add(name: str, spec: Any, optional_ok: bool, collector: Collector) -> None:
    direct = [kind for key, kind in _DIRECT.items() if isinstance(spec, dict) and key in spec]
    if direct:
        collector.reference(name, "pyproject.toml", direct[0])
        return
    if isinstance(spec, dict) and spec.get("optional") is True and not optional_ok:
        return  # installed only with an extra, and no test extra names it
    problem = _problem(spec)
    requirement = None if problem else _requirement(name, spec)
    if requirement is None:
        why = problem or "Poetry cannot read its constraint, or no version satisfies it"
        collector.problems.append(f"pyproject.toml: {name} left out: {why}")
        return
    collector.add(requirement, "pyproject.toml")


def add_poetry_entries(data: dict[str, Any], collector: Collector) -> None:
    """The runtime, dev and test-group dependencies declared to Poetry, as PEP 508; a
    list of constraints (one per Python or platform) gives an entry for each."""
    poetry = table_at(data, "tool", "poetry")
    extras = table_at(poetry, "extras")
    in_test_extras = {
        canonicalize_name(name) for extra in TEST_EXTRAS for name in strings_at(extras, extra)
    }
    tables = [table_at(poetry, "dependencies"), table_at(poetry, "dev-dependencies")]
    tables += [table_at(poetry, "group", g, "dependencies") for g in TEST_EXTRAS]
    for table in tables:
        for name, spec in table.items():
            if name.lower() == "python":
                continue
            optional_ok = canonicalize_name(name) in in_test_extras
            for each in spec if isinstance(spec, list) else [spec]:
                _add(name, each, optional_ok, collector)
