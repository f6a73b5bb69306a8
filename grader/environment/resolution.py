"""How grader gets a candidate's requirement set to install, one bounded round at a time.

A ``Plan`` is the set to install plus every change made to it so far. When uv refuses
a set, ``Plan.after`` reads uv's message and returns the next plan, the way a careful
reviewer would go about it by hand:

1. The candidate pins pytest, pluggy or coverage: grader's runners are resolved together
   with their set at any version grader supports (``RUNNER_RANGES``), keeping their pin
   when it lies inside that range. Only when that fails are their pins overridden.
2. A package without a wheel for this platform is swapped for its binary twin
   (``psycopg2`` → ``psycopg2-binary``).
3. An exact pin of a release with no wheel for this Python (a 2019 freeze on a 2026
   interpreter) is raised to that release or newer, as a reviewer bumps a stale pin.
4. The requirements uv names as the cause are dropped, each with uv's reason and who is
   at fault: the candidate (a package that does not exist, a version never published,
   pins that contradict each other) or the grading host (no wheel for this platform, no
   interpreter new enough, a conflict with grader's own runners, the index unreachable).

Pure: no I/O, so every rule is table-tested.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name

from grader.environment import stale_pins

# The oldest runner versions whose options grader uses (pytest's ``pythonpath`` ini
# option, coverage's ``--data-file``, pytest-timeout's ``--timeout``).
RUNNER_RANGES = {"pytest": ">=7.0", "pytest-timeout": ">=2.1", "coverage": ">=7.0"}
# Pinning any of these decides which runner versions can be installed.
RUNNER_RELATED = frozenset({*RUNNER_RANGES, "pluggy", "iniconfig"})
BINARY_TWINS = {
    "psycopg2": "psycopg2-binary",
    "pysqlite3": "pysqlite3-binary",
    "psycopg": "psycopg[binary]",
}
# uv: "the current Python version (3.7.16) does not satisfy Python>=3.10 and
# pytest==9.0.3 depends on Python>=3.10".
_OLDER_PYTHON = re.compile(r"current python version \([\d.]+\) does not satisfy python", re.I)
_NAME = r"([a-z0-9](?:[a-z0-9._-]*[a-z0-9])?)"
# One clause (==1.4.1) or a range of them (>=1.4.0,<=1.4.3): a range's last bound is
# not a distribution named "1.4.3".
_VERSION = r"(?:[=<>!~]=?[^\s,]+(?:,[=<>!~]=?[^\s,]+)*)?"


class Fault(StrEnum):
    """Who is to blame for a requirement that could not be installed."""

    NONE = "none"
    CANDIDATE = "candidate"
    HOST = "host"


@dataclass(frozen=True)
class Dropped:
    """A requirement left out of the environment, uv's reason, and whose fault it was."""

    requirement: str
    reason: str
    fault: Fault

    @property
    def name(self) -> str:
        """Canonical distribution name."""
        return _name(self.requirement)


# (pattern over uv's lower-cased message, what it means, whose fault)
_CAUSES: tuple[tuple[re.Pattern[str], str, Fault], ...] = (
    (
        re.compile(rf"{_NAME} was not found in the package registry"),
        "does not exist on the package index",
        Fault.CANDIDATE,
    ),
    (
        re.compile(rf"there (?:is|are) no versions? of {_NAME}"),
        "has no published version that matches",
        Fault.CANDIDATE,
    ),
    (
        _NO_WHEEL := re.compile(
            rf"(?:all versions of )?{_NAME}({_VERSION}) (?:has|have) no (?:usable )?wheels?"
        ),
        "has no wheel for this platform and source builds are off",
        Fault.HOST,
    ),
    (
        re.compile(rf"{_NAME}{_VERSION} depends on python(?![\w.-])"),
        "needs a newer Python than this host has",
        Fault.HOST,
    ),
    (
        re.compile(rf"failed to build `?{_NAME}"),
        "failed to build from source",
        Fault.HOST,
    ),
)
_UNREACHABLE = re.compile(
    r"failed to fetch|error sending request|dns error|connection (?:refused|reset)|"
    r"network was disabled|not found in the cache|timed out|failed to download"
)


def _plain(problem: str) -> str:
    """uv's message lower-cased, without the environment markers it writes after a name
    (``typed-ast{python_full_version < '4'}==1.4.1``), so names and versions read alike
    whether the requirement carried a marker or not."""
    return re.sub(r"\{[^{}]*\}", "", problem.lower())


def lacking_wheels(problem: str, items: tuple[str, ...]) -> dict[str, SpecifierSet]:
    """The distributions uv says have no wheel, each with the versions wanted of it: the
    candidate's own specifiers and those of the packages that depend on it."""
    text = _plain(problem)
    wanted: dict[str, SpecifierSet] = {}
    for match in _NO_WHEEL.finditer(text):
        name = canonicalize_name(match.group(1))
        specifiers = [match.group(2)] if match.group(2) else []
        specifiers += [_specifier(i) for i in items if _name(i) == name]
        pattern = re.escape(name).replace(r"\-", "[-_.]")
        specifiers += re.findall(rf"depends on {pattern}((?:[=<>!~]=?[^\s,]+,?)+)", text)
        combined = SpecifierSet()
        for specifier in specifiers:
            try:
                combined &= SpecifierSet(specifier.rstrip(","))
            except InvalidSpecifier:
                continue
        wanted[name] = combined
    return wanted


def _specifier(item: str) -> str:
    try:
        return str(Requirement(item).specifier)
    except InvalidRequirement:
        return ""


def _name(item: str) -> str:
    try:
        return canonicalize_name(Requirement(item).name)
    except InvalidRequirement:
        return canonicalize_name(item)


def _mentions(text: str, name: str) -> int:
    """Position of the last mention of a distribution in uv's message, or -1."""
    pattern = re.escape(name).replace(r"\-", "[-_.]")
    found = list(re.finditer(rf"(?<![\w.-]){pattern}(?![\w-])", text))
    return found[-1].start() if found else -1


def _pinned_outside(item: str, allowed: str) -> bool:
    """A pin (==X) that the supported range excludes; ranges are left to the resolver."""
    try:
        specifier = Requirement(item).specifier
    except InvalidRequirement:
        return False
    pins = [s.version for s in specifier if s.operator in {"==", "==="}]
    return any(not SpecifierSet(allowed).contains(pin, prereleases=True) for pin in pins)


@dataclass(frozen=True)
class Plan:
    """A requirement set to try, and how it came to differ from what was declared."""

    items: tuple[str, ...]
    runner: tuple[str, ...]
    stage: str = "pinned"
    """pinned: grader's exact runner versions; ranged: any supported version;
    overridden: the candidate's runner pins replaced by grader's; overridden, ranged:
    then by any supported version, grader's own needing a newer Python."""
    pins: tuple[str, ...] = ()
    dropped: tuple[Dropped, ...] = ()
    changes: tuple[str, ...] = ()
    twins: frozenset[str] = field(default_factory=frozenset)
    raised: frozenset[str] = field(default_factory=frozenset)
    """Names whose exact pin was raised because that release has no wheel here."""
    failure_fault: Fault = Fault.NONE

    @classmethod
    def start(cls, items: tuple[str, ...], pins: list[str]) -> Plan:
        """The declared set with grader's runners; relaxed from the start when the
        candidate pins the runners themselves."""
        related = [i for i in items if _name(i) in RUNNER_RELATED]
        if not related:
            return cls(tuple(items), tuple(pins), pins=tuple(pins))
        outside = [i for i in related if _pinned_outside(i, RUNNER_RANGES.get(_name(i), ""))]
        kept = tuple(i for i in items if i not in outside)
        mentioned = {_name(i) for i in related}
        if mentioned & {"pluggy", "iniconfig"}:
            mentioned.add("pytest")  # pytest's own dependencies decide its version
        # Runners the candidate does not pin stay at grader's versions, for reproducibility.
        runner = tuple(
            f"{_name(pin)}{RUNNER_RANGES[_name(pin)]}" if _name(pin) in mentioned else pin
            for pin in pins
        )
        relaxed = [r for r in runner if r not in pins]
        changes = [
            f"resolved your {', '.join(related)} together with grader's runners at any "
            f"supported version ({', '.join(relaxed)})"
        ]
        if outside:
            changes.append(
                f"overrode your {', '.join(outside)}: outside the versions grader can drive"
            )
        return cls(kept, runner, "ranged", tuple(pins), changes=tuple(changes))

    @property
    def fault(self) -> Fault:
        """The candidate's when any requirement was dropped through their fault."""
        faults = {d.fault for d in self.dropped}
        if Fault.CANDIDATE in faults:
            return Fault.CANDIDATE
        return Fault.HOST if faults else Fault.NONE

    def listing(self) -> list[str]:
        """The lines of the requirements file handed to uv."""
        return [*self.items, *self.runner]

    def after(self, problem: str) -> Plan | None:
        """The next plan after uv refused this one with ``problem``; None to give up."""
        text = _plain(problem)
        if _UNREACHABLE.search(text):
            return None
        steps = (
            self._override_runners,
            self._binary_twins,
            self._unpin_for_runners,
            self._raise_pins_without_wheels,
        )
        for step in (*steps, self._drop_causes):
            following = step(text)
            if following is not None:
                return following
        return None

    def _runner_involved(self, text: str) -> bool:
        return any(_mentions(text, name) >= 0 for name in RUNNER_RELATED)

    def _override_runners(self, text: str) -> Plan | None:
        if not self._runner_involved(text):
            return None
        if self.stage == "overridden" and _OLDER_PYTHON.search(text):
            # grader's own versions need a newer Python than the one the project asks
            # for (3.7 for a project that stops at 3.10): the newest that runs on it.
            ranged = tuple(f"{name}{spec}" for name, spec in RUNNER_RANGES.items())
            change = (
                f"took its runners at the newest versions this Python runs "
                f"({', '.join(ranged)}): {', '.join(self.pins)} need a newer one"
            )
            stage = "overridden, ranged"
            return replace(self, runner=ranged, stage=stage, changes=(*self.changes, change))
        if self.stage.startswith("overridden"):
            return None
        theirs = [i for i in self.items if _name(i) in RUNNER_RELATED]
        if self.stage == "pinned" and not theirs:
            # A dependency of theirs needs other runner versions: let the resolver choose.
            ranged = tuple(f"{name}{spec}" for name, spec in RUNNER_RANGES.items())
            change = f"resolved grader's runners at any supported version ({', '.join(ranged)})"
            return replace(self, runner=ranged, stage="ranged", changes=(*self.changes, change))
        if not theirs:
            return None
        change = f"overrode your {', '.join(theirs)} with grader's {', '.join(self.pins)}"
        return replace(
            self,
            items=tuple(i for i in self.items if i not in theirs),
            runner=self.pins,
            stage="overridden",
            changes=(*self.changes, change),
        )

    def _binary_twins(self, text: str) -> Plan | None:
        swaps = {
            item: BINARY_TWINS[_name(item)]
            for item in self.items
            if _name(item) in BINARY_TWINS
            and _name(item) not in self.twins
            and _mentions(text, _name(item)) >= 0
        }
        if not swaps:
            return None
        twin_of = {item: twin + str(Requirement(item).specifier) for item, twin in swaps.items()}
        items = tuple(twin_of.get(i, i) for i in self.items)
        changes = tuple(f"installed {twin} in place of {item}" for item, twin in twin_of.items())
        return replace(
            self,
            items=items,
            changes=(*self.changes, *changes),
            twins=self.twins | {_name(i) for i in swaps},
        )

    def _raise_pins_without_wheels(self, text: str) -> Plan | None:
        """Exact pins of releases with no wheel here become "that release or a newer one of
        the same major version", the nearest releases that install: a newer major of numpy
        under the candidate's pinned pandas breaks its binary interface at import. Only
        when that major has no wheel either is the bound taken off."""
        lacking: set[str] = {canonicalize_name(m.group(1)) for m in _NO_WHEEL.finditer(text)}
        items, changes = stale_pins.raised(self.items, dict.fromkeys(lacking - self.raised, 1))
        why = ["that release has no wheel for this Python"] * len(changes)
        items, further = stale_pins.unbounded(items, lacking & self.raised)
        why += ["no release of that major version has a wheel for this Python"] * len(further)
        if not changes and not further:
            return None
        return replace(
            self,
            items=items,
            changes=(
                *self.changes,
                *(f"raised your {c}: {w}" for c, w in zip(changes + further, why, strict=True)),
            ),
            raised=self.raised
            | {_name(old) for old, new in zip(self.items, items, strict=True) if old != new},
        )

    def causes(self, text: str) -> list[Dropped]:
        """The requirements of this plan that uv's message names as the cause."""
        by_name = {_name(i): i for i in self.items}
        matches = [
            (canonicalize_name(match.group(1)), meaning, fault)
            for pattern, meaning, fault in _CAUSES
            for match in pattern.finditer(text)
        ]
        named = [
            Dropped(by_name[n], meaning, fault) for n, meaning, fault in matches if n in by_name
        ]
        if named:
            return list({d.requirement: d for d in named}.values())
        mentioned = sorted(
            (position, name) for name in by_name if (position := _mentions(text, name)) >= 0
        )
        if not mentioned:
            return []
        # A conflict: drop the requirement uv names last (the one "you require").
        culprit = by_name[mentioned[-1][1]]
        if matches:  # the cause is one of its own dependencies (no wheel, needs a newer Python)
            name, meaning, fault = matches[0]
            return [Dropped(culprit, f"needs {name}, which {meaning}", fault)]
        if self._runner_involved(text):
            return [Dropped(culprit, "conflicts with the test runners grader drives", Fault.HOST)]
        return [Dropped(culprit, "conflicts with your other requirements", Fault.CANDIDATE)]

    def _unpin_for_runners(self, text: str) -> Plan | None:
        """A pin that only clashes with what the runners need (a lock's old ``packaging``)
        loses its version before the package itself is given up."""
        if not self._runner_involved(text):
            return None
        for dropped in self.causes(text):
            requirement = Requirement(dropped.requirement)
            if (
                dropped.fault is Fault.HOST
                and requirement.specifier
                and not any(pattern.search(text) for pattern, _, _ in _CAUSES)
            ):
                requirement.specifier = SpecifierSet()
                loose = str(requirement)
                change = f"unpinned your {dropped.requirement}: it clashes with grader's runners"
                return replace(
                    self,
                    items=tuple(loose if i == dropped.requirement else i for i in self.items),
                    changes=(*self.changes, change),
                )
        return None

    def _drop_causes(self, text: str) -> Plan | None:
        dropped = self.causes(text)
        if not dropped:
            return None
        gone = {d.requirement for d in dropped}
        return replace(
            self,
            items=tuple(i for i in self.items if i not in gone),
            dropped=(*self.dropped, *dropped),
        )

    def with_change(self, change: str) -> Plan:
        """This plan, with one more thing grader did to make it installable."""
        return replace(self, changes=(*self.changes, change))

    def failed_with(self, problem: str) -> Plan:
        """This plan, marked with who is to blame for ``problem`` ending the rounds."""
        text = _plain(problem)
        if _UNREACHABLE.search(text) or self._runner_involved(text):
            return self.failed(Fault.HOST)
        candidate = any(
            fault is Fault.CANDIDATE and pattern.search(text) for pattern, _, fault in _CAUSES
        )
        conflict = "no solution found" in text and not any(
            fault is Fault.HOST and pattern.search(text) for pattern, _, fault in _CAUSES
        )
        return self.failed(Fault.CANDIDATE if candidate or conflict else Fault.HOST)

    def failed(self, fault: Fault) -> Plan:
        """This plan, marked as failed through ``fault``."""
        return replace(self, failure_fault=fault)

    def record(self) -> dict[str, Any]:
        """What to store beside a built environment, for reports of later cache hits."""
        return {
            "dropped": [[d.requirement, d.reason, d.fault.value] for d in self.dropped],
            "changes": list(self.changes),
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Plan:
        """A finished plan read back from ``record``; unknown shapes count as no change."""
        dropped = record.get("dropped", [])
        changes = record.get("changes", [])
        items = record.get("items", [])
        return cls(
            items=tuple(str(i) for i in items) if isinstance(items, list) else (),
            runner=(),
            dropped=tuple(
                Dropped(str(entry[0]), str(entry[1]), Fault(entry[2]))
                for entry in (dropped if isinstance(dropped, list) else [])
                if isinstance(entry, list) and len(entry) == 3 and entry[2] in set(Fault)
            ),
            changes=tuple(str(c) for c in changes) if isinstance(changes, list) else (),
        )
