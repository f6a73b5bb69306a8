"""What the declarative packaging files say the project and its tests need: pyproject.toml
(PEP 621 dependencies and extras, PEP 735 dependency groups, uv's dev-dependencies, and
Poetry's tables through poetry_declarations), setup.cfg, setup.py and Pipfile.

A dependency these files take from a git repository, a path or a URL (Poetry's and
Pipfile's tables, ``[tool.uv.sources]``) counts as declared and is never installed from
the index under its name. Each ``read_*`` function is a reader in the sense of
requirement_entries: it adds the entries it finds to a ``Collector`` and says what it
read. setup.py is parsed, never run.
"""

from __future__ import annotations

import ast
import configparser
from typing import Any

from packaging.markers import default_environment
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from grader.acquire.workspace import Workspace
from grader.environment.poetry_declarations import add_poetry_entries, poetry_python
from grader.environment.requirement_entries import (
    TEST_EXTRAS,
    Collector,
    read_text,
    read_toml,
    strings_at,
    table_at,
)

MAX_EXTRA_DEPTH = 5
# A Pipfile entry's keys that are PEP 508 marker variables, as pipenv reads them.
_MARKER_VARIABLES = tuple(default_environment())
# A Pipfile entry's keys for a dependency that does not come from the package index.
_PIPFILE_DIRECT = {"git": "a git repository", "path": "a path", "file": "a URL"}
# [tool.uv.sources] keys for a dependency that does not come from the package index.
_UV_DIRECT = {
    "git": "a git repository",
    "path": "a path",
    "url": "a URL",
    "workspace": "the project's workspace",
}


def pyproject(ws: Workspace) -> dict[str, Any]:
    """pyproject.toml as data; empty when absent or not valid TOML."""
    return read_toml(ws, "pyproject.toml") if "pyproject.toml" in ws.files else {}


def testing_groups(data: dict[str, Any]) -> list[str]:
    """The dependency groups meant for testing (PEP 735, and uv's dev-dependencies)."""
    groups = set(table_at(data, "dependency-groups"))
    if strings_at(table_at(data, "tool", "uv"), "dev-dependencies"):
        groups.add("dev")
    return sorted(groups & set(TEST_EXTRAS))


def testing_extras(data: dict[str, Any]) -> list[str]:
    """The project's optional-dependency extras meant for testing."""
    return sorted(set(table_at(data, "project", "optional-dependencies")) & set(TEST_EXTRAS))


def console_scripts(ws: Workspace) -> list[str]:
    """The commands pyproject.toml installs: ``[project.scripts]`` and Poetry's scripts."""
    data = pyproject(ws)
    tool = data.get("tool")
    tables = [
        data["project"].get("scripts") if isinstance(data.get("project"), dict) else None,
        tool["poetry"].get("scripts")
        if isinstance(tool, dict) and isinstance(tool.get("poetry"), dict)
        else None,
    ]
    return [name for table in tables if isinstance(table, dict) for name in table]


def project_name(ws: Workspace) -> str | None:
    """The distribution name the project declares for itself, if any."""
    name = table_at(pyproject(ws), "project").get("name")
    poetry = table_at(pyproject(ws), "tool", "poetry").get("name")
    for value in (name, poetry):
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def requires_python(ws: Workspace) -> str | None:
    """The Python versions the project supports, as a PEP 440 specifier, if it says:
    PEP 621's ``requires-python`` is one already, as written; Poetry's ``python`` is
    Poetry's constraint, read by Poetry's parser."""
    data = pyproject(ws)
    pep621 = table_at(data, "project").get("requires-python")
    if isinstance(pep621, str) and pep621.strip():
        return pep621.strip()
    poetry = table_at(data, "tool", "poetry", "dependencies").get("python")
    return poetry_python(poetry) if isinstance(poetry, str) else None


def _project_entries(data: dict[str, Any]) -> list[str]:
    """Runtime dependencies, test extras (expanding self-references) and test groups."""
    project = table_at(data, "project")
    own = canonicalize_name(str(project.get("name", ""))) if project.get("name") else None
    extras = table_at(project, "optional-dependencies")
    entries = list(strings_at(project, "dependencies"))
    pending, seen = [e for e in TEST_EXTRAS if e in extras], set[str]()
    while pending and len(seen) < MAX_EXTRA_DEPTH * len(TEST_EXTRAS):
        extra = pending.pop()
        if extra in seen:
            continue
        seen.add(extra)
        for entry in strings_at(extras, extra):
            requirement = _parsed(entry)
            if requirement and own and canonicalize_name(requirement.name) == own:
                pending += [e for e in requirement.extras if e in extras]
            else:
                entries.append(entry)
    return entries + _group_entries(table_at(data, "dependency-groups"))


def _parsed(entry: str) -> Requirement | None:
    try:
        return Requirement(entry)
    except InvalidRequirement:
        return None


def _group_entries(groups: dict[str, Any]) -> list[str]:
    """Entries of the test groups and of every group they include (PEP 735)."""
    entries: list[str] = []
    pending, seen = [g for g in TEST_EXTRAS if g in groups], set[str]()
    while pending and len(seen) < len(groups) + 1:
        group = pending.pop()
        if group in seen:
            continue
        seen.add(group)
        values = groups.get(group, [])
        for value in values if isinstance(values, list) else []:
            if isinstance(value, str):
                entries.append(value)
            elif isinstance(value, dict) and isinstance(value.get("include-group"), str):
                pending.append(value["include-group"])
    return entries


def _add_uv_sources(data: dict[str, Any], collector: Collector) -> None:
    """Names that ``[tool.uv.sources]`` takes from a repository, a path, a URL or the
    workspace: declared in ``dependencies`` by name alone, but not from the index."""
    for name, source in table_at(data, "tool", "uv", "sources").items():
        tables = source if isinstance(source, list) else [source]
        kinds = [
            kind
            for table in tables
            if isinstance(table, dict)
            for key, kind in _UV_DIRECT.items()
            if key in table
        ]
        if kinds:
            collector.reference(name, "pyproject.toml", kinds[0])


def read_pyproject_declarations(ws: Workspace, collector: Collector) -> str:
    """pyproject.toml's runtime dependencies, test extras and test groups (Poetry's too)."""
    data = pyproject(ws)
    for entry in _project_entries(data):
        collector.add(entry, "pyproject.toml")
    add_poetry_entries(data, collector)
    _add_uv_sources(data, collector)
    chosen = [f"extra {e}" for e in testing_extras(data)]
    chosen += [f"group {g}" for g in testing_groups(data)]
    return "runtime dependencies" + (f", {', '.join(chosen)}" if chosen else "")


def optional_names(ws: Workspace) -> frozenset[str]:
    """Canonical names pyproject.toml declares for any purpose beyond the tests: every
    extra (PEP 621), every dependency group (PEP 735), every Poetry group and optional
    dependency. Declared, so never "undeclared" when imported; not installed for the tests."""
    data = pyproject(ws)
    entries = [
        entry
        for table in (
            table_at(data, "project", "optional-dependencies"),
            table_at(data, "dependency-groups"),
        )
        for values in table.values()
        for entry in (values if isinstance(values, list) else [])
        if isinstance(entry, str)
    ]
    names = {canonicalize_name(r.name) for r in map(_parsed, entries) if r is not None}
    poetry = table_at(data, "tool", "poetry")
    tables = [table_at(poetry, "dependencies"), table_at(poetry, "dev-dependencies")]
    tables += [table_at(poetry, "group", g, "dependencies") for g in table_at(poetry, "group")]
    names |= {canonicalize_name(n) for table in tables for n in table if n.lower() != "python"}
    return frozenset(names)


def read_setup_cfg(ws: Workspace, collector: Collector) -> str:
    """setup.cfg's install_requires and test extras."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(read_text(ws, "setup.cfg"))
    lines = parser.get("options", "install_requires", fallback="").splitlines()
    for extra in TEST_EXTRAS:
        lines += parser.get("options.extras_require", extra, fallback="").splitlines()
    for line in lines:
        collector.add(line, "setup.cfg")
    return "install_requires and test extras"


def _strings_in(value: Any) -> list[str]:
    return [s for s in value if isinstance(s, str)] if isinstance(value, list | tuple) else []


def _literal_strings(node: ast.AST) -> list[str]:
    """Requirement strings of a literal list, or of a dict's test/dev extras."""
    try:
        value = ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, RecursionError):
        return []
    if isinstance(value, dict):
        return [s for key in TEST_EXTRAS for s in _strings_in(value.get(key))]
    return _strings_in(value)


def read_setup_py(ws: Workspace, collector: Collector) -> str:
    """setup.py's literal install_requires, tests_require and test extras (parsed, not run)."""
    try:
        tree = ast.parse(ws.path("setup.py").read_bytes())
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        collector.problems.append("setup.py: not parseable")
        return "not parseable"
    wanted = {"install_requires", "tests_require", "extras_require"}
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg in wanted:
            for entry in _literal_strings(node.value):
                collector.add(entry, "setup.py")
    return "install_requires, tests_require and test extras (read, never run)"


def _pipfile_requirement(name: str, spec: dict[str, Any]) -> str | None:
    """A Pipfile table as PEP 508, as pipenv reads it: its version ("*" is any), extras,
    and the ``markers`` key and-ed with every marker variable given as a key of its own
    (``sys_platform = "== 'win32'"``), so the installer evaluates them. None when its
    version is not text."""
    version = spec.get("version", "*")
    if not isinstance(version, str):
        return None
    version = version.strip()
    extras = strings_at(spec, "extras")
    markers = [str(spec["markers"])] if spec.get("markers") else []
    markers += [f"{key} {spec[key]}" for key in _MARKER_VARIABLES if key in spec]
    return (
        name
        + (f"[{','.join(extras)}]" if extras else "")
        + ("" if version == "*" else version)
        + ("; " + " and ".join(f"({m})" for m in markers) if markers else "")
    )


def read_pipfile(ws: Workspace, collector: Collector) -> str:
    """Pipfile's packages and dev-packages, with their markers."""
    data = read_toml(ws, "Pipfile")
    for section in ("packages", "dev-packages"):
        for name, spec in table_at(data, section).items():
            table = spec if isinstance(spec, dict) else {"version": spec}
            direct = [kind for key, kind in _PIPFILE_DIRECT.items() if key in table]
            if direct:
                collector.reference(name, "Pipfile", direct[0])
                continue
            requirement = _pipfile_requirement(name, table)
            if requirement is None:
                collector.problems.append(f"Pipfile: {name} left out: its version is not text")
            else:
                collector.add(requirement, "Pipfile")
    return "packages and dev-packages"
