"""Undeclared imports and unused declarations: from installed metadata, else by name."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grader.acquire.workspace import inventory
from grader.core.models import Location
from grader.environment.installed import Distribution
from grader.sandbox.bubblewrap import Limits, NotNeeded
from grader.tools.base import ToolContext
from grader.tools.declared_imports import Check, Undeclared, check
from grader.tools.deps import Deps

HERE = Location("app.py", 1)


def _dist(name: str, *modules: str, requires: tuple[str, ...] = (), **flags: bool) -> Distribution:
    levels = {".".join(m.split(".")[:end]) for m in modules for end in range(1, m.count(".") + 2)}
    return Distribution(name, "1.0", frozenset(levels), frozenset(requires), **flags)


INSTALLED = (
    _dist("django", "django.db.models"),
    _dist("django-filter", "django_filters", requires=("django",)),
    _dist("factory-boy", "factory", requires=("faker",)),
    _dist("faker", "faker"),
    _dist("google-cloud-storage", "google.cloud.storage", requires=("google-api-core",)),
    _dist("google-api-core", "google.api_core"),
    _dist("psycopg", "psycopg"),
    _dist("psycopg2-binary", "psycopg2"),
    _dist("pytest", "pytest", "_pytest"),
    _dist("pytest-django", "pytest_django", tool_plugin=True),
    _dist("types-requests", stubs_only=True),
    _dist("requests", "requests"),
    _dist("sklearn"),  # the placeholder published under scikit-learn's module name
)


def test_a_module_only_a_dev_groups_tool_installs_is_undeclared_not_transitive() -> None:
    installed = (
        *INSTALLED,
        _dist("pre-commit", "pre_commit", requires=("pyyaml",)),
        _dist("pyyaml", "yaml"),
    )
    found = check({"yaml": HERE}, frozenset(), installed, also_declared=frozenset({"pre-commit"}))
    assert [u.module for u in found.undeclared] == ["yaml"]
    assert found.transitive == ()


@pytest.mark.parametrize(
    ("imported", "direct", "expected"),
    [
        pytest.param(
            ["django_filters", "factory.fuzzy", "google.cloud.storage", "django.db.models"],
            {"django", "django-filter", "factory-boy", "google-cloud-storage"},
            Check((), ()),
            id="modules-named-unlike-their-distributions",
        ),
        pytest.param(
            ["google.cloud.storage", "google.api_core.retry"],
            {"google-cloud-storage"},
            Check(
                (),
                (),
                (
                    Undeclared(
                        "google.api_core", HERE, ("google-api-core",), ("google-cloud-storage",)
                    ),
                ),
            ),
            id="a-module-only-a-dependency-provides-is-transitive",
        ),
        pytest.param(
            ["faker"],
            {"django"},
            Check((Undeclared("faker", HERE, ("faker",), ("factory-boy",)),), ("django",)),
            id="required-only-by-what-nothing-declares-is-undeclared",
        ),
        pytest.param(
            ["psycopg2", "psycopg"],
            {"psycopg", "psycopg2-binary"},
            Check((), ()),
            id="each-psycopg-provides-its-own-module",
        ),
        pytest.param(
            ["psycopg2"],
            {"psycopg2"},
            Check((), ()),
            id="the-binary-twin-installed-in-place-of-a-declaration",
        ),
        pytest.param(
            ["rest_framework_simplejwt"],
            set(),
            Check((Undeclared("rest_framework_simplejwt", HERE),), ()),
            id="nothing-installed-provides-it",
        ),
        pytest.param(
            ["sklearn"],
            {"sklearn"},
            Check((Undeclared("sklearn", HERE),), ("sklearn",)),
            id="an-installed-declaration-never-matches-by-name",
        ),
        pytest.param(
            ["graphene_django", "ldap.filter"],
            {"graphene-django", "python-ldap"},
            Check((), ()),
            id="declarations-left-out-match-by-their-names-generously",
        ),
        pytest.param(
            ["_pytest.monkeypatch", "pytest"],
            {"pytest-django", "types-requests", "requests"},
            Check((), ("requests",)),
            id="runners-plugins-and-stubs-need-no-import",
        ),
    ],
)
def test_imports_are_matched_by_the_installed_metadata(
    imported: list[str], direct: set[str], expected: Check
) -> None:
    found = check(dict.fromkeys(imported, HERE), frozenset(direct), INSTALLED)
    assert found == expected


def test_a_declared_psycopg_3_does_not_hide_a_missing_psycopg2() -> None:
    held = tuple(d for d in INSTALLED if d.name != "psycopg2-binary")
    found = check({"psycopg2": HERE}, frozenset({"psycopg"}), held)
    assert found == Check((Undeclared("psycopg2", HERE),), ("psycopg",))


@pytest.mark.parametrize(
    ("imported", "direct", "undeclared", "unused"),
    [
        (["requests"], {"requests"}, [], []),
        (["Flask_Login"], {"flask-login"}, [], []),
        (["psycopg2"], {"psycopg2"}, [], []),
        # Without metadata a distribution named like its module (one's letters hold the
        # other's) provides it: never charged both undeclared and unused. The notes say
        # the matching was by name.
        (["yaml"], {"pyyaml"}, [], []),
        (["django_filters"], {"django-filter"}, [], []),
        (["rest_framework_simplejwt"], set(), ["rest_framework_simplejwt"], []),
        (["pytest", "_pytest.monkeypatch"], set(), ["_pytest"], []),
        (["ldap"], {"python-ldap"}, [], []),
        (["bs4"], {"beautifulsoup4"}, ["bs4"], ["beautifulsoup4"]),
        ([], {"pytest-django", "types-requests", "black"}, [], []),
    ],
)
def test_without_metadata_names_are_compared_by_their_letters(
    imported: list[str], direct: set[str], undeclared: list[str], unused: list[str]
) -> None:
    found = check(dict.fromkeys(imported, HERE), frozenset(direct), None)
    assert [u.module for u in found.undeclared] == undeclared
    assert list(found.unused) == unused


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


def test_without_tests_the_notes_say_the_names_decided(tmp_path: Path) -> None:
    root = _write(
        tmp_path / "sub",
        {"requirements.txt": "pyyaml\n", "app.py": '"""App."""\nimport yaml\n'},
    )
    ctx = ToolContext(inventory(root), tmp_path / "work", NotNeeded(), Limits())
    result = Deps().run(ctx)
    assert "imports matched to distributions by name, not metadata: no tests" in "\n".join(
        result.notes
    )
    # pyyaml provides yaml: neither undeclared nor unused
    assert not [
        f for f in result.findings if f.rule_id in {"undeclared-import", "unused-dependency"}
    ]
    other = _write(tmp_path / "other", {"requirements.txt": "pyyaml\n", "app.py": "import toml\n"})
    ctx = ToolContext(inventory(other), tmp_path / "work-other", NotNeeded(), Limits())
    (undeclared,) = [f for f in Deps().run(ctx).findings if f.rule_id == "undeclared-import"]
    assert undeclared.location == Location("app.py", 1)
    assert "no declared distribution is named like it (toml)" in undeclared.message


def test_the_src_folder_imported_by_name_is_the_candidates_own(tmp_path: Path) -> None:
    # Run from the root, code and tests import src.app: the folder is theirs, not a
    # distribution (one named src exists on the index: it must never be looked for).
    root = _write(
        tmp_path / "sub",
        {
            "requirements.txt": "pyyaml\n",
            "src/app/__init__.py": "",
            "src/app/main.py": '"""App."""\nimport yaml\n',
            "src/cli.py": "from src.app.main import yaml\n",
        },
    )
    ctx = ToolContext(inventory(root), tmp_path / "work", NotNeeded(), Limits())
    assert not [f for f in Deps().run(ctx).findings if f.rule_id == "undeclared-import"]


def test_a_declaration_another_declared_one_requires_is_pinned_not_unused() -> None:
    """A pip freeze lists Flask's own dependencies; SQLAlchemy's asyncpg extra is named
    only in a database URL: none is dead weight."""
    installed = (
        _dist("flask", "flask", requires=("werkzeug", "jinja2")),
        _dist("werkzeug", "werkzeug"),
        _dist("jinja2", "jinja2"),
        _dist("requests", "requests"),
    )
    found = check(
        {"flask": HERE}, frozenset({"flask", "werkzeug", "jinja2", "requests"}), installed
    )
    assert found.unused == ("requests",)


def test_a_declaration_the_repository_names_without_importing_it_is_used(tmp_path: Path) -> None:
    root = _write(
        tmp_path / "sub",
        {
            "Pipfile": '[packages]\ndjango = "*"\ndjango-cors-headers = "*"\nasyncpg = "*"\n'
            'psrecord = "*"\nleftpad = "*"\npsycopg2-binary = "*"\nfastapi = "*"\n'
            'python-multipart = "*"\nemail-validator = "*"\nhttpx = "*"\nujson = "*"\n'
            'httptools = "*"\nuvloop = "*"\n',
            "tests/test_api.py": "from fastapi.testclient import TestClient\n",
            "shop/main.py": "from fastapi.responses import UJSONResponse\n",
            "Dockerfile": 'CMD ["uvicorn", "shop.main:app"]\n',
            "shop/settings.py": 'INSTALLED_APPS = ["corsheaders"]\n'
            'DATABASE = "postgresql+asyncpg://db/shop"\nimport django\n'
            'ENGINE = "django.db.backends.postgresql"\n',
            "shop/api.py": "from fastapi import File, UploadFile\nfrom pydantic import EmailStr\n",
            "README.md": "Profile it with `psrecord $(pgrep python) --plot run.png`.\n",
        },
    )
    ctx = ToolContext(inventory(root), tmp_path / "work", NotNeeded(), Limits())
    unused = [f.message for f in Deps().run(ctx).findings if f.rule_id == "unused-dependency"]
    assert [m.split(" ", 1)[0] for m in unused] == ["leftpad"], unused


def test_a_lock_declares_only_what_the_projects_own_files_name(tmp_path: Path) -> None:
    lock = {
        "default": {
            "django": {"version": "==3.2.6"},
            "sqlparse": {"version": "==0.4.1"},
            "asgiref": {"version": "==3.4.1"},
        },
        "develop": {},
    }
    root = _write(
        tmp_path / "sub",
        {
            "Pipfile": '[packages]\ndjango = "*"\n',
            "Pipfile.lock": json.dumps({"_meta": {}, **lock}),
            "app.py": "import django\n",
        },
    )
    ctx = ToolContext(inventory(root), tmp_path / "work", NotNeeded(), Limits())
    assert not [f for f in Deps().run(ctx).findings if f.rule_id == "unused-dependency"]


def test_a_name_a_framework_loads_counts_only_as_the_framework_spells_it(
    tmp_path: Path,
) -> None:
    root = _write(
        tmp_path / "sub",
        {
            "Pipfile": '[packages]\npython-multipart = "*"\n',
            "README.md": "Upload a file; the form is read by the app.\n",
            "app.py": "x = 1\n",
        },
    )
    ctx = ToolContext(inventory(root), tmp_path / "work", NotNeeded(), Limits())
    unused = [f.message for f in Deps().run(ctx).findings if f.rule_id == "unused-dependency"]
    assert [m.split(" ", 1)[0] for m in unused] == ["python-multipart"], unused


def test_an_extra_or_group_the_tests_do_not_need_still_declares_its_names(
    tmp_path: Path,
) -> None:
    pyproject = (
        '[project]\nname = "shop"\nversion = "1"\ndependencies = ["httpx"]\n'
        '[project.optional-dependencies]\nplots = ["matplotlib"]\n'
        '[dependency-groups]\ndatascience = ["numpy>=2", "polars"]\n'
        '[tool.poetry.group.docs.dependencies]\nmkdocs = "*"\n'
    )
    code = "import httpx\nimport matplotlib\nimport numpy\nimport polars\nimport mkdocs\n"
    root = _write(
        tmp_path / "sub",
        {"pyproject.toml": pyproject, "shop/__init__.py": code + "import yaml\n"},
    )
    ctx = ToolContext(inventory(root), tmp_path / "work", NotNeeded(), Limits())
    undeclared = [f.message for f in Deps().run(ctx).findings if f.rule_id == "undeclared-import"]
    assert [m.split(" ")[1] for m in undeclared] == ["yaml"], undeclared


def test_a_package_imported_from_inside_its_folder_is_own_code_run_from_there(
    tmp_path: Path,
) -> None:
    root = _write(
        tmp_path / "sub",
        {
            "requirements.txt": "fastapi\n",
            "app/__init__.py": "",
            "app/main.py": "import fastapi\nfrom node import routes\nimport yaml\n",
            "app/node/__init__.py": "",
            "app/node/routes.py": "from node.crud import create\n",
            "app/node/crud.py": "def create():\n    return 1\n",
        },
    )
    ctx = ToolContext(inventory(root), tmp_path / "work", NotNeeded(), Limits())
    result = Deps().run(ctx)
    undeclared = [f.message for f in result.findings if f.rule_id == "undeclared-import"]
    assert [m.split(" ")[1] for m in undeclared] == ["yaml"], undeclared
    relative = [str(f.location) for f in result.findings if f.rule_id == "folder-relative-import"]
    assert relative == ["app/main.py:2"]
    assert {m.name: m.value for m in result.metrics}["packaging.undeclared_imports"] == 1


def test_a_requirement_file_beside_a_lock_declares_what_it_pins(tmp_path: Path) -> None:
    lock = {"default": {"flask": {"version": "==3.0.0"}}, "develop": {}}
    root = _write(
        tmp_path / "sub",
        {
            "Pipfile": '[packages]\nflask = "*"\n',
            "Pipfile.lock": json.dumps({"_meta": {}, **lock}),
            "requirements.txt": "Flask==3.0.0\nJinja2==3.1.2\n",
            "app.py": "import flask\nimport jinja2\nimport yaml\n",
        },
    )
    ctx = ToolContext(inventory(root), tmp_path / "work", NotNeeded(), Limits())
    undeclared = [f.message for f in Deps().run(ctx).findings if f.rule_id == "undeclared-import"]
    assert [m.split(" ")[1] for m in undeclared] == ["yaml"], undeclared


def test_a_folder_deep_in_a_package_is_not_a_top_level_module(tmp_path: Path) -> None:
    """app/services/redis/ does not make ``import redis`` the candidate's own."""
    root = _write(
        tmp_path / "sub",
        {
            "requirements.txt": "fastapi\n",
            "app/__init__.py": "",
            "app/services/__init__.py": "",
            "app/services/redis/__init__.py": "",
            "app/services/redis/client.py": "import redis\n",
            "scripts/tool.py": "import helper\n",
            "scripts/helper.py": "",
        },
    )
    ctx = ToolContext(inventory(root), tmp_path / "work", NotNeeded(), Limits())
    undeclared = [f.message for f in Deps().run(ctx).findings if f.rule_id == "undeclared-import"]
    assert [m.split(" ")[1] for m in undeclared] == ["redis"], undeclared


def test_an_unused_dependency_names_the_file_that_declares_it(tmp_path: Path) -> None:
    root = _write(
        tmp_path / "sub",
        {
            "requirements.txt": "Left_Pad==1.0\n",
            "requirements-dev.txt": "flake8-bugbear==24.0\n",
            "setup.cfg": "[flake8]\nselect = B\n",
            "app.py": "x = 1\n",
        },
    )
    ctx = ToolContext(inventory(root), tmp_path / "work", NotNeeded(), Limits())
    unused = [f for f in Deps().run(ctx).findings if f.rule_id == "unused-dependency"]
    # flake8's plugins load themselves; the one unused name points at its own file.
    assert [(f.message.split(" ", 1)[0], f.location.path) for f in unused] == [
        ("left-pad", "requirements.txt")
    ], [f.message for f in unused]
    assert "declared in requirements.txt but" in unused[0].message


OPTIONAL_IMPORTS = '''\
"""Fast JSON when it is there; a data frame from whichever library is installed."""
try:
    import orjson as json
except ImportError:
    import json

try:
    from polars import DataFrame
except ModuleNotFoundError:
    from pandas import DataFrame
else:
    import pyarrow

import typing as t

import requests

if t.TYPE_CHECKING:  # read by type checkers only
    import typing_extensions
    from botocore.client import BaseClient
else:
    import attrs
'''


def test_an_import_the_code_runs_without_is_never_undeclared(tmp_path: Path) -> None:
    """An import inside a ``try`` that catches a failed import, or its fallback, is
    optional: the code runs without it, so it is not charged as undeclared, and a
    declaration it matches is still used. What runs only once the import worked (the
    ``else``) and an unguarded import stay required. An import under ``if TYPE_CHECKING:``
    is read only by type checkers: the code runs without it too."""
    root = _write(
        tmp_path / "sub", {"requirements.txt": "polars\nrequests\n", "app.py": OPTIONAL_IMPORTS}
    )
    ctx = ToolContext(inventory(root), tmp_path / "work", NotNeeded(), Limits())
    findings = Deps().run(ctx).findings
    undeclared = sorted(f.message.split()[1] for f in findings if f.rule_id == "undeclared-import")
    assert undeclared == ["attrs", "pyarrow"]
    assert not [f for f in findings if f.rule_id == "unused-dependency"]
