"""The hiring team's fixtures: run the candidate's ``python -m docqa`` on a small corpus.

grader runs these tests with the candidate's code on the import path and its root in
$GRADER_SUBMISSION; the CLI contract comes from the brief (ASSIGNMENT.md).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

CORPUS = {
    "keys/rotation.md": "# Rotating API keys\n\nTo rotate the API keys, create a new key in "
    "the console, deploy it, then revoke the old key. Rotate keys every ninety days.\n",
    "kitchen.txt": "Bread needs flour, water, salt and yeast. Knead the dough and let it "
    "rise for an hour before baking it in a hot oven.\n",
    "garden.md": "Tomatoes need sun and water. Prune the side shoots and tie the stems to "
    "a stake as the plants grow taller.\n",
}


def _submission() -> Path:
    return Path(os.environ.get("GRADER_SUBMISSION", os.getcwd()))


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """Three short documents, one of them about rotating API keys."""
    root = tmp_path / "corpus"
    for name, text in CORPUS.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


@pytest.fixture
def docqa() -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run ``python -m docqa ARGS`` from the candidate's root."""

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [sys.executable, "-m", "docqa", *args],
            cwd=_submission(),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if "No module named docqa" in done.stderr:
            # Not a clean error from the candidate's CLI: there is no CLI to test.
            pytest.fail("the brief's `python -m docqa` does not run: No module named docqa")
        return done

    return run


def _results(stdout: str) -> list[dict[str, Any]]:
    data = json.loads(stdout)
    found = data["results"] if isinstance(data, dict) else data
    assert isinstance(found, list)
    return found


@pytest.fixture
def results() -> Callable[[str], list[dict[str, Any]]]:
    """The ranked results of ``query --json``: a list, or a list under "results"."""
    return _results
