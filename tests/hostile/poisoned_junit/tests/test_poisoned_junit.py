# ruff: noqa
"""Hostile: after pytest wrote its JUnit file, replace it with a link to a host file.

grader parses the JUnit file on the host, after the sandbox is gone; the host XML file's
path arrives as a placeholder.
"""

import atexit
import os
import sys

from app import add

HOST_XML = "@@HOST_XML@@"


def _plant() -> None:
    for arg in sys.argv:
        if arg.startswith("--junitxml="):
            junit = arg.split("=", 1)[1]
            os.remove(junit)
            os.symlink(HOST_XML, junit)


def test_add():
    atexit.register(_plant)  # runs after pytest's session finish wrote the JUnit file
    assert add(1, 2) == 3
