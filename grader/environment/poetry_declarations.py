"""What a pyproject.toml declares to Poetry: its dependency tables, its test groups and
extras, and Poetry's version constraints translated to PEP 508.

``[tool.poetry.dependencies]``, the legacy ``dev-dependencies`` and the test groups'
tables are read. A constraint is translated by ``poetry_requirement``: a caret (``^1.2``)
becomes ``>=1.2,<2``, a bare version ``==``, a comparison is kept, and anything else
leaves the name without a specifier.
"""

from __future__ import annotations

import re
from typing import Any

from grader.environment.requirement_entries import TEST_EXTRAS, table_at


def poetry_test_groups(data: dict[str, Any]) -> tuple[list[str], list[str]]:
    """The groups and extras meant for testing that a pyproject declares to poetry (its
    own groups, the legacy dev-dependencies, PEP 735 groups), as ``poetry export`` names
    them: asking for a group that does not exist is an error there."""
    poetry = table_at(data, "tool", "poetry")
    groups = set(table_at(poetry, "group")) | set(table_at(data, "dependency-groups"))
    if table_at(poetry, "dev-dependencies"):
        groups.add("dev")
    extras = set(table_at(poetry, "extras"))
    extras |= set(table_at(data, "project", "optional-dependencies"))
    return sorted(groups & set(TEST_EXTRAS)), sorted(extras & set(TEST_EXTRAS))


def poetry_entries(data: dict[str, Any]) -> list[str]:
    """The runtime, dev and test-group dependencies declared to Poetry, as PEP 508."""
    poetry = table_at(data, "tool", "poetry")
    tables = [table_at(poetry, "dependencies"), table_at(poetry, "dev-dependencies")]
    tables += [table_at(poetry, "group", g, "dependencies") for g in TEST_EXTRAS]
    return [
        poetry_requirement(name, spec)
        for table in tables
        for name, spec in table.items()
        if name.lower() != "python"
    ]


def poetry_requirement(name: str, spec: Any) -> str:
    """``name`` with Poetry's constraint ``spec`` (a string or a table with a version)."""
    version = str(spec.get("version", "*") if isinstance(spec, dict) else spec).strip()
    if version in {"", "*"}:
        return name
    if version[0].isdigit():
        return f"{name}=={version}"
    caret = re.fullmatch(r"\^(\d+)(?:\.(\d+))?.*", version)
    if caret:
        return f"{name}>={version[1:]},<{int(caret.group(1)) + 1}"
    return (
        f"{name}{version.lstrip('~')}" if version.startswith(("~=", ">", "<", "=", "!")) else name
    )
