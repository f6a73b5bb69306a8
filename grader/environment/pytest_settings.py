"""The pytest configuration grader runs the candidate's tests with.

grader writes its own ini file. The tests that run are the ones the author's own
``pytest`` selects: its ``testpaths``, ``norecursedirs`` and ``python_files`` are followed
(a library's benchmarks or a manual script outside them are not the suite), and every test
file they leave out is named in the report, so nothing is left out unseen. ``addopts``
never carries over (``-k``, ``--ignore`` or ``-x`` would hide tests without a trace), but
for one thing: a marker expression that only deselects markers the author declared
(``-m "not webtest"``, ``not slow and not e2e``), how a suite keeps its opt-in network or
integration tests out of the default run; the report names the markers and how many
tests they left out.
Settings that only say *how* the suite runs are carried over, since without them a
correct suite fails to start: the Django settings module, the asyncio mode, extra import
paths inside the submission, markers and warning filters. A Django project without such a
setting gets the settings module its ``manage.py`` names, and pytest-django in its
environment.
"""

from __future__ import annotations

import ast
import fnmatch
import functools
import itertools
import re
import shlex
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import iniconfig

from grader.acquire.workspace import Workspace
from grader.core.text import read_text
from grader.environment import test_commands

# Settings that decide how the suite runs, never which tests run or how they are counted.
CARRIED_OVER = (
    "asyncio_mode",
    "asyncio_default_fixture_loop_scope",
    "DJANGO_SETTINGS_MODULE",
    "django_find_project",
    "markers",
    "filterwarnings",
    "usefixtures",
    "env",
    "mock_use_standalone_module",
)
GRADER_TEST_FILES = ("test_*.py", "*_test.py", "tests.py")
_SAFE_VALUE = re.compile(r"[^\x00-\x1f\x7f]{1,300}")
_DJANGO_SETTINGS = re.compile(
    r"""DJANGO_SETTINGS_MODULE["']\s*,\s*["']([A-Za-z_][\w.]{0,200})["']"""
)
MAX_VALUES = 50
_DESELECTION = re.compile(r"not\s+([A-Za-z_]\w*)(?:\s+and\s+not\s+([A-Za-z_]\w*))*")
_MARKER_NAME = re.compile(r"\s*([A-Za-z_]\w*)")


@dataclass(frozen=True)
class Settings:
    """What the candidate's configuration contributes, already screened."""

    values: tuple[tuple[str, tuple[str, ...]], ...] = ()
    pythonpath: tuple[str, ...] = ()
    """Folders inside the submission, relative to its root."""
    source: str = ""
    django_project: str | None = None
    """The folder of manage.py, when grader found the settings module there."""
    commanded: tuple[str, ...] = ()
    """Import folders taken from the author's test command, each with where it was read."""
    testpaths: tuple[str, ...] = ()
    """The author's ``testpaths`` (patterns inside the submission)."""
    norecursedirs: tuple[str, ...] = ()
    """The author's ``norecursedirs`` (folder name patterns)."""
    deselected: tuple[str, ...] = ()
    """Markers the author's ``addopts`` deselects (``-m "not webtest"``), each declared."""

    @property
    def deselection(self) -> str:
        """The marker expression the author's addopts deselects with, or ''."""
        return " and ".join(f"not {marker}" for marker in self.deselected)

    def get(self, key: str) -> tuple[str, ...]:
        """The screened values of ``key``, or none."""
        return next((v for k, v in self.values if k == key), ())


# pytest's own rules (pytest 9): the first of these files that holds pytest settings is
# the one pytest uses; pytest.toml, pytest.ini and their hidden twins count even empty.
def _pyproject(text: str) -> dict[str, Any] | None:
    table = tomllib.loads(text).get("tool", {}).get("pytest", {})
    if not isinstance(table, dict):
        return None
    native = {key: value for key, value in table.items() if key != "ini_options"}
    if native:  # [tool.pytest]: native TOML values (pytest 9)
        return native
    ini_options = table.get("ini_options")
    return ini_options if isinstance(ini_options, dict) else None


def _pytest_toml(text: str) -> dict[str, Any] | None:
    table = tomllib.loads(text).get("pytest", {})
    return table if isinstance(table, dict) else {}


def _ini(section: str, *, always: bool) -> Callable[[str], dict[str, Any] | None]:
    """A reader of one section with iniconfig, pytest's own ini parser (it keeps the case
    of keys, so DJANGO_SETTINGS_MODULE is found as written)."""

    def parse(text: str) -> dict[str, Any] | None:
        config = iniconfig.IniConfig("ini", data=text)
        if section in config:
            return dict(config[section].items())
        return {} if always else None

    return parse


_SOURCES: tuple[tuple[str, Callable[[str], dict[str, Any] | None]], ...] = (
    ("pytest.toml", _pytest_toml),
    (".pytest.toml", _pytest_toml),
    ("pytest.ini", _ini("pytest", always=True)),
    (".pytest.ini", _ini("pytest", always=True)),
    ("pyproject.toml", _pyproject),
    ("tox.ini", _ini("pytest", always=False)),
    ("setup.cfg", _ini("tool:pytest", always=False)),
)


def _values(raw: Any) -> tuple[str, ...]:
    """A setting's values as separate, single-line strings (ini lists are line-separated)."""
    items = raw if isinstance(raw, list) else str(raw).splitlines()
    if len(items) == 1 and isinstance(raw, str) and "\n" not in raw:
        items = [raw]
    cleaned = [str(item).strip() for item in items if str(item).strip()]
    return tuple(v for v in cleaned[:MAX_VALUES] if _SAFE_VALUE.fullmatch(v))


def _inside(path: str) -> str | None:
    relative = PurePosixPath(path)
    if relative.is_absolute() or ".." in relative.parts:
        return None
    return relative.as_posix()


def _is_sys_path_edit(node: ast.AST) -> bool:
    """``sys.path.insert(...)`` or ``sys.path.append(...)``."""
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
        return False
    owner = node.func.value
    return (
        node.func.attr in {"insert", "append"}
        and isinstance(owner, ast.Attribute)
        and owner.attr == "path"
        and isinstance(owner.value, ast.Name)
        and owner.value.id == "sys"
    )


def _path_edits(ws: Workspace, manager: str, source: str) -> list[str]:
    """Folders of the submission that ``manage.py`` puts on ``sys.path`` before Django
    loads its settings (``sys.path.insert(0, os.path.join(BASE_DIR, "apps"))``): the
    settings and apps import from there, so the tests must too."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError):
        return []
    here = PurePosixPath(manager).parent
    folders = {str(folder) for f in ws.files for folder in PurePosixPath(f).parents}
    found = []
    for call in filter(_is_sys_path_edit, ast.walk(tree)):
        for node in ast.walk(call):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                folder = _inside(str(here / node.value.strip("/")))
                if folder and folder != "." and folder in folders:
                    found.append(folder)
    return found


def _django(ws: Workspace) -> tuple[str, str, list[str]] | None:
    """(manage.py's folder, its settings module, the folders it adds to ``sys.path``),
    for the shallowest manage.py."""
    managers = sorted((f for f in ws.files if PurePosixPath(f).name == "manage.py"), key=len)
    for manager in managers:
        source = read_text(ws.path(manager))
        found = _DJANGO_SETTINGS.search(source)
        if found:
            return (
                str(PurePosixPath(manager).parent),
                found.group(1),
                _path_edits(ws, manager, source),
            )
    return None


def _configuration(ws: Workspace) -> tuple[dict[str, Any], str]:
    """The settings table pytest would use, and the file it comes from."""
    for name, parse in _SOURCES:
        if name not in ws.files:
            continue
        try:
            table = parse(read_text(ws.path(name)))
        except (tomllib.TOMLDecodeError, iniconfig.ParseError, AttributeError, ValueError):
            continue
        if table is not None:
            return table, name
    return {}, ""


# Both the test environment and the test run ask, per grade: read the files once.
@functools.lru_cache(maxsize=16)
def read(ws: Workspace) -> Settings:
    """The candidate's pytest settings that grader honours, from the file pytest would use."""
    table, source = _configuration(ws)
    values = [(key, _values(table[key])) for key in CARRIED_OVER if key in table]
    extra_paths = [p for v in _values(table.get("pythonpath", "")) for p in v.split()]
    pythonpath = [p for p in map(_inside, extra_paths) if p is not None]
    # Where the author's test command imports from (cd app && pytest, PYTHONPATH=src).
    commands = test_commands.read(ws)
    from_commands = test_commands.import_folders(ws, commands)
    commanded = tuple(
        f"{folder} ({next(c.source for c in commands if folder in c.import_folders())})"
        for folder in from_commands
        if folder not in pythonpath
    )
    pythonpath += from_commands
    # Test modules named outside pytest's defaults (found by what they hold) are
    # collected by name, so a suite in tests_parser.py is not a silent zero.
    # When the author names their test files, those are the suite; otherwise pytest's
    # defaults, Django's tests.py, and modules named otherwise that hold tests.
    by_name = tuple(dict.fromkeys(PurePosixPath(f).name for f in ws.tests_by_content))
    authors = tuple(p for v in _values(table.get("python_files", "")) for p in v.split())
    if authors or by_name:
        values.append(("python_files", authors or (*GRADER_TEST_FILES, *by_name)))
    # pytest's own defaults stay, so a candidate's pattern adds tests and never hides any.
    for key, default in (("python_classes", "Test"), ("python_functions", "test")):
        if key in table:
            values.append((key, (" ".join([default, *_values(table[key])]),)))
    django = _django(ws)
    django_project = None
    if django:
        project, module, path_edits = django
        pythonpath += path_edits
        if not any(key == "DJANGO_SETTINGS_MODULE" for key, _ in values):
            django_project = project
            values.append(("DJANGO_SETTINGS_MODULE", (module,)))
            if project != ".":
                pythonpath.append(project)
    return Settings(
        tuple((k, v) for k, v in values if v),
        tuple(dict.fromkeys(pythonpath)),
        source,
        django_project,
        commanded,
        testpaths=_patterns(table.get("testpaths", ""), _inside),
        norecursedirs=_patterns(table.get("norecursedirs", ""), _folder_pattern),
        deselected=_deselected(table),
    )


def _deselected(table: dict[str, Any]) -> tuple[str, ...]:
    """The markers ``addopts``' ``-m`` deselects, when that is all it does and each is a
    marker the author declared; else none (any other expression selects tests)."""
    declared = {
        match.group(1)
        for line in _values(table.get("markers", ""))
        if (match := _MARKER_NAME.match(line))
    }
    raw = table.get("addopts", "")
    try:
        # A TOML list holds pytest's arguments one by one; a string is split as a shell would.
        words = [str(w) for w in raw] if isinstance(raw, list) else shlex.split(str(raw))
    except ValueError:
        return ()
    expressions = [after for word, after in itertools.pairwise([*words, ""]) if word == "-m"]
    expressions += [word[2:] for word in words if word.startswith("-m") and len(word) > 2]
    if len(expressions) != 1 or not _DESELECTION.fullmatch(expressions[0].strip()):
        return ()
    markers = tuple(re.findall(r"not\s+(\w+)", expressions[0]))
    return markers if set(markers) <= declared else ()


def _patterns(raw: Any, screen: Callable[[str], str | None]) -> tuple[str, ...]:
    """A list setting's entries (whitespace-separated in ini files), screened."""
    entries = [entry for value in _values(raw) for entry in value.split()]
    return tuple(dict.fromkeys(p for p in map(screen, entries[:MAX_VALUES]) if p))


def _folder_pattern(pattern: str) -> str | None:
    return pattern if _SAFE_VALUE.fullmatch(pattern) and ".." not in pattern else None


def import_paths(
    scratch: Path, settings: Settings, extra_paths: tuple[Path, ...] = ()
) -> list[str]:
    """Where the tests import from: ``src/``, the candidate's own extra folders, the
    submission's root, then ``extra_paths``; once each."""
    paths = [str(scratch / "src")] if (scratch / "src").is_dir() else []
    paths += [str(scratch / p) for p in settings.pythonpath if (scratch / p).is_dir()]
    paths.append(str(scratch))
    paths += [str(p) for p in extra_paths]
    return list(dict.fromkeys(paths))


def ini(scratch: Path, settings: Settings, extra_paths: tuple[Path, ...] = ()) -> str:
    """grader's pytest.ini for a scratch copy, with the candidate's settings carried over.

    ``extra_paths`` come after the submission's own folders (the installed project: its
    sources must still be imported from the scratch copy, where coverage measures them).
    """
    paths = import_paths(scratch, settings, extra_paths)
    patterns = settings.get("python_files") or GRADER_TEST_FILES
    deselect = settings.deselection
    lines = [
        "[pytest]",
        f"pythonpath = {' '.join(paths)}",
        f'addopts = -m "{deselect}"' if deselect else "addopts =",
        f"python_files = {' '.join(patterns)}",
        "junit_family = xunit2",
    ]
    if settings.norecursedirs:
        lines.append(f"norecursedirs = {' '.join(settings.norecursedirs)}")
    for key, values in settings.values:
        if key == "python_files":
            continue
        if len(values) == 1:
            lines.append(f"{key} = {values[0]}")
        else:
            lines.append(f"{key} =")
            lines += [f"    {value}" for value in values]
    return "\n".join([*lines, ""])


@functools.lru_cache(maxsize=16)
def selection(ws: Workspace) -> Selection:
    """What the author's configuration runs in ``ws`` (see ``selected``)."""
    return selected(ws.root, read(ws), ws)


def selected(root: Path, settings: Settings, ws: Workspace) -> Selection:
    """The paths pytest is given (the author's ``testpaths`` that exist inside ``root``;
    none: the whole submission), and the test modules the author's selection leaves out.

    When the selection would hold none of the test modules (``testpaths`` naming only a
    docs folder whose doctests ``addopts`` enabled), the whole submission runs instead.
    """
    chosen: list[str] = []
    for pattern in settings.testpaths:
        matches = [root] if pattern == "." else sorted(root.glob(pattern))
        for found in matches:
            if found.exists() and found.resolve().is_relative_to(root.resolve()):
                chosen.append(found.relative_to(root).as_posix())
    chosen = list(dict.fromkeys(chosen))
    modules = _test_modules(settings, ws)
    kept = [f for f in modules if _under_any(f, chosen) and _collected(f, settings)]
    if chosen and not kept:
        chosen = []
        kept = [f for f in modules if _collected(f, settings)]
    return Selection(tuple(chosen), tuple(f for f in modules if f not in kept))


@dataclass(frozen=True)
class Selection:
    """What the author's configuration runs."""

    paths: tuple[str, ...]
    """Relative paths given to pytest; empty: the whole submission."""
    left_out: tuple[str, ...]
    """Test modules their testpaths, norecursedirs or python_files leave out."""


def _test_modules(settings: Settings, ws: Workspace) -> list[str]:
    """Files that hold tests by anyone's convention: pytest's and Django's names, the
    author's patterns, or found by what they hold."""
    patterns = {*GRADER_TEST_FILES, *settings.get("python_files")}
    named = [f for f in ws.test_files if _matches(PurePosixPath(f).name, patterns)]
    return list(dict.fromkeys([*named, *ws.tests_by_content]))


def _matches(name: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatch(name, pattern) for pattern in patterns)


def _under_any(path: str, folders: list[str]) -> bool:
    if not folders:
        return True
    parts = PurePosixPath(path).parts
    return any(parts[: len(PurePosixPath(f).parts)] == PurePosixPath(f).parts for f in folders)


def _collected(path: str, settings: Settings) -> bool:
    """Whether pytest looks in every folder on ``path``'s way and collects its name."""
    folders = PurePosixPath(path).parts[:-1]
    if any(_matches(folder, settings.norecursedirs) for folder in folders):
        return False
    return _matches(PurePosixPath(path).name, settings.get("python_files") or GRADER_TEST_FILES)
