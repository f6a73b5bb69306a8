# ruff: noqa
"""Hostile: latin-1 and binary .py files (written by the test at runtime) beside this one."""

import importlib

import pytest

from app import add


def test_add():
    assert add(1, 2) == 3


@pytest.mark.parametrize("module", ["latin1_source", "binary_source", "utf16_source"])
def test_import_undecodable(module):
    importlib.import_module(module)
