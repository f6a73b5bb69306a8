# ruff: noqa
"""Hostile: a test that never ends."""

from app import add


def test_add():
    assert add(1, 2) == 3


def test_spin_forever():
    while True:
        pass
