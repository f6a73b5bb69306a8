"""grader's ruff selection on code written in the idioms of its frameworks: what a
reviewer would call a defect is found, what the framework asks for is not."""

from __future__ import annotations

from pathlib import Path

from grader.acquire.workspace import inventory
from grader.core.models import ToolResult
from grader.sandbox.bubblewrap import Limits, NotNeeded
from grader.tools.base import ToolContext
from grader.tools.ruff import Ruff


def _lint(root: Path, files: dict[str, str]) -> ToolResult:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    work = root.parent / "work"
    work.mkdir()
    return Ruff().run(ToolContext(inventory(root), work, NotNeeded(), Limits()))


def _found(result: ToolResult) -> list[str]:
    return sorted(f"{f.location.path}:{f.location.line} {f.rule_id}" for f in result.findings)


VIEWS = """\
import time

from fastapi import APIRouter, Depends, Query
from fastapi.param_functions import Depends as Needs


def get_db():
    return None


router = APIRouter()


@router.get("/items")
def items(db=Depends(get_db), limit: int = Query(10), other=Needs(get_db)):
    return [db, limit, other]


def stamp(when=time.time()):  # evaluated once, at import: a real bug
    return when


class ItemViewSet:
    def list(self, request, *args, **kwargs):  # the framework's signature
        return []


def unused(value, *args, **kwargs):  # a plain function's unused parameter is dead code
    return 1
"""

FIXTURE = "import pytest\n\n\n@pytest.fixture\ndef client():\n    return 1\n"

FIXTURE_TESTS = """\
import os

from tests import client


def test_home(client):
    assert client is not None


def test_backend(anyio_backend, database):
    assert os.sep


def test_ItemViewSet_lists_nothing():
    assert True
"""


def test_framework_idioms_are_not_defects_and_real_ones_still_are(tmp_path: Path) -> None:
    result = _lint(
        tmp_path / "s",
        {
            "app/views.py": VIEWS,
            "tests/__init__.py": FIXTURE,
            "tests/test_home.py": FIXTURE_TESTS,
            "app/migrations/0001_initial.py": "class Migration:\n    operations = []\n",
            "app/tools.py": "import sys  # noqa: S404\n\nprint(sys.argv)\n",
        },
    )
    found = _found(result)
    # FastAPI's Depends/Query defaults are its idiom; a clock read at import is a bug.
    assert [f for f in found if f.endswith("B008")] == ["app/views.py:19 B008"]
    # A fixture requested by parameter, imported to be shared: neither unused nor redefined.
    assert not [f for f in found if f.startswith("tests/test_home.py") and " F" in f]
    assert not [f for f in found if " ARG" in f and f.startswith("tests/")]
    # A method's parameters are its framework's; a function's unused one is dead code.
    assert [f for f in found if " ARG" in f] == ["app/views.py:28 ARG001"]
    # Test names spell the class they test.
    assert not [f for f in found if f.endswith("N802")]
    # A generated migration is a tool's output; a noqa for a rule grader does not run is
    # the candidate's business.
    assert not [f for f in found if "migrations" in f or f.endswith("RUF100")]


def test_an_import_a_test_module_never_uses_is_still_unused(tmp_path: Path) -> None:
    result = _lint(
        tmp_path / "s", {"tests/test_a.py": "import json\n\n\ndef test_a():\n    pass\n"}
    )
    assert _found(result) == ["tests/test_a.py:1 F401"]


PACKAGE = {
    "shop/__init__.py": (
        "from .cart import Cart\nfrom shop.prices import price\nimport os\n"
        "from .prices import *\nfrom os.path import *\n"
    ),
    "shop/cart.py": "class Cart:\n    pass\n",
    "shop/prices.py": "def price():\n    return 1\n",
    "shop/queries.py": (
        'REPORT = """\n'
        "SELECT id   \n"  # trailing spaces inside the query: part of the string
        "   \n"
        'FROM cart"""\n'
        "\n"
        "\n"
        "def total():   \n"  # trailing spaces in code: a formatter's business, not charged
        "    import json\n"  # an unused import outside a package's __init__: charged
        "    return 1\n"
    ),
}


def test_a_package_reexports_its_own_modules_and_whitespace_is_not_a_finding(
    tmp_path: Path,
) -> None:
    result = _lint(tmp_path / "sub", PACKAGE)
    found = _found(result)
    # A package's __init__ re-exports its own modules (relative or by its own name, one
    # name or all of them); an unrelated import there is still unused, or unbounded.
    assert "shop/__init__.py:1 F401" not in found and "shop/__init__.py:2 F401" not in found
    assert "shop/__init__.py:3 F401" in found
    assert "shop/__init__.py:4 F403" not in found and "shop/__init__.py:5 F403" in found
    # Trailing whitespace, in a string or in code, is formatting.
    assert not [f for f in found if f.split()[-1].startswith("W29")]
    assert "shop/queries.py:8 F401" in found
    metrics = {m.name: m.value for m in result.metrics}
    assert metrics["lint.serious_issues"] == 3, found  # two unused imports, one star import


CALLBACKS = """\
import functools
import signal

from django.dispatch import receiver
from fastapi import FastAPI

app = FastAPI()


@app.get("/items/{id}")
def read(id: int, verbose: bool = False):  # the path names `id`; a query may go unused
    return {"id": id}


@app.exception_handler(ValueError)
async def on_error(request, exc):
    return {"detail": "bad value"}


@receiver("post_save")
def on_save(sender, instance, created, **kwargs):
    return instance


def on_interrupt(signum, frame):
    raise SystemExit(1)


signal.signal(signal.SIGINT, on_interrupt)


@functools.lru_cache(maxsize=None)
def cached(key, unused):  # a cache wraps the function for its own callers
    return key


@staticmethod
def wrapped(value, spare):
    return value


def helper(type, ignored):  # nobody else calls this one by contract
    return type


@retry(3)
def fetch(url, spare):  # retried for its own callers: its signature is its own
    return url


def total(items, unused):  # named like an attribute passed below, which is data
    return items


print(ORDER.total)
"""

URLS = """\
from django.urls import path

from app import views

urlpatterns = [path("", views.health)]
"""
VIEW = """\
from django.http import JsonResponse


def health(request):
    return JsonResponse({})
"""


def test_a_callbacks_signature_is_its_callers_and_a_plain_functions_is_its_own(
    tmp_path: Path,
) -> None:
    result = _lint(
        tmp_path / "s",
        {"app/hooks.py": CALLBACKS, "app/urls.py": URLS, "app/views.py": VIEW},
    )
    found = [f for f in _found(result) if f.endswith(("ARG001", "A002"))]
    assert found == [
        "app/hooks.py:33 ARG001",
        "app/hooks.py:38 ARG001",
        "app/hooks.py:42 A002",
        "app/hooks.py:42 ARG001",
        "app/hooks.py:47 ARG001",
        "app/hooks.py:51 ARG001",
    ]
