# ruff: noqa
"""Hostile: modules nested 100 000 levels deep (files written by the test at runtime)."""

import importlib

import pytest

from app import add

DEEP = ("deep_parens", "deep_sum", "deep_lists", "deep_not")


def test_add():
    assert add(1, 2) == 3


@pytest.mark.parametrize("module", DEEP)
def test_import_deep_module(module):
    importlib.import_module(module)
