"""Which imported modules the submission's declarations account for: the matching, pure.

A module is declared when a distribution the submission declares directly provides it
(by the installed metadata: ``rest_framework_simplejwt`` is djangorestframework-
simplejwt's), or, without metadata, when a declaration is named like it. One that only
a declared distribution's own requirements install is a transitive import; one provided
only by grader's runners, or by nothing, is undeclared. A declared distribution nothing
imports, uses without an import, or requires is unused.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from grader.core.models import Location
from grader.environment.installed import Distribution
from grader.environment.installed_notes import left_out, with_twins
from grader.environment.providers import ModuleIndex, Provided, by_name, named_alike

# Provided by grader or used as commands rather than imports: never "undeclared" or "unused".
TOOLING = frozenset(
    {
        "pytest", "pytest-cov", "pytest-timeout", "pytest-mock", "pytest-asyncio",
        "pytest-xdist", "coverage", "mypy", "ruff", "black", "flake8", "pylint", "isort",
        "pre-commit", "tox", "nox", "setuptools", "wheel", "pip", "uv", "hatchling",
        "uvicorn", "gunicorn", "bandit", "radon", "ipython", "jupyter", "notebook",
    }
)  # fmt: skip
# Without metadata, the names that say a distribution is used without an import: pytest
# and flake8 plugins load themselves, stub packages are read by type checkers.
_USED_WITHOUT_IMPORT_PREFIXES = ("pytest-", "flake8-", "types-")


@dataclass(frozen=True)
class Undeclared:
    """An imported module no directly declared distribution provides."""

    module: str
    where: Location
    providers: tuple[str, ...] = ()
    """The installed distributions that provide it, each a dependency of another; none
    when nothing installed provides it."""
    required_by: tuple[str, ...] = ()


@dataclass(frozen=True)
class Check:
    """What the code imports against what the submission declares."""

    undeclared: tuple[Undeclared, ...]
    unused: tuple[str, ...]
    transitive: tuple[Undeclared, ...] = ()
    """Imports a declared distribution installs as one of its own requirements (starlette
    for FastAPI, pydantic for SQLModel): every install of the declared one has them, so
    the code runs; what it uses is still pinned by someone else's requirements."""


def _provided(module: str, index: ModuleIndex | None) -> Provided:
    if index is None:
        return Provided(module.split(".", 1)[0], frozenset())
    return index.provided(module)


def check(
    imported: Mapping[str, Location],
    direct: frozenset[str],
    installed: tuple[Distribution, ...] | None,
    also_declared: frozenset[str] = frozenset(),
    optional: frozenset[str] = frozenset(),
) -> Check:
    """Undeclared imports and unused declarations. ``installed`` is what the test
    environment holds, or None to match by canonical name. With an environment, a module
    nothing installed provides is matched by name to the declarations left out of it
    (a requirement dropped for the host's sake), generously: the candidate did declare
    them, and only their names are left to say what they provide. An ``optional`` module
    (every import of it guarded, or a fallback) uses what provides it but is never
    undeclared: the code runs without it."""
    index = None if installed is None else ModuleIndex.of(installed)
    # A module an extra or a group provides (read from its wheel) is declared there.
    accepted = with_twins(direct) | TOOLING | also_declared
    # Only names are left to say what a declaration provides when nothing was installed,
    # or for one left out of the environment: matched generously (pyyaml and yaml), since
    # a match only ever spares the candidate a charge.
    by_names = _ByName(
        (left_out(direct, installed) if installed is not None else direct) | also_declared
    )
    found: dict[str, Undeclared] = {}
    by_dist = {dist.name: dist for dist in installed or ()}
    # Only what a production install has: a dev group's tool pulling in yaml does not make
    # the runtime code's ``import yaml`` run anywhere but on a developer's machine.
    reach = _requirements_of(with_twins(direct), by_dist)
    used = _Used(set(), set())
    for module, where in imported.items():
        provided = _provided(module, index)
        used.providers.update(provided.distributions)
        used.modules.update(() if provided.distributions else [module])
        if module in optional or provided.distributions & accepted:
            continue
        if not provided.distributions and by_names.declares(module):
            continue
        requirers = {
            dist.name
            for dist in installed or ()
            if dist.requires & provided.distributions and dist.name not in provided.distributions
        }
        providers = tuple(sorted(provided.distributions))
        found.setdefault(
            provided.module, Undeclared(provided.module, where, providers, tuple(sorted(requirers)))
        )
    # A declaration another declared distribution requires (a pip freeze lists them
    # all; an extra's driver such as asyncpg for SQLAlchemy) is pinned, not dead weight.
    required = {r for name in direct if name in by_dist for r in by_dist[name].requires}
    unused = sorted(
        name for name in direct if name not in required and not _used(name, used, by_dist, by_names)
    )
    ordered = [found[m] for m in sorted(found)]
    return Check(
        tuple(u for u in ordered if not set(u.providers) & reach),
        tuple(unused),
        tuple(u for u in ordered if set(u.providers) & reach),
    )


def _requirements_of(declared: Collection[str], by_dist: Mapping[str, Distribution]) -> set[str]:
    """Every installed distribution the ``declared`` ones require, directly or through
    another (markers and extras not evaluated: what is installed is what counts)."""
    reached: set[str] = set()
    pending = [name for name in declared if name in by_dist]
    while pending:
        for required in by_dist[pending.pop()].requires:
            if required in by_dist and required not in reached:
                reached.add(required)
                pending.append(required)
    return reached


@dataclass(frozen=True)
class _ByName:
    """Declarations only names can match to imports (without an environment, or left out
    of one), matched generously (``named_alike``)."""

    declarations: Collection[str]

    def named_like(self, distribution: str, module: str) -> bool:
        """Whether ``distribution`` (or its binary twin) is named like ``module``."""
        if by_name(module) in with_twins([distribution]):
            return True
        return named_alike(distribution, module)

    def declares(self, module: str) -> bool:
        """Whether grader's tooling or a declaration is named like ``module``."""
        return by_name(module) in TOOLING or any(
            self.named_like(d, module) for d in self.declarations
        )


@dataclass(frozen=True)
class _Used:
    """What the imports use: installed distributions that provide them, and the imports
    nothing installed provides."""

    providers: set[str]
    modules: set[str]


def _used(name: str, used: _Used, installed: Mapping[str, Distribution], by_names: _ByName) -> bool:
    """Whether a declared distribution (or the binary twin installed in its place) is
    imported, or used without an import: by its metadata when installed, else by name."""
    if name in TOOLING:
        return True
    held = [installed[n] for n in with_twins([name]) if n in installed]
    if held:
        return any(d.tool_plugin or d.stubs_only or d.name in used.providers for d in held)
    if name.startswith(_USED_WITHOUT_IMPORT_PREFIXES):
        return True
    return any(by_names.named_like(name, module) for module in used.modules)
