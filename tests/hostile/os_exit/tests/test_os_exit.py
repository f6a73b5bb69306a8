# ruff: noqa
"""Hostile: end the test process with a success status, mid-run, before any report."""

import os

from app import add


def test_add():
    assert add(1, 2) == 3


def test_exit_zero_now():
    os._exit(0)


def test_never_reached():
    assert add(2, 2) == 4
