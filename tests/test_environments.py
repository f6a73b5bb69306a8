"""Submissions with dependencies, installed from the package registry into cached envs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import SAMPLES, run_grader

pytestmark = [pytest.mark.slow, pytest.mark.sandbox]


def _pytest(report: dict[str, Any]) -> dict[str, Any]:
    tool: dict[str, Any] = next(t for t in report["tools"] if t["name"] == "pytest")
    return tool


def _criterion(report: dict[str, Any], criterion: str) -> dict[str, Any]:
    found: dict[str, Any] = next(c for c in report["criteria"] if c["id"] == criterion)
    return found


@pytest.mark.parametrize(("name", "count"), [("deps_requirements", 5), ("deps_lockfile", 5)])
def test_dependency_samples_pass_all_their_tests(tmp_path: Path, name: str, count: int) -> None:
    first = run_grader(SAMPLES / name, tmp_path / "first")
    assert first.exit_code == 0, first.stderr
    tests = _pytest(first.report())
    assert tests["status"] == "ok", tests["reason"]
    assert tests["tests"]["passed"] == count and tests["metrics"]["tests.pass_rate"] == 100
    second = run_grader(SAMPLES / name, tmp_path / "second")
    assert any("reused from the cache" in note for note in _pytest(second.report())["notes"])
    assert second.report()["score"] == first.report()["score"]


def test_unresolvable_requirements_leave_testability_unmeasured(tmp_path: Path) -> None:
    run = run_grader(SAMPLES / "deps_unresolvable", tmp_path / "out")
    assert run.exit_code == 0, run.stderr
    report = run.report()
    testability = _criterion(report, "testability")
    assert testability["score"] is None
    assert "dependencies could not be installed" in testability["reason"]
    assert "grader-sample-no-such-package" in testability["reason"]
    assert report["score"] is not None
    assert _criterion(report, "security")["score"] is not None
    installable = next(
        m
        for m in _criterion(report, "packaging")["metrics"]
        if m["name"] == "packaging.installable"
    )
    assert installable["value"] == 0  # a requirement that does not exist is a packaging defect
    assert "Testability not measured" in report["submission"]["warnings"]


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


def test_undeclared_import_is_flagged_and_grader_packages_do_not_leak(tmp_path: Path) -> None:
    root = _write(
        tmp_path / "sub",
        {
            "requirements.txt": "tabulate==0.9.0\n",
            "client.py": '"""Client."""\nimport requests\nimport tabulate\n',
            "tests/test_isolation.py": (
                "import importlib.util\n\n"
                "def test_only_declared_packages_are_installed():\n"
                "    assert importlib.util.find_spec('tabulate') is not None\n"
                "    assert importlib.util.find_spec('jinja2') is None\n"
                "    assert importlib.util.find_spec('grader') is None\n"
            ),
        },
    )
    run = run_grader(root, tmp_path / "out")
    report = run.report()
    assert _pytest(report)["metrics"]["tests.pass_rate"] == 100, _pytest(report)["tests"]
    packaging = _criterion(report, "packaging")
    undeclared = [f for f in packaging["findings"] if f["rule"] == "undeclared-import"]
    assert [(f["path"], f["line"]) for f in undeclared] == [("client.py", 2)]
    assert "requests" in undeclared[0]["message"]


def test_offline_without_a_cached_environment_is_not_measured(tmp_path: Path) -> None:
    root = _write(
        tmp_path / "sub",
        {
            "requirements.txt": "tabulate==0.9.0\n",
            "app.py": "x = 1\n",
            "tests/test_a.py": "def test_a():\n    assert True\n",
        },
    )
    run = run_grader(root, tmp_path / "out", "--offline", "--cache-dir", str(tmp_path / "empty"))
    testability = _criterion(run.report(), "testability")
    assert testability["score"] is None
    assert "dependencies could not be installed" in testability["reason"]
    packaging = _criterion(run.report(), "packaging")["metrics"]
    assert next(m for m in packaging if m["name"] == "packaging.installable")["value"] is None
