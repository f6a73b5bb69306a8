"""Pins made for an older Python: the exact releases a candidate froze that crash on the
host's interpreter, and the same requirements with those pins raised.

A ``pip freeze`` from 2019 pins everything, transitive packages included; some of those
releases use what newer Pythons removed (``importlib-metadata==0.18`` on 3.11, code that
imports ``collections.Mapping``). The suite then dies inside site-packages before any
of the candidate's code runs. A reviewer by hand raises the one pin the traceback ends
in and runs the tests again; grader does the same: the distribution that owns the last
site-packages frame of each traceback, when the candidate pinned it exactly, is raised
to that release or newer. Only what the candidate declared is ever installed.

Pure: the output and the installed distributions come in, names go out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from grader.environment.installed import Distribution

# A traceback frame inside an environment's site-packages, as Python prints it
# (File "…/site-packages/pkg/mod.py", line 3) or as pytest does (…/pkg/mod.py:3: in f),
# also nested in an error pytest reports with "E   " before each line (a package's
# __init__.py failing to import while its tests are set up): the module path after
# site-packages.
_FRAME = re.compile(
    r'(?:File "[^"\n]*|^(?:E\s+)*\S*)/site-packages/([^"\s]+?)(?:/__init__)?\.py(?:", line |:)\d+',
    re.MULTILINE,
)
# grader chooses these itself (resolution.RUNNER_RANGES): never the candidate's stale pin.
RUNNERS = frozenset({"pytest", "coverage", "pytest-timeout"})
# Where one traceback ends: the exception line that closes it.
_RAISED = re.compile(r"^(?:E\s+)*[\w.]*(?:Error|Exception|Configured)\b.*$", re.MULTILINE)
_MISSING = re.compile(r"No module named '(\w+)")
# A missing module is a stale release's doing only when newer Pythons or installers took
# it away; any other is a requirement that was not installed, which no raised pin cures.
LAST_STEP = 2
"""How far one pin is raised at most (see ``raised``)."""
REMOVED_MODULES = frozenset(
    {"pkg_resources", "setuptools", "distutils", "imp", "asynchat", "asyncore", "smtpd"}
)


SEEDED_SETUPTOOLS = "setuptools<82"
"""What ``python -m venv`` puts in every environment of Python 3.11 and older, as far as
the code of that era relies on it: ``pkg_resources``, which setuptools 82 removed."""
SEEDED_UNTIL = (3, 12)
"""The first Python whose ``venv`` seeds no setuptools."""
_NO_PKG_RESOURCES = re.compile(r"No module named '(?:pkg_resources|setuptools)'")


def wants_seeded_setuptools(output: str, declared: Iterable[str]) -> bool:
    """Whether a run died importing ``pkg_resources`` (old Django apps, drf-yasg, any
    package that reads its own version that way) where the candidate declared no
    setuptools: on their Python, the environment every reviewer makes held one."""
    names = set()
    for item in declared:
        try:
            names.add(canonicalize_name(Requirement(item).name))
        except InvalidRequirement:
            continue
    return "setuptools" not in names and bool(_NO_PKG_RESOURCES.search(output))


def _exact_pin(item: str) -> tuple[str, str] | None:
    """(canonical name, version) of an ``==`` pin; None for anything else."""
    try:
        requirement = Requirement(item)
    except InvalidRequirement:
        return None
    pins = [s.version for s in requirement.specifier if s.operator == "=="]
    if len(pins) != 1:
        return None
    try:
        Version(pins[0])
    except InvalidVersion:  # a wildcard (==2.*) already admits newer releases
        return None
    return canonicalize_name(requirement.name), pins[0]


def _owner(module: str, installed: Iterable[Distribution]) -> str:
    dotted = module.replace("/", ".")
    for dist in installed:
        if dotted in dist.modules or dotted.split(".")[0] in dist.modules:
            return dist.name
    return ""


def crashed_in(
    output: str, declared: Iterable[str], installed: Iterable[Distribution]
) -> frozenset[str]:
    """The exactly pinned ``declared`` distributions a traceback in ``output`` passed
    through: the candidate's own code never appears (it is not in site-packages)."""
    pinned = {pin[0] for pin in map(_exact_pin, declared) if pin} - RUNNERS
    dists = tuple(installed)
    found: set[str] = set()
    start = 0
    for raised_line in _RAISED.finditer(output):
        frames = _FRAME.findall(output, start, raised_line.start())
        start = raised_line.end()
        missing = _MISSING.search(raised_line.group(0))
        if not frames or (missing and missing.group(1) not in REMOVED_MODULES):
            continue
        # Every pinned release the failing import chain passed through: the one it ended
        # in and those that called it were frozen together (pluggy 0.12 needs the old
        # importlib-metadata it came with).
        found |= {owner for frame in frames if (owner := _owner(frame, dists)) in pinned}
    return frozenset(found)


def raised(items: Iterable[str], steps: Mapping[str, int]) -> tuple[tuple[str, ...], list[str]]:
    """``items`` with the exact pins of the names in ``steps`` raised, and what changed,
    in words. Step 1 keeps the pinned major version (``>=2.1.9,<3``), as a reviewer tries
    the newest compatible release first; step 2 allows any newer release."""
    kept: list[str] = []
    changes: list[str] = []
    for item in items:
        pin = _exact_pin(item)
        if pin is None or pin[0] not in steps:
            kept.append(item)
            continue
        requirement = Requirement(item)
        major = Version(pin[1]).major
        bound = f",<{major + 1}" if steps[pin[0]] == 1 else ""
        requirement.specifier = SpecifierSet(f">={pin[1]}{bound}")
        kept.append(str(requirement))
        changes.append(f"{item} to {requirement}")
    return tuple(kept), changes


def unbounded(items: Iterable[str], names: Iterable[str]) -> tuple[tuple[str, ...], list[str]]:
    """``items`` with the upper bound that step 1 of ``raised`` set taken off again for
    the distributions in ``names`` (step 2), and what changed, in words."""
    wanted = set(names)
    kept: list[str] = []
    changes: list[str] = []
    for item in items:
        try:
            requirement = Requirement(item)
        except InvalidRequirement:
            kept.append(item)
            continue
        lower = [s for s in requirement.specifier if s.operator != "<"]
        bounded = len(lower) < len(requirement.specifier)
        if not bounded or canonicalize_name(requirement.name) not in wanted:
            kept.append(item)
            continue
        requirement.specifier = SpecifierSet(",".join(map(str, lower)))
        kept.append(str(requirement))
        changes.append(f"{item} to {requirement}")
    return tuple(kept), changes
