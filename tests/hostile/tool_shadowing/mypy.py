# ruff: noqa
"""Hostile: named like a tool; proves it was imported if anything runs it."""

import sys
from pathlib import Path

NAME = "mypy"
CANARY_DIR = "@@CANARY_DIR@@"

try:  # visible on the host only if a host-side tool imported this file
    Path(CANARY_DIR, NAME + ".imported").write_text(repr(sys.argv), encoding="utf-8")
except OSError:
    pass
# The report shows the source of these lines (they write a file at import, a design
# finding), so the class name is split: whole, it reaches the report only if this ran.
for arg in sys.argv:  # visible in the report if the sandboxed test run imported it
    if arg.startswith("--junitxml="):
        Path(arg.split("=", 1)[1]).write_text(
            '<testsuite><testcase classname="shad' 'owed" name="' + NAME + '"/></testsuite>',
            encoding="utf-8",
        )
