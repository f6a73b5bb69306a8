"""Which of the candidate's pytest settings grader carries into its own ini file."""

from __future__ import annotations

import codecs
import configparser
from collections.abc import Callable
from pathlib import Path

import pytest

from grader.acquire.workspace import inventory, screen
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


def test_the_authors_settings_are_kept_and_addopts_never_is(tmp_path: Path) -> None:
    (tmp_path / "lib").mkdir()
    settings = _settings(tmp_path, {"pyproject.toml": PYPROJECT})
    section = _ini(tmp_path, settings)
    assert section["DJANGO_SETTINGS_MODULE"] == "config.settings"
    assert section["asyncio_mode"] == "auto"
    assert section["addopts"] == ""
    # Which tests run is the author's selection (the report names what it leaves out).
    assert settings.testpaths == ("docs",)
    assert section["norecursedirs"] == "tests"
    assert section["python_files"].split() == ["check_*.py"]
    assert section["python_classes"] == "Test Check"
    assert section["pythonpath"].split() == [str(tmp_path / "lib"), str(tmp_path)]
    assert section["markers"].strip().splitlines() == ["slow: takes long", "db: needs the database"]
    assert settings.source == "pyproject.toml"


SUITE = {
    "src/lib.py": "X = 1\n",
    "tests/test_lib.py": "def test_x(): pass\n",
    "tests/conftest.py": "",
    "tests/helpers.py": "",
    "tests/slow/test_big.py": "def test_big(): pass\n",
    "benchmarks/test_speed.py": "def test_speed(): pass\n",
    "scripts/manual_test.py": "def test_live_api(): pass\n",
}


@pytest.mark.parametrize(
    ("configuration", "paths", "left_out"),
    [
        pytest.param("", (), (), id="no configuration: the whole submission, every test module"),
        pytest.param(
            "testpaths = tests\n",
            ("tests",),
            ("benchmarks/test_speed.py", "scripts/manual_test.py"),
            id="testpaths",
        ),
        pytest.param(
            "testpaths = tests\nnorecursedirs = slow .*\n",
            ("tests",),
            ("tests/slow/test_big.py", "benchmarks/test_speed.py", "scripts/manual_test.py"),
            id="norecursedirs",
        ),
        pytest.param(
            "testpaths = t*s b*\n",
            ("tests", "benchmarks"),
            ("scripts/manual_test.py",),
            id="glob patterns",
        ),
        pytest.param(
            "python_files = test_*.py\n",
            (),
            ("scripts/manual_test.py",),
            id="the author's file names",
        ),
        pytest.param(
            "testpaths = docs\n", (), (), id="testpaths without any test: the whole submission"
        ),
        pytest.param(
            "testpaths = ../elsewhere /etc\n", (), (), id="nothing outside the submission"
        ),
    ],
)
def test_the_tests_that_run_are_the_ones_the_authors_configuration_selects(
    tmp_path: Path, configuration: str, paths: tuple[str, ...], left_out: tuple[str, ...]
) -> None:
    (tmp_path / "docs").mkdir()
    settings = _settings(tmp_path, {**SUITE, "pytest.ini": "[pytest]\n" + configuration})
    chosen = pytest_settings.selected(tmp_path, settings, inventory(tmp_path))
    assert chosen.paths == paths
    assert sorted(chosen.left_out) == sorted(left_out)


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


_DJANGO_KEY = "DJANGO_SETTINGS_MODULE = shop.settings\n"


@pytest.mark.parametrize(
    ("files", "source"),
    [
        ({"pytest.ini": "[pytest]\n" + _DJANGO_KEY}, "pytest.ini"),
        ({"tox.ini": "[tox]\nenvlist = py311\n[pytest]\n" + _DJANGO_KEY}, "tox.ini"),
        ({"setup.cfg": "[metadata]\nname = shop\n[tool:pytest]\n" + _DJANGO_KEY}, "setup.cfg"),
        ({"pytest.toml": '[pytest]\nDJANGO_SETTINGS_MODULE = "shop.settings"\n'}, "pytest.toml"),
        (  # pytest 9's native table
            {"pyproject.toml": '[tool.pytest]\nDJANGO_SETTINGS_MODULE = "shop.settings"\n'},
            "pyproject.toml",
        ),
        (  # a tox.ini without [pytest] is not pytest's configuration: setup.cfg is
            {"tox.ini": "[tox]\nenvlist = py311\n", "setup.cfg": "[tool:pytest]\n" + _DJANGO_KEY},
            "setup.cfg",
        ),
        (  # pytest.toml comes first, as in pytest
            {
                "pytest.toml": '[pytest]\nDJANGO_SETTINGS_MODULE = "shop.settings"\n',
                "pytest.ini": "[pytest]\nDJANGO_SETTINGS_MODULE = other.settings\n",
            },
            "pytest.toml",
        ),
    ],
)
def test_the_settings_module_is_read_from_the_file_pytest_uses(
    tmp_path: Path, files: dict[str, str], source: str
) -> None:
    settings = _settings(tmp_path, files)
    assert settings.get("DJANGO_SETTINGS_MODULE") == ("shop.settings",)
    assert settings.source == source


@pytest.mark.parametrize(
    "encode",
    [
        lambda text: codecs.BOM_UTF16_LE + text.encode("utf-16-le"),
        lambda text: codecs.BOM_UTF8 + text.replace("\n", "\r\n").encode("utf-8"),
    ],
    ids=["utf-16-bom", "utf-8-bom-crlf"],
)
def test_an_ini_file_saved_by_a_windows_editor_is_read(
    tmp_path: Path, encode: Callable[[str], bytes]
) -> None:
    (tmp_path / "app.py").write_text("x = 1\n", encoding="utf-8")
    (tmp_path / "pytest.ini").write_bytes(encode("[pytest]\n" + _DJANGO_KEY))
    settings = pytest_settings.read(inventory(tmp_path))
    assert settings.get("DJANGO_SETTINGS_MODULE") == ("shop.settings",)


def test_folders_manage_py_puts_on_sys_path_are_import_paths(tmp_path: Path) -> None:
    manage = (
        "import os, sys\n"
        "BASE_DIR = os.path.dirname(os.path.abspath(__file__))\n"
        "sys.path.insert(0, os.path.join(BASE_DIR, 'apps'))\n"
        "sys.path.append('/opt/elsewhere')\n"
        "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'config.settings')\n"
    )
    settings = _settings(
        tmp_path,
        {
            "backend/manage.py": manage,
            "backend/apps/shop/models.py": "",
            "backend/config/settings.py": "",
        },
    )
    assert settings.pythonpath == ("backend/apps", "backend")
    assert settings.get("DJANGO_SETTINGS_MODULE") == ("config.settings",)


def test_test_modules_named_outside_the_defaults_are_found_and_collected_by_name(
    tmp_path: Path,
) -> None:
    tests = "import pytest\n\ndef test_parse():\n    assert 1 + 1 == 2\n"
    unittest_style = (
        "import unittest\n\nclass ParserChecks(unittest.TestCase):\n"
        "    def test_empty(self):\n        self.assertEqual([], [])\n"
    )
    helper = "def test_connection(url):\n    return url.startswith('http')\n"  # app code
    plain = "from parser import parse\n\ndef test_empty():\n    assert parse('') == []\n"
    for name, text in {
        "parser.py": "x = 1\n",
        "tests_parser.py": tests,
        "checks/parser_checks.py": unittest_style,
        "net.py": helper,
        "parser_tests.py": plain,  # plain asserts, named for tests
        "tests/tests_cli.py": plain,  # in a tests folder, named outside pytest's defaults
        "tests/helpers.py": "def make():\n    return 1\n",  # a helper there: no tests
        # retired by its author, by name: test code, but not run
        "unittest/obsoleted_test_models.py": plain,
        "old_tests.py": plain,
    }.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    workspace = screen(inventory(tmp_path))
    found = {"checks/parser_checks.py", "tests_parser.py", "parser_tests.py", "tests/tests_cli.py"}
    assert set(workspace.tests_by_content) == found
    retired = {"unittest/obsoleted_test_models.py", "old_tests.py"}
    assert set(workspace.test_files) == found | {"tests/helpers.py"} | retired
    assert "net.py" in workspace.source_files and "tests_parser.py" not in workspace.source_files
    patterns = _ini(tmp_path, pytest_settings.read(workspace))["python_files"].split()
    assert {"tests_parser.py", "parser_checks.py", "parser_tests.py", "tests_cli.py"} <= set(
        patterns
    )


@pytest.mark.parametrize(
    ("config", "deselected"),
    [
        ('addopts = "-m \'not webtest\'"\nmarkers = ["webtest: needs the internet"]', ("webtest",)),
        (
            'addopts = ["-q", "-m", "not slow and not e2e"]\nmarkers = ["slow: s", "e2e(x): e"]',
            ("slow", "e2e"),
        ),
        ("addopts = \"-m 'not webtest'\"", ()),  # a marker the author never declared
        ('addopts = "-m \'webtest\'"\nmarkers = ["webtest: w"]', ()),  # selects, not deselects
        ('addopts = "-m \'not a or b\'"\nmarkers = ["a: x", "b: y"]', ()),
        ('addopts = "-m \'not a\' -m \'not b\'"\nmarkers = ["a: x", "b: y"]', ()),
        ('addopts = "-k \'not slow\'"\nmarkers = ["slow: s"]', ()),  # -k never carries over
        ('addopts = "-m \'not webtest"\nmarkers = ["webtest: w"]', ()),  # unbalanced quote
    ],
)
def test_only_a_marker_expression_that_deselects_declared_markers_carries_over(
    tmp_path: Path, config: str, deselected: tuple[str, ...]
) -> None:
    settings = _settings(tmp_path, {"pyproject.toml": f"[tool.pytest.ini_options]\n{config}\n"})
    assert settings.deselected == deselected
    expected = " and ".join(f"not {m}" for m in deselected)
    assert _ini(tmp_path, settings)["addopts"] == (f'-m "{expected}"' if deselected else "")
