"""The command-line contract of the brief: index a folder, query the index as JSON."""

from __future__ import annotations

from pathlib import Path


def test_index_then_query_finds_the_right_document(corpus: Path, docqa, results, tmp_path: Path) -> None:
    index = tmp_path / "index.json"
    built = docqa("index", str(corpus), "--out", str(index), "--chunk-size", "20", "--overlap", "5")
    assert built.returncode == 0, built.stderr
    answer = docqa("query", str(index), "how do I rotate the API keys?", "--json")
    assert answer.returncode == 0, answer.stderr
    found = results(answer.stdout)
    assert found, "no result for a query that one document answers"
    assert Path(found[0]["source"]).as_posix().endswith("keys/rotation.md")


def test_results_carry_score_and_source(corpus: Path, docqa, results, tmp_path: Path) -> None:
    index = tmp_path / "index.json"
    assert docqa("index", str(corpus), "--out", str(index)).returncode == 0
    found = results(docqa("query", str(index), "bread dough", "--json").stdout)
    assert found
    scores = [r["score"] for r in found]
    assert scores == sorted(scores, reverse=True)
    assert all("source" in r for r in found)


def test_top_k_limits_the_results(corpus: Path, docqa, results, tmp_path: Path) -> None:
    index = tmp_path / "index.json"
    assert docqa("index", str(corpus), "--out", str(index), "--chunk-size", "5", "--overlap", "1").returncode == 0
    found = results(docqa("query", str(index), "water", "--top-k", "1", "--json").stdout)
    assert len(found) == 1


def test_top_k_below_one_is_rejected(corpus: Path, docqa, tmp_path: Path) -> None:
    index = tmp_path / "index.json"
    assert docqa("index", str(corpus), "--out", str(index)).returncode == 0
    run = docqa("query", str(index), "water", "--top-k", "0", "--json")
    assert run.returncode != 0
    assert "Traceback" not in run.stderr
