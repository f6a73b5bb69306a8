"""Binding to 0.0.0.0 (bandit's B104) is how a containerised service publishes its port:
inside a container, 127.0.0.1 cannot be reached from outside. Left out, with a note, where
the repository ships a Dockerfile or Containerfile; charged where it runs on a host."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import run_tool

from grader.tools.bandit import Bandit

APP = """\
import uvicorn


def main():
    uvicorn.run("app:app", host="0.0.0.0", port=8000)
"""


@pytest.mark.slow
@pytest.mark.parametrize(("container", "charged"), [("Dockerfile", False), (None, True)])
def test_binding_all_interfaces_is_charged_only_outside_a_container(
    tmp_path: Path, container: str | None, charged: bool
) -> None:
    files = {"app.py": APP}
    if container:
        files[f"deploy/{container}"] = 'FROM python:3.12\nCMD ["python", "app.py"]\n'
    result = run_tool(Bandit(), tmp_path, files)
    assert [f.location.line for f in result.findings if f.rule_id == "B104"] == (
        [5] if charged else []
    )
    noted = "1 binding-to-all-interfaces finding(s) left out" in " ".join(result.notes)
    assert noted is not charged


RUNNER = """\
from flask import Flask

app = Flask(__name__)
SERVICE_HOST = "0.0.0.0"

if __name__ == "__main__":
    app.run(host="0.0.0.0", port=5000)
"""


@pytest.mark.slow
def test_a_modules_own_development_runner_is_charged_low(tmp_path: Path) -> None:
    result = run_tool(Bandit(), tmp_path, {"app.py": RUNNER})
    severities = {f.location.line: f.severity.value for f in result.findings if f.rule_id == "B104"}
    # The module's setting serves whatever imports it; its own runner serves its author.
    assert severities == {4: "medium", 7: "low"}
