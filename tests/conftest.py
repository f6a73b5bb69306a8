"""Shared fixtures: real git repositories made from sample submissions, and graded reports."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from grader.acquire.workspace import inventory, is_test_file
from grader.cli import main
from grader.core.models import ToolResult
from grader.sandbox.bubblewrap import Limits, NotNeeded, bubblewrap_problem
from grader.tools.base import Tool, ToolContext

# Hostile sample submissions hold conftest.py files and tests that attack the grader:
# they are data for tests/test_hostile.py, never collected themselves; so are the
# submissions of tests/test_services.py, whose tests need servers grader starts.
# fixtures/ holds sample submissions, their own tests included: graded, never collected.
collect_ignore = ["hostile", "fixtures"]

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_submissions"
GIT_ENV = {
    "GIT_AUTHOR_NAME": "Candidate",
    "GIT_AUTHOR_EMAIL": "candidate@example.invalid",
    "GIT_COMMITTER_NAME": "Candidate",
    "GIT_COMMITTER_EMAIL": "candidate@example.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": "/dev/null",
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "HOME": "/nonexistent",
}


def git(cwd: Path, *args: str, date: str | None = None) -> str:
    """Run real git in ``cwd`` with a fixed identity (and commit date); return stdout."""
    dated = {"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date} if date else {}
    result = subprocess.run(
        ["git", *args],
        cwd=cwd,
        env={**GIT_ENV, **dated},
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


STARTER = SAMPLES / "assignment" / "starter"


def make_candidate_repo(
    sample: Path, dest: Path, day: str = "2025-03-08", starter: Path = STARTER
) -> Path:
    """A sample as a candidate's real history on the sample assignment's starter: the
    starter commit, then code, tests and the rest as three commits of the candidate's."""
    shutil.copytree(starter, dest)
    git(dest, "init", "--quiet", "--initial-branch=main")
    git(dest, "add", "-A")
    git(dest, "commit", "--quiet", "-m", "Starter code", date=f"{day}T09:00:00Z")
    for entry in dest.iterdir():
        if entry.name != ".git":
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    shutil.copytree(sample, dest, dirs_exist_ok=True)
    files = [p.relative_to(dest).as_posix() for p in dest.rglob("*") if ".git" not in p.parts]
    tests = [f for f in files if f.endswith(".py") and is_test_file(f)]
    code = [f for f in files if f.endswith(".py") and f not in tests]
    steps = [
        ("Implement chunking, ranking and the CLI", code, "11:30"),
        ("Add tests for the behaviour and edge cases", tests, "14:00"),
        ("Document, package and deploy", ["."], "16:45"),
    ]
    for message, paths, time in steps:
        if paths:
            git(dest, "add", "-A", "--", *paths)
            git(dest, "commit", "--quiet", "--allow-empty", "-m", message, date=f"{day}T{time}:00Z")
    return dest


def write_files(root: Path, files: Mapping[str, str]) -> Path:
    """Write ``files`` (relative path: text) under ``root``; returns ``root``."""
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


def run_tool(tool: Tool, tmp_path: Path, files: Mapping[str, str]) -> ToolResult:
    """``tool`` run outside a sandbox on a submission of ``files`` written under
    ``tmp_path``, with a work folder of its own."""
    root = write_files(tmp_path / "sub", files)
    work = tmp_path / "work"
    work.mkdir()
    return tool.run(ToolContext(inventory(root), work, NotNeeded(), Limits()))


def make_repo(source: Path, dest: Path) -> Path:
    """Copy a sample into ``dest`` and commit it; returns ``dest``."""
    shutil.copytree(source, dest)
    git(dest, "init", "--quiet", "--initial-branch=main")
    git(dest, "add", "-A")
    git(dest, "commit", "--quiet", "-m", "Submission")
    return dest


@dataclass(frozen=True)
class Run:
    """One grader invocation through its real command line."""

    exit_code: int
    stdout: str
    stderr: str
    out: Path

    def report(self) -> dict[str, Any]:
        """The parsed report.json."""
        data: dict[str, Any] = json.loads((self.out / "report.json").read_text(encoding="utf-8"))
        return data


def tool_report(report: dict[str, Any], name: str) -> dict[str, Any]:
    """The part of a parsed report.json about the tool ``name``."""
    found: dict[str, Any] = next(t for t in report["tools"] if t["name"] == name)
    return found


def run_grader(source: str | Path, out: Path, *args: str, timeout: float = 600) -> Run:
    """Run ``python -m grader grade`` as a user would."""
    result = subprocess.run(
        [sys.executable, "-m", "grader", "grade", str(source), "--out", str(out), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return Run(result.returncode, result.stdout, result.stderr, out)


@pytest.fixture(scope="session", autouse=True)
def no_mutation_unless_asked() -> Iterator[None]:
    """Mutation testing reruns a suite up to a dozen times: tests that are about it ask
    for it (``--mutants N`` or a MutationBudget of their own); every other grade the
    suite makes leaves it out, so ``make test`` stays inside its time."""
    previous = os.environ.get("GRADER_MUTANTS")
    os.environ["GRADER_MUTANTS"] = "0"
    yield
    if previous is None:
        del os.environ["GRADER_MUTANTS"]
    else:
        os.environ["GRADER_MUTANTS"] = previous


@pytest.fixture(scope="session", autouse=True)
def private_tmpdir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Graders started by the tests keep their temporary folders here, so tests that look
    for leftovers or mounts never see another grader running on the same host."""
    folder = tmp_path_factory.mktemp("graders-tmp")
    previous = os.environ.get("TMPDIR")
    os.environ["TMPDIR"] = str(folder)
    tempfile.tempdir = None  # gettempdir() reads TMPDIR again
    yield folder
    if previous is None:
        del os.environ["TMPDIR"]
    else:
        os.environ["TMPDIR"] = previous
    tempfile.tempdir = None


@pytest.fixture(scope="session", autouse=True)
def environment_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One environment cache per test session, shared by every grade in it."""
    cache = tmp_path_factory.mktemp("grader-cache")
    previous = os.environ.get("GRADER_CACHE_DIR")
    os.environ["GRADER_CACHE_DIR"] = str(cache)
    yield cache
    if previous is None:
        del os.environ["GRADER_CACHE_DIR"]
    else:
        os.environ["GRADER_CACHE_DIR"] = previous


@pytest.fixture(scope="session")
def sample_repos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each sample submission as its own git repository."""
    base = tmp_path_factory.mktemp("repos")
    return {
        name: make_repo(SAMPLES / name, base / name) for name in ("exemplary", "average", "poor")
    }


@pytest.fixture(scope="session")
def graded_runs(
    sample_repos: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Run]:
    """Each sample graded once per session through a file:// URL."""
    runs = {}
    for name, repo in sample_repos.items():
        run = run_grader(repo.as_uri(), tmp_path_factory.mktemp(f"report-{name}"))
        assert run.exit_code == 0, run.stderr
        runs[name] = run
    return runs


@pytest.fixture(scope="session")
def graded(graded_runs: dict[str, Run]) -> dict[str, dict[str, Any]]:
    """report.json of each sample."""
    return {name: run.report() for name, run in graded_runs.items()}


@pytest.fixture
def grade_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Callable[..., Run]:
    """Grade a source into a fresh output folder, calling the CLI's main() in-process."""

    def _grade(source: str | Path, *args: str) -> Run:
        out = tmp_path / "out"
        code = main(["grade", str(source), "--out", str(out), *args])
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err, out)

    return _grade


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip tests that run candidate code when bubblewrap cannot work here, saying why;
    with GRADER_REQUIRE_SANDBOX=1 (`make test-unprivileged`) stop instead, so a run meant
    to exercise the sandbox never passes by skipping it."""
    del config
    problem = bubblewrap_problem()
    if problem is None:
        return
    if os.environ.get("GRADER_REQUIRE_SANDBOX") == "1":
        raise pytest.UsageError(
            f"GRADER_REQUIRE_SANDBOX=1 but {problem} "
            "(scripts/allow-bwrap-userns.sh allows it where AppArmor restricts user namespaces)"
        )
    skip = pytest.mark.skip(reason=f"needs a working sandbox: {problem}")
    for item in items:
        if "sandbox" in item.keywords:
            item.add_marker(skip)
