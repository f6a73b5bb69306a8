# ruff: noqa
"""Hostile: a module whose file name is not valid UTF-8 (written by the test at runtime)."""

from app import add


def test_add():
    assert add(1, 2) == 3
