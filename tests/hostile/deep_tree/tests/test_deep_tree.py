# ruff: noqa
"""Hostile: leave a directory chain 3000 levels deep in the scratch copy.

Anything on the host that walks or deletes the scratch folder recursively (os.walk and
shutil.rmtree are recursive on Python 3.11) hits the recursion limit.
"""

import os

from app import add


def test_add():
    assert add(1, 2) == 3


def test_leave_a_deep_tree():
    top = os.open(".", os.O_RDONLY)
    try:
        for _ in range(3000):
            os.mkdir("d")
            os.chdir("d")
    finally:
        os.fchdir(top)
        os.close(top)
