"""What the report says about a built test environment: what the code imports that
nothing declares, so grader did not install.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from grader.core.models import Location
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
