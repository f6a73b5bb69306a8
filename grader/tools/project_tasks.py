"""The commands a repository declares for its reader: console scripts and the tasks of
project managers and task runners in pyproject.toml (``pdm run test``, ``hatch run
dev:test``, ``poe test``, taskipy's ``task test``), and the Makefile's targets."""

from __future__ import annotations

import re

from grader.acquire.workspace import Workspace
from grader.environment.packaging_declarations import console_scripts, pyproject


def _table(data: object, *keys: str) -> dict[str, object]:
    """``data[keys[0]][keys[1]]...`` when each step is a table, else an empty one."""
    for key in keys:
        data = data.get(key) if isinstance(data, dict) else None
    return data if isinstance(data, dict) else {}


def scripts(ws: Workspace) -> set[str]:
    """The commands pyproject.toml names: console scripts, and the tasks of the project
    managers and task runners (``pdm run test``, ``hatch run test``, ``poe test``)."""
    data = pyproject(ws)
    tables = [
        _table(data, "tool", "pdm", "scripts"),
        _table(data, "tool", "poe", "tasks"),
        _table(data, "tool", "taskipy", "tasks"),
        *(_table(env, "scripts") for env in _table(data, "tool", "hatch", "envs").values()),
    ]
    return {*console_scripts(ws), *(name for table in tables for name in table)}


def make_targets(ws: Workspace) -> set[str] | None:
    """The Makefile's targets, or None when there is no Makefile."""
    name = next((n for n in ("Makefile", "makefile", "GNUmakefile") if n in ws.files), None)
    if name is None:
        return None
    text = ws.path(name).read_text(encoding="utf-8", errors="replace")
    return set(re.findall(r"^([A-Za-z0-9_.-]+)\s*:(?!=)", text, re.MULTILINE))
