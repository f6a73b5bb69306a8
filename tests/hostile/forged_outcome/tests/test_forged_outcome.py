# ruff: noqa
"""Two tests that fail, which the conftest reports as passed."""

from app import add


def test_add():
    assert add(1, 2) == 3


def test_wrong_sum():
    assert add(1, 2) == 4


def test_crashes():
    raise RuntimeError("this test really failed")
