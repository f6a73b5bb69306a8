"""What a test run leaves in the repository: new files and folders, rewritten files;
never the caches of Python and the test tools, nor what grader put there before."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.acquire.workspace import inventory
from grader.sandbox.bubblewrap import Limits, choose
from grader.tools import leftovers
from grader.tools.base import ToolContext
from grader.tools.pytest_cov import PytestCoverage


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")


def test_new_folders_count_once_and_rewritten_files_count(tmp_path: Path) -> None:
    _write(tmp_path, {"app.py": "x = 1\n", "data/seed.csv": "a\n", "data/keep.csv": "b\n"})
    before = leftovers.listing(tmp_path)
    _write(
        tmp_path,
        {
            "test.db": "sqlite",
            "instance/app.db": "sqlite",
            "instance/uploads/a.png": "png",
            "data/out.csv": "c\n",
            "data/seed.csv": "rewritten\n",
            "pkg/__pycache__/app.cpython-311.pyc": "",
            ".pytest_cache/v/cache/lastfailed": "{}",
            ".hypothesis/examples/1": "",
            "app.pyc": "",
            ".coverage.host.1": "",
        },
    )
    (tmp_path / "empty_uploads").mkdir()
    left = leftovers.left_behind(before, leftovers.listing(tmp_path))
    assert left.paths == (
        ("data/out.csv", True),
        ("data/seed.csv", False),
        ("empty_uploads/", True),
        ("instance/", True),
        ("pkg/", True),
        ("test.db", True),
    )
    assert left.metric().value == 6
    assert [f.location.path for f in left.findings()][:2] == ["data/out.csv", "data/seed.csv"]
    assert "rewrote data/seed.csv" in left.findings()[1].message


def test_what_the_repositorys_gitignore_names_is_not_counted(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "app.py": "x = 1\n",
            ".gitignore": "logs/\n*.db\n!keep.db\n",
            "web/.gitignore": "uploads/\n",
        },
    )
    before = leftovers.listing(tmp_path)
    _write(
        tmp_path,
        {
            "logs/app.log": "",
            "test.db": "",
            "keep.db": "",
            "web/uploads/a.png": "",
            "uploads/b.png": "",  # web/.gitignore names web/uploads only
        },
    )
    ignored = leftovers.git_ignored(tmp_path, [".gitignore", "web/.gitignore", "app.py"])
    left = leftovers.left_behind(before, leftovers.listing(tmp_path), ignored)
    assert left.paths == (("keep.db", True), ("uploads/", True))
    assert left.ignored == ("logs/", "test.db", "web/uploads/")
    assert "not counted, as the repository's .gitignore names them: logs/" in left.metric().reason


def test_a_run_that_leaves_nothing_counts_zero(tmp_path: Path) -> None:
    _write(tmp_path, {"app.py": "x = 1\n"})
    before = leftovers.listing(tmp_path)
    (tmp_path / "app.py").read_text(encoding="utf-8")
    left = leftovers.left_behind(before, leftovers.listing(tmp_path))
    assert (left.metric().value, left.findings(), left.cut) == (0, (), False)


def test_a_listing_cut_short_after_the_run_is_charged_in_full(tmp_path: Path) -> None:
    """A run that floods a folder (an ignored one included) past the limit cannot hide
    what it left: it is charged as if it left at least FULL_CHARGE paths."""
    _write(tmp_path, {"app.py": "x = 1\n", ".gitignore": "flood/\n"})
    before = leftovers.listing(tmp_path, limit=10)
    _write(tmp_path, {f"flood/{n}.txt": "" for n in range(30)})
    ignored = leftovers.git_ignored(tmp_path, [".gitignore"])
    left = leftovers.left_behind(before, leftovers.listing(tmp_path, limit=10), ignored)
    assert left.cut
    assert left.metric().value == leftovers.FULL_CHARGE
    assert "cut short" in str(left.metric().reason)


def test_a_copy_too_large_to_list_before_the_run_is_not_measured(tmp_path: Path) -> None:
    _write(tmp_path, {f"data/{n}.csv": "" for n in range(30)})
    before = leftovers.listing(tmp_path, limit=10)
    left = leftovers.left_behind(before, leftovers.listing(tmp_path, limit=10))
    assert left.metric().value is None
    assert left.findings() == ()


def test_a_gitignore_cannot_stall_the_match_or_excuse_a_rewritten_file(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            ".gitignore": "*a*a*a*a*a*a*a*b\n*.csv\n[z-a]\n",  # a catastrophic pattern
            "data/out.csv": "committed\n",
        },
    )
    before = leftovers.listing(tmp_path)
    _write(tmp_path, {"a" * 200: "", "data/out.csv": "rewritten by a test\n", "new.csv": ""})
    ignored = leftovers.git_ignored(tmp_path, [".gitignore"])
    left = leftovers.left_behind(before, leftovers.listing(tmp_path), ignored)
    # the many-wildcard pattern is not read (so the long name counts); *.csv still
    # excuses a new file, never a tracked one the run rewrote
    assert left.paths == (("a" * 200, True), ("data/out.csv", False))
    assert left.ignored == ("new.csv",)


def test_links_are_listed_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    _write(outside, {"a.txt": "a"})
    root = tmp_path / "s"
    _write(root, {"app.py": "x = 1\n"})
    (root / "linked").symlink_to(outside)
    listed = leftovers.listing(root)
    assert "linked" in listed.files
    assert "linked/a.txt" not in listed.files


SUITE = """\
import sqlite3

from app import add


def test_add_to_the_repositorys_own_database():
    with sqlite3.connect("test.db") as db:
        db.execute("create table if not exists t (n int)")
    assert add(1, 2) == 3


def test_add_with_a_log_the_author_keeps_out_of_git():
    with open("run.log", "a") as log:
        log.write("ok")
    assert add(0, 0) == 0


def test_add_in_a_temporary_directory(tmp_path):
    (tmp_path / "out.txt").write_text("3")
    assert add(2, 2) == 4
"""


@pytest.mark.slow
@pytest.mark.sandbox
def test_a_suite_that_writes_beside_the_code_is_charged_and_grader_s_own_files_are_not(
    tmp_path: Path,
) -> None:
    root = tmp_path / "sub"
    _write(
        root,
        {
            "app.py": "def add(a, b):\n    return a + b\n",
            "tests/test_app.py": SUITE,
            ".env.example": "APP_MODE=test\n",  # grader writes .env from it before the run
            ".gitignore": "*.log\n",
        },
    )
    (tmp_path / "work").mkdir()
    ctx = ToolContext(inventory(root), tmp_path / "work", choose(allow_unisolated=False), Limits())
    result = PytestCoverage().run(ctx)
    assert result.tests is not None and result.tests.passed == 3
    metric = next(m for m in result.metrics if m.name == leftovers.METRIC)
    assert (metric.value, metric.reason) == (
        1,
        "test.db; not counted, as the repository's .gitignore names them: run.log",
    )
    assert [f.location.path for f in result.findings if f.rule_id == "test-leftover"] == ["test.db"]
    assert any(".env" in note and "also written" in note for note in result.notes)
