import pytest

from docqa.index import TfidfIndex, tokenize
from docqa.store import load_index, save_index


@pytest.fixture
def index():
    idx = TfidfIndex()
    idx.add_chunks(
        [
            {"source": "keys.md", "chunk_id": 0, "text": "Rotate your API keys every 90 days"},
            {"source": "billing.md", "chunk_id": 0, "text": "Invoices are sent every month"},
            {"source": "deploy.md", "chunk_id": 0, "text": "Deploy the container with docker"},
        ]
    )
    idx.build()
    return idx


def test_tokenize():
    assert tokenize("How do I rotate the API-keys?") == ["rotate", "api", "keys"]


def test_search_finds_best_match(index):
    results = index.search("rotate api keys")
    assert results[0]["source"] == "keys.md"
    assert results[0]["score"] > 0


def test_search_top_k(index):
    results = index.search("every", top_k=1)
    assert len(results) == 1


def test_search_no_match(index):
    assert index.search("kubernetes") == []


def test_search_empty_query(index):
    with pytest.raises(ValueError):
        index.search("   ")


def test_save_and_load(index, tmp_path):
    path = tmp_path / "index.json"
    save_index(index, str(path))
    loaded = load_index(str(path))
    assert loaded.search("invoices")[0]["source"] == "billing.md"
