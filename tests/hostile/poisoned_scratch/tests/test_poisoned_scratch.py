# ruff: noqa
"""Hostile: after the run, replace the measured app.py with a link to a host FIFO.

grader's coverage report step runs on the host and reads the measured source files from
the scratch copy, which this run controls. In real life the link would point at
/dev/zero (unbounded memory on the host) or a FIFO (a hang); here the host FIFO's path
arrives as a placeholder so the test can see whether the host opened it.
"""

import atexit
import os

from app import add

HOST_FIFO = "@@HOST_FIFO@@"


def _plant() -> None:
    os.remove("app.py")
    os.symlink(HOST_FIFO, "app.py")


def test_add():
    atexit.register(_plant)
    assert add(1, 2) == 3
