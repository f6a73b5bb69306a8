"""Django settings that switch debug mode on for every deployment. Part of the facts tool.

Django's deployment checklist starts here (``manage.py check --deploy``, security.W018):
with ``DEBUG`` on, any error shows whoever caused it the settings, the SQL and the stack.
A settings module that writes ``DEBUG = True`` ships that to wherever it is deployed;
one that reads it from the environment (``env.bool("DEBUG", False)``), or a settings file
named for development (``settings/dev.py``, ``local_settings.py``) that imports the
rest, does not. A settings module is one that configures Django itself (it assigns
``INSTALLED_APPS``, ``MIDDLEWARE`` or ``ROOT_URLCONF``).
"""

from __future__ import annotations

import ast
import re
from pathlib import PurePosixPath

from grader.acquire.workspace import Workspace
from grader.core.models import Finding, Location, Severity

RULE = "debug-in-settings"
_DJANGO_SETTINGS = frozenset({"INSTALLED_APPS", "MIDDLEWARE", "ROOT_URLCONF"})
# A settings file meant for a developer's machine or the tests, by its name.
_FOR_DEVELOPMENT = re.compile(
    r"(?i)(^|[_.-])(dev|develop|development|local|tests?|testing)([_.-]|$)"
)


def _assigned(tree: ast.Module) -> dict[str, ast.expr]:
    """The module-level names assigned, with the value last assigned to each."""
    values: dict[str, ast.expr] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    values[target.id] = node.value
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value:
            values[node.target.id] = node.value
    return values


def debug_line(source: str) -> int | None:
    """The line of a Django settings module's ``DEBUG = True``, or None."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return None
    values = _assigned(tree)
    debug = values.get("DEBUG")
    if not (_DJANGO_SETTINGS & values.keys()) or not isinstance(debug, ast.Constant):
        return None
    return debug.lineno if debug.value is True else None


def find(ws: Workspace) -> list[Finding]:
    """A finding for each Django settings module that turns debug mode on."""
    tests = set(ws.test_files)
    found = []
    for relative in ws.python_files:
        stem = PurePosixPath(relative).stem
        if relative in tests or _FOR_DEVELOPMENT.search(stem):
            continue
        try:
            source = ws.path(relative).read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        if "DEBUG" not in source:
            continue
        line = debug_line(source)
        if line is not None:
            found.append(
                Finding(
                    "facts",
                    RULE,
                    "DEBUG = True is written into the Django settings, so every deployment "
                    "shows its settings and stack traces on an error page: read it from the "
                    "environment, off by default",
                    Severity.MEDIUM,
                    Location(relative, line),
                )
            )
    return found
