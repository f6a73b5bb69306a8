# ruff: noqa
"""Hostile: print 100 MB and fail, so pytest replays all of it in its summary."""

import sys

from app import add


def test_add():
    assert add(1, 2) == 3


def test_print_100_mb_then_fail():
    line = "x" * (1024 * 1024 - 1) + "\n"
    for _ in range(100):
        sys.stdout.write(line)
    assert False, "printed 100 MB"
