"""Design beyond size: packages, the import graph, import-time effects, shared state and
copied blocks, on small submissions written by each test and on two fixtures with the same
behaviour, tests and README, one flat and one layered."""

from __future__ import annotations

import ast
import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import make_repo, run_grader

from grader.acquire.workspace import inventory
from grader.core.models import ToolResult
from grader.sandbox.bubblewrap import Limits, NotNeeded
from grader.tools import hardcoded_config, layer_leaks, module_state
from grader.tools.base import ToolContext
from grader.tools.design import Design

FIXTURES = Path(__file__).parent / "fixtures" / "design"


def _design(root: Path, files: dict[str, str]) -> ToolResult:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
    work = root.parent / "work"
    work.mkdir(exist_ok=True)
    return Design().run(ToolContext(inventory(root), work, NotNeeded(), Limits()))


def _metrics(result: ToolResult) -> dict[str, Any]:
    return {m.name: m.value for m in result.metrics}


def _located(result: ToolResult, rule: str) -> list[str]:
    return [str(f.location) for f in result.findings if f.rule_id == rule]


@pytest.mark.parametrize(
    ("source", "charged"),
    [
        ("import sqlalchemy\nengine = sqlalchemy.create_engine(URL)\n", 1),
        ("import redis\ncache = redis.Redis(host='x')\n", 1),
        ("from openai import OpenAI\nclient = OpenAI()\n", 1),
        ("import requests\nDATA = requests.get(URL).json()\n", 1),
        ("CONFIG = open('config.yml').read()\n", 1),
        ("import boto3\ns3 = boto3.client('s3')\n", 1),
        ("import psycopg2\nconn = psycopg2.connect(DSN)\n", 1),
        # python-dotenv documents load_dotenv() at import: configuration, not a connection
        ("from dotenv import load_dotenv\nload_dotenv()\n", 0),
        ("try:\n    import sqlite3\n    db = sqlite3.connect('x')\nexcept OSError:\n    pass\n", 1),
        ("class Repo:\n    conn = sqlite3.connect('x')\n", 1),
        # not charged: conventional, lazy, or only when run as a program
        ("import os\nURL = os.environ.get('URL')\nKEY = os.getenv('KEY')\n", 0),
        ("from fastapi import FastAPI\napp = FastAPI()\n", 0),
        ("from flask import Flask\napp = Flask(__name__)\n", 0),
        ("def engine():\n    return create_engine(URL)\n", 0),
        ("get = lambda: requests.get(URL)\n", 0),
        ("if __name__ == '__main__':\n    load_dotenv()\n    open('x')\n", 0),
        ("import json\nSETTINGS = json.loads('{}')\n", 0),
        # the schema written to the database at import, directly or through a helper
        ("Base.metadata.create_all(bind=engine)\n", 1),
        ("def init():\n    Base.metadata.drop_all(engine)\n\n\ninit()\n", 1),
        (
            "async def init():\n    await conn.run_sync(Base.metadata.create_all)\n",
            0,
        ),
        ("def helper():\n    return 1\n\n\nVALUE = helper()\n", 0),
    ],
)
def test_import_side_effects(source: str, charged: int) -> None:
    assert len(module_state.import_side_effects(ast.parse(source))) == charged


@pytest.mark.parametrize(
    ("source", "charged"),
    [
        ("conn = None\ndef connect():\n    global conn\n    conn = 1\n", 1),
        ("ITEMS = []\ndef add(x):\n    ITEMS.append(x)\n", 1),
        ("CACHE = {}\ndef put(k, v):\n    CACHE[k] = v\ndef drop(k):\n    del CACHE[k]\n", 1),
        ("seen = set()\ndef mark(x):\n    seen.add(x)\n", 1),
        # not charged: read only, shadowed by a local, or a constant that is never changed
        ("LIMITS = {'a': 1}\ndef limit(k):\n    return LIMITS[k]\n", 0),
        ("ITEMS = []\ndef build():\n    ITEMS = []\n    ITEMS.append(1)\n    return ITEMS\n", 0),
        ("def f(items):\n    items.append(1)\n", 0),
        ("NAME = 'x'\ndef f():\n    return NAME\n", 0),
        # created once, on first use: a lazy singleton, not state callers change
        (
            "_engine = None\ndef engine():\n    global _engine\n    if _engine is None:\n"
            "        _engine = make()\n    return _engine\n",
            0,
        ),
        (
            "_c = None\ndef c():\n    global _c\n    if not _c:\n"
            "        _c = make()\n    return _c\n",
            0,
        ),
        # set again elsewhere in the function, or unguarded: shared state
        (
            "_engine = None\ndef reset(url):\n    global _engine\n    if _engine is None:\n"
            "        _engine = make()\n    _engine = make(url)\n",
            1,
        ),
        ("count = 0\ndef bump():\n    global count\n    count += 1\n", 1),
        # a container made on first use and then filled is shared state
        (
            "_cache = None\ndef put(k, v):\n    global _cache\n    if _cache is None:\n"
            "        _cache = {}\n    _cache[k] = v\n",
            1,
        ),
    ],
)
def test_global_state(source: str, charged: int) -> None:
    assert len(module_state.global_state(ast.parse(source))) == charged


def test_flat_scripts_have_no_package_and_are_charged_for_effects_and_state(
    tmp_path: Path,
) -> None:
    flat = (FIXTURES / "flat" / "todo.py").read_text()
    result = _design(tmp_path / "s", {"main.py": flat, "tests/test_main.py": "import main\n"})
    metrics = _metrics(result)
    assert metrics["design.packaged_share"] == 0
    assert metrics["design.code_modules"] == 1
    assert metrics["design.import_cycle_share"] is None
    assert metrics["design.upward_imports"] is None
    assert _located(result, "import-side-effect") == ["main.py:8"]
    assert _located(result, "global-state") == ["main.py:14", "main.py:23"]
    # The same file that nothing imports is a script: connecting is what running it does
    # (as docs/conf.py, manage.py or a notebook); its shared state is still charged.
    script = _design(tmp_path / "script", {"main.py": flat, "docs/conf.py": "open('x')\n"})
    assert _located(script, "import-side-effect") == []
    assert _located(script, "global-state") == ["main.py:14", "main.py:23"]


def test_generated_migrations_are_not_the_candidates_packaged_code(tmp_path: Path) -> None:
    migration = "from django.db import migrations\n\n\nclass Migration:\n" + "".join(
        f"    field_{n} = {n}\n" for n in range(40)
    )
    result = _design(
        tmp_path / "s",
        {
            "views.py": "def index(request):\n    return 1\n",
            "shop/__init__.py": "",
            "shop/migrations/__init__.py": "",
            "shop/migrations/0001_initial.py": migration,
        },
    )
    metrics = _metrics(result)
    assert metrics["design.packaged_share"] == 0
    assert metrics["design.code_modules"] == 1


def test_cycles_and_upward_imports_are_read_from_the_import_graph(tmp_path: Path) -> None:
    result = _design(
        tmp_path / "s",
        {
            "src/shop/__init__.py": "",
            "src/shop/api.py": "from shop import storage\n\ndef route():\n    return storage\n",
            "src/shop/storage.py": "import os\nfrom shop.api import route\n",
            "src/shop/models.py": "from shop.services import price\n",
            "src/shop/services.py": "from shop import models\n",
            "src/shop/util.py": "X = 1\n",
            "tests/test_shop.py": "from shop import api\n",
        },
    )
    metrics = _metrics(result)
    assert metrics["design.packaged_share"] == 100.0
    # api<->storage and models<->services: 4 of the package's 6 modules
    assert metrics["design.import_cycle_share"] == pytest.approx(100 * 4 / 6, abs=0.01)
    assert metrics["design.upward_imports"] == 1
    assert _located(result, "upward-import") == ["src/shop/storage.py:2"]
    cycles = [f.message for f in result.findings if f.rule_id == "import-cycle"]
    assert len(cycles) == 2
    assert any("shop.api, shop.storage" in message for message in cycles)


def test_a_package_named_like_an_installed_module_is_a_package_whose_imports_are_not_read(
    tmp_path: Path,
) -> None:
    # grader grading itself is the everyday case: its package is named like its own.
    result = _design(tmp_path / "s", {"json/__init__.py": "X = 1\n", "json/a.py": "Y = 2\n"})
    metrics = _metrics(result)
    assert metrics["design.packaged_share"] == 100
    assert metrics["design.import_cycle_share"] is None


def test_copied_blocks_are_found_by_symilar(tmp_path: Path) -> None:
    block = "".join(f"    total += values[{i}] * {i + 2}\n" for i in range(8))
    result = _design(
        tmp_path / "s",
        {
            "a.py": f"def first(values):\n    total = 0\n{block}    return total\n",
            "b.py": f"X = 1\n\n\ndef second(values):\n    total = 0\n{block}    return total\n",
            "c.py": "def other():\n    return 1\n",
        },
    )
    assert _metrics(result)["design.duplicated_share"] > 20
    [message] = [f.message for f in result.findings if f.rule_id == "duplicate-code"]
    assert "a.py:2-" in message
    assert "b.py:5-" in message


def test_shared_imports_and_signatures_are_not_copied_blocks(tmp_path: Path) -> None:
    """symilar reads them from the tree grader parses (without astroid's inference)."""
    imports = "".join(f"import module_{i}\n" for i in range(8))
    signature = "def handle(\n" + "".join(f"    arg_{i}: int,\n" for i in range(8)) + ") -> int:\n"
    result = _design(
        tmp_path / "s",
        {
            "a.py": f"{imports}\n\n{signature}    return arg_0 + 1\n",
            "b.py": f"{imports}\n\n{signature}    return arg_1 * 2\n",
        },
    )
    assert _metrics(result)["design.duplicated_share"] == 0
    assert not [f for f in result.findings if f.rule_id == "duplicate-code"]


def test_a_package_re_exporting_its_modules_names_copies_no_block(tmp_path: Path) -> None:
    names = "".join(f'    "name_{i}",\n' for i in range(8))
    body = "".join(f"def name_{i}():\n    return {i}\n\n\n" for i in range(8))
    exported = f"__all__ = [\n{names}]\n"
    files = {
        "shop/__init__.py": f"from shop.utils import *\n\n{exported}",
        "shop/utils.py": f"{body}{exported}",
    }
    result = _design(tmp_path / "s", files)
    assert not [f for f in result.findings if f.rule_id == "duplicate-code"]
    # The same lines copied as code are still a copy.
    copied = {**files, "shop/more.py": body, "shop/__init__.py": ""}
    assert [f for f in _design(tmp_path / "t", copied).findings if f.rule_id == "duplicate-code"]


def _criterion(report: dict[str, Any], criterion: str) -> float:
    return float(next(c["score"] for c in report["criteria"] if c["id"] == criterion))


@pytest.mark.slow
@pytest.mark.sandbox
def test_layered_fixture_beats_flat_scripts_with_the_same_behaviour_on_design(
    tmp_path: Path,
) -> None:
    reports = {}
    for variant in ("flat", "layered"):
        repo = make_repo(FIXTURES / variant, tmp_path / variant)
        run = run_grader(repo, tmp_path / f"report-{variant}", "--format", "json")
        assert run.exit_code == 0, run.stderr
        reports[variant] = run.report()
    for report in reports.values():  # the same behaviour: the same tests pass
        tests = next(t for t in report["tools"] if t["name"] == "pytest")["tests"]
        assert tests["passed"] == 3
    assert _criterion(reports["layered"], "design") >= _criterion(reports["flat"], "design") + 25
    assert _criterion(reports["layered"], "documentation") == _criterion(
        reports["flat"], "documentation"
    )


@pytest.mark.slow
@pytest.mark.sandbox
def test_a_readme_with_working_commands_outweighs_docstrings(tmp_path: Path) -> None:
    """The layered code without a docstring and its full README, against the same code
    with every docstring and a one-line README."""
    readme_only = tmp_path / "readme-only"
    shutil.copytree(FIXTURES / "layered", readme_only)
    for module in (readme_only / "todo").glob("*.py"):
        tree = ast.parse(module.read_text())
        for node in ast.walk(tree):
            body = getattr(node, "body", None)
            first = body[0] if isinstance(body, list) and len(body) > 1 else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                body.pop(0)
        module.write_text(ast.unparse(tree) + "\n")
    docstrings_only = tmp_path / "docstrings-only"
    shutil.copytree(FIXTURES / "layered", docstrings_only)
    (docstrings_only / "README.md").write_text("todo list - run python -m todo\n")
    scores = {}
    for folder in (readme_only, docstrings_only):
        repo = make_repo(folder, tmp_path / f"repo-{folder.name}")
        run = run_grader(repo, tmp_path / f"report-{folder.name}", "--format", "json")
        assert run.exit_code == 0, run.stderr
        scores[folder.name] = _criterion(run.report(), "documentation")
    assert scores["readme-only"] > scores["docstrings-only"]


def test_a_folder_of_modules_without_init_is_a_namespace_package(tmp_path: Path) -> None:
    result = _design(
        tmp_path / "s",
        {
            "app/main.py": "from app import db\n",
            "app/db.py": "from app.main import handler\n",
            "run.py": "from app import main\n",
        },
    )
    metrics = _metrics(result)
    assert metrics["design.packaged_share"] == pytest.approx(100 * 2 / 3, abs=0.01)
    assert metrics["design.upward_imports"] == 1
    assert _located(result, "upward-import") == ["app/db.py:1"]


def _uses(names: str) -> str:
    return f"\n\ndef handle():\n    return [{names}]\n"


@pytest.mark.parametrize(
    ("path", "source", "charged"),
    [
        # storage raising the framework's HTTP error: the web layer inside the core
        (
            "app/crud.py",
            "from fastapi import HTTPException\n" + _uses("HTTPException"),
            ["fastapi"],
        ),
        # an import nothing uses is dead code (ruff's F401), not a dependency on the web
        ("app/crud.py", "from fastapi import HTTPException\n", []),
        (
            "services/orders.py",
            "from rest_framework.exceptions import ValidationError\n" + _uses("ValidationError"),
            ["rest_framework.exceptions"],
        ),
        ("src/shop/repository.py", "import flask\n" + _uses("flask.abort"), ["flask"]),
        # the web layer itself may import it
        ("app/api/routes.py", "from fastapi import APIRouter\n", []),
        ("app/main.py", "from fastapi import FastAPI\n", []),
        # the ORM is what models are for; a library named like a framework is not it
        ("shop/models.py", "from django.db import models\n", []),
        ("shop/models.py", "from flask_sqlalchemy import SQLAlchemy\n", []),
        # dependency injection is wiring, not HTTP
        ("app/db.py", "from fastapi import Depends\n", []),
        (
            "app/db.py",
            "from fastapi import Depends, HTTPException\n" + _uses("Depends, HTTPException"),
            ["fastapi"],
        ),
        # a module named for no layer is not judged
        ("app/utils.py", "from fastapi import HTTPException\n", []),
        # a dependency provider or start-up hook is the web layer's wiring wherever it sits
        ("app/db/dependencies.py", "from starlette.requests import Request\n", []),
        ("app/services/redis/lifespan.py", "from fastapi import FastAPI\n", []),
        (
            "app/services/users.py",
            "from fastapi import HTTPException\n" + _uses("HTTPException"),
            ["fastapi"],
        ),
        # a module is charged once, naming all it takes from the framework
        (
            "app/services/users.py",
            "from fastapi import HTTPException\nfrom starlette.responses import FileResponse\n"
            "import fastapi\n" + _uses("HTTPException, FileResponse, fastapi.status"),
            ["fastapi, starlette.responses"],
        ),
        # the routes' auth dependency (a bearer token read from the request) is wiring
        (
            "app/services/auth.py",
            "from fastapi import Depends, HTTPException\nfrom fastapi.security import HTTPBearer\n"
            + _uses("Depends, HTTPException, HTTPBearer"),
            [],
        ),
        # an auth import nothing uses exempts nothing
        (
            "app/services/orders.py",
            "from fastapi import HTTPException\nimport fastapi.security\n" + _uses("HTTPException"),
            ["fastapi"],
        ),
        (
            "app/core/security.py",
            "from fastapi.security import OAuth2PasswordBearer\nfrom fastapi import HTTPException\n"
            + _uses("OAuth2PasswordBearer, HTTPException"),
            [],
        ),
    ],
)
def test_the_web_framework_in_the_core_is_charged_where_it_is_imported(
    path: str, source: str, charged: list[str]
) -> None:
    found = layer_leaks.leaks(path, ast.parse(source))
    assert [place.message.split(" imports ")[1].split(":")[0] for place in found] == charged
    assert all(place.line == 1 for place in found)


def test_a_django_app_holds_every_layer_whatever_it_is_called(tmp_path: Path) -> None:
    # A Django app named core: its viewset mixins are its web layer, its models still
    # its storage, and the app's own name says nothing about either.
    app = "from django.apps import AppConfig\n\n\nclass CoreConfig(AppConfig):\n    name = 'core'\n"
    result = _design(
        tmp_path / "s",
        {
            "manage.py": "import sys\n",
            "core/__init__.py": "",
            "core/apps.py": app,
            "core/mixins.py": "from rest_framework.response import Response\n" + _uses("Response"),
            "core/models.py": "from rest_framework.exceptions import ValidationError\n"
            + _uses("ValidationError"),
            "core/services.py": "from core.views import home\n",
            "core/views.py": "def home():\n    return 1\n",
        },
    )
    assert _located(result, "framework-in-core") == ["core/models.py:1"]
    assert _located(result, "upward-import") == ["core/services.py:1"]


def test_the_files_that_configure_tools_are_not_asked_to_be_in_a_package(tmp_path: Path) -> None:
    """setup.py, noxfile.py and Django's manage.py belong beside the packages: a fully
    packaged project keeps its 100 % with them at the root; a loose script still counts."""
    code = "".join(f"def f{i}():\n    return {i}\n\n\n" for i in range(5))
    files = {
        "shop/__init__.py": "",
        "shop/core.py": code,
        "setup.py": "from setuptools import setup\n\nsetup(name='shop')\n",
        "noxfile.py": "import nox\n\n\n@nox.session\ndef tests(session):\n    session.run('x')\n",
        "manage.py": "import os\nimport sys\n\nos.environ.setdefault('A', 'b')\nprint(sys.argv)\n",
    }
    assert _metrics(_design(tmp_path / "a", files))["design.packaged_share"] == 100
    loose = _design(tmp_path / "b", {**files, "report.py": code})
    assert _metrics(loose)["design.packaged_share"] == 50


@pytest.mark.parametrize(
    ("relative", "source", "lines"),
    [
        ("app/database.py", 'DATABASE_URL = "sqlite:///./test.db"\n', [1]),
        (
            "app/db.py",
            'import x\nengine = x.create_engine("postgresql+psycopg2://a:b@h/db")\n',
            [2],
        ),
        (
            "jobs/load.py",
            "import pymongo\n\nclient = pymongo.MongoClient('mongodb://localhost/')\n",
            [3],
        ),
        ("app.py", 'app.config["BROKER"] = "redis://localhost:6379/0"\n', [1]),
        # where configuration belongs, or a default that configuration overrides
        ("app/settings.py", 'DATABASE_URL = "sqlite:///./test.db"\n', []),
        ("app/config/base.py", 'REDIS = "redis://localhost"\n', []),
        ("app/core.py", 'class Settings:\n    database_url: str = "sqlite:///./app.db"\n', []),
        ("app/db.py", 'import os\nURL = os.getenv("DATABASE_URL", "sqlite:///./app.db")\n', []),
        ("app/db.py", 'import os\nURL = os.environ.get("DB", default="sqlite:///a.db")\n', []),
        ("app/db.py", 'def connect(url="postgresql://localhost/app"):\n    return url\n', []),
        ("app/db.py", 'ENGINE = "sqlite:///:memory:"\n', []),
        ("app/db.py", 'URL = f"postgresql://{USER}@{HOST}/app"\n', []),  # built from config
        ("app/api.py", 'DOCS = "https://example.com/docs"\n', []),  # no backing service
        # a method of a class is code, not a settings field
        (
            "app/repo.py",
            'class Repo:\n    def __init__(self):\n        self.url = "postgresql://u@prod/db"\n',
            [3],
        ),
        # a scheme alone, a template, a fallback after an environment read: no address
        ("app/db.py", 'import os\nURL = os.environ["DB"].replace("postgres://", "x")\n', []),
        ("app/db.py", 'URL = "postgresql://{user}@{host}/app".format(**cfg)\n', []),
        ("app/db.py", 'import os\nURL = os.getenv("DATABASE_URL") or "sqlite:///a.db"\n', []),
        ("app/db.py", 'ENGINE = create_engine("sqlite://")\n', []),
        # a module merely named like settings is not where settings live
        ("app/confirmation.py", 'URL = "redis://localhost:6379"\n', [1]),
        ("app/config_loader.py", 'URL = "redis://localhost:6379"\n', []),
    ],
)
def test_service_addresses_written_into_the_code(
    relative: str, source: str, lines: list[int]
) -> None:
    found = hardcoded_config.places(relative, ast.parse(source))
    assert [p.line for p in found] == lines


def test_a_hardcoded_database_url_is_a_design_finding(tmp_path: Path) -> None:
    files = {
        "app/__init__.py": "",
        "app/database.py": 'from sqlalchemy import create_engine\n\nURL = "sqlite:///./app.db"\n',
    }
    result = _design(tmp_path / "s", files)
    assert _metrics(result)["design.hardcoded_addresses"] == 1
    assert _located(result, "hardcoded-address") == ["app/database.py:3"]
