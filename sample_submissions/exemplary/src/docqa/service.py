"""The retrieval service: the single entry point used by the CLI and the API.

:class:`RetrievalService` wires corpus loading, chunking, indexing and storage
together, validates user input at the boundary and logs timings so that an
operator can see what the service is doing.
"""

import logging
import time
from pathlib import Path

from docqa.chunking import ChunkingConfig, chunk_documents
from docqa.corpus import DEFAULT_MAX_FILE_BYTES, load_documents, resolve_corpus_root
from docqa.errors import CorpusError, DocumentNotFoundError, ValidationError
from docqa.index import BM25Index, BM25Params, SearchResult
from docqa.paths import normalise_document_path
from docqa.storage import StoredIndex, load_index, save_index

logger = logging.getLogger(__name__)

MAX_QUERY_CHARS = 1000
MAX_TOP_K = 50


def validate_query(query: str) -> str:
    """Return ``query`` stripped of surrounding whitespace.

    Args:
        query: The raw query.

    Returns:
        The stripped query.

    Raises:
        ValidationError: If the query is blank or longer than ``MAX_QUERY_CHARS``.

    """
    stripped = query.strip()
    if not stripped:
        raise ValidationError("query must not be empty")
    if len(stripped) > MAX_QUERY_CHARS:
        raise ValidationError(f"query must be at most {MAX_QUERY_CHARS} characters")
    return stripped


def validate_top_k(top_k: int) -> int:
    """Return ``top_k`` if it is between 1 and ``MAX_TOP_K``.

    Args:
        top_k: Requested number of results.

    Returns:
        The same value.

    Raises:
        ValidationError: If ``top_k`` is out of range.

    """
    if isinstance(top_k, bool) or not 1 <= top_k <= MAX_TOP_K:
        raise ValidationError(f"top_k must be between 1 and {MAX_TOP_K}, got {top_k}")
    return top_k


def _elapsed_ms(started: float) -> float:
    """Return the milliseconds elapsed since ``started`` (a perf counter value)."""
    return round((time.perf_counter() - started) * 1000.0, 2)


class RetrievalService:
    """Search over an index and, optionally, serve the documents it was built from."""

    def __init__(self, stored: StoredIndex, corpus_root: Path | None = None) -> None:
        """Create a service.

        Args:
            stored: The index and its metadata.
            corpus_root: Folder the index was built from. Only needed to serve
                raw documents; without it :meth:`read_document` always fails.

        Raises:
            CorpusError: If ``corpus_root`` is given but is not a directory.

        """
        self._stored = stored
        self._sources = stored.index.sources
        self._corpus_root = resolve_corpus_root(corpus_root) if corpus_root else None

    @classmethod
    def build(
        cls,
        corpus_root: Path,
        chunking: ChunkingConfig | None = None,
        params: BM25Params | None = None,
        max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    ) -> "RetrievalService":
        """Index every supported document below ``corpus_root``.

        Args:
            corpus_root: The corpus folder.
            chunking: Chunking parameters; defaults to :class:`ChunkingConfig()`.
            params: BM25 parameters; defaults to :class:`BM25Params()`.
            max_file_bytes: Files larger than this are skipped.

        Returns:
            A service over the new index, able to serve the corpus documents.

        Raises:
            CorpusError: If the folder is missing or contains no indexable text.

        """
        started = time.perf_counter()
        config = chunking or ChunkingConfig()
        documents = load_documents(corpus_root, max_file_bytes)
        chunks = chunk_documents(((d.source, d.text) for d in documents), config)
        if not chunks:
            raise CorpusError(
                f"no indexable .txt or .md documents found in {corpus_root}"
            )
        index = BM25Index.build(chunks, params)
        logger.info(
            "indexed %d documents into %d chunks (%d terms) in %.2f ms",
            len(documents),
            len(chunks),
            len(index.postings),
            _elapsed_ms(started),
        )
        return cls(StoredIndex(index=index, chunking=config), corpus_root)

    @classmethod
    def load(
        cls, index_path: Path, corpus_root: Path | None = None
    ) -> "RetrievalService":
        """Create a service from an index file written by :meth:`save`.

        Args:
            index_path: The JSON index file.
            corpus_root: Optional corpus folder, see :meth:`__init__`.

        Returns:
            The service.

        """
        return cls(load_index(index_path), corpus_root)

    @property
    def stored(self) -> StoredIndex:
        """The index and its metadata."""
        return self._stored

    @property
    def chunk_count(self) -> int:
        """Number of indexed chunks."""
        return len(self._stored.index.chunks)

    def save(self, index_path: Path) -> None:
        """Persist the index as JSON at ``index_path``."""
        save_index(self._stored, index_path)

    def search(self, query: str, top_k: int = 5) -> list[SearchResult]:
        """Return the most relevant chunks for ``query``.

        Args:
            query: Free-text query (1 to ``MAX_QUERY_CHARS`` characters).
            top_k: Number of results (1 to ``MAX_TOP_K``).

        Returns:
            Results ordered by decreasing score; possibly fewer than ``top_k``.

        Raises:
            ValidationError: If an argument is invalid.

        """
        cleaned = validate_query(query)
        limit = validate_top_k(top_k)
        started = time.perf_counter()
        results = self._stored.index.search(cleaned, limit)
        logger.info(
            "search returned %d results in %.2f ms",
            len(results),
            _elapsed_ms(started),
            extra={"query_chars": len(cleaned), "top_k": limit},
        )
        return results

    def read_document(self, relative_path: str) -> str:
        """Return the text of an indexed document.

        The path must be a plain relative path of a document that is part of
        the index, and the file must still resolve inside the corpus folder.

        Args:
            relative_path: Path relative to the corpus root, e.g. ``a/b.md``.

        Returns:
            The document text.

        Raises:
            ValidationError: If the path is malformed.
            DocumentNotFoundError: If the document is unknown, unreadable or
                no corpus folder is configured.

        """
        source = normalise_document_path(relative_path)
        if self._corpus_root is None:
            raise DocumentNotFoundError(
                "document access is disabled: no corpus folder configured"
            )
        if source not in self._sources:
            raise DocumentNotFoundError(f"unknown document: {source}")
        candidate = (self._corpus_root / source).resolve()
        if not candidate.is_relative_to(self._corpus_root):
            logger.warning("refusing %s: it resolves outside the corpus folder", source)
            raise DocumentNotFoundError(f"unknown document: {source}")
        try:
            return candidate.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise DocumentNotFoundError(
                f"document is no longer readable: {source}"
            ) from exc
