"""What the report says about a built test environment: what was installed and from which
declaration, and what the code imports that nothing declares, so grader did not install.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from grader.core.models import Location
from grader.environment.cache import RUNNER_DISTRIBUTIONS
from grader.environment.installed import Distribution
from grader.environment.providers import ModuleIndex, named_alike
from grader.environment.resolution import BINARY_TWINS


def with_twins(names: Collection[str]) -> set[str]:
    """Canonical ``names`` and the binary twins grader installs in their place."""
    twins = {
        canonicalize_name(Requirement(BINARY_TWINS[n]).name) for n in names if n in BINARY_TWINS
    }
    return {*names, *twins}


def left_out(declared: Collection[str], held: Collection[Distribution]) -> set[str]:
    """The ``declared`` names that are not installed, nor their twins: only their names
    can say what they provide. An installed one's metadata says it exactly (psycopg is
    installed and provides no psycopg2)."""
    installed = {dist.name for dist in held}
    return {name for name in declared if not with_twins([name]) & installed}


def not_installed(
    imported: Mapping[str, Location], declared: Collection[str], held: Collection[Distribution]
) -> tuple[str, ...]:
    """Top-level modules of ``imported`` that nothing in ``held`` provides and no
    declared name left out resembles (a requirement left out has its own note)."""
    if not held:
        return ()
    index = ModuleIndex.of(held)
    names = left_out(declared, held)
    missing = {
        provided.module
        for module in imported
        if not (provided := index.provided(module)).distributions
        and not any(named_alike(name, module) for name in names)
    }
    return tuple(sorted(missing))


def _listed(dists: list[Distribution], origin: Mapping[str, str] | None = None) -> str:
    def one(dist: Distribution) -> str:
        where = f" ({origin[dist.name]})" if origin and dist.name in origin else ""
        return f"{dist.name} {dist.version}{where}"

    return ", ".join(map(one, dists))


def installed_note(
    held: tuple[Distribution, ...], origin: Mapping[str, str], runners: Collection[str] = ()
) -> str:
    """'installed: django 5.0.6 (requirements.txt), ...; grader's runners: pytest 8.3.2,
    ...; as dependencies: asgiref 3.8.1, ...'. ``origin`` maps each declared name to
    the file declaring it; ``runners`` are what grader added to run the tests beside
    pytest, pytest-timeout and coverage."""
    origin = dict(origin)
    for name, twin in BINARY_TWINS.items():
        if name in origin:
            origin.setdefault(canonicalize_name(Requirement(twin).name), origin[name])
    grader_s = [*RUNNER_DISTRIBUTIONS, *map(canonicalize_name, runners)]
    by_name = {dist.name: dist for dist in held}
    theirs = [dist for dist in held if dist.name in origin]
    own = [by_name[name] for name in grader_s if name in by_name and name not in origin]
    others = [dist for dist in held if dist not in theirs and dist not in own]
    parts = [f"installed: {_listed(theirs, origin) or 'nothing the submission declared'}"]
    parts.append(f"grader's runners: {_listed(own)}")
    if others:
        parts.append(f"as dependencies: {_listed(others)}")
    return "; ".join(parts)
