"""docker compose files: the variables each service runs with and the servers beside it.

A service's ``environment:`` (mapping or list form) comes before its ``env_file:`` files,
as compose itself lets the first override the second; an ``env_file:`` that is not
committed is read from the template beside it (``dev.env.template``), as the author's
own copy would be. Services that build the
repository's own code come first: their settings are the code's. A service with an
``image:`` is a server the code may reach by the service's name (a database, a cache);
every service name, ``hostname`` and network alias is a host name the code may use.
Compose files written for the tests (``docker-compose.test.yml``) come before the
others, production ones last; ``${NAME:-default}`` is substituted from the dotenv values
the repository declares, as compose substitutes from ``.env``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from grader.acquire.workspace import Workspace
from grader.environment import container_paths, dotenv_files
from grader.environment.settings_declarations import (
    DeclaredService,
    Setting,
    environment,
    inside,
    interpolate,
    load_yaml,
    mapping,
    matching,
    read_bounded,
    scalar,
    sequence,
)

COMPOSE_FILE = re.compile(r"(?:docker-)?compose(?:[.-][\w-]+)*\.ya?ml")
MAX_DEPTH = 2
_FOR_TESTS = re.compile(r"test|ci\b", re.IGNORECASE)
_FOR_PRODUCTION = re.compile(r"prod", re.IGNORECASE)


@dataclass(frozen=True)
class Compose:
    """What the compose files declare, in order of precedence."""

    settings: tuple[Setting, ...] = ()
    services: tuple[DeclaredService, ...] = ()
    hosts: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()
    """What could not be read, and values grader changed (container paths), as notes."""


def _rank(relative: str) -> tuple[int, int, str]:
    name = PurePosixPath(relative).name
    purpose = 0 if _FOR_TESTS.search(name) else 2 if _FOR_PRODUCTION.search(name) else 1
    return purpose, relative.count("/"), relative


# An env_file the author keeps out of git ships as a template beside it, which the README
# says to copy (cp dev.env.template dev.env).
_TEMPLATE_SUFFIXES = ("template", "example", "sample", "dist", "tmpl")


def _committed(ws: Workspace, relative: str, templates: bool) -> str | None:
    """The file an ``env_file:`` names, or (with ``templates``) the template it is copied
    from when only that is committed."""
    if relative in ws.files:
        return relative
    if not templates:
        return None
    return next(
        (f"{relative}.{s}" for s in _TEMPLATE_SUFFIXES if f"{relative}.{s}" in ws.files), None
    )


def _env_files(
    ws: Workspace, service: dict[str, Any], folder: str, templates: bool
) -> list[Setting]:
    settings: list[Setting] = []
    for entry in sequence(service.get("env_file")):
        reference = entry.get("path") if isinstance(entry, dict) else entry
        relative = inside(folder, reference) if isinstance(reference, str) else None
        committed = _committed(ws, relative, templates) if relative is not None else None
        if committed is not None:
            settings += dotenv_files.read(ws, committed)
    return settings


def _target_port(entry: Any) -> int | None:
    """The container's side of a ``ports:`` entry ("5433:5432", "5432/tcp", {target})."""
    if isinstance(entry, dict):
        entry = entry.get("target")
    text = scalar(entry)
    if text is None:
        return None
    port = text.split("/")[0].rsplit(":", 1)[-1]
    return int(port) if port.isdigit() and 0 < int(port) < 65536 else None


def _names(name: str, service: dict[str, Any]) -> list[str]:
    names = [name, scalar(service.get("hostname")), scalar(service.get("container_name"))]
    for network in mapping(service.get("networks")).values():
        names += [scalar(alias) for alias in sequence(mapping(network).get("aliases"))]
    return [n for n in names if n]


def _substituted(settings: list[Setting], lookup: Callable[[str], str | None]) -> list[Setting]:
    return [
        Setting(s.name, interpolate(s.value, lookup) if s.value is not None else None, s.source)
        for s in settings
    ]


def _read_file(ws: Workspace, relative: str, lookup: Callable[[str], str | None]) -> Compose:
    text = read_bounded(ws, relative)
    data = load_yaml(text) if text is not None else None
    if data is None:
        return Compose(problems=(f"{relative}: not a compose file grader could read",))
    # The original format had the services at the top level; x- keys are extension fields.
    services = {
        name: service
        for name, service in mapping(data.get("services", data)).items()
        if isinstance(service, dict) and not name.startswith("x-")
    }
    folder = str(PurePosixPath(relative).parent)
    builds = sorted(services, key=lambda name: "build" not in mapping(services[name]))
    settings: list[Setting] = []
    declared: list[DeclaredService] = []
    hosts: list[str] = []
    notes: list[str] = []
    for name in builds:
        service = mapping(services[name])
        own = environment(service.get("environment"), relative, null_from_shell=True)
        # A production file's templates hold production values (DEBUG=False), never the
        # tests' settings; its own committed env files still count, ranked last.
        templates = not _FOR_PRODUCTION.search(PurePosixPath(relative).name)
        own = _substituted(own, lookup) + _env_files(ws, service, folder, templates)
        own, moved = _out_of_the_container(own, container_paths.mounts(ws, service, folder))
        notes += [f"{line} (service {name})" for line in moved]
        hosts += _names(name, service)
        image = interpolate(scalar(service.get("image")) or "", lookup)
        if image and "build" not in service:
            ports = [_target_port(p) for p in sequence(service.get("ports"))]
            ports += [_target_port(p) for p in sequence(service.get("expose"))]
            declared.append(
                DeclaredService(
                    image=image,
                    names=tuple(_names(name, service)),
                    ports=tuple(p for p in ports if p),
                    settings=tuple(own),
                    source=f"{relative} (service {name})",
                )
            )
        settings += own
    return Compose(tuple(settings), tuple(declared), tuple(hosts), tuple(notes))


def _out_of_the_container(
    settings: list[Setting], pairs: list[tuple[str, str]]
) -> tuple[list[Setting], list[str]]:
    """Settings whose value is a path in the service's container that is a folder of the
    repository, pointed at that folder (see container_paths); what was changed."""
    if not pairs:
        return settings, []
    kept, moved = [], []
    for setting in settings:
        local = container_paths.translated(setting.value, pairs) if setting.value else None
        if local is None:
            kept.append(setting)
            continue
        kept.append(Setting(setting.name, local, setting.source))
        moved.append(f"{setting.name}={setting.value} is the container's path: {local} here")
    return kept, moved


def read(ws: Workspace, lookup: Callable[[str], str | None]) -> Compose:
    """Every compose file's settings, servers and host names, in order of precedence."""
    found = sorted(matching(ws, COMPOSE_FILE, MAX_DEPTH), key=_rank)
    parts = [_read_file(ws, relative, lookup) for relative in found]
    return Compose(
        tuple(s for part in parts for s in part.settings),
        tuple(s for part in parts for s in part.services),
        tuple(dict.fromkeys(h for part in parts for h in part.hosts)),
        tuple(p for part in parts for p in part.problems),
    )
