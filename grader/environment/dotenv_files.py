"""Dotenv files: the variables a repository documents (``.env.example``), sets for its
tests (``.env.test``) or runs with (a committed ``.env``).

Parsed with python-dotenv's own parser (quotes, escapes, ``export`` prefixes, comments),
never loaded into any process's environment. ``${NAME}`` in a value is substituted from
the values read before it, as python-dotenv does, except in single quotes; grader's own
environment is never consulted. Files at the root come first, then one or two folders
down (a Django project one folder down keeps its ``.env.example`` beside ``manage.py``).
"""

from __future__ import annotations

import enum
import io
import re

from dotenv.parser import parse_stream

from grader.acquire.workspace import Workspace
from grader.environment.settings_declarations import (
    MAX_ENTRIES,
    Setting,
    interpolate,
    matching,
    read_bounded,
)


class Kind(enum.Enum):
    """What a dotenv file is for, which decides how far it is trusted."""

    TEST = "test"
    """Written for the tests: ``.env.test``, ``.env.testing``, ``.env.ci``."""
    TEMPLATE = "template"
    """Documentation to copy: ``.env.example``, ``.env.sample``, ``env.example``,
    ``sample_env``."""
    LOCAL = "local"
    """A developer's own values, committed: ``.env``, ``.env.local``, ``.env.development``."""


PATTERNS = {
    Kind.TEST: re.compile(r"\.env\.(?:test|testing|ci)"),
    # Separators vary by author: .env.example, .env_example, env-sample, sample_env.
    Kind.TEMPLATE: re.compile(
        r"\.?env[._-](?:example|sample|template|dist|defaults?)"
        r"|(?:example|sample|template)[._-]env"
        r"|\.env\.[\w-]+\.(?:example|sample|template)"
    ),
    Kind.LOCAL: re.compile(r"\.env(?:\.(?:local|dev|development))?"),
}
MAX_DEPTH = 2


def files(ws: Workspace, kind: Kind) -> list[str]:
    """The submission's dotenv files of one kind, shallowest first."""
    return matching(ws, PATTERNS[kind], MAX_DEPTH)


def _single_quoted(original: str) -> bool:
    _, _, value = original.partition("=")
    return value.lstrip().startswith("'")


def parse(text: str, source: str) -> list[Setting]:
    """Every ``NAME=value`` of a dotenv text (a bare ``NAME`` has no value)."""
    settings: list[Setting] = []
    seen: dict[str, str] = {}
    for binding in parse_stream(io.StringIO(text)):
        if binding.error or binding.key is None:
            continue
        value = binding.value
        if value is not None and not _single_quoted(binding.original.string):
            value = interpolate(value, seen.get)
        if value is not None:
            seen[binding.key] = value
        settings.append(Setting(binding.key, value, source))
        if len(settings) >= MAX_ENTRIES:
            break
    return settings


def read(ws: Workspace, relative: str) -> list[Setting]:
    """The settings of one dotenv file (none when it cannot be read)."""
    text = read_bounded(ws, relative)
    return parse(text, relative) if text is not None else []
