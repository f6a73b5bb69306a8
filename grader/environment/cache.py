"""Per-submission virtual environments, built with uv and cached by requirement set.

A submission's tests run in an environment holding its declared requirements plus the
test runners grader drives (pytest, pytest-timeout, coverage); grader's own dependencies
never leak in, and the environment's never leak into grader. Installs take wheels only,
so no candidate-controlled build script runs on the host. Environments are keyed by a
hash of the requirement set and the interpreter, shared by every submission with the
same set, built by one process at a time under a file lock, under a temporary name and
renamed into place, and evicted least recently used beyond a size limit (never one
used within the last ``IN_USE_GRACE_S``: a grade loads its environment some minutes
before its tests start in it, and other graders may share the cache).

When the set does not install, grader does what a careful reviewer would, one bounded
round at a time, and records every change (see ``grader.environment.resolution``): the candidate's
runner pins are relaxed and then overridden, packages without wheels are swapped for
their binary twins, and finally the requirements uv names as the cause are dropped. An
environment that lost requirements is *partial*; who was at fault for each loss decides
how the tests' results are scored.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from importlib import metadata
from pathlib import Path

from grader.core import locks, proc
from grader.environment import uv
from grader.environment.interpreters import Interpreter
from grader.environment.requirements import Requirements
from grader.environment.resolution import Dropped, Fault, Plan, lacking_wheels
from grader.environment.sdists import (
    SourceBuildError,
    SourceBuilds,
    SourceRefusedError,
    pure_python_switch,
)

INSTALL_TIMEOUT_S = 600.0
COMPLETE = ".grader-complete"
DEFAULT_LIMIT_BYTES = 10 * 1024**3
# An environment loaded this recently is kept even beyond the size limit: the shared lock
# a test run holds covers only the run, not the minutes between loading the environment
# and starting the tests (lock export, servers, settings), in which another grader on
# the same cache could otherwise remove it. Longer than any one grade's test stage.
IN_USE_GRACE_S = 3600.0
# Each round changes the plan or stops; a 2020 lock file may need one round per stale pin
# (uv names one release without a wheel at a time), then one to unpin what clashes with
# the runners: 12 ran out on such a lock with the fix one round away. A pin raised within
# its major first may need a second round past it (resolution.Plan), so a 2020 Poetry
# lock of seven such pins took more than 24.
MAX_ROUNDS = 40
# Source distributions built in the sandbox for one environment, at most (each within
# sdists.BUILD_LIMIT_S; a wheel kept from an earlier build, or an archive refused before
# any build ran, does not count).
MAX_SOURCE_BUILDS = 8
# Bumped whenever the way an environment is planned changes, so old ones are not reused.
POLICY_VERSION = 13
# Tools grader runs inside the candidate's environment.
RUNNER_DISTRIBUTIONS = ("pytest", "pytest-timeout", "coverage")


class EnvStatus(StrEnum):
    """Whether the environment can run the candidate's tests."""

    READY = "ready"
    PARTIAL = "partial"
    """Ready, but some requirements could not be installed and were left out."""
    FAILED = "failed"


@dataclass(frozen=True)
class Environment:
    """A ready environment's interpreter, or why there is none."""

    status: EnvStatus
    python: Path | None
    reason: str = ""
    cached: bool = False
    duration_s: float = 0.0
    key: str = ""
    dropped: tuple[Dropped, ...] = ()
    changes: tuple[str, ...] = ()
    """What grader changed in the candidate's set to make it install, in order."""
    fault: Fault = Fault.NONE
    """Who is to blame for what did not install (for FAILED: for the failure)."""


def default_cache_dir() -> Path:
    """$GRADER_CACHE_DIR, else the platform's user cache folder."""
    if configured := os.environ.get("GRADER_CACHE_DIR"):
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "grader"


def runner_pins() -> list[str]:
    """grader's pytest, pytest-timeout and coverage, at the versions it was tested with."""
    return [f"{name}=={metadata.version(name)}" for name in RUNNER_DISTRIBUTIONS]


class EnvironmentCache:
    """Builds and reuses environments under ``root``."""

    def __init__(
        self,
        root: Path,
        *,
        offline: bool = False,
        limit_bytes: int = DEFAULT_LIMIT_BYTES,
        allow_builds: bool = False,
        python_downloads: bool = False,
        wheelhouse: Path | None = None,
    ) -> None:
        # Absolute: the sandbox mounts environments by path, from another working folder
        # (a relative $GRADER_CACHE_DIR made every test run fail before pytest started).
        self.root = root.absolute()
        self.offline = offline
        self.limit_bytes = limit_bytes
        # Building a source distribution runs its build script on this host, outside the
        # sandbox: only when the user asked for it.
        self.allow_builds = allow_builds
        self.python_downloads = python_downloads
        # A folder of wheels that is the only package index (no command-line option: a
        # hook for tests, whose fixture index holds look-alike distributions grader
        # must never install, and which must not reach the real index to prove it).
        self.wheelhouse = wheelhouse

    def key(self, requirements: Requirements, python: Interpreter, *, sdists: bool = False) -> str:
        """Stable hash of everything that decides the environment's contents."""
        material = {
            "requirements": sorted(requirements.items),
            "runner": runner_pins(),
            "python": [str(python.path), python.version, os.uname().machine],
            "builds": self.allow_builds,
            "sdists": sdists,
            "policy": POLICY_VERSION,
        }
        if self.wheelhouse is not None:
            material["wheelhouse"] = str(self.wheelhouse)
        return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()[:32]

    def prepare(
        self,
        requirements: Requirements,
        python: Interpreter,
        source_builds: SourceBuilds | None = None,
    ) -> Environment:
        """A ready environment for ``requirements``, reused when already built; packages
        with no wheel are built by ``source_builds`` (in the sandbox) when it is given."""
        started = time.monotonic()
        key = self.key(requirements, python, sdists=source_builds is not None)
        target = self.root / "envs" / key
        cached = self.cached(key, started)
        if cached is not None:
            return cached
        # One builder per requirement set, across threads and processes: the others wait
        # and then reuse what it built.
        with locks.exclusive(self._lock(key)):
            cached = _load(target, key, started)
            if cached is not None:
                return cached
            built = self._build(
                requirements, python, key, target, started, source_builds=source_builds
            )
        if built.python is not None:
            self.evict(keep=target)
        return built

    def cached(self, key: str, started: float | None = None) -> Environment | None:
        """The finished environment ``key``, marked as used, or None when there is none
        (an evictor removes one only under the same lock, and never one just marked)."""
        with locks.shared(self._lock(key)):
            return _load(self.root / "envs" / key, key, started or time.monotonic())

    def _build(
        self,
        requirements: Requirements,
        python: Interpreter,
        key: str,
        target: Path,
        started: float,
        *,
        source_builds: SourceBuilds | None,
    ) -> Environment:
        target.parent.mkdir(parents=True, exist_ok=True)
        building = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=target.parent))
        building.chmod(0o755)  # the sandbox's unprivileged user must be able to enter it
        try:
            plan, problem = self._install(requirements, python, building, source_builds)
            if problem:
                return Environment(
                    EnvStatus.FAILED,
                    None,
                    problem,
                    key=key,
                    dropped=plan.dropped,
                    changes=plan.changes,
                    fault=plan.failure_fault,
                )
            manifest = {"items": list(plan.items), **plan.record()}
            (building / COMPLETE).write_text(json.dumps(manifest), encoding="utf-8")
            building.rename(target)
        finally:
            if building.exists() and not (building / COMPLETE).exists():
                shutil.rmtree(building, ignore_errors=True)
        loaded = _load(target, key, started)
        if loaded is None:
            return Environment(EnvStatus.FAILED, None, "the built environment vanished", key=key)
        return dataclasses.replace(loaded, cached=False)

    def _install(
        self,
        requirements: Requirements,
        python: Interpreter,
        folder: Path,
        source_builds: SourceBuilds | None,
    ) -> tuple[Plan, str]:
        env = uv.environment(self.root, python_downloads=self.python_downloads)
        plan = Plan.start(requirements.items, runner_pins())
        venv = [uv.executable(), "venv", "--no-config", "--quiet"]
        created = proc.run(
            [*venv, "--python", str(python.path), str(folder)],
            cwd=folder.parent,
            timeout_s=INSTALL_TIMEOUT_S,
            env=env,
        )
        if created.exit_code != 0:
            plan = plan.failed(Fault.HOST)
            return plan, f"could not create a virtual environment: {uv.message(created.stderr)}"
        problem = ""
        built: dict[str, Path | None] = {}  # None: tried, could not be built
        refused: set[str] = set()  # of those, the ones no build ran for (refused, or kept)
        for _ in range(MAX_ROUNDS):
            problem = self._install_once(plan, folder, env, built)
            if not problem:
                return plan, ""
            following = plan.after(problem)
            swapped = following is not None and following.twins != plan.twins
            if source_builds is not None and not swapped:
                plan, progress = _build_from_source(
                    problem,
                    plan,
                    python=python,
                    env=env,
                    source_builds=source_builds,
                    built=built,
                    refused=refused,
                )
                if progress:
                    continue
                following = plan.after(problem)  # with the failed builds noted
            if following is None:
                return plan.failed_with(problem), problem
            plan = following
        rounds = f"still not installable after {MAX_ROUNDS} rounds: {problem}"
        return plan.failed_with(problem), rounds

    def _install_once(
        self, plan: Plan, folder: Path, env: dict[str, str], built: dict[str, Path | None]
    ) -> str:
        listing = folder / "grader-requirements.txt"
        listing.write_text("\n".join(plan.listing()) + "\n", encoding="utf-8")
        # Compiled once here, the environment's modules (pytest, coverage, the candidate's
        # dependencies) are not compiled again by every test run: the sandbox runs with
        # PYTHONDONTWRITEBYTECODE and the environment read-only.
        argv = [uv.executable(), "pip", "install", "--no-config", "--quiet", "--compile-bytecode"]
        if not self.allow_builds:
            argv += ["--only-binary", ":all:"]
        for folder_of_wheels in sorted({wheel.parent for wheel in built.values() if wheel}):
            argv += ["--find-links", str(folder_of_wheels)]
        if self.wheelhouse is not None:
            argv += ["--no-index", "--find-links", str(self.wheelhouse)]
        argv += ["--python", str(folder / "bin" / "python"), "-r", str(listing)]
        if self.offline:
            argv.append("--offline")
        installed = proc.run(argv, cwd=folder.parent, timeout_s=INSTALL_TIMEOUT_S, env=env)
        if installed.timed_out:
            return f"installing took longer than {INSTALL_TIMEOUT_S:.0f}s"
        return "" if installed.exit_code == 0 else uv.message(installed.stderr, 1200)

    def _lock(self, key: str) -> Path:
        return self.root / "locks" / f"{key}.lock"

    @contextlib.contextmanager
    def in_use(self, key: str) -> Iterator[None]:
        """Keep the environment ``key`` from being evicted while tests run in it."""
        with locks.shared(self._lock(key)):
            yield

    def evict(self, keep: Path) -> list[Path]:
        """Remove least recently used environments until the cache fits its limit; one
        another grader is building, running tests in, or loaded within the grace period
        is never removed, and one another grader removed first is passed over."""
        removed = []
        with locks.exclusive(self.root / "locks" / "evict.lock"):
            listed = _complete_environments(self.root / "envs")
            total = sum(size for _, _, size in listed)
            recent = time.time() - IN_USE_GRACE_S
            for env, used, size in listed:
                if total <= self.limit_bytes:
                    break
                if env == keep or used > recent:
                    continue
                with locks.exclusive(self._lock(env.name), blocking=False) as free:
                    if not free or _used_since(env, recent):
                        continue
                    # Out of sight at once, so no grader loads it half removed.
                    trash = env.with_name(f".evicted-{env.name}")
                    with contextlib.suppress(OSError):
                        env.rename(trash)
                        total -= size
                        removed.append(env)
                    shutil.rmtree(trash, ignore_errors=True)
        return removed


def _complete_environments(envs: Path) -> list[tuple[Path, float, int]]:
    """Each finished environment with when it was last used and its size, oldest first;
    one that vanishes while it is read (another grader evicted it) is left out."""
    found = []
    with contextlib.suppress(FileNotFoundError):
        for folder in envs.iterdir():
            if folder.name.startswith("."):  # being built, or being removed
                continue
            try:
                used = (folder / COMPLETE).stat().st_mtime
                found.append((folder, used, _size(folder)))
            except (FileNotFoundError, NotADirectoryError):
                continue
    return sorted(found, key=lambda entry: entry[1])


def _used_since(env: Path, moment: float) -> bool:
    """Whether ``env`` was loaded after ``moment`` (or is gone already)."""
    try:
        return (env / COMPLETE).stat().st_mtime > moment
    except OSError:
        return True


def _load(target: Path, key: str, started: float) -> Environment | None:
    """The environment built at ``target``, with what was changed to build it."""
    marker = target / COMPLETE
    try:
        os.utime(marker)  # marks it used; never creates it (another grader may evict)
        record = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    plan = Plan.from_record(record if isinstance(record, dict) else {})
    return Environment(
        EnvStatus.PARTIAL if plan.dropped else EnvStatus.READY,
        target / "bin" / "python",
        "",
        True,
        time.monotonic() - started,
        key,
        dropped=plan.dropped,
        changes=plan.changes,
        fault=plan.fault,
    )


def _size(folder: Path) -> int:
    return sum(
        (Path(base) / name).lstat().st_size for base, _, names in os.walk(folder) for name in names
    )


def _build_from_source(
    problem: str,
    plan: Plan,
    *,
    python: Interpreter,
    env: dict[str, str],
    source_builds: SourceBuilds,
    built: dict[str, Path | None],
    refused: set[str],
) -> tuple[Plan, bool]:
    """The plan noting the wheels built in the sandbox for packages uv found no wheel of
    (each tried once), and whether any was built: if none was, they are dropped as before."""
    wanted = {n: v for n, v in lacking_wheels(problem, plan.items).items() if n not in built}
    progress = False
    for name, versions in wanted.items():
        # Builds that ran count against the budget; a refusal (too large, nothing to fetch)
        # spent no build time and leaves room for the pure-Python one after it.
        if len(built) - len(refused) >= MAX_SOURCE_BUILDS:
            break
        if source_builds.kept(name, versions) is not None:
            refused.add(name)  # built before: costs nothing now
        try:
            wheel: Path | None = source_builds.wheel_for(name, versions, python, env)
        except SourceRefusedError as error:
            plan = plan.with_change(f"could not build {name} from its source distribution: {error}")
            built[name] = None
            refused.add(name)
            continue
        except SourceBuildError as error:
            plan = plan.with_change(f"could not build {name} from its source distribution: {error}")
            wheel = None
        built[name] = wheel
        if wheel is not None:
            progress = True
            switch = pure_python_switch(name)
            told = ", ".join(f"{key}={value}" for key, value in switch.items())
            without = f", without its optional C speed-ups ({told})" if switch else ""
            plan = plan.with_change(
                f"installed {wheel.name}, built in the sandbox from {name}'s source "
                f"distribution{without} (the index has no wheel of it)"
            )
    return plan, progress
