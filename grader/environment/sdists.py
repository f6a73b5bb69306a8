"""Dependencies published only as source distributions, built into wheels in the sandbox.

grader installs wheels only: installing a wheel runs no code, while building a source
distribution runs its build script. A requirement with no wheel (``promise``, needed by
graphene-django) would otherwise be dropped and the tests that need it left unmeasured,
where a careful reviewer would simply build it. So grader splits the job the way its
trust model needs:

- **fetching** runs on the host, which has the network: the package index's JSON page
  (PEP 691) names the archive and its digest, and the archive is downloaded and checked
  against it. Nothing in it runs.
- **building** runs in the sandbox, without network, as the candidate's code does: the
  archive, a build environment holding the backend (installed from wheels), and a folder
  for the wheel are all it sees.

A build must take seconds, not compile a numerical library for minutes: pure-Python
archives are built, and small ones with C or Cython sources (at most
``MAX_COMPILED_ARCHIVE_BYTES``: MarkupSafe 1.1.1, PyYAML 5, the speedups an old ``pip
freeze`` pins exactly, which a reviewer's ``pip install`` builds in seconds and which
mostly fall back to pure Python where no compiler is found); Rust and Fortran sources,
and larger compiled archives, are not, unless the library's C code is an optional
speed-up its build script can leave out (``PURE_PYTHON_SWITCHES``: SQLAlchemy 1.3,
msgpack, the aiohttp family), which is how a reviewer on a machine without a compiler
gets it, and which behaves the same, only slower. A compiled wheel is kept only once its
modules import on this Python (``wheel_loads``). It lands in grader's cache
(``loaded-wheels/``), which no sandbox can write, and is offered to uv as a local
find-links folder, so the next environment that needs it does not build again.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import os
import shutil
import tarfile
import tempfile
import tomllib
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name, parse_wheel_filename
from packaging.version import InvalidVersion, Version

from grader.core import proc
from grader.environment import uv
from grader.environment.interpreters import Interpreter
from grader.environment.wheel_loads import load_problem
from grader.sandbox.bubblewrap import Limits, Sandbox, interpreter_paths

SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"
MAX_ARCHIVE_BYTES = 32 * 1024 * 1024
MAX_MEMBER_BYTES = 1024 * 1024
FETCH_TIMEOUT_S = 60.0
BUILD_LIMIT_S = 180.0
COMPILED_SOURCES = frozenset({".c", ".cc", ".cpp", ".cxx", ".h", ".pyx", ".pxd", ".rs", ".f90"})
OTHER_TOOLCHAINS = frozenset({".rs", ".f90"})
MAX_COMPILED_ARCHIVE_BYTES = 512 * 1024
DEFAULT_BACKEND = ("setuptools>=40.8", "wheel")
# Libraries whose C extensions are optional speed-ups, and the environment variable their
# build script reads to build the pure-Python package instead (each documented in the
# library's own installation notes).
PURE_PYTHON_SWITCHES: dict[str, dict[str, str]] = {
    "aiohttp": {"AIOHTTP_NO_EXTENSIONS": "1"},
    "frozenlist": {"FROZENLIST_NO_EXTENSIONS": "1"},
    "msgpack": {"MSGPACK_PUREPYTHON": "1"},
    "multidict": {"MULTIDICT_NO_EXTENSIONS": "1"},
    "newrelic": {"NEW_RELIC_EXTENSIONS": "false"},
    "propcache": {"PROPCACHE_NO_EXTENSIONS": "1"},
    "simplejson": {"DISABLE_SPEEDUPS": "1"},
    "sqlalchemy": {"DISABLE_SQLALCHEMY_CEXT": "1"},
    # wrapt 1.10 and older read the second name
    "wrapt": {"WRAPT_INSTALL_EXTENSIONS": "false", "WRAPT_EXTENSIONS": "false"},
    "yarl": {"YARL_NO_EXTENSIONS": "1"},
}


def pure_python_switch(name: str) -> dict[str, str]:
    """The variables that build ``name`` without its optional C code (none if it has none)."""
    return PURE_PYTHON_SWITCHES.get(canonicalize_name(name), {})


class SourceBuildError(Exception):
    """Why a source distribution could not be turned into a wheel (one line)."""


class SourceRefusedError(SourceBuildError):
    """A source distribution grader would not build (too large, compiled with a toolchain it
    does not run, none to fetch): decided before any build ran, so no build time spent."""


@dataclass(frozen=True)
class Archive:
    """One source distribution on the index."""

    name: str
    version: Version
    filename: str
    url: str
    sha256: str
    requires_python: str = ""


@dataclass(frozen=True)
class SourceBuilds:
    """Building source distributions in ``sandbox``; the wheels are kept in ``wheels``."""

    sandbox: Sandbox
    limits: Limits
    wheels: Path

    def wheel_for(
        self, name: str, wanted: SpecifierSet, python: Interpreter, uv_env: dict[str, str]
    ) -> Path:
        """A wheel of ``name`` in ``wanted``, built before or now; raises SourceBuildError."""
        kept = self.kept(name, wanted)
        if kept is not None:
            return kept
        archive = choose(releases(name, uv_env), wanted, Version(python.version))
        with tempfile.TemporaryDirectory(prefix="grader-sdist-") as folder:
            return self.build(fetch(archive, Path(folder)), python, uv_env)

    def build(self, source: Path, python: Interpreter, uv_env: dict[str, str]) -> Path:
        """Build the archive ``source`` into a wheel in the sandbox and keep the wheel."""
        named = _name_and_version(source.name)
        if named is None:
            raise SourceBuildError(f"{source.name} is not named like a source distribution")
        with tempfile.TemporaryDirectory(prefix="grader-build-") as folder:
            work = Path(folder)
            work.chmod(0o755)  # the sandbox's unprivileged user must reach what is inside
            staged = work / source.name
            shutil.copyfile(source, staged)
            staged.chmod(0o644)
            backend = build_requirements(staged)
            venv = _backend_environment(work / "backend", backend, python, uv_env)
            built = self._run_build(staged, named, venv, work / "out")
            # The wheel's name is the build script's to choose: one named for another
            # package would be offered to uv for that package too, so it must be this one.
            wheel_name, wheel_version, _, _ = parse_wheel_filename(built.name)
            if (wheel_name, wheel_version) != named:
                raise SourceBuildError(f"its build made {built.name}, not {named[0]} {named[1]}")
            python_in_venv = venv / "bin" / "python"
            problem = load_problem(built, python_in_venv, self.sandbox, self.limits, work)
            if problem:
                raise SourceBuildError(problem)
            # One folder per package: uv, told to look there, finds nothing else.
            kept = self.wheels / wheel_name
            kept.mkdir(parents=True, exist_ok=True)
            partial = kept / f".{built.name}.{os.getpid()}"
            shutil.copyfile(built, partial)
            return partial.replace(kept / built.name)

    def kept(self, name: str, wanted: SpecifierSet) -> Path | None:
        kept = self.wheels / canonicalize_name(name)
        if not kept.is_dir():
            return None
        fitting = []
        for wheel in kept.glob("*.whl"):
            try:
                wheel_name, version, _, _ = parse_wheel_filename(wheel.name)
            except ValueError:
                continue
            if wheel_name == canonicalize_name(name) and wanted.contains(version, prereleases=True):
                fitting.append((version, wheel))
        return max(fitting)[1] if fitting else None

    def _run_build(self, source: Path, named: tuple[str, Version], venv: Path, out: Path) -> Path:
        out.mkdir()
        self.sandbox.own(out)
        uv_binary = Path(uv.executable()).resolve()
        python = venv / "bin" / "python"
        argv = [
            str(uv_binary), "build", "--no-config", "--wheel", "--no-build-isolation",
            "--offline", "--quiet", "--python", str(python), "--out-dir", str(out), str(source),
        ]  # fmt: skip
        result = self.sandbox.run(
            argv,
            cwd=out,
            writable=[out],
            readable=[*interpreter_paths(python), uv_binary, source],
            env={
                **uv.sandboxed_environment(python),
                # The archive's own version, for a setuptools-scm build, which has no git
                # history to read it from here.
                "SETUPTOOLS_SCM_PRETEND_VERSION": str(named[1]),
                **pure_python_switch(named[0]),
            },
            limits=replace(self.limits, wall_s=min(self.limits.wall_s, BUILD_LIMIT_S)),
        )
        wheels = sorted(out.glob("*.whl"))
        if result.timed_out:
            raise SourceBuildError(f"its build took longer than {BUILD_LIMIT_S:.0f}s")
        if result.exit_code != 0 or len(wheels) != 1 or wheels[0].is_symlink():
            said = uv.message(result.stderr, 300) if result.stderr else proc.tail(result.stdout, 2)
            raise SourceBuildError(f"its build failed in the sandbox: {said}")
        return wheels[0]


@functools.lru_cache(maxsize=4)
def _index_url(uv_path: str, uv_env: frozenset[tuple[str, str]]) -> str:
    """The package index uv installs from, as uv itself reports it (its default unless
    configured), so grader fetches from exactly where it installs from."""
    with tempfile.TemporaryDirectory(prefix="grader-index-") as folder:
        empty = Path(folder) / "empty.txt"
        empty.write_text("", encoding="utf-8")
        result = proc.run(
            [uv_path, "pip", "compile", "--no-config", "--quiet", "--emit-index-url", str(empty)],
            cwd=Path(folder),
            timeout_s=FETCH_TIMEOUT_S,
            env={**dict(uv_env), "UV_OFFLINE": "1"},
        )
    for line in result.stdout.splitlines():
        if line.startswith("--index-url "):
            return line.split(maxsplit=1)[1].rstrip("/")
    raise SourceBuildError("uv did not say which package index it uses")


def _get(url: str, accept: str, limit: int) -> bytes:
    request = urllib.request.Request(url, headers={"Accept": accept})  # noqa: S310 (https index)
    try:
        with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT_S) as response:  # noqa: S310
            data: bytes = response.read(limit + 1)
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        raise SourceBuildError(f"could not fetch it from the package index: {error}") from error
    if len(data) > limit:
        raise SourceRefusedError(f"its source distribution is larger than {limit // 2**20} MB")
    return data


def releases(name: str, uv_env: dict[str, str]) -> list[Archive]:
    """The source distributions of ``name`` the index lists (not yanked)."""
    index = _index_url(uv.executable(), frozenset(uv_env.items()))
    if not index.startswith(("https://", "file://")):
        raise SourceBuildError(f"grader only fetches from https or file indexes, not {index}")
    page = json.loads(_get(f"{index}/{canonicalize_name(name)}/", SIMPLE_JSON, 8 * 2**20))
    found = []
    for entry in page.get("files", []):
        filename = str(entry.get("filename", ""))
        version = _sdist_version(filename, name)
        digest = (entry.get("hashes") or {}).get("sha256")
        if version is None or not digest or entry.get("yanked"):
            continue
        requires = str(entry.get("requires-python") or "")
        found.append(Archive(name, version, filename, str(entry["url"]), digest, requires))
    return found


def _name_and_version(filename: str) -> tuple[str, Version] | None:
    """(canonical name, version) of a source distribution's file name, or None."""
    for suffix in (".tar.gz", ".zip"):
        if filename.endswith(suffix):
            project, _, version = filename.removesuffix(suffix).rpartition("-")
            try:
                return canonicalize_name(project), Version(version)
            except InvalidVersion:
                return None
    return None


def _sdist_version(filename: str, name: str) -> Version | None:
    named = _name_and_version(filename)
    if named is None or named[0] != canonicalize_name(name):
        return None
    return named[1]


def choose(archives: list[Archive], wanted: SpecifierSet, python: Version) -> Archive:
    """The newest archive in ``wanted`` whose requires-python admits ``python``."""
    fitting = []
    for archive in archives:
        try:
            admits = SpecifierSet(archive.requires_python).contains(python)
        except InvalidSpecifier:
            admits = True
        if admits and wanted.contains(archive.version):
            fitting.append(archive)
    if not fitting:
        raise SourceRefusedError(
            f"the index has no source distribution in {wanted or 'any version'}"
        )
    return max(fitting, key=lambda a: a.version)


def fetch(archive: Archive, folder: Path) -> Path:
    """Download ``archive`` into ``folder`` and check it against the index's digest.
    urllib takes the host's proxies from the environment, as uv does."""
    data = _get(archive.url, "application/octet-stream", MAX_ARCHIVE_BYTES)
    if hashlib.sha256(data).hexdigest() != archive.sha256:
        raise SourceBuildError("its source distribution does not match the index's digest")
    names = _member_names(data, archive.filename)
    compiled = sorted({PurePosixPath(n).suffix for n in names} & COMPILED_SOURCES)
    optional = bool(pure_python_switch(archive.name))
    large = len(data) > MAX_COMPILED_ARCHIVE_BYTES and not optional
    if set(compiled) & OTHER_TOOLCHAINS or (compiled and large):
        raise SourceRefusedError(
            f"it is not pure Python ({', '.join(compiled)} sources, {len(data) // 1024} KiB), "
            f"and grader builds only C extensions of at most "
            f"{MAX_COMPILED_ARCHIVE_BYTES // 1024} KiB"
        )
    target = folder / PurePosixPath(archive.filename).name
    target.write_bytes(data)
    return target


def _member_names(data: bytes, filename: str) -> list[str]:
    try:
        if filename.endswith(".zip"):
            with zipfile.ZipFile(io.BytesIO(data)) as zipped:
                return zipped.namelist()
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tarred:
            return tarred.getnames()
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError) as error:
        raise SourceBuildError(
            f"its source distribution is not a readable archive: {error}"
        ) from error


def _pyproject(source: Path) -> bytes | None:
    """The top-level pyproject.toml inside an archive, read without extracting it."""

    def top_level(name: str) -> bool:
        parts = PurePosixPath(name).parts
        return len(parts) == 2 and parts[1] == "pyproject.toml"

    if source.name.endswith(".zip"):
        with zipfile.ZipFile(source) as zipped:
            for info in zipped.infolist():
                if top_level(info.filename) and info.file_size <= MAX_MEMBER_BYTES:
                    return zipped.read(info)
        return None
    with tarfile.open(source, mode="r:gz") as tarred:
        for member in tarred.getmembers():
            if top_level(member.name) and member.isfile() and member.size <= MAX_MEMBER_BYTES:
                extracted = tarred.extractfile(member)
                return extracted.read() if extracted else None
    return None


def build_requirements(source: Path) -> tuple[str, ...]:
    """The archive's declared build backend (PEP 518), or setuptools when it declares none."""
    try:
        raw = _pyproject(source)
        data = tomllib.loads(raw.decode("utf-8")) if raw else {}
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, tarfile.TarError, zipfile.BadZipFile):
        data = {}
    system = data.get("build-system")
    declared = system.get("requires") if isinstance(system, dict) else None
    if isinstance(declared, list) and all(isinstance(r, str) for r in declared):
        return tuple(declared)
    return DEFAULT_BACKEND


def _backend_environment(
    folder: Path, backend: tuple[str, ...], python: Interpreter, uv_env: dict[str, str]
) -> Path:
    """A virtual environment with the build backend, installed from wheels on the host."""
    problem = uv.wheels_environment(folder, python.path, backend, uv_env, FETCH_TIMEOUT_S * 3)
    if problem:
        raise SourceBuildError(f"its build backend could not be installed: {problem}")
    return folder
