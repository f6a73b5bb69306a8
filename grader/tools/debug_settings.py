"""Django settings that switch debug mode on for every deployment. Part of the facts tool.

Django's deployment checklist starts here (``manage.py check --deploy``, security.W018):
with ``DEBUG`` on, any error shows whoever caused it the settings, the SQL and the stack.
A settings module that writes ``DEBUG = True`` ships that to wherever it is deployed;
one that reads it from the environment (``env.bool("DEBUG", False)``) does not, nor does
a settings file named for development (``settings/dev.py``, ``local_settings.py``), nor
a base module whose value the modules built on it (``from .base import *``) replace.

A settings module is one that configures Django itself (it assigns ``INSTALLED_APPS``,
``MIDDLEWARE`` or ``ROOT_URLCONF``), or one built on another module of its folder by a
star import (``settings/production.py``).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import PurePosixPath

from grader.acquire.workspace import Workspace
from grader.core.models import Finding, Location, Severity

RULE = "debug-in-settings"
MAX_SETTINGS_BYTES = 256 * 1024
_DJANGO_SETTINGS = frozenset({"INSTALLED_APPS", "MIDDLEWARE", "ROOT_URLCONF"})
# A settings file meant for a developer's machine or the tests, by its name.
_FOR_DEVELOPMENT = re.compile(
    r"(?i)(^|[_.-])(dev|develop|development|local|tests?|testing)([_.-]|$)"
)


@dataclass(frozen=True)
class _Settings:
    """What one module says about DEBUG: the line of a literal True (0 when it sets
    another value), and the modules of its folder it star-imports."""

    debug_line: int | None
    django: bool
    star_imports: frozenset[str]


def _read(source: str) -> _Settings | None:
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    names: set[str] = set()
    debug: int | None = None
    stars: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and any(a.name == "*" for a in node.names):
            stars.add((node.module or "").rsplit(".", 1)[-1])
        if not isinstance(node, ast.Assign):
            continue
        assigned = {t.id for t in node.targets if isinstance(t, ast.Name)}
        names |= assigned
        if "DEBUG" in assigned:
            value = node.value
            true = isinstance(value, ast.Constant) and value.value in (True, 1)
            # Any assignment that is not a literal True (a branch turning it off, an
            # environment read) decides at run time: the module is not charged.
            debug = node.lineno if true and debug is None else 0
    return _Settings(debug or None, bool(_DJANGO_SETTINGS & names), frozenset(stars))


def _read_file(ws: Workspace, relative: str) -> _Settings | None:
    path = ws.path(relative)
    try:
        if path.is_symlink() or path.stat().st_size > MAX_SETTINGS_BYTES:
            return None
        source = path.read_text(encoding="utf-8-sig", errors="replace")
    except OSError:
        return None
    return _read(source) if "DEBUG" in source else None


def find(ws: Workspace) -> list[Finding]:
    """A finding for each Django settings module that turns debug mode on."""
    tests = set(ws.test_files)
    unparsable = {path for path, _ in ws.unparsable}
    read = {
        relative: settings
        for relative in ws.python_files
        if relative not in tests
        and relative not in unparsable
        and (settings := _read_file(ws, relative)) is not None
    }
    found = []
    for relative, settings in sorted(read.items()):
        path = PurePosixPath(relative)
        if settings.debug_line is None or _FOR_DEVELOPMENT.search(path.stem):
            continue
        if not (settings.django or settings.star_imports):
            continue
        # A base module whose DEBUG a module built on it sets again (production.py doing
        # `from .base import *` then `DEBUG = False`) is a default, not the deployment's.
        replaced = any(
            PurePosixPath(other).parent == path.parent
            and path.stem in theirs.star_imports
            and theirs.debug_line is None
            for other, theirs in read.items()
            if other != relative
        )
        if not replaced:
            found.append(_finding(relative, settings.debug_line))
    return found


def _finding(relative: str, line: int) -> Finding:
    return Finding(
        "facts",
        RULE,
        "DEBUG = True is written into the Django settings, so every deployment shows its "
        "settings and stack traces on an error page: read it from the environment, off by "
        "default",
        Severity.MEDIUM,
        Location(relative, line),
    )
