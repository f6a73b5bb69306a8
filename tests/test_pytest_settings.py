"""Which of the candidate's pytest settings grader carries into its own ini file."""

from __future__ import annotations

import configparser
from pathlib import Path

from grader.acquire.workspace import inventory
from grader.environment import pytest_settings


def _settings(root: Path, files: dict[str, str]) -> pytest_settings.Settings:
    for name, text in {"app.py": "x = 1\n", **files}.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return pytest_settings.read(inventory(root))


def _ini(root: Path, settings: pytest_settings.Settings) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(pytest_settings.ini(root, settings))
    return parser["pytest"]


PYPROJECT = """
[tool.pytest.ini_options]
DJANGO_SETTINGS_MODULE = "config.settings"
asyncio_mode = "auto"
addopts = "-k nothing_at_all"
testpaths = ["docs"]
norecursedirs = ["tests"]
python_files = ["check_*.py"]
python_classes = ["Check"]
pythonpath = ["lib", "../outside", "/etc"]
markers = ["slow: takes long", "db: needs the database"]
"""


def test_settings_that_say_how_tests_run_are_kept_and_none_that_hide_tests(
    tmp_path: Path,
) -> None:
    (tmp_path / "lib").mkdir()
    settings = _settings(tmp_path, {"pyproject.toml": PYPROJECT})
    section = _ini(tmp_path, settings)
    assert section["DJANGO_SETTINGS_MODULE"] == "config.settings"
    assert section["asyncio_mode"] == "auto"
    assert section["addopts"] == ""
    assert "testpaths" not in section and "norecursedirs" not in section
    assert section["python_files"].split() == ["test_*.py", "*_test.py", "tests.py", "check_*.py"]
    assert section["python_classes"] == "Test Check"
    assert section["pythonpath"].split() == [str(tmp_path / "lib"), str(tmp_path)]
    assert section["markers"].strip().splitlines() == ["slow: takes long", "db: needs the database"]
    assert settings.source == "pyproject.toml"


def test_a_value_cannot_smuggle_another_setting_into_graders_ini(tmp_path: Path) -> None:
    settings = _settings(
        tmp_path,
        {"pytest.ini": "[pytest]\nasyncio_mode = auto\nmarkers =\n    a: x\n    addopts = -x\n"},
    )
    section = _ini(tmp_path, settings)
    assert section["addopts"] == ""
    assert "addopts = -x" in section["markers"]  # only ever a marker's text


def test_a_django_project_gets_the_settings_module_its_manage_py_names(tmp_path: Path) -> None:
    manage = "import os\nos.environ.setdefault('DJANGO_SETTINGS_MODULE', 'mysite.settings')\n"
    settings = _settings(tmp_path, {"site/manage.py": manage, "site/polls/tests.py": ""})
    assert settings.get("DJANGO_SETTINGS_MODULE") == ("mysite.settings",)
    assert settings.django_project == "site"
    (tmp_path / "site").mkdir(exist_ok=True)
    assert str(tmp_path / "site") in _ini(tmp_path, settings)["pythonpath"].split()


def test_no_configuration_means_graders_defaults(tmp_path: Path) -> None:
    section = _ini(tmp_path, _settings(tmp_path, {}))
    assert section["python_files"].split() == ["test_*.py", "*_test.py", "tests.py"]
    assert section["pythonpath"] == str(tmp_path)
