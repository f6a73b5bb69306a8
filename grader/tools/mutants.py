"""Which mutants a submission gets: the places cosmic-ray's operators can change, a
seeded sample of them, each mutant's source and its change in words. Pure, on the host:
parsing and rewriting source text never runs the candidate's code (compile() only checks
that a mutant is still valid Python).

The sample is reproducible: its seed is a hash of the measured files' contents, the
places are sorted, and a place on a line the tests ran is the only kind drawn when
coverage says which lines ran (a mutant on a line no test runs survives by definition;
coverage already reports that). Each drawn place gets one of the operators that apply
there, so lines with many possible replacements (``+`` has eleven) are not favoured.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cosmic_ray.operators.operator import Operator

MAX_MUTATED_BYTES = 512 * 1024
MAX_ENUMERATED_BYTES = 256 * 1024
"""Places are looked for in a seeded choice of files up to this much source (cosmic-ray's
operators look at every node: about a second per 50 KB)."""


@cache
def operators() -> dict[str, type[Operator]]:
    """The operators mutants are drawn from, by name.

    Left out: the variable replacer and inserter (random by design), the exception replacer
    (it needs cosmic-ray's own exception injected into builtins) and decorator removal (a
    change of several lines, rarely one a test is meant to catch)."""
    # Imported when first used, not at the top: cosmic-ray and parso take 25 ms to import,
    # and mutants are drawn only after the suite has run.
    from cosmic_ray.operators import (  # noqa: PLC0415
        binary_operator_replacement,
        boolean_replacer,
        break_continue,
        comparison_operator_replacement,
        number_replacer,
        unary_operator_replacement,
        zero_iteration_for_loop,
    )

    return {
        op.__name__: op
        for op in (
            *binary_operator_replacement.operators(),
            *comparison_operator_replacement.operators(),
            *unary_operator_replacement.operators(),
            boolean_replacer.AddNot,
            boolean_replacer.ReplaceTrueWithFalse,
            boolean_replacer.ReplaceFalseWithTrue,
            boolean_replacer.ReplaceAndWithOr,
            boolean_replacer.ReplaceOrWithAnd,
            break_continue.ReplaceBreakWithContinue,
            break_continue.ReplaceContinueWithBreak,
            number_replacer.NumberReplacer,
            zero_iteration_for_loop.ZeroIterationForLoop,
        )
    }


_ORDINALS = {1: "first", 2: "second", 3: "third"}


@dataclass(frozen=True, order=True)
class Site:
    """One change one operator can make: the ``occurrence``-th of that operator's places
    in the file, starting at ``line``:``column`` and ending at ``end_column``."""

    path: str
    line: int
    column: int
    end_column: int
    operator: str
    occurrence: int
    index: int = 0
    """Which of the operator's changes at this place (NumberReplacer has two)."""


@dataclass(frozen=True)
class Mutant:
    """A sampled site with its mutated source and the change in words."""

    site: Site
    source: str
    change: str


def seed(sources: Mapping[str, str]) -> int:
    """A seed from the files' names and contents: same code, same sample."""
    digest = hashlib.sha256()
    for path in sorted(sources):
        digest.update(path.encode("utf-8", "surrogateescape") + b"\0")
        digest.update(sources[path].encode("utf-8", "surrogateescape") + b"\0")
    return int.from_bytes(digest.digest()[:8], "big")


@cache
def families() -> dict[str, list[str]]:
    """Operators that change exactly the same places, by family: a binary operator
    replacement finds its places by the operator it replaces alone
    (``ReplaceBinaryOperator_Add_Sub`` and ``..._Add_Mul`` both find every ``+``), so one
    member's places are every member's. Every other operator is a family of its own (the
    comparison replacements also look at the right-hand side; the unary ones are not
    named from-to). Enumeration takes about a fifth of the time."""
    families: dict[str, list[str]] = {}
    for name in operators():
        kind, _, rest = name.partition("_")
        grouped = kind == "ReplaceBinaryOperator"
        family = f"{kind}_{rest.split('_')[0]}" if grouped else name
        families.setdefault(family, []).append(name)
    return families


def _file_sites(path: str, source: str) -> Iterator[Site]:
    from cosmic_ray.ast import ast_nodes, get_ast  # noqa: PLC0415 (see operators)

    tree = get_ast(source)
    nodes = list(ast_nodes(tree))
    for members in families().values():
        operator = operators()[members[0]]()
        occurrence = 0
        for node in nodes:
            for index, (start, end) in enumerate(operator.mutation_positions(node)):
                end_column = end[1] if end[0] == start[0] else start[1] + 1
                for name in members:
                    yield Site(path, start[0], start[1], end_column, name, occurrence, index)
                occurrence += 1


def sites(sources: Mapping[str, str], covered: Mapping[str, frozenset[int]] | None) -> list[Site]:
    """Every site in ``sources`` (on a covered line when ``covered`` is known), sorted;
    in a large submission, in a seeded choice of files (MAX_ENUMERATED_BYTES)."""
    found: list[Site] = []
    paths = sorted(sources)
    random.Random(seed(sources)).shuffle(paths)  # noqa: S311 - reproducible, not secret
    read = 0
    for path in paths:
        source = sources[path]
        lines = covered.get(path, frozenset()) if covered is not None else None
        if len(source) > MAX_MUTATED_BYTES or lines == frozenset():
            continue
        if read and read + len(source) > MAX_ENUMERATED_BYTES:
            break
        read += len(source)
        try:
            found += [s for s in _file_sites(path, source) if lines is None or s.line in lines]
        except (RecursionError, ValueError, MemoryError, SyntaxError):
            continue  # a file too deep or odd to rewrite is simply not mutated
    return sorted(found)


def _change(site: Site, before: str, after: str) -> str:
    old_lines, new_lines = before.splitlines(), after.splitlines()
    where = f"{site.path}:{site.line}"
    if len(old_lines) != len(new_lines) or site.line > len(old_lines):
        return f"{site.operator} changed {where}"
    old, new = old_lines[site.line - 1], new_lines[site.line - 1]
    grown = len(new) - len(old)
    was = old[site.column : site.end_column].strip()
    now = new[site.column : site.end_column + grown].strip()
    if not was or not now or was == now:
        return f"`{old.strip()[:80]}` became `{new.strip()[:80]}` at {where}"
    if old.count(was) > 1:
        nth = old[: site.column].count(was) + 1
        where += f" (its {_ORDINALS.get(nth, f'{nth}th')} `{was[:60]}`)"
    return f"`{was[:60]}` became `{now[:60]}` at {where}"


def _mutate(site: Site, source: str) -> Mutant | None:
    from cosmic_ray.mutating import mutate_code  # noqa: PLC0415 (see operators)

    try:
        mutated = mutate_code(source, operators()[site.operator](), site.occurrence)
        if mutated is None or mutated == source:
            return None
        compile(mutated, site.path, "exec", dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError, AssertionError):
        return None
    return Mutant(site, mutated, _change(site, source, mutated))


def sample(sources: Mapping[str, str], found: list[Site], count: int) -> list[Mutant]:
    """Up to ``count`` valid mutants, one per place, drawn with the sources' seed."""
    by_place: dict[tuple[str, int, int], list[Site]] = {}
    for site in found:
        by_place.setdefault((site.path, site.line, site.column), []).append(site)
    places = sorted(by_place)
    rng = random.Random(seed(sources))  # noqa: S311 - a reproducible sample, not a secret
    rng.shuffle(places)
    chosen: list[Mutant] = []
    for place in places:
        if len(chosen) >= count:
            break
        options = by_place[place]
        for site in rng.sample(options, len(options)):
            mutant = _mutate(site, sources[site.path])
            if mutant is not None:
                chosen.append(mutant)
                break
    return chosen
