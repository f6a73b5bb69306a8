"""A poetry.lock exported by poetry itself, inside the sandbox.

A lock file holds every group the project declares: linters, documentation, release
tools. Only the runtime dependencies and the groups meant for testing belong in the test
environment. ``uv.lock`` is exported by uv (see ``grader.environment.lock_files``); a
``poetry.lock`` is exported by ``poetry export``, which knows which packages each group
pulls in even when the lock does not record groups (poetry before 2.0 wrote none).

poetry reads the candidate's pyproject.toml, and poetry 2 installs and loads the plugins
it lists (``[tool.poetry.requires-plugins]``), so it runs in the sandbox: no network (a
plugin it tries to fetch never arrives), a copy of just pyproject.toml and poetry.lock.
poetry itself is installed from wheels, at the versions pinned in grader's
``lock-export`` extra, into an environment of its own in grader's cache, built once.
When anything fails, the lock's recorded groups are used as before, and the report says
why.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import tempfile
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

from grader.core import locks, proc
from grader.environment import requirements, uv
from grader.environment.context import BuildContext
from grader.environment.packaging_declarations import pyproject
from grader.environment.poetry_declarations import poetry_test_groups
from grader.sandbox.bubblewrap import SANDBOX_TMP, interpreter_paths

EXTRA = "lock-export"
BUILD_TIMEOUT_S = 300.0
EXPORT_LIMIT_S = 60.0
POETRY_LOCK = "poetry.lock"


def pins() -> list[str]:
    """The exporters' versions, from grader's own metadata (its ``lock-export`` extra)."""
    wanted = []
    for line in metadata.requires("grader") or []:
        requirement = Requirement(line)
        if requirement.marker is not None and requirement.marker.evaluate({"extra": EXTRA}):
            requirement.marker = None
            wanted.append(str(requirement))
    return sorted(wanted)


def _tool_environment(cache_root: Path, python: Path, *, offline: bool) -> Path | str:
    """poetry's own environment in grader's cache, built from wheels on first use; or
    why it could not be built."""
    wanted = pins()
    if not wanted:
        return "grader was installed without its lock-export pins"
    name = "-".join(p.replace("==", "-") for p in wanted)
    target = cache_root / "tools" / name
    if (target / "bin" / "python").exists():
        return target
    if offline:
        return "poetry is not in grader's cache yet, and --offline forbids installing it"
    with locks.exclusive(cache_root / "tools" / f"{name}.lock"):
        if (target / "bin" / "python").exists():
            return target
        building = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=target.parent))
        building.chmod(0o755)  # the sandbox's unprivileged user runs poetry from it
        try:
            env = uv.environment(cache_root)
            problem = uv.wheels_environment(building, python, wanted, env, BUILD_TIMEOUT_S)
            if problem:
                return f"poetry could not be installed: {problem}"
            building.rename(target)
        finally:
            if building.exists():
                shutil.rmtree(building, ignore_errors=True)
    return target


def export(ctx: BuildContext, python: Path) -> tuple[tuple[requirements.Exported, ...], str]:
    """The submission's poetry.lock exported by poetry in the sandbox, when grader uses
    one, and a note when the export failed (the lock's recorded groups then serve)."""
    ws = ctx.workspace
    used = {s.path for s in requirements.read(ws).sources if s.used}
    if POETRY_LOCK not in used or ctx.environments is None or not ctx.sandbox.isolated:
        return (), ""
    groups, extras = poetry_test_groups(pyproject(ws))
    inputs = [ws.path(name).read_bytes() for name in ("pyproject.toml", POETRY_LOCK)]
    digest = hashlib.sha256(b"\0".join([*inputs, *(p.encode() for p in pins())])).hexdigest()
    # The export depends on nothing but these two files and poetry's version: kept by
    # their digest, it is made once however often the submission is graded.
    kept = ctx.environments.root / "exports" / f"{digest[:32]}.json"
    stored = _load(kept)
    if stored is not None:
        return (stored,), ""
    cache = ctx.environments
    tool = _tool_environment(cache.root, python, offline=cache.offline)
    if isinstance(tool, str):
        return (), f"{POETRY_LOCK}: {tool}; its recorded groups were used"
    # ``python -m poetry``: the environment was built under a temporary name, which its
    # scripts' first lines still carry.
    argv = [str(tool / "bin" / "python"), "-m", "poetry", "export", "--no-interaction"]
    argv += ["--no-ansi"]
    argv += ["--format", "requirements.txt", "--without-hashes", "--without-urls"]
    argv += ["--only", ",".join(["main", *groups])]
    argv += [f"--extras={extra}" for extra in extras]
    with tempfile.TemporaryDirectory(prefix="grader-poetry-") as folder:
        project = Path(folder)
        project.chmod(0o755)
        for name, data in zip(("pyproject.toml", POETRY_LOCK), inputs, strict=True):
            (project / name).write_bytes(data)
            (project / name).chmod(0o644)
        result = ctx.sandbox.run(
            argv,
            cwd=project,
            writable=[],
            readable=[project, *interpreter_paths(tool / "bin" / "python")],
            env={
                "PATH": f"{tool / 'bin'}:/usr/bin:/bin",
                "HOME": SANDBOX_TMP,
                "POETRY_CACHE_DIR": f"{SANDBOX_TMP}/poetry",
                "POETRY_CONFIG_DIR": f"{SANDBOX_TMP}/poetry-config",
                "LANG": "C.UTF-8",
            },
            limits=dataclasses.replace(ctx.limits, wall_s=min(ctx.limits.wall_s, EXPORT_LIMIT_S)),
        )
    if result.exit_code != 0 or result.timed_out:
        said = proc.tail(result.stderr or result.stdout, 1) or f"exit code {result.exit_code}"
        return (), f"{POETRY_LOCK}: poetry export failed ({said}); its recorded groups were used"
    chosen = ", ".join([*(f"group {g}" for g in groups), *(f"extra {e}" for e in extras)])
    exported = requirements.Exported(
        POETRY_LOCK,
        tuple(result.stdout.splitlines()),
        f"exported with poetry: main{', ' + chosen if chosen else ''}",
    )
    _store(kept, exported)
    return (exported,), ""


def _load(path: Path) -> requirements.Exported | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return requirements.Exported(
            str(data["lock"]), tuple(str(line) for line in data["lines"]), str(data["detail"])
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _store(path: Path, exported: requirements.Exported) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{os.getpid()}.partial")
    record = {"lock": exported.lock, "lines": list(exported.lines), "detail": exported.detail}
    partial.write_text(json.dumps(record), encoding="utf-8")
    partial.replace(path)
