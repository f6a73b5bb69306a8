import logging
from pathlib import Path

import pytest

from docqa.corpus import (
    discover_files,
    load_documents,
    read_document,
    resolve_corpus_root,
)
from docqa.errors import CorpusError, ValidationError


def test_load_documents_reads_only_valid_text_files(
    corpus_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="docqa")
    documents = load_documents(corpus_dir)
    assert [d.source for d in documents] == [
        "guides/billing.md",
        "guides/deploy.txt",
        "keys.md",
    ]
    assert documents[2].text.startswith("# Rotating API keys")
    messages = caplog.text
    assert "skipping empty.txt: no text" in messages
    assert "skipping latin1.txt: not valid UTF-8" in messages
    assert "skipping leak.md: it resolves outside the corpus folder" in messages
    assert "read 3 of 6 candidate files" in messages


def test_discover_files_ignores_unsupported_suffixes_and_folders(
    tmp_path: Path,
) -> None:
    (tmp_path / "folder.md").mkdir()
    (tmp_path / "NOTES.MD").write_text("upper-case suffix", encoding="utf-8")
    (tmp_path / "data.json").write_text("{}", encoding="utf-8")
    (tmp_path / "page.markdown").write_text("markdown", encoding="utf-8")
    assert [p.name for p in discover_files(tmp_path)] == ["NOTES.MD", "page.markdown"]


def test_oversized_files_are_skipped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "big.txt").write_text("x" * 100, encoding="utf-8")
    (tmp_path / "small.txt").write_text("tiny", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="docqa"):
        documents = load_documents(tmp_path, max_file_bytes=10)
    assert [d.source for d in documents] == ["small.txt"]
    assert "exceeds the 10 byte limit" in caplog.text


def test_byte_order_mark_is_removed(tmp_path: Path) -> None:
    (tmp_path / "bom.txt").write_bytes(b"\xef\xbb\xbfhello")
    document = read_document(tmp_path.resolve(), tmp_path.resolve() / "bom.txt", 1000)
    assert document is not None
    assert document.text == "hello"


def test_symlink_inside_corpus_is_followed(tmp_path: Path) -> None:
    (tmp_path / "real.md").write_text("real text", encoding="utf-8")
    (tmp_path / "alias.md").symlink_to(tmp_path / "real.md")
    assert [d.source for d in load_documents(tmp_path)] == ["alias.md", "real.md"]


def test_resolve_corpus_root_rejects_missing_and_file(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="does not exist"):
        resolve_corpus_root(tmp_path / "missing")
    file_path = tmp_path / "file.txt"
    file_path.write_text("x", encoding="utf-8")
    with pytest.raises(CorpusError):
        resolve_corpus_root(file_path)


@pytest.mark.parametrize("limit", [0, -5])
def test_max_file_bytes_must_be_positive(tmp_path: Path, limit: int) -> None:
    with pytest.raises(ValidationError):
        load_documents(tmp_path, max_file_bytes=limit)
