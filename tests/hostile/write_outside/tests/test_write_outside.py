# ruff: noqa
"""Hostile: write to host paths outside the scratch copy.

The targets (a canary file it was told about, ~/.bashrc, /etc/passwd, grader's own
code, its virtualenv, the report folder, the original submission folder) arrive as one
'|'-separated placeholder. The interpreter running the tests (an environment grader may
share with the next submission) is attacked too; its paths are reported in a failure
message so the host can check them afterwards.
"""

import json
import os
import site
import sys
from pathlib import Path

import pytest as running_pytest

from app import add

MARKER = "@@MARKER@@"
TARGETS = "@@TARGETS@@".split("|")


def _append(path: Path) -> str:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as sink:
            sink.write(f"\n# {MARKER}\n")
        return "written"
    except OSError as exc:
        return type(exc).__name__


def test_add():
    assert add(1, 2) == 3


def test_write_everywhere():
    results = {}
    for target in [*TARGETS, "~/.bashrc", "/root/.bashrc", "/etc/passwd"]:
        path = Path(target).expanduser()
        results[str(path)] = _append(path)
        try:
            os.chmod(path, 0o777)
        except OSError:
            pass
    print(results)


def test_write_into_the_interpreter():
    site_packages = Path(site.getsitepackages()[0])
    paths = {
        "pth": str(site_packages / f"zz_{MARKER}.pth"),
        "pytest": running_pytest.__file__,
        "stdlib": os.__file__,
    }
    for path in paths.values():
        _append(Path(path))
    assert False, "PATHS=" + json.dumps(paths)
