import logging
from pathlib import Path

import pytest

from docqa.chunking import ChunkingConfig
from docqa.errors import CorpusError, DocumentNotFoundError, ValidationError
from docqa.index import BM25Params
from docqa.service import (
    MAX_QUERY_CHARS,
    MAX_TOP_K,
    RetrievalService,
    validate_query,
    validate_top_k,
)


def test_build_indexes_the_corpus(
    service: RetrievalService, chunking: ChunkingConfig
) -> None:
    assert service.chunk_count >= 3
    assert service.stored.chunking == chunking
    assert service.stored.index.sources == {
        "keys.md",
        "guides/deploy.txt",
        "guides/billing.md",
    }


def test_build_logs_a_summary(
    corpus_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="docqa"):
        RetrievalService.build(corpus_dir, params=BM25Params(k1=1.2, b=0.5))
    assert "indexed 3 documents into 3 chunks" in caplog.text


def test_build_rejects_corpus_without_documents(tmp_path: Path) -> None:
    (tmp_path / "empty.md").write_text("", encoding="utf-8")
    with pytest.raises(CorpusError, match="no indexable"):
        RetrievalService.build(tmp_path)


def test_build_rejects_missing_corpus(tmp_path: Path) -> None:
    with pytest.raises(CorpusError):
        RetrievalService.build(tmp_path / "missing")


def test_search_finds_the_relevant_document(service: RetrievalService) -> None:
    results = service.search("  how do I rotate API keys?  ", top_k=2)
    assert results[0].chunk.source == "keys.md"
    assert len(results) <= 2


def test_search_logs_without_query_text(
    service: RetrievalService, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="docqa"):
        service.search("refund invoices", top_k=1)
    record = next(r for r in caplog.records if "search returned" in r.getMessage())
    assert record.__dict__["query_chars"] == len("refund invoices")
    assert "refund" not in record.getMessage()


def test_load_round_trip(index_file: Path, corpus_dir: Path) -> None:
    service = RetrievalService.load(index_file, corpus_dir)
    assert (
        service.search("invoices refunds", top_k=1)[0].chunk.source
        == "guides/billing.md"
    )
    assert service.read_document("guides/billing.md").startswith("# Billing")


@pytest.mark.parametrize("query", ["", "   ", "x" * (MAX_QUERY_CHARS + 1)])
def test_validate_query_rejects(query: str) -> None:
    with pytest.raises(ValidationError):
        validate_query(query)


def test_validate_query_strips() -> None:
    assert validate_query("  keys \n") == "keys"


@pytest.mark.parametrize("top_k", [0, -1, MAX_TOP_K + 1, True])
def test_validate_top_k_rejects(top_k: int) -> None:
    with pytest.raises(ValidationError):
        validate_top_k(top_k)


@pytest.mark.parametrize("top_k", [1, MAX_TOP_K])
def test_validate_top_k_accepts_bounds(top_k: int) -> None:
    assert validate_top_k(top_k) == top_k


def test_read_document_returns_text(service: RetrievalService) -> None:
    assert "ninety days" in service.read_document("keys.md")


@pytest.mark.parametrize(
    "path", ["../outside-secret.txt", "/etc/passwd", "guides/../keys.md"]
)
def test_read_document_rejects_traversal(service: RetrievalService, path: str) -> None:
    with pytest.raises(ValidationError):
        service.read_document(path)


@pytest.mark.parametrize("path", ["leak.md", "empty.txt", "image.png", "missing.md"])
def test_read_document_serves_only_indexed_documents(
    service: RetrievalService, path: str
) -> None:
    with pytest.raises(DocumentNotFoundError, match="unknown document"):
        service.read_document(path)


def test_read_document_requires_corpus_root(index_file: Path) -> None:
    service = RetrievalService.load(index_file)
    with pytest.raises(DocumentNotFoundError, match="disabled"):
        service.read_document("keys.md")


def test_document_replaced_by_symlink_after_indexing_is_refused(
    service: RetrievalService, corpus_dir: Path, tmp_path: Path
) -> None:
    (corpus_dir / "keys.md").unlink()
    (corpus_dir / "keys.md").symlink_to(tmp_path / "outside-secret.txt")
    with pytest.raises(DocumentNotFoundError):
        service.read_document("keys.md")


def test_deleted_document_is_not_found(
    service: RetrievalService, corpus_dir: Path
) -> None:
    (corpus_dir / "keys.md").unlink()
    with pytest.raises(DocumentNotFoundError, match="no longer readable"):
        service.read_document("keys.md")
