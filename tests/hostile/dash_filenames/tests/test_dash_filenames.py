# ruff: noqa
"""Hostile: files named like command-line options or shell code sit beside app.py.

They are written by the test at runtime: --help.py, -c.py, --version.py,
$(touch PWNED).py, `touch PWNED`.py, ;touch PWNED;.py and a name with a newline.
"""

from app import add


def test_add():
    assert add(1, 2) == 3
