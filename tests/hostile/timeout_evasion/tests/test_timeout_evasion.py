# ruff: noqa
"""Hostile: disarm pytest-timeout (its SIGALRM timer and handler), then spin forever.

Only the wall-clock limit of the whole run can stop this one.
"""

import signal

from app import add

MARKER = "@@MARKER@@"


def test_add():
    assert add(1, 2) == 3


def test_disarm_timeout_and_spin():
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, signal.SIG_IGN)
    while True:
        pass
