# ruff: noqa
"""Hostile: read host files through symlinks shipped in the submission.

The links (secret_link.py, notes.md, hostdir/) are created by the test at runtime.
"""

from pathlib import Path

from app import add


def test_add():
    assert add(1, 2) == 3


def test_read_through_links():
    for name in ("secret_link.py", "notes.md", "hostdir/leak.py"):
        try:
            print(Path(name).read_text(encoding="utf-8"))
        except OSError as exc:
            print(name, exc)
