# ruff: noqa
"""Hostile: a test that sleeps for eleven days."""

import time

from app import add


def test_add():
    assert add(1, 2) == 3


def test_sleep_forever():
    time.sleep(10**6)
