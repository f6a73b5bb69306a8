"""What a submission declares it needs, read statically from its packaging files.

Sources, in order of preference (the first kind present wins): ``uv.lock``,
``poetry.lock``, ``requirements*.txt`` (with ``-r`` includes), ``pyproject.toml``
(``[project]`` dependencies plus test/dev extras and dependency groups), ``setup.cfg`` /
``setup.py`` (``install_requires`` read with ast, never executed), ``Pipfile.lock`` /
``Pipfile``. Every entry is re-parsed as a PEP 508 requirement and written back in
canonical form, so nothing from the submission reaches the installer as an option
(``--index-url``, ``-e``, direct URLs and paths are reported and left out).
"""

from __future__ import annotations

import ast
import configparser
import json
import re
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from grader.workspace import Workspace

TEST_EXTRAS = ("test", "tests", "testing", "dev", "develop")
REQUIREMENTS_FILE = re.compile(r"(?:[^/]+/)?requirements[\w.-]*\.(?:txt|in)")
INCLUDE = re.compile(r"^(?:-r|--requirement)\s*=?\s*(\S+)")
MAX_INCLUDES = 20


@dataclass(frozen=True)
class Requirements:
    """The submission's third-party requirements and where they came from."""

    items: tuple[str, ...] = ()
    source: str = ""
    locked: bool = False
    requires_python: str | None = None
    problems: tuple[str, ...] = ()

    @property
    def names(self) -> frozenset[str]:
        """Canonical distribution names."""
        return frozenset(canonicalize_name(Requirement(item).name) for item in self.items)


class _Collector:
    """Validates entries one by one, keeping what is installable and noting the rest."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.items: dict[str, str] = {}
        self.problems: list[str] = []

    def add(self, raw: str, where: str) -> None:
        text = raw.split(" #", 1)[0].strip()
        if not text or text.startswith("#"):
            return
        if text.startswith("-"):
            self.problems.append(f"{where}: option {text.split()[0]!r} ignored")
            return
        try:
            requirement = Requirement(text)
        except InvalidRequirement:
            self.problems.append(f"{where}: {text[:80]!r} is not a valid requirement")
            return
        if requirement.url:
            self.problems.append(f"{where}: direct reference {requirement.name} not installed")
            return
        self.items.setdefault(canonicalize_name(requirement.name), str(requirement))

    def result(self, locked: bool, requires_python: str | None) -> Requirements:
        return Requirements(
            items=tuple(sorted(self.items.values())),
            source=self.source,
            locked=locked,
            requires_python=requires_python,
            problems=tuple(self.problems),
        )


def _text(ws: Workspace, name: str) -> str:
    return ws.path(name).read_text(encoding="utf-8", errors="replace")


def _toml(ws: Workspace, name: str) -> dict[str, Any]:
    try:
        return tomllib.loads(_text(ws, name))
    except tomllib.TOMLDecodeError:
        return {}


def _table(data: Any, *keys: str) -> dict[str, Any]:
    """The table at ``keys``, or an empty one when any level is missing or not a table."""
    for key in keys:
        data = data.get(key, {}) if isinstance(data, dict) else {}
    return data if isinstance(data, dict) else {}


def _tables(data: Any, key: str) -> list[dict[str, Any]]:
    """An array of tables, keeping only the entries that are tables."""
    values = data.get(key, []) if isinstance(data, dict) else []
    return [v for v in values if isinstance(v, dict)] if isinstance(values, list) else []


def _lock_packages(ws: Workspace, name: str, registry_only: bool) -> Requirements:
    collector = _Collector(name)
    for package in _tables(_toml(ws, name), "package"):
        source = package.get("source") or {}
        from_registry = "registry" in source or (not registry_only and not source)
        name_, version = package.get("name"), package.get("version")
        if from_registry and isinstance(name_, str) and isinstance(version, str):
            collector.add(f"{name_}=={version}", name)
    return collector.result(locked=True, requires_python=_requires_python(ws))


def _uv_lock(ws: Workspace) -> Requirements:
    return _lock_packages(ws, "uv.lock", registry_only=True)


def _poetry_lock(ws: Workspace) -> Requirements:
    return _lock_packages(ws, "poetry.lock", registry_only=False)


def _with_includes(ws: Workspace, roots: list[str]) -> list[tuple[str, str]]:
    """(file, line) for every requirement line, following ``-r`` within the submission."""
    pending, lines = list(roots), []
    seen: set[str] = set()
    while pending and len(seen) < MAX_INCLUDES:
        name = pending.pop(0)
        if name in seen or name not in ws.files:
            continue
        seen.add(name)
        for line in _text(ws, name).splitlines():
            include = INCLUDE.match(line.strip())
            if include:
                pending.append(_normalise(str(PurePosixPath(name).parent / include.group(1))))
            else:
                lines.append((name, line))
    return lines


def _requirement_files(ws: Workspace) -> Requirements:
    roots = [f for f in ws.files if REQUIREMENTS_FILE.fullmatch(f)]
    collector = _Collector(", ".join(roots))
    for name, line in _with_includes(ws, roots):
        collector.add(line, name)
    pinned = bool(collector.items) and all("==" in i for i in collector.items.values())
    return collector.result(locked=pinned, requires_python=_requires_python(ws))


def _normalise(path: str) -> str:
    parts: list[str] = []
    for part in PurePosixPath(path).parts:
        if part == "..":
            if parts:
                parts.pop()
        elif part != ".":
            parts.append(part)
    return "/".join(parts)


def read_pyproject(ws: Workspace) -> Requirements:
    """pyproject.toml's own declarations, whatever else the submission has."""
    try:
        return _pyproject(ws)
    except _MALFORMED:
        return Requirements(problems=("pyproject.toml: unreadable",))


def pyproject(ws: Workspace) -> dict[str, Any]:
    """pyproject.toml as data; empty when absent or not valid TOML."""
    return _toml(ws, "pyproject.toml") if "pyproject.toml" in ws.files else {}


def _strings(table: Any, key: str) -> list[str]:
    """String entries of ``table[key]`` when both are the right shape, else nothing."""
    values = table.get(key, []) if isinstance(table, dict) else []
    return [v for v in values if isinstance(v, str)] if isinstance(values, list) else []


def _pyproject(ws: Workspace) -> Requirements:
    data = _toml(ws, "pyproject.toml")
    collector = _Collector("pyproject.toml")
    entries = _strings(_table(data, "project"), "dependencies")
    extras = _table(data, "project", "optional-dependencies")
    groups = _table(data, "dependency-groups")
    for name in TEST_EXTRAS:
        entries += _strings(extras, name) + _strings(groups, name)
    for entry in entries:
        collector.add(entry, "pyproject.toml")
    poetry = _table(data, "tool", "poetry", "dependencies")
    for name, spec in poetry.items() if isinstance(poetry, dict) else []:
        if name.lower() != "python":
            collector.add(_poetry_requirement(name, spec), "pyproject.toml")
    return collector.result(locked=False, requires_python=_requires_python(ws))


def _poetry_requirement(name: str, spec: Any) -> str:
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


def _setup_cfg(ws: Workspace) -> Requirements:
    parser = configparser.ConfigParser(interpolation=None)
    collector = _Collector("setup.cfg")
    try:
        parser.read_string(_text(ws, "setup.cfg"))
    except configparser.Error:
        collector.problems.append("setup.cfg: not readable")
        return collector.result(False, None)
    lines = parser.get("options", "install_requires", fallback="").splitlines()
    for extra in TEST_EXTRAS:
        lines += parser.get("options.extras_require", extra, fallback="").splitlines()
    for line in lines:
        collector.add(line, "setup.cfg")
    return collector.result(False, parser.get("options", "python_requires", fallback=None))


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


def _setup_py(ws: Workspace) -> Requirements:
    collector = _Collector("setup.py")
    try:
        tree = ast.parse(ws.path("setup.py").read_bytes())
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        collector.problems.append("setup.py: not parseable")
        return collector.result(False, None)
    wanted = {"install_requires", "tests_require", "extras_require"}
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg in wanted:
            for entry in _literal_strings(node.value):
                collector.add(entry, "setup.py")
    return collector.result(False, None)


def _pipfile_lock(ws: Workspace) -> Requirements:
    collector = _Collector("Pipfile.lock")
    try:
        data = json.loads(_text(ws, "Pipfile.lock"))
    except json.JSONDecodeError:
        data = {}
    for section in ("default", "develop"):
        for name, spec in _table(data, section).items():
            version = spec.get("version") if isinstance(spec, dict) else None
            if isinstance(version, str):
                collector.add(f"{name}{version}", "Pipfile.lock")
    return collector.result(True, None)


def _pipfile(ws: Workspace) -> Requirements:
    collector = _Collector("Pipfile")
    data = _toml(ws, "Pipfile")
    for section in ("packages", "dev-packages"):
        for name, spec in _table(data, section).items():
            version = str(spec.get("version", "*") if isinstance(spec, dict) else spec)
            collector.add(name if version.strip() == "*" else f"{name}{version}", "Pipfile")
    return collector.result(False, None)


def _requires_python(ws: Workspace) -> str | None:
    if "pyproject.toml" not in ws.files:
        return None
    value = _table(_toml(ws, "pyproject.toml"), "project").get("requires-python")
    return value if isinstance(value, str) else None


_READERS: tuple[tuple[Callable[[Workspace], bool], Callable[[Workspace], Requirements]], ...] = (
    (lambda ws: "uv.lock" in ws.files, _uv_lock),
    (lambda ws: "poetry.lock" in ws.files, _poetry_lock),
    (lambda ws: any(REQUIREMENTS_FILE.fullmatch(f) for f in ws.files), _requirement_files),
    (lambda ws: "pyproject.toml" in ws.files, _pyproject),
    (lambda ws: "setup.cfg" in ws.files, _setup_cfg),
    (lambda ws: "setup.py" in ws.files, _setup_py),
    (lambda ws: "Pipfile.lock" in ws.files, _pipfile_lock),
    (lambda ws: "Pipfile" in ws.files, _pipfile),
)


# What a malformed packaging file can make a reader raise; each becomes a reported problem.
_MALFORMED = (ValueError, TypeError, AttributeError, KeyError, RecursionError, configparser.Error)


def read(ws: Workspace) -> Requirements:
    """The first source kind, in order of preference, that declares anything."""
    for present, reader in _READERS:
        if not present(ws):
            continue
        try:
            found = reader(ws)
        except _MALFORMED as exc:
            name = reader.__name__.strip("_").replace("_", " ")
            found = Requirements(problems=(f"{name}: unreadable ({type(exc).__name__})",))
        if found.items or found.problems:
            return found
    return Requirements(requires_python=_requires_python(ws))


def without(requirements: Requirements, names: Iterable[str]) -> tuple[Requirements, list[str]]:
    """Drop requirements grader provides itself (its pytest and coverage), saying which."""
    drop = {canonicalize_name(n) for n in names}
    kept = [i for i in requirements.items if canonicalize_name(Requirement(i).name) not in drop]
    dropped = [i for i in requirements.items if i not in kept]
    return Requirements(
        tuple(kept),
        requirements.source,
        requirements.locked,
        requirements.requires_python,
        requirements.problems,
    ), dropped
