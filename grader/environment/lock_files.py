"""Lock files reduced to what the tests need: uv.lock, poetry.lock, pdm.lock, Pipfile.lock.

``uv.lock`` is exported by uv itself for the runtime and test groups (``uv export``,
offline, frozen); only when that fails is the lock parsed. ``poetry.lock`` is exported by
poetry in the sandbox (grader.environment.lock_export) and read here only when poetry
refuses it; it and ``pdm.lock`` record each package's groups, and the packages of the
runtime and test groups are kept. ``Pipfile.lock`` keeps its default and develop packages,
with their markers.
When a lock is parsed, packages not from a registry (a path, a VCS URL, the project
itself) are left out, and no index package of their name is installed in their place.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from grader.acquire.workspace import Workspace
from grader.core import proc
from grader.environment import uv
from grader.environment.packaging_declarations import pyproject, testing_extras, testing_groups
from grader.environment.requirement_entries import (
    TEST_EXTRAS,
    Collector,
    read_text,
    read_toml,
    strings_at,
    table_at,
    tables_at,
)

EXPORT_TIMEOUT_S = 60.0


def read_uv_lock(ws: Workspace, collector: Collector) -> str:
    """Export the runtime and test groups with uv itself; parse the lock only if it fails."""
    data = pyproject(ws)
    groups, extras = testing_groups(data), testing_extras(data)
    argv = [uv.executable(), "export", "--frozen", "--offline", "--no-hashes", "--no-header"]
    argv += ["--no-annotate", "--no-emit-project", "--no-emit-workspace", "--no-emit-local"]
    argv += ["--no-default-groups", "--format", "requirements-txt"]
    for group in groups:
        argv += ["--group", group]
    for extra in extras:
        argv += ["--extra", extra]
    with tempfile.TemporaryDirectory(prefix="grader-uv-") as scratch:
        result = proc.run(
            argv, cwd=ws.root, timeout_s=EXPORT_TIMEOUT_S, env=uv.environment(Path(scratch))
        )
    if result.exit_code == 0:
        for line in result.stdout.splitlines():
            collector.add(line, "uv.lock")
        chosen = ", ".join([*(f"group {g}" for g in groups), *(f"extra {e}" for e in extras)])
        return f"exported with uv: runtime dependencies{', ' + chosen if chosen else ''}"
    collector.problems.append(f"uv.lock: uv export failed ({uv.message(result.stderr, 200)})")
    _lock_packages(ws, "uv.lock", collector, lambda package: True)
    return "every registry package of the lock (uv could not export it)"


def _in_groups(wanted: set[str]) -> Callable[[dict[str, Any]], bool]:
    def keep(package: dict[str, Any]) -> bool:
        groups = package.get("groups")
        return not isinstance(groups, list) or bool(wanted & {str(g) for g in groups})

    return keep


# How uv.lock (keys) and poetry.lock (its "type") say a package is not from an index.
_NOT_FROM_AN_INDEX = frozenset({"git", "path", "directory", "editable", "virtual", "url", "file"})


def _direct(source: Any) -> bool:
    keys = set(source) | {str(source.get("type"))} if isinstance(source, dict) else set()
    return bool(keys & _NOT_FROM_AN_INDEX)


def _lock_packages(
    ws: Workspace, name: str, collector: Collector, keep: Callable[[dict[str, Any]], bool]
) -> None:
    for package in tables_at(read_toml(ws, name), "package"):
        source = package.get("source")
        local = isinstance(source, dict) and not ("registry" in source or not source)
        name_, version = package.get("name"), package.get("version")
        if local and isinstance(name_, str) and keep(package) and _direct(source):
            collector.reference(name_, name, "a repository, a path or a URL")
        if local or not (isinstance(name_, str) and isinstance(version, str)) or not keep(package):
            continue
        marker = package.get("marker") or package.get("markers")
        suffix = f"; {marker}" if isinstance(marker, str) and marker else ""
        collector.add(f"{name_}=={version}{suffix}", name)


def _grouped_lock(ws: Workspace, name: str, collector: Collector, runtime: str) -> str:
    wanted = {runtime, *TEST_EXTRAS}
    packages = tables_at(read_toml(ws, name), "package")
    if not any(isinstance(p.get("groups"), list) for p in packages):
        _lock_packages(ws, name, collector, lambda package: True)
        return "every package (the lock records no groups)"
    _lock_packages(ws, name, collector, _in_groups(wanted))
    return f"packages of the {runtime} and test groups"


def read_poetry_lock(ws: Workspace, collector: Collector) -> str:
    """poetry.lock's packages of the main and test groups (when poetry cannot export it)."""
    return _grouped_lock(ws, "poetry.lock", collector, "main")


def read_pdm_lock(ws: Workspace, collector: Collector) -> str:
    """pdm.lock's packages of the default and test groups."""
    return _grouped_lock(ws, "pdm.lock", collector, "default")


def read_pipfile_lock(ws: Workspace, collector: Collector) -> str:
    """Pipfile.lock's default and develop packages."""
    try:
        data = json.loads(read_text(ws, "Pipfile.lock"))
    except json.JSONDecodeError:
        data = {}
    for section in ("default", "develop"):
        for name, spec in table_at(data, section).items():
            if not isinstance(spec, dict):
                continue
            if "git" in spec or "path" in spec or "file" in spec:
                collector.reference(name, "Pipfile.lock", "a repository, a path or a URL")
                continue
            version, marker = spec.get("version"), spec.get("markers")
            extras = strings_at(spec, "extras")
            if isinstance(version, str):
                collector.add(
                    name
                    + (f"[{','.join(extras)}]" if extras else "")
                    + version
                    + (f"; {marker}" if isinstance(marker, str) and marker else ""),
                    "Pipfile.lock",
                )
    return "default and develop packages, with their markers"
