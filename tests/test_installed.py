"""Which installed distribution provides an import, read from an environment's metadata."""

from __future__ import annotations

from pathlib import Path

import pytest
from wheels import DECLARED, LOOK_ALIKES, MODULE, Wheel, unpack_into

from grader.environment import installed
from grader.environment.providers import ModuleIndex, Provided, named_alike


def _environment(root: Path, *wheels: Wheel) -> Path:
    site_packages = root / "lib" / "python3.11" / "site-packages"
    site_packages.mkdir(parents=True)
    for wheel in wheels:
        unpack_into(site_packages, wheel)
    return root


def test_modules_come_from_record_every_level_included(tmp_path: Path) -> None:
    compiled = Wheel(
        "PyYAML",
        "6.0",
        {
            "yaml/__init__.py": MODULE,
            "_yaml/_speedups.cpython-311-x86_64-linux-gnu.so": "",
            "yaml/data/schema.json": "{}",
            "../../../bin/yaml-tool": "#!/bin/sh\n",
        },
        requires=("packaging", "pytest; extra == 'test'"),
    )
    env = _environment(tmp_path, compiled, *DECLARED)
    by_name = {dist.name: dist for dist in installed.read(env)}
    assert by_name["pyyaml"].modules == {"yaml", "_yaml", "_yaml._speedups"}
    assert by_name["pyyaml"].requires == {"packaging"}
    assert by_name["google-cloud-storage"].modules == {
        "google",
        "google.cloud",
        "google.cloud.storage",
    }
    assert by_name["google-cloud-storage"].requires == {"google-api-core"}
    assert by_name["factory-boy"].version == "1.0"


def test_plugins_and_stubs_are_told_apart(tmp_path: Path) -> None:
    plugin = Wheel(
        "pytest-django",
        "4.9",
        {"pytest_django/__init__.py": MODULE},
        entry_points="[pytest11]\ndjango = pytest_django.plugin\n",
    )
    checks = Wheel(
        "flake8-bugbear",
        "24.0",
        {"bugbear.py": MODULE},
        entry_points="[flake8.extension]\nB = bugbear:BugBearChecker\n",
    )
    dialect = Wheel(
        "psqlpy-sqlalchemy",
        "0.1",
        {"psqlpy_sqlalchemy/__init__.py": MODULE},
        entry_points="[sqlalchemy.dialects]\npostgresql.psqlpy = psqlpy_sqlalchemy:Dialect\n",
    )
    tox = Wheel(
        "tox-uv", "1.0", {"tox_uv/__init__.py": MODULE}, entry_points="[tox]\nuv = tox_uv\n"
    )
    command = Wheel(
        "httpie",
        "3.0",
        {"httpie/__init__.py": MODULE},
        entry_points="[console_scripts]\nhttp = httpie:main\n",
    )
    own_features = Wheel(
        "numpy", "2.0", {"numpy/__init__.py": MODULE}, entry_points="[array_api]\nnumpy = numpy\n"
    )
    stubs = Wheel("types-requests", "2.0", {"requests-stubs/__init__.pyi": ""})
    environment = _environment(tmp_path, plugin, checks, dialect, tox, command, own_features, stubs)
    by_name = {d.name: d for d in installed.read(environment)}
    assert by_name["pytest-django"].tool_plugin and not by_name["pytest-django"].stubs_only
    assert by_name["flake8-bugbear"].tool_plugin
    # whatever loads it: a SQLAlchemy dialect, a tox plugin; a command is no plugin
    assert by_name["psqlpy-sqlalchemy"].tool_plugin and by_name["tox-uv"].tool_plugin
    assert not by_name["httpie"].tool_plugin
    # a library's entry points for its own optional features make no plugin of it
    assert not by_name["numpy"].tool_plugin
    assert by_name["types-requests"].stubs_only and not by_name["types-requests"].modules


def test_without_a_record_top_level_txt_names_the_modules(tmp_path: Path) -> None:
    env = _environment(tmp_path, Wheel("beautifulsoup4", "4.12", {}, top_level=("bs4",)))
    (record,) = env.glob("lib/*/site-packages/*.dist-info/RECORD")
    record.unlink()
    (dist,) = installed.read(env)
    assert dist.modules == {"bs4"}


def test_a_folder_without_site_packages_holds_nothing(tmp_path: Path) -> None:
    assert installed.read(tmp_path) == ()


@pytest.mark.parametrize(
    ("module", "provided"),
    [
        ("django_filters", Provided("django_filters", frozenset({"django-filter"}))),
        ("factory.fuzzy", Provided("factory", frozenset({"factory-boy"}))),
        # A namespace package: the deepest level anything provides decides, named by the
        # shortest level only its providers provide (google is shared).
        ("google.cloud.storage", Provided("google.cloud", frozenset({"google-cloud-storage"}))),
        (
            "google.cloud.storage.Client",
            Provided("google.cloud", frozenset({"google-cloud-storage"})),
        ),
        ("google.api_core.retry", Provided("google.api_core", frozenset({"google-api-core"}))),
        ("google", Provided("google", frozenset({"google-api-core", "google-cloud-storage"}))),
        ("psycopg2", Provided("psycopg2", frozenset())),
        ("rest_framework_simplejwt", Provided("rest_framework_simplejwt", frozenset())),
    ],
)
def test_the_installed_metadata_says_what_provides_an_import(
    tmp_path: Path, module: str, provided: Provided
) -> None:
    index = ModuleIndex.of(installed.read(_environment(tmp_path, *DECLARED)))
    assert index.provided(module) == provided


def test_look_alikes_are_found_only_when_installed(tmp_path: Path) -> None:
    index = ModuleIndex.of(installed.read(_environment(tmp_path, *LOOK_ALIKES)))
    assert index.provided("factory").distributions == {"factory"}
    assert index.provided("django_filters").distributions == {"django-filters"}


@pytest.mark.parametrize(
    ("distribution", "module", "alike"),
    [
        ("requests", "requests", True),
        ("pyyaml", "yaml", True),
        ("python-dateutil", "dateutil.parser", True),
        ("django-filter", "django_filters", True),
        ("djangorestframework-simplejwt", "rest_framework_simplejwt", True),
        ("scikit-learn", "sklearn", False),
        ("pillow", "PIL", True),
        ("pyyaml", "py", False),  # too short to be found inside another name
        ("tabulate", "requests", False),
    ],
)
def test_names_alike_are_matched_generously(distribution: str, module: str, alike: bool) -> None:
    assert named_alike(distribution, module) is alike
