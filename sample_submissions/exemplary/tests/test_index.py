import math

import pytest

from docqa.chunking import Chunk
from docqa.errors import IndexFormatError, ValidationError
from docqa.index import BM25Index, BM25Params, SearchResult


def make_chunks(*texts: str) -> list[Chunk]:
    return [Chunk(f"doc{i}.md", 0, 0, len(text), text) for i, text in enumerate(texts)]


@pytest.fixture
def index() -> BM25Index:
    return BM25Index.build(
        make_chunks(
            "rotate the api keys every ninety days",
            "deploy the container image to the platform",
            "api keys api keys api keys",
            "billing invoices and refunds",
        )
    )


def test_build_creates_postings_and_lengths(index: BM25Index) -> None:
    assert index.postings["keys"] == ((0, 1), (2, 3))
    assert index.lengths == (6, 4, 6, 3)
    assert index.sources == frozenset({"doc0.md", "doc1.md", "doc2.md", "doc3.md"})
    assert len(index.chunks) == 4
    assert index.params == BM25Params()


def test_idf_matches_formula(index: BM25Index) -> None:
    assert index.idf("keys") == pytest.approx(math.log(1 + (4 - 2 + 0.5) / (2 + 0.5)))
    assert index.idf("unknown") == pytest.approx(math.log(1 + 4.5 / 0.5))
    assert index.idf("keys") < index.idf("billing")


def test_score_matches_hand_computation() -> None:
    index = BM25Index.build(
        make_chunks("apple banana", "apple"), BM25Params(k1=1.2, b=0.75)
    )
    [first, second] = index.search("banana apple", top_k=5)
    avgdl = 1.5
    idf_apple = math.log(1 + (2 - 2 + 0.5) / 2.5)
    idf_banana = math.log(1 + (2 - 1 + 0.5) / 1.5)

    def weight(length: int) -> float:
        return 2.2 / (1 + 1.2 * (0.25 + 0.75 * length / avgdl))

    assert first.chunk.source == "doc0.md"
    assert first.score == pytest.approx(idf_apple * weight(2) + idf_banana * weight(2))
    assert second.score == pytest.approx(idf_apple * weight(1))


def test_search_ranks_relevant_chunks_first(index: BM25Index) -> None:
    results = index.search("How do I rotate API keys?", top_k=3)
    assert [r.chunk.source for r in results] == ["doc0.md", "doc2.md"]
    assert [r.rank for r in results] == [1, 2]
    assert results[0].score > results[1].score > 0


def test_search_respects_top_k(index: BM25Index) -> None:
    assert len(index.search("api keys deploy billing", top_k=2)) == 2


def test_search_without_matching_terms_returns_nothing(index: BM25Index) -> None:
    assert index.search("the and of", top_k=3) == []
    assert index.search("kubernetes", top_k=3) == []


def test_ties_are_broken_by_chunk_id() -> None:
    index = BM25Index.build(make_chunks("same words", "same words", "same words"))
    assert [r.chunk.source for r in index.search("same", top_k=3)] == [
        "doc0.md",
        "doc1.md",
        "doc2.md",
    ]


def test_repeated_query_terms_count_once(index: BM25Index) -> None:
    once = index.search("billing", top_k=1)[0].score
    assert index.search("billing billing billing", top_k=1)[0].score == pytest.approx(
        once
    )


@pytest.mark.parametrize("top_k", [0, -1])
def test_search_rejects_non_positive_top_k(index: BM25Index, top_k: int) -> None:
    with pytest.raises(ValidationError):
        index.search("api", top_k=top_k)


def test_empty_index_returns_nothing() -> None:
    assert BM25Index.build([]).search("anything", top_k=5) == []


def test_chunks_without_terms_do_not_break_scoring() -> None:
    index = BM25Index.build(make_chunks("the and of", "the of"))
    assert index.lengths == (0, 0)
    assert index.search("the", top_k=5) == []


@pytest.mark.parametrize(
    ("k1", "b"),
    [
        (-0.1, 0.5),
        (10.5, 0.5),
        (math.nan, 0.5),
        (1.2, -0.1),
        (1.2, 1.1),
        (1.2, math.inf),
    ],
)
def test_params_validation(k1: float, b: float) -> None:
    with pytest.raises(ValidationError):
        BM25Params(k1=k1, b=b)


def test_constructor_rejects_inconsistent_statistics() -> None:
    chunks = make_chunks("alpha")
    params = BM25Params()
    with pytest.raises(IndexFormatError, match="one length per chunk"):
        BM25Index(chunks, {}, [1, 2], params)
    with pytest.raises(IndexFormatError, match="negative"):
        BM25Index(chunks, {}, [-1], params)
    with pytest.raises(IndexFormatError, match="invalid posting"):
        BM25Index(chunks, {"alpha": [(1, 1)]}, [1], params)
    with pytest.raises(IndexFormatError, match="invalid posting"):
        BM25Index(chunks, {"alpha": [(0, 0)]}, [1], params)


def test_search_result_to_dict() -> None:
    chunk = Chunk("a.md", 2, 10, 20, "some text")
    assert SearchResult(rank=1, score=1.23456789, chunk=chunk).to_dict() == {
        "rank": 1,
        "score": 1.234568,
        "source": "a.md",
        "chunk": 2,
        "start": 10,
        "end": 20,
        "text": "some text",
    }
