"""Persisting indexes as versioned JSON.

The file is a single JSON object::

    {
      "format": "docqa-index",
      "version": 1,
      "created_at": "2024-05-01T12:00:00+00:00",
      "chunking": {"chunk_size": 200, "overlap": 50},
      "bm25": {"k1": 1.5, "b": 0.75},
      "chunks": [{"source": "a.md", "ordinal": 0, "start": 0, "end": 9, "text": "..."}],
      "lengths": [7],
      "postings": {"term": [[0, 2]]}
    }

Loading never executes anything from the file (plain :func:`json.loads`, no
pickle) and validates every field, so a truncated, hand-edited or foreign file
fails with :class:`~docqa.errors.IndexFormatError` instead of producing wrong
rankings later.
"""

import json
import logging
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from docqa.chunking import Chunk, ChunkingConfig
from docqa.errors import DocQAError, IndexFormatError
from docqa.index import BM25Index, BM25Params, Posting

logger = logging.getLogger(__name__)

FORMAT_NAME = "docqa-index"
FORMAT_VERSION = 1
MAX_INDEX_BYTES = 512 * 1024 * 1024

_T = TypeVar("_T")


def _utc_now() -> str:
    """Return the current UTC time in ISO 8601 format."""
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True, slots=True)
class StoredIndex:
    """An index together with the metadata persisted alongside it.

    Attributes:
        index: The BM25 index.
        chunking: The chunking parameters the index was built with.
        created_at: ISO 8601 timestamp of the build.

    """

    index: BM25Index
    chunking: ChunkingConfig
    created_at: str = field(default_factory=_utc_now)


def _chunk_to_dict(chunk: Chunk) -> dict[str, object]:
    """Convert a chunk into a JSON-serialisable dictionary."""
    return {
        "source": chunk.source,
        "ordinal": chunk.ordinal,
        "start": chunk.start,
        "end": chunk.end,
        "text": chunk.text,
    }


def index_to_dict(stored: StoredIndex) -> dict[str, object]:
    """Convert a stored index into a JSON-serialisable dictionary."""
    index = stored.index
    return {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "created_at": stored.created_at,
        "chunking": {
            "chunk_size": stored.chunking.chunk_size,
            "overlap": stored.chunking.overlap,
        },
        "bm25": {"k1": index.params.k1, "b": index.params.b},
        "chunks": [_chunk_to_dict(chunk) for chunk in index.chunks],
        "lengths": list(index.lengths),
        "postings": {
            term: [list(p) for p in entries] for term, entries in index.postings.items()
        },
    }


def save_index(stored: StoredIndex, path: Path) -> None:
    """Write ``stored`` to ``path`` atomically.

    The JSON is written to a temporary file in the same folder and renamed over
    the destination, so readers never observe a half-written index.

    Args:
        stored: The index to persist.
        path: Destination file; its parent folder must exist.

    Raises:
        IndexFormatError: If the file cannot be written.

    """
    payload = json.dumps(
        index_to_dict(stored), ensure_ascii=False, separators=(",", ":")
    )
    try:
        fd, tmp_name = tempfile.mkstemp(
            prefix=".docqa-", suffix=".tmp", dir=path.parent
        )
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(payload)
        Path(tmp_name).replace(path)
    except OSError as exc:
        raise IndexFormatError(
            f"cannot write index to {path}: {exc.strerror or exc}"
        ) from exc
    logger.info("saved index with %d chunks to %s", len(stored.index.chunks), path)


def load_index(path: Path) -> StoredIndex:
    """Read and validate an index written by :func:`save_index`.

    Args:
        path: The index file.

    Returns:
        The loaded index and its metadata.

    Raises:
        IndexFormatError: If the file is missing, too large, not JSON, of
            another format or version, or internally inconsistent.

    """
    try:
        if path.stat().st_size > MAX_INDEX_BYTES:
            raise IndexFormatError(
                f"index file {path} is larger than {MAX_INDEX_BYTES} bytes"
            )
        raw = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise IndexFormatError(
            f"cannot read index {path}: {exc.strerror or exc}"
        ) from exc
    try:
        data: object = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise IndexFormatError(f"index {path} is not valid JSON: {exc.msg}") from exc
    stored = index_from_dict(data)
    logger.info("loaded index with %d chunks from %s", len(stored.index.chunks), path)
    return stored


def index_from_dict(data: object) -> StoredIndex:
    """Validate decoded JSON and rebuild the stored index.

    Args:
        data: The value returned by :func:`json.loads`.

    Returns:
        The stored index.

    Raises:
        IndexFormatError: If ``data`` does not describe a valid index.

    """
    root = _as(data, dict, "index")
    _check_header(root)
    try:
        chunking = _parse_chunking(_field(root, "chunking", dict))
        params = _parse_params(_field(root, "bm25", dict))
    except DocQAError as exc:
        raise IndexFormatError(f"invalid index parameters: {exc}") from exc
    chunks = [_parse_chunk(item) for item in _field(root, "chunks", list)]
    lengths = [_as(item, int, "length") for item in _field(root, "lengths", list)]
    postings = _parse_postings(_field(root, "postings", dict))
    index = BM25Index(chunks, postings, lengths, params)
    return StoredIndex(
        index=index, chunking=chunking, created_at=_field(root, "created_at", str)
    )


def _check_header(root: Mapping[str, object]) -> None:
    """Reject files of another format or of an unsupported version."""
    if root.get("format") != FORMAT_NAME:
        raise IndexFormatError(f"not a docqa index (expected format {FORMAT_NAME!r})")
    version = root.get("version")
    if version != FORMAT_VERSION:
        raise IndexFormatError(
            f"unsupported index version {version!r}; this release reads version "
            f"{FORMAT_VERSION}, rebuild the index with 'docqa index'"
        )


def _as(value: object, kind: type[_T], what: str) -> _T:
    """Return ``value`` if it is an instance of ``kind`` (booleans are rejected)."""
    if isinstance(value, kind) and not isinstance(value, bool):
        return value
    raise IndexFormatError(
        f"{what} must be of type {kind.__name__}, got {type(value).__name__}"
    )


def _field(mapping: Mapping[str, object], key: str, kind: type[_T]) -> _T:
    """Return ``mapping[key]`` checked against ``kind``."""
    if key not in mapping:
        raise IndexFormatError(f"missing field {key!r}")
    return _as(mapping[key], kind, f"field {key!r}")


def _number(mapping: Mapping[str, object], key: str) -> float:
    """Return a numeric field as ``float`` (JSON may encode ``2.0`` as ``2``)."""
    value = mapping.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise IndexFormatError(f"field {key!r} must be a number")
    return float(value)


def _parse_chunking(raw: Mapping[str, object]) -> ChunkingConfig:
    """Parse the ``chunking`` section."""
    return ChunkingConfig(
        chunk_size=_field(raw, "chunk_size", int), overlap=_field(raw, "overlap", int)
    )


def _parse_params(raw: Mapping[str, object]) -> BM25Params:
    """Parse the ``bm25`` section."""
    return BM25Params(k1=_number(raw, "k1"), b=_number(raw, "b"))


def _parse_chunk(item: object) -> Chunk:
    """Parse one entry of the ``chunks`` list."""
    raw = _as(item, dict, "chunk")
    return Chunk(
        source=_field(raw, "source", str),
        ordinal=_field(raw, "ordinal", int),
        start=_field(raw, "start", int),
        end=_field(raw, "end", int),
        text=_field(raw, "text", str),
    )


def _parse_postings(raw: Mapping[str, object]) -> dict[str, list[Posting]]:
    """Parse the ``postings`` section."""
    return {
        term: [
            _parse_posting(entry)
            for entry in _as(entries, list, f"postings of {term!r}")
        ]
        for term, entries in raw.items()
    }


def _parse_posting(entry: object) -> Posting:
    """Parse one ``[chunk_id, tf]`` pair."""
    match _as(entry, list, "posting"):
        case [chunk_id, frequency]:
            return _as(chunk_id, int, "chunk id"), _as(frequency, int, "term frequency")
        case _:
            raise IndexFormatError("a posting must be a [chunk_id, tf] pair")
