# ruff: noqa
"""Hostile: a fork bomb. Every bomb process carries the marker in its argv."""

import os
import subprocess
import sys
import time

from app import add

MARKER = "@@MARKER@@"
BOMB = """
import os
while True:
    try:
        os.fork()
    except OSError:
        pass
"""


def test_add():
    assert add(1, 2) == 3


def test_fork_bomb_hits_the_process_limit():
    subprocess.Popen([sys.executable, "-c", BOMB, MARKER])
    time.sleep(1)
    refused = 0
    for _ in range(50):
        try:
            pid = os.fork()
        except OSError:
            refused += 1
            continue
        if pid == 0:
            os._exit(0)
        os.waitpid(pid, 0)
    # Passes only when the sandbox's process limit stopped the bomb.
    assert refused > 0
