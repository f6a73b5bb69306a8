"""Code that asks git about itself at import (a version shown on a page) runs its tests
in a copy with a one-commit history; code that does not gets no ``.git``."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.acquire.workspace import inventory
from grader.sandbox.bubblewrap import Limits, choose
from grader.tools import git_copy
from grader.tools.base import ToolContext
from grader.tools.pytest_cov import PytestCoverage

APP = """\
import subprocess

VERSION = subprocess.check_output(["git", "describe", "--always"]).decode().strip()


def version():
    return VERSION
"""
TESTS = """\
from app import version


def test_the_version_is_the_commits():
    assert len(version()) >= 7
"""


@pytest.mark.parametrize(
    ("code", "calls"),
    [
        ('subprocess.check_output(["git", "describe", "--always"])', True),
        ("subprocess.run(('git', 'rev-parse', 'HEAD'))", True),
        ('os.popen("git rev-parse --short HEAD").read()', True),
        ("import git\nrepo = git.Repo('.')", True),
        ("from git import Repo", True),
        ("from git.repo import Repo", True),
        ("import os, git", True),
        ("import pygit2", True),
        ("import gitlab", False),
        ('URL = "https://github.com/me/app.git"', False),
        ('print("git is a tool")', False),
        ("digit = 1", False),
    ],
)
def test_code_that_runs_git_is_recognised(tmp_path: Path, code: str, calls: bool) -> None:
    (tmp_path / "app.py").write_text(code + "\n", encoding="utf-8")
    assert git_copy.calls_git(inventory(tmp_path)) is calls


@pytest.mark.slow
@pytest.mark.sandbox
def test_tests_of_code_that_runs_git_describe_at_import_run(tmp_path: Path) -> None:
    root = tmp_path / "sub"
    root.mkdir()
    (root / "app.py").write_text(APP, encoding="utf-8")
    (root / "test_app.py").write_text(TESTS, encoding="utf-8")
    (tmp_path / "work").mkdir()
    ctx = ToolContext(inventory(root), tmp_path / "work", choose(allow_unisolated=False), Limits())
    result = PytestCoverage().run(ctx)
    assert result.tests is not None
    assert (result.tests.passed, result.tests.failed, result.tests.errors) == (1, 0, 0)
