# ruff: noqa
"""The real suite: it must be what the report describes."""

from app import add


def test_real_suite_ran():
    assert add(1, 2) == 3
