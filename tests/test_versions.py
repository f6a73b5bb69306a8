"""The version a build takes from the git history, read the way setuptools-scm does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import git, run_grader

from grader.acquire import versions

SHA = "0123456789abcdef0123456789abcdef01234567"


@pytest.mark.parametrize(
    ("described", "commits", "expected"),
    [
        ("v1.2.3-0-g0123456", 9, "1.2.3"),
        ("1.2.3-4-g0123456", 9, "1.2.4.dev4+g0123456"),
        ("release-2.0-1-gabcdef1", 9, "2.1.dev1+gabcdef1"),
        ("v0.9.0rc1-0-g0123456", 9, "0.9.0rc1"),
        ("", 7, "0.1.dev7+g0123456"),  # no tag yet
        ("not-a-version-3-g0123456", 12, "0.1.dev12+g0123456"),
        ("garbage", 2, "0.1.dev2+g0123456"),
    ],
)
def test_a_commits_version_follows_setuptools_scms_default_scheme(
    described: str, commits: int, expected: str
) -> None:
    assert versions.from_describe(described, commits, SHA) == expected


@pytest.mark.parametrize(
    ("files", "needed"),
    [
        ({"pyproject.toml": '[tool.setuptools_scm]\nversion_file = "v.py"\n'}, True),
        ({"pyproject.toml": '[tool.hatch.version]\nsource = "vcs"\n'}, True),
        ({"setup.py": "setup(use_scm_version=True)\n"}, True),
        ({"pyproject.toml": '[project]\nname = "x"\nversion = "1.0"\n'}, False),
        ({}, False),
    ],
)
def test_the_history_is_asked_only_by_projects_that_take_their_version_from_it(
    tmp_path: Path, files: dict[str, str], needed: bool
) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    assert versions.needed(tmp_path) is needed


PYPROJECT = """\
[build-system]
requires = ["setuptools>=64", "setuptools-scm>=8"]
build-backend = "setuptools.build_meta"

[project]
name = "calc"
dynamic = ["version"]
requires-python = ">=3.11"

[tool.setuptools_scm]
version_file = "src/calc/_version.py"
"""


def _pytest(report: dict[str, Any]) -> dict[str, Any]:
    tool: dict[str, Any] = next(t for t in report["tools"] if t["name"] == "pytest")
    return tool


@pytest.mark.slow
@pytest.mark.sandbox
def test_a_project_versioned_by_its_git_tags_builds_with_the_version_of_its_history(
    tmp_path: Path,
) -> None:
    """Its _version.py is written by the build (and ignored by git): without the version
    of the history the build fails, and every test with it."""
    repo = tmp_path / "calc"
    files = {
        "pyproject.toml": PYPROJECT,
        ".gitignore": "src/calc/_version.py\n",
        "src/calc/__init__.py": "from calc._version import version as __version__\n",
        "tests/test_version.py": (
            "import calc\n\n\ndef test_the_version_is_the_tags_next_development_release():\n"
            "    assert calc.__version__.startswith('1.4.1.dev2+g')\n"
        ),
        "README.md": "# calc\n",
    }
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text, encoding="utf-8")
    git(repo, "init", "--quiet", "--initial-branch=main")
    git(repo, "add", "-A")
    git(repo, "commit", "--quiet", "-m", "Calculator")
    git(repo, "tag", "v1.4.0")
    for number in (1, 2):
        (repo / "README.md").write_text(f"# calc\n\nChange {number}\n", encoding="utf-8")
        git(repo, "commit", "--quiet", "-am", f"Change {number}")
    graded = run_grader(repo, tmp_path / "out", "--mutants", "0")
    assert graded.exit_code == 0, graded.stderr
    tests = _pytest(graded.report())
    assert (tests["tests"]["passed"], tests["tests"]["failed"]) == (1, 0), tests
    assert any("from its git history" in note for note in tests["notes"]), tests["notes"]
