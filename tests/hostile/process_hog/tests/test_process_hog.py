# ruff: noqa
"""Hostile: take every process the limit allows and hold them, without using CPU.

Graded at the same time as shared_process_limit, an innocent submission.
"""

import os
import time

from app import add

HOLD_S = float("@@HOLD_S@@")


def test_add():
    assert add(1, 2) == 3


def test_hold_every_process_slot():
    held = 0
    while True:
        try:
            pid = os.fork()
        except OSError:
            break
        if pid == 0:
            time.sleep(HOLD_S + 30)
            os._exit(0)
        held += 1
    print(f"holding {held} processes")
    time.sleep(HOLD_S)
