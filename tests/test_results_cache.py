"""The results cache: a re-grade of what was already graded reuses the report, and any
change to what decides a report (the code, the rubric, the options, a tool) grades again."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import ROOT, SAMPLES, Run, git, make_repo

from grader.assignment.spec import Assignment
from grader.cli import main
from grader.environment.cache import EnvironmentCache
from grader.pipeline import GradeOptions
from grader.sandbox.bubblewrap import Limits
from grader.scoring import rubric as rubric_module
from grader.tools import ALL_TOOLS
from grader.tools.ruff import Ruff
from grader.workflows import results_cache

REUSED = "reused the report"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A plain folder (no git) holding the poor sample, which has no tests: quick to grade."""
    return Path(shutil.copytree(SAMPLES / "poor", tmp_path / "submission"))


@pytest.fixture
def grade_into(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Callable[..., Run]:
    """Grade through the command line into a new output folder each time."""
    count = iter(range(100))

    def _grade(source: Path, *args: str) -> Run:
        out = tmp_path / f"out-{next(count)}"
        code = main(["grade", str(source), "--out", str(out), *args])
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err, out)

    return _grade


def test_a_regrade_reuses_the_report_and_still_writes_every_file(
    folder: Path, grade_into: Callable[..., Run]
) -> None:
    first = grade_into(folder)
    assert first.exit_code == 0, first.stderr
    assert REUSED not in first.stderr
    second = grade_into(folder)
    assert second.exit_code == 0, second.stderr
    assert REUSED in second.stderr
    for name in ("report.json", "report.html", "report.md"):
        assert (second.out / name).read_bytes() == (first.out / name).read_bytes(), name


def test_no_cache_grades_again(folder: Path, grade_into: Callable[..., Run]) -> None:
    grade_into(folder)
    again = grade_into(folder, "--no-cache")
    assert again.exit_code == 0, again.stderr
    assert REUSED not in again.stderr


def test_a_changed_file_in_a_folder_is_graded_again(
    folder: Path, grade_into: Callable[..., Run]
) -> None:
    before = grade_into(folder).report()
    with (folder / "main.py").open("a", encoding="utf-8") as stream:
        stream.write("\nimport os\n")  # an unused import: one more lint finding
    after = grade_into(folder)
    assert REUSED not in after.stderr
    lint = next(t for t in after.report()["tools"] if t["name"] == "ruff")
    lint_before = next(t for t in before["tools"] if t["name"] == "ruff")
    assert lint["metrics"]["lint.issues"] > lint_before["metrics"]["lint.issues"]


def test_another_rubric_is_graded_again(folder: Path, grade_into: Callable[..., Run]) -> None:
    grade_into(folder)
    other = grade_into(folder, "--rubric", "data-science")
    assert REUSED not in other.stderr
    assert other.report()["rubric"]["name"] == "data-science"


def _options(source: Path, **changes: object) -> GradeOptions:
    base = GradeOptions(
        source=str(source),
        environments=EnvironmentCache(source.parent / "c"),
        rubric_by_content=True,  # as `grader grade` with no --rubric
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


class _NewerRuff(Ruff):
    def version(self) -> str:
        return "99.0.0"


def test_every_component_of_the_key_changes_it(tmp_path: Path, folder: Path) -> None:
    base = results_cache.key(_options(folder))
    assert base is not None
    assert results_cache.key(_options(folder)) == base
    variants = {
        "rubric": _options(folder, rubric="data-science"),
        "rubric named": _options(folder, rubric_by_content=False),
        "limits": _options(folder, limits=Limits(memory_mb=1024)),
        "exclude": _options(folder, exclude=("server.py",)),
        "sandboxing": _options(folder, allow_unsandboxed=True),
        "tool version": _options(
            folder, tools=tuple(_NewerRuff() if t.name == "ruff" else t for t in ALL_TOOLS)
        ),
        "dependency policy": _options(
            folder, environments=EnvironmentCache(tmp_path / "c", offline=True)
        ),
    }
    keys = {name: results_cache.key(options) for name, options in variants.items()}
    assert all(k is not None and k != base for k in keys.values()), keys
    assert len(set(keys.values())) == len(keys)
    (folder / "notes.txt").write_text("a file that is not Python still counts\n", encoding="utf-8")
    assert results_cache.key(_options(folder)) != base


def test_a_git_source_is_keyed_by_its_commit(tmp_path: Path) -> None:
    repo = make_repo(SAMPLES / "poor", tmp_path / "repo")
    (repo / "scratch.txt").write_text("uncommitted work is not graded\n", encoding="utf-8")
    first = results_cache.key(_options(repo))
    assert first is not None
    assert results_cache.key(_options(repo)) == first
    git(repo, "add", "-A")
    git(repo, "commit", "--quiet", "-m", "More")
    assert results_cache.key(_options(repo)) != first


def test_a_grade_with_an_assignment_is_never_cached(folder: Path) -> None:
    hidden = Assignment(hidden_tests=folder / "hidden")
    assert results_cache.key(dataclasses.replace(_options(folder), assignment=hidden)) is None


def test_an_unknown_source_is_never_cached(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.git"
    options = dataclasses.replace(_options(missing), source=missing.as_uri())
    assert results_cache.key(options) is None


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_a_folder_holding_a_file_this_user_cannot_read_has_no_key(folder: Path) -> None:
    locked = folder / ".env"
    locked.write_text("SECRET=1\n", encoding="utf-8")
    locked.chmod(0)
    assert results_cache.source_identity(str(folder), None) is None


def test_an_unreadable_entry_is_a_miss_and_the_grade_runs(
    folder: Path, grade_into: Callable[..., Run], environment_cache: Path
) -> None:
    grade_into(folder)
    cache_key = results_cache.key(
        _options(folder, environments=EnvironmentCache(environment_cache))
    )
    assert cache_key is not None
    entry = environment_cache / "results" / cache_key[:2] / f"{cache_key}.json"
    data = json.loads(entry.read_text(encoding="utf-8"))
    entry.write_text(json.dumps({**data, "criteria": "not a list"}), encoding="utf-8")
    assert results_cache.load(environment_cache, cache_key) is None
    again = grade_into(folder)
    assert again.exit_code == 0, again.stderr
    assert REUSED not in again.stderr
    assert results_cache.load(environment_cache, cache_key) is not None


def test_a_changed_rubric_file_changes_the_key(
    tmp_path: Path, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The key hashes the content of the rubric used: a custom file given by path, and a
    built-in one in rubrics/ (grader.rubrics), which a development checkout edits in place
    without changing grader's version or the grader/ folder."""
    custom = tmp_path / "mine.toml"
    shutil.copy(ROOT / "rubrics" / "default.toml", custom)
    builtin = Path(shutil.copytree(ROOT / "rubrics", tmp_path / "rubrics"))
    monkeypatch.setattr(rubric_module, "builtin_dir", lambda: builtin)
    for rubric, path in (("default", builtin / "default.toml"), (str(custom), custom)):
        before = results_cache.key(_options(folder, rubric=rubric))
        assert before is not None
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace("weight = 20", "weight = 21", 1), encoding="utf-8")
        assert results_cache.key(_options(folder, rubric=rubric)) != before, rubric


def test_the_key_hashes_grader_and_every_built_in_rubric_file(
    tmp_path: Path, folder: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    """A development checkout's rubrics/ lives beside grader/, not in it: the digest of
    grader's own files covers it too, as it does in an installed grader (grader/rubrics)."""
    builtin = Path(shutil.copytree(ROOT / "rubrics", tmp_path / "rubrics"))
    monkeypatch.setattr(rubric_module, "builtin_dir", lambda: builtin)
    request.addfinalizer(results_cache._grader_digest.cache_clear)
    results_cache._grader_digest.cache_clear()
    before = results_cache.key(_options(folder))
    with (builtin / "data-science.toml").open("a", encoding="utf-8") as stream:
        stream.write("# reworded\n")
    results_cache._grader_digest.cache_clear()
    assert results_cache.key(_options(folder)) != before
