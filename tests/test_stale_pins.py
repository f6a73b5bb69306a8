"""Pins made for an older Python: which crash, and how they are raised (stale_pins)."""

from __future__ import annotations

import pytest

from grader.environment.installed import Distribution
from grader.environment.stale_pins import crashed_in, raised

SITE = "/cache/envs/abc/lib/python3.11/site-packages"
INSTALLED = (
    Distribution("importlib-metadata", "0.18", frozenset({"importlib_metadata"})),
    Distribution("pluggy", "0.12.0", frozenset({"pluggy", "pluggy.manager"})),
    Distribution("py", "1.8.0", frozenset({"py", "py._vendored_packages"})),
    Distribution("pytest", "7.4.4", frozenset({"pytest", "_pytest"})),
    Distribution("django", "2.1.9", frozenset({"django"})),
    Distribution("requests", "2.22.0", frozenset({"requests"})),
    Distribution("flask", "1.1.1", frozenset({"flask"})),
    Distribution("jinja2", "2.11.1", frozenset({"jinja2"})),
    Distribution("markupsafe", "3.0.4", frozenset({"markupsafe"})),
)
DECLARED = (
    "importlib-metadata==0.18",
    "pluggy==0.12.0",
    "py==1.8.0",
    "pytest==4.6.3",
    "Django==2.1.9",
    "requests>=2.0",
    "Flask==1.1.1",
    "Jinja2==2.11.1",
    "MarkupSafe>=1.1.1",
)
PYTHON_TRACEBACK = f"""\
Traceback (most recent call last):
  File "{SITE}/_pytest/_code/code.py", line 35, in <module>
    import pluggy
  File "{SITE}/pluggy/manager.py", line 6, in <module>
    import importlib_metadata
  File "{SITE}/importlib_metadata/__init__.py", line 471, in <module>
    __version__ = version(__name__)
  File "/usr/lib/python3.11/importlib/metadata/__init__.py", line 907, in find_distributions
    found = cls._search_paths(context.name, context.path)
AttributeError: 'str' object has no attribute 'name'
"""
PYTEST_COLLECTION_ERROR = f"""\
_____ ERROR collecting tests/test_views.py _____
/usr/lib/python3.11/importlib/__init__.py:126: in import_module
    return _bootstrap._gcd_import(name[level:], package, level)
tests/test_views.py:1: in <module>
    from books.views import BookList
{SITE}/py/_vendored_packages/apipkg.py:146: in __makeattr
    raise AttributeError(name)
E   AttributeError: __spec__
"""
MISSING_DEPENDENCY = f"""\
  File "{SITE}/django/db/backends/postgresql/base.py", line 24, in <module>
    raise ImproperlyConfigured("Error loading psycopg2 module: %s" % e)
django.core.exceptions.ImproperlyConfigured: Error loading psycopg2: No module named 'psycopg2'
"""
REMOVED_FROM_THE_INSTALLER = f"""\
  File "{SITE}/py/_path/local.py", line 15, in <module>
    from pkg_resources import parse_version
ModuleNotFoundError: No module named 'pkg_resources'
"""
# A package's __init__.py imported while its tests are set up (pytest 9): the import's
# traceback is nested in the CollectError, every line behind "E".
PACKAGE_SETUP_ERROR = f"""\
_____ ERROR at setup of test_one_word _____
E           app/__init__.py:3: in <module>
E               from flask import Flask
E           {SITE}/flask/__init__.py:14: in <module>
E               from jinja2 import escape
E           {SITE}/jinja2/filters.py:13: in <module>
E               from markupsafe import soft_unicode
E           E   ImportError: cannot import name 'soft_unicode' from 'markupsafe'

{SITE}/_pytest/python.py:558: CollectError
"""
CANDIDATES_OWN_CODE = """\
  File "/tmp/scratch/submission/books/views.py", line 3, in <module>
    from collections import Mapping
ImportError: cannot import name 'Mapping' from 'collections'
"""


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        # every pinned release the import chain passed through; grader's runners spared
        (PYTHON_TRACEBACK, {"pluggy", "importlib-metadata"}),
        (PYTEST_COLLECTION_ERROR, {"py"}),
        (PACKAGE_SETUP_ERROR, {"flask", "jinja2"}),
        # a module that was never installed is not cured by raising the pin that wants it
        (MISSING_DEPENDENCY, set()),
        # one that newer Pythons or installers removed is
        (REMOVED_FROM_THE_INSTALLER, {"py"}),
        # the candidate's own code is theirs to fix
        (CANDIDATES_OWN_CODE, set()),
        ("1 passed in 0.01s", set()),
    ],
    ids=[
        "python",
        "pytest-style",
        "nested",
        "missing-module",
        "removed-module",
        "own-code",
        "none",
    ],
)
def test_the_pins_a_crash_passed_through(output: str, expected: set[str]) -> None:
    assert crashed_in(output, DECLARED, INSTALLED) == expected


def test_a_range_is_never_a_stale_pin() -> None:
    output = PYTHON_TRACEBACK.replace("importlib_metadata/", "requests/")
    assert "requests" not in crashed_in(output, DECLARED, INSTALLED)


@pytest.mark.parametrize(
    ("step", "expected"),
    [(1, "django<3,>=2.1.9"), (2, "django>=2.1.9")],
)
def test_a_stale_pin_is_raised_within_its_major_version_first(step: int, expected: str) -> None:
    items, changes = raised(("Django==2.1.9", "requests==2.22.0"), {"django": step})
    assert items == (expected.replace("django", "Django"), "requests==2.22.0")
    assert changes == [f"Django==2.1.9 to {expected.replace('django', 'Django')}"]


def test_wildcards_and_ranges_are_left_alone() -> None:
    items = ("Django==2.*", "requests>=2", "pluggy===0.12.0")
    assert raised(items, {"django": 2, "requests": 2, "pluggy": 2}) == (items, [])
