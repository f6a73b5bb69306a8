import json
from pathlib import Path

import pytest

from docqa import storage
from docqa.chunking import ChunkingConfig
from docqa.errors import IndexFormatError
from docqa.index import BM25Index
from docqa.service import RetrievalService
from docqa.storage import (
    FORMAT_VERSION,
    StoredIndex,
    index_from_dict,
    index_to_dict,
    load_index,
    save_index,
)


@pytest.fixture
def stored(service: RetrievalService) -> StoredIndex:
    return service.stored


@pytest.fixture
def payload(stored: StoredIndex) -> dict[str, object]:
    # A JSON round trip turns tuples into lists, as on disk.
    decoded: dict[str, object] = json.loads(json.dumps(index_to_dict(stored)))
    return decoded


def test_round_trip_preserves_index(stored: StoredIndex, tmp_path: Path) -> None:
    path = tmp_path / "index.json"
    save_index(stored, path)
    loaded = load_index(path)
    assert loaded.chunking == stored.chunking
    assert loaded.created_at == stored.created_at
    assert loaded.index.chunks == stored.index.chunks
    assert loaded.index.lengths == stored.index.lengths
    assert dict(loaded.index.postings) == dict(stored.index.postings)
    query = "rotate api keys"
    assert loaded.index.search(query, 3) == stored.index.search(query, 3)


def test_save_leaves_no_temporary_files(stored: StoredIndex, tmp_path: Path) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    save_index(stored, folder / "index.json")
    save_index(stored, folder / "index.json")
    assert [p.name for p in folder.iterdir()] == ["index.json"]


def test_save_into_missing_folder_fails_cleanly(
    stored: StoredIndex, tmp_path: Path
) -> None:
    with pytest.raises(IndexFormatError, match="cannot write index"):
        save_index(stored, tmp_path / "missing" / "index.json")


def test_load_missing_file(tmp_path: Path) -> None:
    with pytest.raises(IndexFormatError, match="cannot read index"):
        load_index(tmp_path / "nope.json")


def test_load_invalid_json(tmp_path: Path) -> None:
    path = tmp_path / "index.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(IndexFormatError, match="not valid JSON"):
        load_index(path)


def test_load_rejects_oversized_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, index_file: Path
) -> None:
    monkeypatch.setattr(storage, "MAX_INDEX_BYTES", 10)
    with pytest.raises(IndexFormatError, match="larger than 10 bytes"):
        load_index(index_file)


def test_numbers_encoded_as_integers_are_accepted(payload: dict[str, object]) -> None:
    payload["bm25"] = {"k1": 2, "b": 1}
    assert index_from_dict(payload).index.params.k1 == 2.0


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("format", "something-else", "not a docqa index"),
        ("version", FORMAT_VERSION + 1, "unsupported index version"),
        ("chunking", {"chunk_size": 10, "overlap": 10}, "invalid index parameters"),
        ("chunking", {"chunk_size": True, "overlap": 1}, "invalid index parameters"),
        ("bm25", {"k1": "1.5", "b": 0.75}, "must be a number"),
        ("bm25", {"k1": 1.5, "b": 7}, "invalid index parameters"),
        ("chunks", {}, "must be of type list"),
        ("chunks", ["not an object"], "chunk must be of type dict"),
        ("chunks", [{"source": "a.md"}], "missing field 'ordinal'"),
        ("lengths", [1.5], "length must be of type int"),
        ("postings", {"term": "oops"}, "postings of 'term'"),
        ("postings", {"term": [[0]]}, "pair"),
        ("postings", {"term": [[0, "1"]]}, "term frequency"),
        ("postings", {"term": [[10_000, 1]]}, "invalid posting"),
        ("created_at", 12, "field 'created_at'"),
    ],
)
def test_malformed_fields_are_rejected(
    payload: dict[str, object], key: str, value: object, message: str
) -> None:
    payload[key] = value
    with pytest.raises(IndexFormatError, match=message):
        index_from_dict(payload)


def test_missing_field_is_rejected(payload: dict[str, object]) -> None:
    del payload["postings"]
    with pytest.raises(IndexFormatError, match="missing field 'postings'"):
        index_from_dict(payload)


@pytest.mark.parametrize("data", [[], "index", None, 3])
def test_non_object_root_is_rejected(data: object) -> None:
    with pytest.raises(IndexFormatError, match="index must be of type dict"):
        index_from_dict(data)


def test_stored_index_has_timestamp() -> None:
    stored = StoredIndex(index=BM25Index.build([]), chunking=ChunkingConfig())
    assert stored.created_at.endswith("+00:00")
