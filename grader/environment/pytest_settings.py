"""The pytest configuration grader runs the candidate's tests with.

grader writes its own ini file, so the candidate's ``addopts``, ``testpaths`` or
``norecursedirs`` can never skip tests. Settings that only say *how* the suite runs are
carried over, since without them a correct suite fails to start: the Django settings
module, the asyncio mode, extra import paths inside the submission, additional test file
patterns, markers and warning filters. A Django project without such a setting gets the
settings module its ``manage.py`` names, and pytest-django in its environment.
"""

from __future__ import annotations

import configparser
import functools
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from grader.acquire.workspace import Workspace

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


@dataclass(frozen=True)
class Settings:
    """What the candidate's configuration contributes, already screened."""

    values: tuple[tuple[str, tuple[str, ...]], ...] = ()
    pythonpath: tuple[str, ...] = ()
    """Folders inside the submission, relative to its root."""
    source: str = ""
    django_project: str | None = None
    """The folder of manage.py, when grader found the settings module there."""

    def get(self, key: str) -> tuple[str, ...]:
        """The screened values of ``key``, or none."""
        return next((v for k, v in self.values if k == key), ())


def _pyproject(text: str) -> dict[str, Any]:
    data = tomllib.loads(text)
    table = data.get("tool", {}).get("pytest", {}).get("ini_options", {})
    return table if isinstance(table, dict) else {}


def _ini(text: str, section: str) -> dict[str, Any]:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(text)
    return dict(parser[section]) if parser.has_section(section) else {}


_SOURCES = (
    ("pytest.ini", lambda text: _ini(text, "pytest")),
    (".pytest.ini", lambda text: _ini(text, "pytest")),
    ("pyproject.toml", _pyproject),
    ("tox.ini", lambda text: _ini(text, "pytest")),
    ("setup.cfg", lambda text: _ini(text, "tool:pytest")),
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


def _django(ws: Workspace) -> tuple[str, str] | None:
    """(manage.py's folder, its settings module), for the shallowest manage.py."""
    managers = sorted((f for f in ws.files if PurePosixPath(f).name == "manage.py"), key=len)
    for manager in managers:
        found = _DJANGO_SETTINGS.search(ws.path(manager).read_text("utf-8", errors="replace"))
        if found:
            return str(PurePosixPath(manager).parent), found.group(1)
    return None


# Both the test environment and the test run ask, per grade: read the files once.
@functools.lru_cache(maxsize=16)
def read(ws: Workspace) -> Settings:
    """The candidate's pytest settings that grader honours, from the file pytest would use."""
    table: dict[str, Any] = {}
    source = ""
    for name, parse in _SOURCES:
        if name not in ws.files:
            continue
        try:
            table = parse(ws.path(name).read_text(encoding="utf-8", errors="replace"))
        except (tomllib.TOMLDecodeError, configparser.Error, AttributeError, ValueError):
            continue
        if table or name != "pyproject.toml":
            source = name
            break
    values = [(key, _values(table[key])) for key in CARRIED_OVER if key in table]
    extra_paths = [p for v in _values(table.get("pythonpath", "")) for p in v.split()]
    pythonpath = [p for p in map(_inside, extra_paths) if p is not None]
    if "python_files" in table:
        values.append(("python_files", _values(table["python_files"])))
    # pytest's own defaults stay, so a candidate's pattern adds tests and never hides any.
    for key, default in (("python_classes", "Test"), ("python_functions", "test")):
        if key in table:
            values.append((key, (" ".join([default, *_values(table[key])]),)))
    django = _django(ws)
    django_project = None
    if django and not any(key == "DJANGO_SETTINGS_MODULE" for key, _ in values):
        django_project, module = django
        values.append(("DJANGO_SETTINGS_MODULE", (module,)))
        if django_project != ".":
            pythonpath.append(django_project)
    return Settings(
        tuple((k, v) for k, v in values if v), tuple(pythonpath), source, django_project
    )


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
    patterns = [*GRADER_TEST_FILES]
    patterns += [p for v in settings.get("python_files") for p in v.split() if p not in patterns]
    lines = [
        "[pytest]",
        f"pythonpath = {' '.join(paths)}",
        "addopts =",
        f"python_files = {' '.join(patterns)}",
        "junit_family = xunit2",
    ]
    for key, values in settings.values:
        if key == "python_files":
            continue
        if len(values) == 1:
            lines.append(f"{key} = {values[0]}")
        else:
            lines.append(f"{key} =")
            lines += [f"    {value}" for value in values]
    return "\n".join([*lines, ""])
