"""What a submission's tests need installed, read statically from its packaging files.

A careful reviewer installs what the tests need, not everything a repository declares:
the project's runtime dependencies, the extras and dependency groups meant for testing
(and the groups those include), requirement files at the root, named for tests or
installed by the project's CI, tox, nox or Makefile before its tests run, and lock files
reduced to just those groups (``uv export`` for ``uv.lock``; ``poetry export`` for
``poetry.lock``, run in the sandbox by ``grader.environment.lock_export``; the per-package group
records of ``pdm.lock``, ``Pipfile.lock`` and a ``poetry.lock`` poetry refuses).
Requirement files in auxiliary folders (``docs/``, ``benchmark/``, ``fuzzer/``) are used
only when the code imports something only they declare. Every source is listed with how
it was read or why it was left out.

Every entry is re-parsed as a PEP 508 requirement and written back in canonical form, so
nothing from the submission reaches the installer as an option (``--index-url``, ``-e``,
direct URLs and paths are reported and left out).
"""

from __future__ import annotations

import ast
import configparser
import functools
import json
import re
import tempfile
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from grader.acquire.workspace import Workspace
from grader.core import proc
from grader.environment import imports, uv

# Extras and dependency groups meant for running the tests.
TEST_EXTRAS = ("test", "tests", "testing", "dev", "develop", "development")
# Requirement files anywhere: requirements.txt, dev-requirements.txt, requirements_test.in,
# and every .txt/.in file in a requirements/ folder.
REQUIREMENTS_FILE = re.compile(
    r"(?:.*/)?(?:[\w.-]*[-_.])?requirements?(?:[-_.][\w.-]*)?\.(?:txt|in)"
    r"|(?:.*/)?req(?:uirement)?s/[\w.-]+\.(?:txt|in)"
)
# Words in a requirement file's name that say it is for the tests or the runtime.
_TEST_WORDS = frozenset({"test", "tests", "testing", "dev", "develop", "development", "ci"})
_RUNTIME_WORDS = frozenset({"base", "common", "core", "main", "default", "runtime", "install"})
_TEST_FOLDERS = frozenset({"tests", "test", "testing"})
INCLUDE = re.compile(r"^(?:-r|--requirement)\s*=?\s*(\S+)")
# How CI workflows, tox, nox and Makefiles install a requirements file.
_INSTALL_REFERENCE = re.compile(
    r"""(?:-r|--requirement)[\s=]+["']?([\w./-]+\.(?:txt|in))"""
    r"""|["'](?:-r|--requirement)["']\s*,\s*["']([\w./-]+\.(?:txt|in))["']"""
)
_INSTALLER_FILES = re.compile(
    r"\.github/workflows/[^/]+\.ya?ml|\.gitlab-ci\.ya?ml|\.circleci/config\.ya?ml"
    r"|azure-pipelines\.ya?ml|tox\.ini|noxfile\.py|Makefile|makefile|GNUmakefile|Justfile"
)
MAX_INCLUDES = 20
MAX_EXTRA_DEPTH = 5
EXPORT_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Source:
    """A packaging file, whether its requirements were used, and how or why not."""

    path: str
    used: bool
    detail: str


@dataclass(frozen=True)
class Requirements:
    """The submission's third-party requirements and where they came from."""

    items: tuple[str, ...] = ()
    source: str = ""
    """The sources used, comma-separated."""
    locked: bool = False
    requires_python: str | None = None
    problems: tuple[str, ...] = ()
    sources: tuple[Source, ...] = ()
    guessed: tuple[str, ...] = ()
    """Distributions grader adds because the code imports them and nothing declares them:
    its guess, so when one cannot be installed the candidate is not blamed for it."""

    @property
    def names(self) -> frozenset[str]:
        """Canonical distribution names."""
        return frozenset(canonicalize_name(Requirement(item).name) for item in self.items)

    @property
    def left_out(self) -> tuple[Source, ...]:
        """Sources that were found and deliberately not used."""
        return tuple(s for s in self.sources if not s.used)


class _Collector:
    """Validates entries one by one, keeping what is installable and noting the rest."""

    def __init__(self, project: str | None = None) -> None:
        self.project = canonicalize_name(project) if project else None
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
        name = canonicalize_name(requirement.name)
        if name == self.project:
            return  # the project's own extras are expanded where they are read
        # One entry per name and environment marker: the first source in preference wins.
        self.items.setdefault(f"{name};{requirement.marker}", str(requirement))

    def declared(self) -> set[str]:
        return {key.split(";", 1)[0] for key in self.items}


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


def _strings(table: Any, key: str) -> list[str]:
    """String entries of ``table[key]`` when both are the right shape, else nothing."""
    values = table.get(key, []) if isinstance(table, dict) else []
    return [v for v in values if isinstance(v, str)] if isinstance(values, list) else []


def pyproject(ws: Workspace) -> dict[str, Any]:
    """pyproject.toml as data; empty when absent or not valid TOML."""
    return _toml(ws, "pyproject.toml") if "pyproject.toml" in ws.files else {}


def _test_groups(data: dict[str, Any]) -> list[str]:
    groups = set(_table(data, "dependency-groups"))
    if _strings(_table(data, "tool", "uv"), "dev-dependencies"):
        groups.add("dev")
    return sorted(groups & set(TEST_EXTRAS))


def poetry_test_groups(data: dict[str, Any]) -> tuple[list[str], list[str]]:
    """The groups and extras meant for testing that a pyproject declares to poetry (its
    own groups, the legacy dev-dependencies, PEP 735 groups), as ``poetry export`` names
    them: asking for a group that does not exist is an error there."""
    poetry = _table(data, "tool", "poetry")
    groups = set(_table(poetry, "group")) | set(_table(data, "dependency-groups"))
    if _table(poetry, "dev-dependencies"):
        groups.add("dev")
    extras = set(_table(poetry, "extras")) | set(_table(data, "project", "optional-dependencies"))
    return sorted(groups & set(TEST_EXTRAS)), sorted(extras & set(TEST_EXTRAS))


def _test_extras(data: dict[str, Any]) -> list[str]:
    return sorted(set(_table(data, "project", "optional-dependencies")) & set(TEST_EXTRAS))


# --- lock files ---------------------------------------------------------------------


def _uv_lock(ws: Workspace, collector: _Collector) -> str:
    """Export the runtime and test groups with uv itself; parse the lock only if it fails."""
    data = pyproject(ws)
    groups, extras = _test_groups(data), _test_extras(data)
    argv = [uv.executable(), "export", "--frozen", "--offline", "--no-hashes", "--no-header"]
    argv += ["--no-annotate", "--no-emit-project", "--no-emit-workspace", "--no-emit-local"]
    argv += ["--no-default-groups", "--format", "requirements-txt"]
    for group in groups:
        argv += ["--group", group]
    for extra in extras:
        argv += ["--extra", extra]
    with tempfile.TemporaryDirectory(prefix="grader-uv-") as scratch:
        result = proc.run(
            argv, cwd=ws.root, timeout_s=EXPORT_TIMEOUT_S, env=uv.environment(Path(scratch))
        )
    if result.exit_code == 0:
        for line in result.stdout.splitlines():
            collector.add(line, "uv.lock")
        chosen = ", ".join([*(f"group {g}" for g in groups), *(f"extra {e}" for e in extras)])
        return f"exported with uv: runtime dependencies{', ' + chosen if chosen else ''}"
    collector.problems.append(f"uv.lock: uv export failed ({uv.message(result.stderr, 200)})")
    _lock_packages(ws, "uv.lock", collector, lambda package: True)
    return "every registry package of the lock (uv could not export it)"


def _in_groups(wanted: set[str]) -> Callable[[dict[str, Any]], bool]:
    def keep(package: dict[str, Any]) -> bool:
        groups = package.get("groups")
        return not isinstance(groups, list) or bool(wanted & {str(g) for g in groups})

    return keep


def _lock_packages(
    ws: Workspace, name: str, collector: _Collector, keep: Callable[[dict[str, Any]], bool]
) -> None:
    for package in _tables(_toml(ws, name), "package"):
        source = package.get("source")
        local = isinstance(source, dict) and not ("registry" in source or not source)
        name_, version = package.get("name"), package.get("version")
        if local or not (isinstance(name_, str) and isinstance(version, str)) or not keep(package):
            continue
        marker = package.get("marker") or package.get("markers")
        suffix = f"; {marker}" if isinstance(marker, str) and marker else ""
        collector.add(f"{name_}=={version}{suffix}", name)


def _grouped_lock(ws: Workspace, name: str, collector: _Collector, runtime: str) -> str:
    wanted = {runtime, *TEST_EXTRAS}
    packages = _tables(_toml(ws, name), "package")
    if not any(isinstance(p.get("groups"), list) for p in packages):
        _lock_packages(ws, name, collector, lambda package: True)
        return "every package (the lock records no groups)"
    _lock_packages(ws, name, collector, _in_groups(wanted))
    return f"packages of the {runtime} and test groups"


def _poetry_lock(ws: Workspace, collector: _Collector) -> str:
    return _grouped_lock(ws, "poetry.lock", collector, "main")


def _pdm_lock(ws: Workspace, collector: _Collector) -> str:
    return _grouped_lock(ws, "pdm.lock", collector, "default")


def _pipfile_lock(ws: Workspace, collector: _Collector) -> str:
    try:
        data = json.loads(_text(ws, "Pipfile.lock"))
    except json.JSONDecodeError:
        data = {}
    for section in ("default", "develop"):
        for name, spec in _table(data, section).items():
            version = spec.get("version") if isinstance(spec, dict) else None
            if isinstance(version, str):
                collector.add(f"{name}{version}", "Pipfile.lock")
    return "default and develop packages"


_LOCKS: tuple[tuple[str, Callable[[Workspace, _Collector], str]], ...] = (
    ("uv.lock", _uv_lock),
    ("poetry.lock", _poetry_lock),
    ("pdm.lock", _pdm_lock),
    ("Pipfile.lock", _pipfile_lock),
)


# --- requirement files ----------------------------------------------------------------


def _normalise(path: str) -> str:
    parts: list[str] = []
    for part in PurePosixPath(path).parts:
        if part == "..":
            if parts:
                parts.pop()
        elif part != ".":
            parts.append(part)
    return "/".join(parts)


def _with_includes(ws: Workspace, roots: list[str]) -> tuple[list[tuple[str, str]], list[str]]:
    """(file, line) for every requirement line, following ``-r`` within the submission;
    and the files read."""
    pending, lines = list(roots), []
    seen: list[str] = []
    while pending and len(seen) < MAX_INCLUDES:
        name = pending.pop(0)
        if name in seen or name not in ws.files:
            continue
        seen.append(name)
        for line in _text(ws, name).splitlines():
            include = INCLUDE.match(line.strip())
            if include:
                pending.append(_normalise(str(PurePosixPath(name).parent / include.group(1))))
            else:
                lines.append((name, line))
    return lines, seen


def installed_by_tooling(ws: Workspace) -> dict[str, str]:
    """Requirement files that CI workflows, tox, nox or a Makefile install, with where."""
    found: dict[str, str] = {}
    for config in (f for f in ws.files if _INSTALLER_FILES.fullmatch(f)):
        base = PurePosixPath(config).parent if config in {"tox.ini", "noxfile.py"} else None
        for match in _INSTALL_REFERENCE.finditer(_text(ws, config)):
            raw = match.group(1) or match.group(2)
            relative = _normalise(str(base / raw) if base else raw)
            if relative in ws.files:
                found.setdefault(relative, config)
    return found


def _words(path: str) -> set[str]:
    return set(re.split(r"[-_.]", PurePosixPath(path).stem.lower()))


def _role(path: str, referenced: dict[str, str], tests: tuple[str, ...]) -> str | None:
    """Why a requirements file serves the tests, or None when it is auxiliary."""
    parts = PurePosixPath(path).parts
    if path in referenced:
        return f"installed by {referenced[path]}"
    if len(parts) == 1:
        return "at the root"
    if _words(path) & _TEST_WORDS or _TEST_FOLDERS & set(parts[:-1]):
        return "named for the tests"
    folder = "/".join(parts[:-1]) + "/"
    if any(test.startswith(folder) for test in tests):
        return "beside the tests"
    in_requirements_folder = len(parts) == 2 and parts[0].lower() in {"requirements", "reqs"}
    if in_requirements_folder and _words(path) & (_RUNTIME_WORDS | {"requirements"}):
        return "the project's base requirements"
    return None


def _requirement_files(ws: Workspace) -> tuple[list[str], list[str], dict[str, str]]:
    """(files serving the tests, auxiliary files, why each serving file was chosen)."""
    referenced = installed_by_tooling(ws)
    found = [f for f in ws.files if REQUIREMENTS_FILE.fullmatch(f) or f in referenced]
    # requirements.txt before requirements.in: pins first, so they win.
    found.sort(key=lambda f: (f.count("/"), f.endswith(".in"), f))
    roles = {f: role for f in found if (role := _role(f, referenced, ws.test_files))}
    return [f for f in found if f in roles], [f for f in found if f not in roles], roles


def _read_requirement_files(
    ws: Workspace, roots: list[str], collector: _Collector, why: dict[str, str]
) -> list[Source]:
    lines, read = _with_includes(ws, roots)
    for name, line in lines:
        collector.add(line, name)
    return [Source(name, True, why.get(name, "included with -r")) for name in read]


def _auxiliary(ws: Workspace, files: list[str], collector: _Collector) -> list[Source]:
    """Use an auxiliary requirements file only when the code imports what only it declares."""
    sources: list[Source] = []
    for name in files:
        folder = str(PurePosixPath(name).parent)
        code = [f for f in ws.python_files if not f.startswith(folder + "/")]
        wanted = {imports.distribution(m) for m in imports.third_party(ws, code)}
        own = _Collector()
        lines, _ = _with_includes(ws, [name])
        for file, line in lines:
            own.add(line, file)
        needed = sorted((imports.provided(own.declared()) & wanted) - collector.declared())
        if needed:
            reason = f"auxiliary, used because the code imports {', '.join(needed)}"
            sources += _read_requirement_files(ws, [name], collector, {name: reason})
        else:
            sources.append(
                Source(name, False, "auxiliary folder: the code imports nothing only it declares")
            )
    return sources


# --- declarative files ------------------------------------------------------------------


def _project_entries(data: dict[str, Any]) -> list[str]:
    """Runtime dependencies, test extras (expanding self-references) and test groups."""
    project = _table(data, "project")
    own = canonicalize_name(str(project.get("name", ""))) if project.get("name") else None
    extras = _table(project, "optional-dependencies")
    entries = list(_strings(project, "dependencies"))
    pending, seen = [e for e in TEST_EXTRAS if e in extras], set[str]()
    while pending and len(seen) < MAX_EXTRA_DEPTH * len(TEST_EXTRAS):
        extra = pending.pop()
        if extra in seen:
            continue
        seen.add(extra)
        for entry in _strings(extras, extra):
            requirement = _parsed(entry)
            if requirement and own and canonicalize_name(requirement.name) == own:
                pending += [e for e in requirement.extras if e in extras]
            else:
                entries.append(entry)
    return entries + _group_entries(_table(data, "dependency-groups"))


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


def _poetry_entries(data: dict[str, Any]) -> list[str]:
    poetry = _table(data, "tool", "poetry")
    tables = [_table(poetry, "dependencies"), _table(poetry, "dev-dependencies")]
    tables += [_table(poetry, "group", g, "dependencies") for g in TEST_EXTRAS]
    return [
        _poetry_requirement(name, spec)
        for table in tables
        for name, spec in table.items()
        if name.lower() != "python"
    ]


def _pyproject(ws: Workspace, collector: _Collector) -> str:
    data = pyproject(ws)
    for entry in _project_entries(data) + _poetry_entries(data):
        collector.add(entry, "pyproject.toml")
    chosen = [f"extra {e}" for e in _test_extras(data)]
    chosen += [f"group {g}" for g in _test_groups(data)]
    return "runtime dependencies" + (f", {', '.join(chosen)}" if chosen else "")


def read_pyproject(ws: Workspace) -> Requirements:
    """pyproject.toml's own declarations, whatever else the submission has."""
    collector = _Collector(project_name(ws))
    try:
        _pyproject(ws, collector)
    except _MALFORMED:
        return Requirements(problems=("pyproject.toml: unreadable",))
    return Requirements(items=tuple(sorted(collector.items.values())), source="pyproject.toml")


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


def _setup_cfg(ws: Workspace, collector: _Collector) -> str:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(_text(ws, "setup.cfg"))
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


def _setup_py(ws: Workspace, collector: _Collector) -> str:
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


def _pipfile(ws: Workspace, collector: _Collector) -> str:
    data = _toml(ws, "Pipfile")
    for section in ("packages", "dev-packages"):
        for name, spec in _table(data, section).items():
            version = str(spec.get("version", "*") if isinstance(spec, dict) else spec)
            collector.add(name if version.strip() == "*" else f"{name}{version}", "Pipfile")
    return "packages and dev-packages"


_DECLARATIONS: tuple[tuple[str, Callable[[Workspace, _Collector], str]], ...] = (
    ("pyproject.toml", _pyproject),
    ("setup.cfg", _setup_cfg),
    ("setup.py", _setup_py),
    ("Pipfile", _pipfile),
)


def project_name(ws: Workspace) -> str | None:
    """The distribution name the project declares for itself, if any."""
    name = _table(pyproject(ws), "project").get("name")
    poetry = _table(pyproject(ws), "tool", "poetry").get("name")
    for value in (name, poetry):
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _requires_python(ws: Workspace) -> str | None:
    data = pyproject(ws)
    for value in (
        _table(data, "project").get("requires-python"),
        _table(data, "tool", "poetry", "dependencies").get("python"),
    ):
        if isinstance(value, str) and value.strip() not in {"", "*"}:
            return _poetry_requirement("python", value).removeprefix("python")
    return None


# What a malformed packaging file can make a reader raise; each becomes a reported problem.
_MALFORMED = (ValueError, TypeError, AttributeError, KeyError, RecursionError, configparser.Error)


def _guarded(
    ws: Workspace, name: str, reader: Callable[[Workspace, _Collector], str], c: _Collector
) -> Source:
    try:
        return Source(name, True, reader(ws, c))
    except _MALFORMED as exc:
        c.problems.append(f"{name}: unreadable ({type(exc).__name__})")
        return Source(name, False, f"unreadable ({type(exc).__name__})")


@dataclass(frozen=True)
class Exported:
    """A lock file exported by its own tool: the requirement lines and how they were chosen."""

    lock: str
    lines: tuple[str, ...]
    detail: str


def read(ws: Workspace, exported: tuple[Exported, ...] = ()) -> Requirements:
    """Everything the tests need, from every source that serves them, in preference order:
    lock files, requirement files, then the declarative packaging files. A lock in
    ``exported`` is taken from its tool's export instead of its recorded groups."""
    return _read(ws, exported)


def _exported_reader(export: Exported) -> Callable[[Workspace, _Collector], str]:
    def reader(ws: Workspace, collector: _Collector) -> str:
        del ws
        for line in export.lines:
            collector.add(line, export.lock)
        return export.detail

    return reader


@functools.lru_cache(maxsize=16)
def _read(ws: Workspace, exported: tuple[Exported, ...]) -> Requirements:
    collector = _Collector(project_name(ws))
    by_lock = {e.lock: _exported_reader(e) for e in exported}
    sources = [
        _guarded(ws, name, by_lock.get(name, reader), collector)
        for name, reader in _LOCKS
        if name in ws.files
    ]
    locked = any(s.used for s in sources)
    serving, auxiliary, why = _requirement_files(ws)
    sources += _read_requirement_files(ws, serving, collector, why)
    for name, reader in _DECLARATIONS:
        if name in ws.files and not (name == "Pipfile" and "Pipfile.lock" in ws.files):
            sources.append(_guarded(ws, name, reader, collector))
    sources += _auxiliary(
        ws, [f for f in auxiliary if f not in {s.path for s in sources}], collector
    )
    items = tuple(sorted(collector.items.values()))
    pinned = bool(items) and all("==" in item for item in items)
    return Requirements(
        items=items,
        source=", ".join(s.path for s in sources if s.used),
        locked=locked or pinned,
        requires_python=_requires_python(ws),
        problems=tuple(collector.problems),
        sources=tuple(sources),
    )


def without(requirements: Requirements, names: Iterable[str]) -> tuple[Requirements, list[str]]:
    """Drop the requirements named, saying which entries went."""
    drop = {canonicalize_name(n) for n in names}
    kept = [i for i in requirements.items if canonicalize_name(Requirement(i).name) not in drop]
    dropped = [i for i in requirements.items if i not in kept]
    return Requirements(
        tuple(kept),
        requirements.source,
        requirements.locked,
        requirements.requires_python,
        requirements.problems,
        requirements.sources,
    ), dropped
