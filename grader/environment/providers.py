"""Which distribution provides an imported module: from the metadata of what was
installed, or, without it, by name.

With metadata the answer is exact: the distributions whose files hold the deepest level
of the import that anything installed provides (``google.cloud.storage`` is
google-cloud-storage's even though a dozen google-* distributions share ``google``).
Without it only names are left, compared after PEP 503 normalisation: ``requests`` is
the distribution requests, and ``yaml`` matches no distribution named ``pyyaml``. No
table of well-known names stands in for metadata: a guessed name is how a look-alike
distribution gets installed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from packaging.utils import canonicalize_name

from grader.environment.installed import Distribution

# Shorter names are left to exact matches: "py" is inside too many names to mean anything.
_SHORTEST_CONTAINED = 3


@dataclass(frozen=True)
class Provided:
    """What provides one import: the shortest level of it that names those providers
    (``django`` for ``django.db.models``; ``google.cloud.storage`` inside ``google``),
    and the installed distributions, none when nothing installed provides it."""

    module: str
    distributions: frozenset[str]


@dataclass(frozen=True)
class ModuleIndex:
    """Every dotted module installed, with the distributions providing it."""

    by_module: Mapping[str, frozenset[str]]

    @classmethod
    def of(cls, installed: Iterable[Distribution]) -> ModuleIndex:
        """The index of what ``installed`` provides."""
        by_module: dict[str, set[str]] = {}
        for dist in installed:
            for module in dist.modules:
                by_module.setdefault(module, set()).add(dist.name)
        return cls({module: frozenset(names) for module, names in by_module.items()})

    def provided(self, module: str) -> Provided:
        """The installed distributions providing the deepest level of ``module`` that
        anything installed provides."""
        parts = module.split(".")
        levels = [".".join(parts[:end]) for end in range(1, len(parts) + 1)]
        deepest = next((self.by_module[m] for m in reversed(levels) if m in self.by_module), None)
        if deepest is None:
            return Provided(parts[0], frozenset())
        # A deeper level's providers are among its parent's: the first level with the
        # same providers is the shortest name that says what the import needs.
        shortest = next(m for m in levels if self.by_module.get(m) == deepest)
        return Provided(shortest, deepest)


def by_name(module: str) -> str:
    """The canonical distribution name spelled like ``module``'s top level."""
    return canonicalize_name(module.split(".", 1)[0])


def _letters(name: str) -> str:
    return "".join(c for c in name.lower() if c.isalnum())


def named_alike(distribution: str, module: str) -> bool:
    """Whether a distribution's name suggests it provides ``module``: the same after
    normalisation, or one's letters and digits hold the other's (pyyaml and yaml,
    python-dateutil and dateutil, django-filter and django_filters).

    Generous on purpose, for choosing among the candidate's own declarations only,
    where nothing installed can say (which of their requirement files to use, which
    requirement left out of the environment an import or a failure belongs to): it never
    installs anything they did not declare, and only ever spares them a charge."""
    if canonicalize_name(distribution) == by_name(module):
        return True
    theirs, imported = _letters(distribution), _letters(module.split(".", 1)[0])
    shorter = min(theirs, imported, key=len)
    return len(shorter) >= _SHORTEST_CONTAINED and (imported in theirs or theirs in imported)
