"""scripts/corpus.py: finding mirrors, cloning at a pinned commit, and the results table.

No network: mirrors are real git repositories made here; grading itself is exercised by
`make corpus`, not by the test suite.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.conftest import ROOT, git


def _load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("corpus_script", ROOT / "scripts" / "corpus.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve their module by name
    spec.loader.exec_module(module)
    return module


corpus = _load_script()


def _repo(name: str = "owner/name", commit: str = "0" * 40) -> Any:
    return corpus.CorpusRepo(
        name=name,
        url=f"https://github.com/{name}",
        commit=commit,
        kind="take-home",
        tier="weak",
        tier_reason="because",
        notes="",
    )


def _two_commits(path: Path) -> list[str]:
    path.mkdir()
    git(path, "init", "--quiet", "--initial-branch=main")
    shas = []
    for content in ("first", "second"):
        (path / "app.py").write_text(f"VALUE = {content!r}\n", encoding="utf-8")
        git(path, "add", "-A")
        git(path, "commit", "--quiet", "-m", content)
        shas.append(git(path, "rev-parse", "HEAD"))
    return shas


@pytest.mark.parametrize(
    ("layout", "bare"),
    [
        ("Owner+Name/repo", True),  # what the search tool's fetch produces; case ignored
        ("owner+name/repo", False),  # a work tree: its .git is the git directory
        ("owner/name.git", True),
        ("name.git", True),
    ],
)
def test_find_mirror_accepts_each_layout(tmp_path: Path, layout: str, bare: bool) -> None:
    place = tmp_path / layout
    place.mkdir(parents=True)
    git(place, "init", "--quiet", *(["--bare"] if bare else []))
    found = corpus.find_mirror(tmp_path, "owner/name")
    assert found == (place if bare else place / ".git")
    assert corpus.find_mirror(tmp_path, "owner/other") is None


def test_clone_checks_out_the_pinned_commit_from_a_mirror(tmp_path: Path) -> None:
    first, second = _two_commits(tmp_path / "origin")
    mirrors = tmp_path / "mirrors"
    mirrors.mkdir()
    git(mirrors, "clone", "--quiet", "--bare", str(tmp_path / "origin"), "owner+name/repo")
    dest = tmp_path / "clone"
    assert corpus.clone(_repo(commit=first), dest, mirrors) == ""
    assert git(dest, "rev-parse", "HEAD") == first
    assert (dest / "app.py").read_text(encoding="utf-8") == "VALUE = 'first'\n"
    assert second != first
    missing = corpus.clone(_repo("owner/absent", first), tmp_path / "other", mirrors)
    assert missing.startswith("no mirror of owner/absent")


def test_load_repos_rejects_an_unpinned_commit(tmp_path: Path) -> None:
    listing = tmp_path / "repos.toml"
    listing.write_text(
        '[[repo]]\nname = "a/b"\nurl = "u"\ncommit = "main"\nkind = "library"\n'
        'tier = "strong"\ntier_reason = "r"\n',
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match="40 lowercase hex"):
        corpus.load_repos(listing)


def test_table_shows_outcomes_environment_changes_and_failures() -> None:
    report = {
        "score": 71.25,
        "grade": "C",
        "criteria": [
            {"id": "testability", "score": None, "reason": "tests could not run: uv said no"},
            {"id": "security", "score": 40.0, "reason": "capped"},
        ],
        "tools": [
            {
                "name": "pytest",
                "status": "ok",
                "notes": ["grader runs its own pytest==9.0.3 (asked for: pytest==6.2.5)"],
                "tests": {"passed": 3, "failed": 1, "errors": 2},
            }
        ],
    }
    graded = corpus.Outcome(_repo("a/graded"), report)
    failed = corpus.Outcome(_repo("a/failed"), None, "grader exit 2: no Python files")
    text = corpus.table([graded, failed])
    graded_row = next(line for line in text.splitlines() if "[a/graded]" in line)
    assert "| yes | 3/1/2 | 71 C |" in graded_row
    assert "| n/m | 40 |" in graded_row
    assert "asked for: pytest==6.2.5" in text
    assert "tests could not run: uv said no" in text
    assert "no test executed" not in text
    assert "grader exit 2: no Python files" in text
