"""What a grade loads before its tests start: the analysers' heavy libraries wait.

Each of these takes 20-70 ms to import and is used only by an analyser (which runs while
the suite does), by mutation (after it) or by rare inputs (notebooks, Poetry). Imported at
the top of their modules, they delayed every grade's test run by a quarter of a second.
"""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import ROOT

DEFERRED = (
    "nbformat",
    "jsonschema",
    "detect_secrets",
    "astroid",
    "pylint",
    "cosmic_ray",
    "poetry",
    "mypy",
    "rich",
)


def test_importing_the_pipeline_and_command_line_loads_none_of_the_analysers_libraries() -> None:
    probe = (
        "import json, sys\n"
        "import grader.cli, grader.pipeline\n"
        f"print(json.dumps(sorted(n for n in {DEFERRED!r} if n in sys.modules)))\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert json.loads(run.stdout) == []
