"""What a repository's run-settings files declare, and what reading them shares.

Each reader (dotenv_files, compose_files, workflow_files) returns ``Setting`` entries,
one per variable it found, and ``DeclaredService`` entries, one per server container
(compose's services, a CI job's services); ``run_settings`` puts them in order of
precedence. Files are untrusted input: read only within the submission, at most
``MAX_FILE_BYTES``, YAML only with PyYAML's safe loader, every level's shape checked.
Variables are substituted as docker compose does (``${NAME:-default}``), from what the
repository itself declares and never from grader's own environment.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

import yaml

from grader.acquire.workspace import Workspace
from grader.core.text import decode

MAX_FILE_BYTES = 256 * 1024
# Files of each kind looked at: a repository holds a handful; more is not a take-home.
MAX_FILES = 20
MAX_ENTRIES = 500


@dataclass(frozen=True)
class Setting:
    """One variable a file sets for the code."""

    name: str
    value: str | None
    """None: named without a value (compose's ``- NAME``, taken from the shell)."""
    source: str
    """The file, relative to the submission's root."""
    unknown: bool = False
    """The value was an expression grader cannot evaluate (``${{ secrets.X }}``)."""


@dataclass(frozen=True)
class DeclaredService:
    """A server container the repository runs beside its code."""

    image: str
    names: tuple[str, ...]
    """Host names the code reaches it by: the service's name, hostname, aliases."""
    ports: tuple[int, ...]
    """Ports the code connects to (the container's in compose, the runner's in CI)."""
    settings: tuple[Setting, ...]
    """The container's own environment (POSTGRES_USER, POSTGRES_DB, ...)."""
    source: str
    """'docker-compose.yml (service db)'."""


def depth(relative: str) -> int:
    """How many folders down a file is."""
    return relative.count("/")


def matching(ws: Workspace, pattern: re.Pattern[str], max_depth: int) -> list[str]:
    """Files whose name matches, shallowest first, at most MAX_FILES."""
    found = [
        f for f in ws.files if pattern.fullmatch(PurePosixPath(f).name) and depth(f) <= max_depth
    ]
    return sorted(found, key=lambda f: (depth(f), f))[:MAX_FILES]


def read_bounded(ws: Workspace, relative: str) -> str | None:
    """A file's text, or None when it is missing, not a regular file or too big."""
    path = ws.path(relative)
    try:
        if path.is_symlink() or not path.is_file() or path.stat().st_size > MAX_FILE_BYTES:
            return None
        return decode(path.read_bytes())
    except OSError:
        return None


def inside(base: str, reference: str) -> str | None:
    """``reference`` (relative to folder ``base``) as a path within the submission."""
    if PurePosixPath(reference).is_absolute():
        return None
    parts: list[str] = []
    for part in PurePosixPath(base, reference).parts:
        if part == "..":
            if not parts:
                return None
            parts.pop()
        elif part not in {".", ""}:
            parts.append(part)
    return "/".join(parts) or None


def folder_inside(base: str, reference: str) -> str | None:
    """Folder ``reference`` (relative to folder ``base``) as a folder of the submission,
    '.' for its root; None when it leaves the submission."""
    probe = inside(base, f"{reference}/_")  # a file in it: the root itself stays inside
    return None if probe is None else PurePosixPath(probe).parent.as_posix()


def load_yaml(text: str) -> dict[str, Any] | None:
    """A YAML document's top-level mapping, or None when it is not one."""
    try:
        data = yaml.safe_load(text)
    except (yaml.YAMLError, RecursionError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def scalar(value: Any) -> str | None:
    """A YAML scalar as an environment value (booleans as ``true``/``false``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    return None


def mapping(value: Any) -> dict[str, Any]:
    """``value`` when it is a mapping with string keys (the rest dropped), else empty."""
    if not isinstance(value, dict):
        return {}
    return {str(k): v for k, v in list(value.items())[:MAX_ENTRIES] if isinstance(k, str | int)}


def sequence(value: Any) -> list[Any]:
    """``value`` when it is a list (a single string is a list of one), else empty."""
    if isinstance(value, str):
        return [value]
    return list(value[:MAX_ENTRIES]) if isinstance(value, list) else []


def environment(value: Any, source: str, *, null_from_shell: bool) -> list[Setting]:
    """An ``environment:``/``env:`` block in mapping (``NAME: value``) or list
    (``- NAME=value``, ``- NAME``) form."""
    settings: list[Setting] = []
    if isinstance(value, list):
        for item in sequence(value):
            if isinstance(item, str):
                name, equals, written = item.partition("=")
                settings.append(Setting(name.strip(), written if equals else None, source))
        return settings
    for name, raw in mapping(value).items():
        text = scalar(raw)
        if raw is None and not null_from_shell:
            text = ""
        settings.append(Setting(name.strip(), text, source))
    return settings


# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, ${NAME:+other}, $NAME, $$
_SUBSTITUTION = re.compile(
    r"\$(?:(\$)|\{([A-Za-z_]\w*)(?:(:?[-?+])((?:[^{}]|\{[^{}]*\})*))?\}|([A-Za-z_]\w*))"
)


def interpolate(text: str, lookup: Callable[[str], str | None]) -> str:
    """``text`` with variables substituted as docker compose does; a variable nothing
    declares is empty (compose warns and does the same)."""

    def substitute(found: re.Match[str]) -> str:
        escaped, name, operator, argument, bare = found.groups()
        if escaped:
            return "$"
        if bare:
            return lookup(bare) or ""
        value = lookup(name)
        unset_or_empty = not value if operator and operator.startswith(":") else value is None
        if operator in {":-", "-"}:
            return interpolate(argument or "", lookup) if unset_or_empty else value or ""
        if operator in {":+", "+"}:
            return "" if unset_or_empty else interpolate(argument or "", lookup)
        return value or ""  # ${NAME}, and ${NAME:?error} (compose would stop; grader goes on)

    return _SUBSTITUTION.sub(substitute, text)


def lookup_in(values: Mapping[str, str]) -> Callable[[str], str | None]:
    """A lookup for ``interpolate`` over values already read."""
    return values.get
