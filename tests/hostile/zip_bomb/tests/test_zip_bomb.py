# ruff: noqa
"""Hostile archive (zip_bomb): the test packs this folder with a malicious member at runtime."""

from app import add


def test_add():
    assert add(1, 2) == 3
