"""Which Python runs a submission's tests: the one it asks for, when this host has it.

A submission that declares ``requires-python >= 3.12`` is tested on an installed 3.12 when
there is one: any ``python3.X`` on PATH, pyenv's and the GitHub runners' tool caches, and
interpreters uv installed into grader's cache. uv downloads one only when the user allows
it. When none fits, the tests run on grader's own interpreter and the report says so.
"""

from __future__ import annotations

import functools
import os
import platform
import sys
from dataclasses import dataclass
from pathlib import Path

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from grader.core import proc
from grader.environment import uv

PROBE_TIMEOUT_S = 10.0
DOWNLOAD_TIMEOUT_S = 600.0
_MINORS = range(8, 20)
_PROBE = "import platform, sys; print(sys.executable); print(platform.python_version())"
# Where interpreters live besides PATH: pyenv, GitHub's hosted tool cache, uv's own.
_INSTALL_GLOBS = (
    "{pyenv}/versions/*/bin/python3",
    "/opt/hostedtoolcache/Python/*/x64/bin/python3",
    "{cache}/pythons/*/bin/python3",
)


@dataclass(frozen=True)
class Interpreter:
    """A Python installation that can create the test environment."""

    path: Path
    version: str


@dataclass(frozen=True)
class Choice:
    """The interpreter chosen for a submission, and what the report must say about it."""

    interpreter: Interpreter
    warning: str = ""
    """Set when the submission asked for a Python this host does not have."""


def host() -> Interpreter:
    """grader's own interpreter (the installation behind its virtual environment)."""
    return Interpreter(Path(sys.executable).resolve(), platform.python_version())


def _satisfies(spec: SpecifierSet, version: str) -> bool:
    try:
        return spec.contains(Version(version), prereleases=True)
    except InvalidVersion:
        return False


def _probe(executable: Path) -> Interpreter | None:
    """What an executable really is (a pyenv shim may name a version that is not set up)."""
    result = proc.run(
        [str(executable), "-I", "-c", _PROBE],
        cwd=Path("/"),
        timeout_s=PROBE_TIMEOUT_S,
        env=proc.scrubbed_env(),
    )
    lines = result.stdout.split()
    if result.exit_code != 0 or len(lines) != 2:
        return None
    return Interpreter(Path(lines[0]).resolve(), lines[1])


def _is_file(path: Path) -> bool:
    """False too when a folder on the way cannot be entered: a non-root user's PATH may
    hold root's folders (after `su`, or a Dockerfile's USER below root's ENV PATH), where
    Path.is_file raises PermissionError."""
    try:
        return path.is_file()
    except OSError:
        return False


def _candidates(cache_dir: Path) -> list[Path]:
    names = [f"python3.{minor}" for minor in _MINORS]
    found: list[Path] = []
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        found += [Path(folder) / n for n in names if _is_file(Path(folder) / n)]
    pyenv = os.environ.get("PYENV_ROOT") or str(Path.home() / ".pyenv")
    for pattern in _INSTALL_GLOBS:
        concrete = Path(pattern.format(pyenv=pyenv, cache=cache_dir))
        found += sorted(Path(concrete.anchor).glob(str(concrete.relative_to(concrete.anchor))))
    return found


@functools.cache
def installed(cache_dir: Path) -> tuple[Interpreter, ...]:
    """Every working interpreter this host has, oldest version first, one per version."""
    seen: dict[str, Interpreter] = {}
    for executable in _candidates(cache_dir):
        found = _probe(executable)
        if found is not None:
            seen.setdefault(found.version, found)
    return tuple(sorted(seen.values(), key=lambda i: Version(i.version)))


def _download(spec: str, cache_dir: Path) -> None:
    proc.run(
        [uv.executable(), "python", "install", spec],
        cwd=cache_dir,
        timeout_s=DOWNLOAD_TIMEOUT_S,
        env=uv.environment(cache_dir, python_downloads=True),
    )
    installed.cache_clear()


def choose(requires_python: str | None, cache_dir: Path, *, downloads: bool = False) -> Choice:
    """The oldest installed interpreter that satisfies ``requires_python``.

    grader's own interpreter when it does, or when nothing does (with a warning).
    """
    here = host()
    try:
        spec = SpecifierSet(requires_python or "")
    except InvalidSpecifier:
        return Choice(here)
    if _satisfies(spec, here.version):
        return Choice(here)
    fitting = [i for i in installed(cache_dir) if _satisfies(spec, i.version)]
    if not fitting and downloads:
        _download(str(spec), cache_dir)
        fitting = [i for i in installed(cache_dir) if _satisfies(spec, i.version)]
    if fitting:
        return Choice(fitting[0])
    how = "" if downloads else " (--python-downloads lets uv fetch one)"
    return Choice(
        here,
        f"the submission asks for Python {spec} and this host has none{how}: "
        f"graded on {here.version}",
    )
