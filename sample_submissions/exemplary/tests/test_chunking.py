import pytest

from docqa.chunking import (
    MAX_CHUNK_SIZE,
    Chunk,
    ChunkingConfig,
    chunk_documents,
    chunk_text,
)
from docqa.errors import ValidationError


def words(count: int) -> str:
    return " ".join(f"w{i}" for i in range(count))


@pytest.mark.parametrize(
    ("chunk_size", "overlap"),
    [(0, 0), (-1, 0), (MAX_CHUNK_SIZE + 1, 0), (10, 10), (10, 11), (10, -1)],
)
def test_config_rejects_out_of_range_values(chunk_size: int, overlap: int) -> None:
    with pytest.raises(ValidationError):
        ChunkingConfig(chunk_size=chunk_size, overlap=overlap)


@pytest.mark.parametrize(("chunk_size", "overlap"), [(True, 0), (10, False), (2.5, 0)])
def test_config_rejects_non_integers(chunk_size: object, overlap: object) -> None:
    with pytest.raises(ValidationError, match="must be an integer"):
        ChunkingConfig(chunk_size=chunk_size, overlap=overlap)  # type: ignore[arg-type]


def test_config_step() -> None:
    assert ChunkingConfig(chunk_size=10, overlap=3).step == 7


def test_empty_text_has_no_chunks() -> None:
    assert chunk_text("a.md", " \n\t ", ChunkingConfig(chunk_size=3, overlap=1)) == []


def test_short_text_is_a_single_chunk() -> None:
    chunks = chunk_text(
        "a.md", "  hello   world  ", ChunkingConfig(chunk_size=5, overlap=1)
    )
    assert chunks == [
        Chunk(source="a.md", ordinal=0, start=2, end=15, text="hello   world")
    ]


def test_windows_overlap_and_cover_every_word() -> None:
    text = words(10)
    chunks = chunk_text("a.md", text, ChunkingConfig(chunk_size=4, overlap=2))
    assert [c.text.split() for c in chunks] == [
        ["w0", "w1", "w2", "w3"],
        ["w2", "w3", "w4", "w5"],
        ["w4", "w5", "w6", "w7"],
        ["w6", "w7", "w8", "w9"],
    ]
    assert [c.ordinal for c in chunks] == [0, 1, 2, 3]


def test_last_window_may_be_shorter() -> None:
    chunks = chunk_text("a.md", words(7), ChunkingConfig(chunk_size=4, overlap=1))
    assert [c.text.split() for c in chunks] == [
        ["w0", "w1", "w2", "w3"],
        ["w3", "w4", "w5", "w6"],
    ]
    chunks = chunk_text("a.md", words(8), ChunkingConfig(chunk_size=4, overlap=1))
    assert chunks[-1].text.split() == ["w6", "w7"]


def test_zero_overlap_partitions_the_text() -> None:
    chunks = chunk_text("a.md", words(6), ChunkingConfig(chunk_size=3, overlap=0))
    assert [c.text for c in chunks] == ["w0 w1 w2", "w3 w4 w5"]


def test_offsets_slice_the_original_text_and_keep_formatting() -> None:
    text = "# Title\n\nfirst line\nsecond  line\n"
    for chunk in chunk_text("a.md", text, ChunkingConfig(chunk_size=3, overlap=1)):
        assert text[chunk.start : chunk.end] == chunk.text
    assert chunk_text("a.md", text, ChunkingConfig(chunk_size=3, overlap=1))[
        0
    ].text == ("# Title\n\nfirst")


def test_chunk_documents_keeps_document_order() -> None:
    config = ChunkingConfig(chunk_size=2, overlap=0)
    chunks = chunk_documents([("b.md", "one two three"), ("a.md", "four")], config)
    assert [(c.source, c.text) for c in chunks] == [
        ("b.md", "one two"),
        ("b.md", "three"),
        ("a.md", "four"),
    ]
