"""grader's notebook runners (nbclient, ipykernel) for one interpreter, kept in the cache.

A notebook is run in the submission's own test environment, with these on its import
path: they are grader's runners, like pytest and coverage, never the candidate's. They
are installed beside the environment rather than into it (one folder per interpreter
version, from wheels only, so no build script runs on the host): adding them to every
environment would change its resolution, and its cache key, for submissions with no
notebook at all. Pinned here; their own requirements are resolved by uv when the folder
is first built.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from grader.core import locks, proc
from grader.environment import uv

NOTEBOOK_RUNNERS = ("nbclient==0.11.0", "ipykernel==7.4.0")
INSTALL_TIMEOUT_S = 300.0
_COMPLETE = ".complete"


@dataclass(frozen=True)
class Runners:
    """The folder to put on the interpreter's path, or None and why there is none."""

    path: Path | None
    reason: str = ""


def _version(python: Path) -> str:
    result = proc.run(
        [str(python), "-I", "-c", "import sys; print(sys.version_info[:2])"],
        cwd=Path("/"),
        timeout_s=60,
    )
    return result.stdout.strip()


def prepare(cache_root: Path, python: Path, *, offline: bool) -> Runners:
    """The runners for ``python``, built once per interpreter version and reused."""
    version = _version(python)
    if not version:
        return Runners(None, f"{python} did not start")
    material = [NOTEBOOK_RUNNERS, version, os.uname().machine]
    key = hashlib.sha256(json.dumps(material).encode()).hexdigest()[:24]
    target = cache_root / "notebook-runners" / key
    if (target / _COMPLETE).exists():
        return Runners(target)
    if offline:
        return Runners(None, "the notebook runners are not in the cache and --offline was given")
    target.parent.mkdir(parents=True, exist_ok=True)
    with locks.exclusive(target.parent / f".{key}.lock"):
        if (target / _COMPLETE).exists():
            return Runners(target)
        building = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=target.parent))
        building.chmod(0o755)  # the sandbox's unprivileged user reads it
        argv = [uv.executable(), "pip", "install", "--no-config", "--quiet", "--python"]
        argv += [str(python), "--target", str(building), "--only-binary", ":all:"]
        result = proc.run(
            [*argv, *NOTEBOOK_RUNNERS],
            cwd=Path("/"),
            timeout_s=INSTALL_TIMEOUT_S,
            env=uv.environment(cache_root),
        )
        if result.exit_code != 0 or result.timed_out:
            shutil.rmtree(building, ignore_errors=True)
            why = uv.message(result.stderr)
            return Runners(None, f"the notebook runners did not install: {why}")
        (building / _COMPLETE).write_text("\n".join(NOTEBOOK_RUNNERS), encoding="utf-8")
        shutil.rmtree(target, ignore_errors=True)
        building.rename(target)
    return Runners(target)
