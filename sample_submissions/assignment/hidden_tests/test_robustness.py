"""Bad input ends with a clear message and a non-zero exit code, never a traceback."""

from __future__ import annotations

from pathlib import Path


def test_overlap_must_be_smaller_than_chunk_size(corpus: Path, docqa, tmp_path: Path) -> None:
    run = docqa(
        "index", str(corpus), "--out", str(tmp_path / "i.json"), "--chunk-size", "10", "--overlap", "10"
    )
    assert run.returncode != 0
    assert "Traceback" not in run.stderr


def test_missing_corpus_is_a_clean_error(docqa, tmp_path: Path) -> None:
    run = docqa("index", str(tmp_path / "nowhere"), "--out", str(tmp_path / "i.json"))
    assert run.returncode != 0
    assert "Traceback" not in run.stderr


def test_an_index_of_another_format_is_rejected(docqa, tmp_path: Path) -> None:
    index = tmp_path / "index.json"
    index.write_text('{"format": "something-else", "chunks": 3}', encoding="utf-8")
    run = docqa("query", str(index), "keys", "--json")
    assert run.returncode != 0
    assert "Traceback" not in run.stderr
