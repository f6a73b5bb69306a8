"""Splitting documents into overlapping, word-based chunks.

Chunks are windows of ``chunk_size`` whitespace-separated words; consecutive
windows share ``overlap`` words so that an answer straddling a boundary is
still found in at least one chunk. Chunk text is sliced from the original
document, so formatting inside a chunk (line breaks, Markdown) is preserved.
"""

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from docqa.errors import ValidationError

MAX_CHUNK_SIZE = 5000
_WORD_RE = re.compile(r"\S+")


def _require_int(name: str, value: object) -> int:
    """Return ``value`` if it is a real ``int`` (not a ``bool``), else raise."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"{name} must be an integer, got {value!r}")
    return value


@dataclass(frozen=True, slots=True)
class ChunkingConfig:
    """Validated chunking parameters.

    Attributes:
        chunk_size: Number of words per chunk (1 to ``MAX_CHUNK_SIZE``).
        overlap: Number of words shared by consecutive chunks; must be
            non-negative and strictly smaller than ``chunk_size``.

    """

    chunk_size: int = 200
    overlap: int = 50

    def __post_init__(self) -> None:
        """Validate the parameters.

        Raises:
            ValidationError: If a parameter is out of range.

        """
        size = _require_int("chunk_size", self.chunk_size)
        overlap = _require_int("overlap", self.overlap)
        if not 1 <= size <= MAX_CHUNK_SIZE:
            raise ValidationError(
                f"chunk_size must be between 1 and {MAX_CHUNK_SIZE}, got {size}"
            )
        if not 0 <= overlap < size:
            raise ValidationError(
                f"overlap must be >= 0 and below chunk_size ({size}), got {overlap}"
            )

    @property
    def step(self) -> int:
        """Number of words between the starts of two consecutive chunks."""
        return self.chunk_size - self.overlap


@dataclass(frozen=True, slots=True)
class Chunk:
    """A contiguous piece of a document.

    Attributes:
        source: POSIX path of the document, relative to the corpus root.
        ordinal: Position of the chunk within its document, starting at 0.
        start: Character offset of the chunk in the document (inclusive).
        end: Character offset of the chunk in the document (exclusive).
        text: The chunk text, sliced verbatim from the document.

    """

    source: str
    ordinal: int
    start: int
    end: int
    text: str


def _window_starts(word_count: int, config: ChunkingConfig) -> Iterator[int]:
    """Yield the index of the first word of every window."""
    start = 0
    while start < word_count:
        yield start
        if start + config.chunk_size >= word_count:
            return
        start += config.step


def chunk_text(source: str, text: str, config: ChunkingConfig) -> list[Chunk]:
    """Split one document into overlapping chunks.

    Args:
        source: Identifier of the document, stored on every chunk.
        text: Full document text.
        config: Chunk size and overlap.

    Returns:
        The chunks in document order; empty if ``text`` has no words.

    """
    spans = [match.span() for match in _WORD_RE.finditer(text)]
    chunks: list[Chunk] = []
    for ordinal, first in enumerate(_window_starts(len(spans), config)):
        last = min(first + config.chunk_size, len(spans)) - 1
        start, end = spans[first][0], spans[last][1]
        chunks.append(Chunk(source, ordinal, start, end, text[start:end]))
    return chunks


def chunk_documents(
    documents: Iterable[tuple[str, str]], config: ChunkingConfig
) -> list[Chunk]:
    """Chunk several documents.

    Args:
        documents: Pairs of ``(source, text)``.
        config: Chunk size and overlap.

    Returns:
        All chunks, grouped by document in input order.

    """
    return [
        chunk
        for source, text in documents
        for chunk in chunk_text(source, text, config)
    ]
