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


figures = sys.modules["corpus_figures"]


def _report(score: float, grade: str, passed: int = 1, **criteria: float | None) -> Any:
    return {
        "score": score,
        "grade": grade,
        "criteria": [{"id": cid, "score": value} for cid, value in criteria.items()],
        "tools": [{"name": "pytest", "tests": {"passed": passed, "failed": 0, "errors": 0}}],
    }


def test_pairwise_order_counts_cross_tier_pairs_and_a_tie_is_not_in_order() -> None:
    rows = [
        figures.Row("s", "strong", True, _report(90, "A")),
        figures.Row("a", "average", True, _report(70, "C")),
        figures.Row("a2", "average", True, _report(95, "A")),  # above the strong one
        figures.Row("w", "weak", True, _report(70, "C")),  # ties the average one
        figures.Row("gone", "weak", True, None),  # not graded: in no pair
    ]
    order = figures.pairwise_order(rows)
    # pairs: s>a yes, s>a2 no, s>w yes, a>w tie: no, a2>w yes
    assert (order.hits, order.total) == (3, 5)
    assert order.concordance == (3 + 0.5) / 5  # the tie counts half
    same = [figures.Row(r.name, r.tier, True, _report(50, "F")) for r in rows[:4]]
    assert figures.pairwise_order(same).concordance == 0.5  # one score for all is chance
    assert "a (average) <= a2" not in " ".join(order.missed)
    assert any(m.startswith("s (strong) <= a2") for m in order.missed)


def test_tests_ran_counts_only_repositories_with_tests_and_errors_do_not_count() -> None:
    errored = _report(50, "F", passed=0)
    errored["tools"][0]["tests"]["errors"] = 11
    rows = [
        figures.Row("ran", "strong", True, _report(80, "B")),
        figures.Row("errored", "strong", True, errored),
        figures.Row("no-tests", "weak", False, _report(30, "F", passed=0)),
        figures.Row("not-graded", "average", True, None),
    ]
    share = figures.tests_ran_share(rows)
    assert (share.hits, share.total) == (1, 3)
    assert share.missed == ("errored", "not-graded")


def test_decisions_spread_and_summary() -> None:
    rows = [
        figures.Row("s1", "strong", True, _report(85, "B", design=90.0)),
        figures.Row("s2", "strong", True, _report(65, "D", design=40.0)),
        figures.Row("w1", "weak", True, _report(30, "F", design=None)),
    ]
    assert str(figures.decisions(rows, "strong", figures.ADVANCE)) == "0.50 (1 of 2)"
    assert str(figures.decisions(rows, "weak", figures.REJECT)) == "1.00 (1 of 1)"
    assert figures.spread(rows, figures.criterion_score("design")) == 50.0
    text = figures.summary(rows, [("design", "Dsg")])
    assert "| design | 50 | n/a (0 of 0) |" in text


@pytest.mark.parametrize(
    ("scores", "b", "d"),
    [
        # strong above 80, average 55-70, weak below 40: B and D fall in the gaps
        ({"strong": [85, 90], "average": [55, 70], "weak": [20, 35]}, 77.5, 45.0),
        # an average scoring above a strong one: the cut that gets most right wins
        ({"strong": [60, 88, 92], "average": [65, 70], "weak": [30]}, 79.0, 45.0),
    ],
)
def test_floors_are_calibrated_where_the_tiers_part(
    scores: dict[str, list[float]], b: float, d: float
) -> None:
    rows = [
        figures.Row(f"{tier}{i}", tier, True, _report(value, "?"))
        for tier, values in scores.items()
        for i, value in enumerate(values)
    ]
    floors = figures.calibrated_floors(rows)
    assert (floors["B"], floors["D"], floors["F"]) == (b, d, 0.0)
    assert floors["D"] < floors["C"] < floors["B"] < floors["A"] <= 100
    advanced = figures.decisions(rows, "strong", figures.ADVANCE, floors)
    rejected = figures.decisions(rows, "weak", figures.REJECT, floors)
    assert advanced.hits == sum(v >= b for v in scores["strong"])
    assert rejected.hits == len(scores["weak"])


def test_figures_are_given_for_each_half_and_both() -> None:
    dev = corpus.Outcome(_repo("a/dev"), _report(80, "B"))
    check_repo = corpus.CorpusRepo(**{**_repo("a/check").__dict__, "half": "check"})
    check = corpus.Outcome(check_repo, _report(20, "F"))
    text = corpus.figures([dev, check])
    assert "### Half `dev` (1 repositories)" in text
    assert "### Half `check` (1 repositories)" in text
    assert "### Both halves (2 repositories)" in text


def test_the_corpus_file_has_both_halves_and_forty_take_homes() -> None:
    repos = corpus.load_repos(ROOT / "corpus" / "repos.toml")
    assert {repo.half for repo in repos} == {"dev", "check"}
    assert sum(repo.kind == "take-home" for repo in repos) >= 40
    assert sum(repo.kind == "library" for repo in repos) <= 5
    assert sum(repo.has_tests for repo in repos) >= 30
