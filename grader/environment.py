"""Per-submission virtual environments, built with uv and cached by requirement set.

A submission's tests run in an environment holding only its declared requirements plus
grader's pinned pytest, pytest-timeout and coverage: grader's own dependencies never
leak in, and the environment's never leak into grader. Installs take wheels only, so no
candidate-controlled build script runs on the host. Environments are keyed by a hash of
the requirement set and the interpreter, shared by every submission with the same set,
built under a temporary name and renamed into place, and evicted least recently used
beyond a size limit. uv never downloads an interpreter.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from enum import StrEnum
from importlib import metadata
from pathlib import Path

from packaging.specifiers import InvalidSpecifier, SpecifierSet

from grader import proc
from grader.requirements import Requirements

INSTALL_TIMEOUT_S = 600.0
COMPLETE = ".grader-complete"
DEFAULT_LIMIT_BYTES = 10 * 1024**3
# Tools grader runs inside the candidate's environment, at grader's own versions.
RUNNER_DISTRIBUTIONS = ("pytest", "pytest-timeout", "coverage")
NETWORK_VARIABLES = frozenset(
    {"SSL_CERT_FILE", "SSL_CERT_DIR"}
    | {f"{name}_PROXY" for name in ("HTTP", "HTTPS", "ALL", "NO")}
    | {f"{name}_proxy" for name in ("http", "https", "all", "no")}
)


class EnvStatus(StrEnum):
    """Whether the environment can run the candidate's tests."""

    READY = "ready"
    FAILED = "failed"
    UNSUPPORTED_PYTHON = "unsupported_python"


@dataclass(frozen=True)
class Environment:
    """A ready environment's interpreter, or why there is none."""

    status: EnvStatus
    python: Path | None
    reason: str = ""
    cached: bool = False
    duration_s: float = 0.0
    key: str = ""


def default_cache_dir() -> Path:
    """$GRADER_CACHE_DIR, else the platform's user cache folder."""
    if configured := os.environ.get("GRADER_CACHE_DIR"):
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "grader"


def runner_pins() -> list[str]:
    """grader's pytest, pytest-timeout and coverage, pinned to the versions it was tested with."""
    return [f"{name}=={metadata.version(name)}" for name in RUNNER_DISTRIBUTIONS]


def _uv() -> str:
    found = Path(sys.executable).parent / "uv"
    return str(found) if found.exists() else (shutil.which("uv") or "uv")


def _first_error(stderr: str) -> str:
    lines = [line.strip(" \u00d7\u2570\u2500\u25b6\u2502") for line in stderr.splitlines()]
    useful = [
        line for line in lines if line and not line.startswith(("Using ", "Resolved", "warning"))
    ]
    text = " ".join(useful[:4])
    return text[:600] or "uv failed without a message"


class EnvironmentCache:
    """Builds and reuses environments under ``root``."""

    def __init__(
        self,
        root: Path,
        *,
        offline: bool = False,
        limit_bytes: int = DEFAULT_LIMIT_BYTES,
        allow_builds: bool = False,
    ) -> None:
        self.root = root
        self.offline = offline
        self.limit_bytes = limit_bytes
        # Building a source distribution runs its build script on this host, outside the
        # sandbox: only when the user asked for it.
        self.allow_builds = allow_builds

    def key(self, requirements: Requirements, python: Path) -> str:
        """Stable hash of everything that decides the environment's contents."""
        material = {
            "requirements": sorted(requirements.items),
            "runner": runner_pins(),
            "python": [str(python.resolve()), platform.python_version(), platform.machine()],
            "builds": self.allow_builds,
        }
        return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()[:32]

    def _uv_env(self) -> dict[str, str]:
        # uv reaches the package registry: it gets the host's trust store and proxy
        # settings (never the candidate's code, which runs in the sandbox without them).
        network = {k: v for k, v in os.environ.items() if k in NETWORK_VARIABLES}
        return proc.scrubbed_env(
            {
                **network,
                "UV_CACHE_DIR": str(self.root / "uv"),
                "UV_PYTHON_DOWNLOADS": "never",
                "UV_NATIVE_TLS": "1",
                "UV_NO_PROGRESS": "1",
                "HOME": str(self.root),
            }
        )

    def prepare(self, requirements: Requirements, python: Path) -> Environment:
        """A ready environment for ``requirements``, reused when already built."""
        started = time.monotonic()
        unsupported = _python_problem(requirements.requires_python)
        if unsupported:
            return Environment(EnvStatus.UNSUPPORTED_PYTHON, None, unsupported)
        key = self.key(requirements, python)
        target = self.root / "envs" / key
        if (target / COMPLETE).is_file():
            (target / COMPLETE).touch()
            return Environment(
                EnvStatus.READY,
                target / "bin" / "python",
                "",
                True,
                time.monotonic() - started,
                key,
            )
        return self._build(requirements, python, key, target, started)

    def _build(
        self, requirements: Requirements, python: Path, key: str, target: Path, started: float
    ) -> Environment:
        target.parent.mkdir(parents=True, exist_ok=True)
        building = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=target.parent))
        building.chmod(0o755)  # the sandbox's unprivileged user must be able to enter it
        try:
            problem = self._install(requirements, python, building)
            if problem:
                return Environment(EnvStatus.FAILED, None, problem, key=key)
            (building / COMPLETE).write_text(json.dumps(list(requirements.items)), encoding="utf-8")
            try:
                building.rename(target)
            except OSError:  # another grader finished the same environment first
                shutil.rmtree(building, ignore_errors=True)
        finally:
            if building.exists() and not (building / COMPLETE).exists():
                shutil.rmtree(building, ignore_errors=True)
        self.evict(keep=target)
        return Environment(
            EnvStatus.READY, target / "bin" / "python", "", False, time.monotonic() - started, key
        )

    def _install(self, requirements: Requirements, python: Path, folder: Path) -> str:
        env = self._uv_env()
        work = folder.parent
        created = proc.run(
            [_uv(), "venv", "--no-config", "--quiet", "--python", str(python), str(folder)],
            cwd=work,
            timeout_s=INSTALL_TIMEOUT_S,
            env=env,
        )
        if created.exit_code != 0:
            return f"could not create a virtual environment: {_first_error(created.stderr)}"
        listing = folder / "grader-requirements.txt"
        listing.write_text(
            "\n".join([*requirements.items, *runner_pins()]) + "\n", encoding="utf-8"
        )
        argv = [_uv(), "pip", "install", "--no-config", "--quiet"]
        if not self.allow_builds:
            argv += ["--only-binary", ":all:"]
        argv += ["--python", str(folder / "bin" / "python"), "-r", str(listing)]
        if self.offline:
            argv.append("--offline")
        installed = proc.run(argv, cwd=work, timeout_s=INSTALL_TIMEOUT_S, env=env)
        if installed.timed_out:
            return f"installing took longer than {INSTALL_TIMEOUT_S:.0f}s"
        if installed.exit_code != 0:
            return _first_error(installed.stderr)
        return ""

    def evict(self, keep: Path) -> list[Path]:
        """Remove least recently used environments until the cache fits its limit."""
        envs = [p for p in (self.root / "envs").iterdir() if (p / COMPLETE).is_file()]
        sizes = {p: _size(p) for p in envs}
        total = sum(sizes.values())
        removed = []
        for env in sorted(envs, key=lambda p: (p / COMPLETE).stat().st_mtime):
            if total <= self.limit_bytes:
                break
            if env == keep:
                continue
            with contextlib.suppress(OSError):
                shutil.rmtree(env)
                total -= sizes[env]
                removed.append(env)
        return removed


def _size(folder: Path) -> int:
    return sum(
        (Path(base) / name).lstat().st_size for base, _, names in os.walk(folder) for name in names
    )


def _python_problem(requires_python: str | None) -> str:
    if not requires_python:
        return ""
    try:
        supported = SpecifierSet(requires_python)
    except InvalidSpecifier:
        return ""
    here = platform.python_version()
    if supported.contains(here, prereleases=True):
        return ""
    return (
        f"the submission requires Python {requires_python} and this machine has {here}; "
        "grader does not download interpreters"
    )
