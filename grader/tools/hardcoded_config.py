"""Connection addresses written into the code instead of read from configuration.

A database, cache or broker URL typed into a module (``DATABASE_URL =
"sqlite:///./test.db"``, ``create_engine("postgresql://app:pw@localhost/app")``) ties the
code to one machine: a deployment, a test run or a second environment can only change
it by editing the code, and the tests end up writing to the same database as the app.
Configuration read from the environment or a settings object is injected instead.

Only what a deployment must change is counted: a literal URL of a backing service
(database, cache, broker). Where configuration is meant to live, a literal is the
default a deployment overrides, not a hard-coded address: a settings module (Django's
``settings.py``, a ``config.py``), a class attribute (a pydantic ``BaseSettings`` field),
a function parameter's default, and the fallback of an environment read
(``os.getenv("DATABASE_URL", "sqlite:///app.db")``). An in-memory SQLite database is no
address, nor is a scheme alone (``url.startswith("postgres://")``). f-strings and
templates (``"postgresql://{user}@{host}"``) are left alone: most assemble the URL from
configuration.
"""

from __future__ import annotations

import ast
import re
from pathlib import PurePosixPath

from grader.tools.module_state import Place, dotted

# A scheme with an address after it: a scheme alone (`url.startswith("sqlite://")`) or
# SQLite in memory (`sqlite://`) names no place.
_SERVICE_URL = re.compile(
    r"^(sqlite|postgres|postgresql|mysql|mariadb|mssql|oracle|mongodb|mongodb\+srv|redis|"
    r"rediss|amqp|amqps|memcached?)(\+\w+)?://[^\s{}]*[\w/.@:-]$",
    re.IGNORECASE,
)
# Modules (or folders) whose purpose is to hold the configuration.
_SETTINGS_NAMES = re.compile(
    r"^(settings|config|configs|configuration|conf|local_settings)(_\w*)?$"
)
# Calls whose arguments are configuration reads with a fallback.
_CONFIG_READS = frozenset({"getenv", "get", "setdefault", "config", "env", "str", "url"})


def is_settings_module(relative: str) -> bool:
    """Whether the file at ``relative`` is where the submission keeps its configuration."""
    path = PurePosixPath(relative)
    return any(_SETTINGS_NAMES.match(part) for part in (*path.parent.parts, path.stem))


def _defaults(tree: ast.Module) -> set[int]:
    """ids of the nodes where a literal is a default someone else overrides."""
    spared: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):  # a settings class's fields, not its methods
            fields = [stmt for stmt in node.body if isinstance(stmt, ast.Assign | ast.AnnAssign)]
            spared.update(id(n) for stmt in fields for n in ast.walk(stmt))
        elif isinstance(node, ast.BoolOp) and any(_reads_config(v) for v in node.values):
            spared.update(id(n) for v in node.values for n in ast.walk(v))  # getenv(...) or "..."
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            defaults = [*node.args.defaults, *(d for d in node.args.kw_defaults if d)]
            spared.update(id(n) for d in defaults for n in ast.walk(d))
        elif isinstance(node, ast.JoinedStr):  # an f-string's literal parts
            spared.update(id(n) for n in node.values)
        elif isinstance(node, ast.Call) and _reads_config(node):
            spared.update(id(n) for a in node.args[1:] for n in ast.walk(a))
            spared.update(id(n) for k in node.keywords for n in ast.walk(k.value))
    return spared


def _reads_config(node: ast.expr) -> bool:
    return isinstance(node, ast.Call) and dotted(node).rsplit(".", 1)[-1] in _CONFIG_READS


def _is_address(value: object) -> bool:
    return isinstance(value, str) and bool(_SERVICE_URL.match(value)) and ":memory:" not in value


def places(relative: str, tree: ast.Module) -> list[Place]:
    """The service addresses ``tree`` (the file at ``relative``) writes into its code."""
    if is_settings_module(relative):
        return []
    spared = _defaults(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and _is_address(node.value) and id(node) not in spared:
            scheme = str(node.value).split(":", 1)[0]
            found.append(
                Place(
                    node.lineno,
                    f"a {scheme} address is written into the code: read it from the "
                    "environment or a settings object, so a deployment or a test run can "
                    "point it elsewhere",
                )
            )
    return sorted(found, key=lambda p: p.line)
