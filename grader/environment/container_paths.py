"""Paths inside a compose service's container, and where the same files are in the repository.

A service's ``environment:`` is written for its container: ``UPLOAD_DIR=/app/uploads``
names a folder of the image, which the tests (run from the repository, as the author
runs them locally) do not have; the code then fails to create it and every test that
touches it fails, though ``cp .env.example .env && pytest`` passes. Where the container's
folder is the repository's own (a bind mount ``./uploads:/app/uploads``, or the
Dockerfile copying its build context to its ``WORKDIR``), such a value is translated to
the same place in the repository, relative to its root (the tests run from there).
"""

from __future__ import annotations

import re
import shlex
from pathlib import PurePosixPath
from typing import Any

from grader.acquire.workspace import Workspace
from grader.environment.settings_declarations import (
    folder_inside,
    inside,
    mapping,
    read_bounded,
    scalar,
    sequence,
)

# A build context copied whole: COPY . . / COPY ./ /app / ADD . /srv (options skipped).
_COPY = re.compile(r"^\s*(?:COPY|ADD)\s+(?P<args>.+)$", re.IGNORECASE)
_WORKDIR = re.compile(r"^\s*WORKDIR\s+(?P<path>\S+)\s*$", re.IGNORECASE)


def mounts(ws: Workspace, service: dict[str, Any], folder: str) -> list[tuple[str, str]]:
    """(container folder, repository folder relative to its root) pairs of a service,
    longest container folder first; ``folder`` is the compose file's."""
    found = [*_binds(service, folder), *_copied_context(ws, service, folder)]
    # The container's root is never the repository: /tmp or /etc stay what they are.
    chosen = {container: local for container, local in found if container != "/"}
    return sorted(chosen.items(), key=lambda pair: -len(pair[0]))


def translated(value: str, pairs: list[tuple[str, str]]) -> str | None:
    """``value`` with a container folder replaced by the repository's (``./uploads``),
    or None when it names no such folder."""
    if not value.startswith("/"):
        return None
    path = PurePosixPath(value)
    for container, local in pairs:
        if path == PurePosixPath(container) or PurePosixPath(container) in path.parents:
            rest = path.relative_to(container)
            joined = PurePosixPath(local, rest).as_posix()
            return "." if joined == "." else f"./{joined.removeprefix('./')}"
    return None


def _binds(service: dict[str, Any], folder: str) -> list[tuple[str, str]]:
    """Bind mounts of a folder of the repository: ``./src:/app/src`` or the long form."""
    found = []
    for entry in sequence(service.get("volumes")):
        if isinstance(entry, dict):
            source, target = scalar(entry.get("source")), scalar(entry.get("target"))
            if entry.get("type") not in (None, "bind"):
                continue
        else:
            parts = (scalar(entry) or "").split(":")
            source, target = (parts[0], parts[1]) if len(parts) >= 2 else (None, None)
        if not source or not target or not source.startswith(".") or not target.startswith("/"):
            continue  # a named volume, or a host path outside the repository
        local = folder_inside(folder, source)
        if local is not None:
            found.append((_normal(target), local))
    return found


def _copied_context(ws: Workspace, service: dict[str, Any], folder: str) -> list[tuple[str, str]]:
    """The container folder a service's Dockerfile copies its whole build context to."""
    build = service.get("build")
    context_ref = scalar(build) if not isinstance(build, dict) else scalar(build.get("context"))
    if not context_ref:
        return []
    context = folder_inside(folder, context_ref)
    dockerfile_ref = scalar(mapping(build).get("dockerfile")) or "Dockerfile"
    dockerfile = inside(context, dockerfile_ref) if context is not None else None
    text = read_bounded(ws, dockerfile) if dockerfile is not None else None
    if context is None or text is None:
        return []
    workdir = "/"
    found = []
    for line in text.splitlines():
        if moved := _WORKDIR.match(line):
            workdir = PurePosixPath(workdir, moved.group("path")).as_posix()
        elif copy := _COPY.match(line):
            target = _whole_context_target(copy.group("args"))
            if target is not None:
                found.append((_normal(PurePosixPath(workdir, target).as_posix()), context))
    return found


def _whole_context_target(args: str) -> str | None:
    """Where ``COPY`` puts the whole build context (``. .``, ``./ /app``), if it does."""
    try:
        words = [w for w in shlex.split(args) if not w.startswith("--")]
    except ValueError:
        return None
    if len(words) != 2 or words[0] not in {".", "./"}:
        return None
    return words[1]


def _normal(path: str) -> str:
    return PurePosixPath(path).as_posix().rstrip("/") or "/"
