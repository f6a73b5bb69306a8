"""grader preview grades a work tree as it is, and exactly as grade grades a clean commit."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, SAMPLES, git, make_repo

from grader.acquire.work_tree import copy_working_tree, working_tree
from grader.cli import main
from grader.workflows.preview import DEFAULT_OUT, report_folder


def _criteria(report: dict[str, Any]) -> list[tuple[str, float | None, str]]:
    return [(c["id"], c["score"], c["reason"]) for c in report["criteria"]]


@pytest.mark.slow
@pytest.mark.sandbox
def test_preview_of_a_clean_committed_tree_gives_the_grade(
    sample_repos: dict[str, Path], graded: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    out = tmp_path / "preview"
    argv = ["-v", "preview", str(sample_repos["exemplary"]), "--out", str(out), "--format", "json"]
    run = subprocess.run(
        [sys.executable, "-m", "grader", *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    previewed = json.loads((out / "report.json").read_text(encoding="utf-8"))
    official = graded["exemplary"]
    assert previewed["score"] == official["score"]
    assert previewed["grade"] == official["grade"]
    assert _criteria(previewed) == _criteria(official)
    assert previewed["submission"]["commit"] == official["submission"]["commit"]
    # -v logs every stage with its duration.
    for stage in ("acquire", "inventory", "environment", "ruff", "pytest", "scoring", "rendering"):
        assert f"{stage}: done in " in run.stderr, stage


def test_preview_grades_uncommitted_files_and_leaves_out_ignored_ones(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo(SAMPLES / "poor", tmp_path / "repo")
    (repo / ".gitignore").write_text("scratch_notes.py\n", encoding="utf-8")
    git(repo, "add", ".gitignore")
    git(repo, "commit", "--quiet", "-m", "ignore scratch")
    (repo / "new_module.py").write_text("import os\n", encoding="utf-8")  # untracked
    (repo / "scratch_notes.py").write_text("import sys\n", encoding="utf-8")  # ignored
    out = repo / "grader-report"  # inside the tree, untracked: never graded itself
    code = main(["preview", str(repo), "--out", str(out), "--format", "json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    graded_files = {f["path"] for f in report["files"]}
    found = {f["path"] for c in report["criteria"] for f in c["findings"]}
    assert "new_module.py" in found | graded_files
    assert "scratch_notes.py" not in found | graded_files
    assert not any(path.startswith("grader-report") for path in found | graded_files)
    assert report["submission"]["commit"] is None  # not a commit: uncommitted work included
    assert "1 uncommitted change" in report["submission"]["warnings"][0]
    assert captured.out.strip() == str(out / "report.json")


def test_working_tree_lists_what_git_would_commit_from_a_subfolder(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "app").mkdir(parents=True)
    (repo / "app" / "old.py").write_text("x = 1\n", encoding="utf-8")
    (repo / "app" / "kept.py").write_text("y = 2\n", encoding="utf-8")
    (repo / ".gitignore").write_text("*.log\n", encoding="utf-8")
    git(repo, "init", "--quiet")
    git(repo, "add", "-A")
    git(repo, "commit", "--quiet", "-m", "start")
    git(repo, "mv", "app/old.py", "app/renamed.py")
    (repo / "app" / "debug.log").write_text("ignored\n", encoding="utf-8")
    (repo / "app" / "new.py").write_text("z = 3\n", encoding="utf-8")
    (repo / "app" / "kept.py").unlink()  # deleted, still in the index: not copied
    tree = working_tree(repo / "app")
    assert tree is not None
    assert tree.files == ("kept.py", "new.py", "renamed.py")
    assert sorted(tree.changed) == ["kept.py", "new.py", "renamed.py"]
    copy_working_tree(repo / "app", tree, tmp_path / "copy")
    assert sorted(p.name for p in (tmp_path / "copy").iterdir()) == ["new.py", "renamed.py"]
    assert working_tree(tmp_path / "copy") is None  # not a git work tree


def test_preview_by_default_writes_nothing_git_would_commit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run from inside the candidate's repository without --out, the report must not land
    where `git add -A` picks it up: it goes into .git/ (or, where the command line still
    says ./grader-report/, that folder is listed in .git/info/exclude)."""
    repo = make_repo(SAMPLES / "poor", tmp_path / "repo")
    monkeypatch.chdir(repo)
    code = main(["preview", "--format", "json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    written = Path(captured.out.strip())
    assert written.name == "report.json" and written.is_file()
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == ""
    again = main(["preview", "--format", "json"])  # a second preview adds nothing twice
    assert again == 0, capsys.readouterr().err
    exclude = repo / ".git" / "info" / "exclude"
    lines = exclude.read_text(encoding="utf-8").splitlines() if exclude.exists() else []
    assert len(lines) == len(set(lines))


def test_preview_output_folder_is_inside_git_dir_or_the_user_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GRADER_CACHE_DIR", str(tmp_path / "cache"))
    repo = make_repo(SAMPLES / "poor", tmp_path / "repo")
    (repo / "sub").mkdir()
    assert report_folder(DEFAULT_OUT, repo) == repo / ".git" / "grader-report"
    assert report_folder(DEFAULT_OUT, repo / "sub") == repo / ".git" / "grader-report"
    # A linked work tree: its own git folder, outside the work tree.
    linked = tmp_path / "linked"
    git(repo, "worktree", "add", "--quiet", str(linked))
    out = report_folder(DEFAULT_OUT, linked)
    assert out.name == "grader-report" and not out.is_relative_to(linked)
    assert out.parent == Path(git(linked, "rev-parse", "--absolute-git-dir"))
    # Not a git work tree: the user cache folder, one folder per previewed folder.
    plain = Path(shutil.copytree(SAMPLES / "poor", tmp_path / "plain"))
    cached = report_folder(DEFAULT_OUT, plain)
    assert cached.is_relative_to(tmp_path / "cache") and "plain" in cached.name
    assert cached != report_folder(DEFAULT_OUT, tmp_path)
    # An explicit --out wins.
    assert report_folder(tmp_path / "mine", repo) == tmp_path / "mine"
