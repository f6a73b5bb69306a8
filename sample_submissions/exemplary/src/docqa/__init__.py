"""docqa: a small, dependency-free document retrieval service.

The package ingests a folder of text and Markdown documents, splits them into
overlapping chunks, ranks chunks for a query with a hand-written BM25 index and
persists the index as versioned JSON. It exposes a Python API, a command-line
tool and an optional HTTP API built on :mod:`http.server`.
"""

from docqa.chunking import Chunk, ChunkingConfig, chunk_text
from docqa.errors import (
    CorpusError,
    DocQAError,
    DocumentNotFoundError,
    IndexFormatError,
    ValidationError,
)
from docqa.index import BM25Index, BM25Params, SearchResult
from docqa.service import RetrievalService
from docqa.storage import StoredIndex, load_index, save_index

__all__ = [
    "BM25Index",
    "BM25Params",
    "Chunk",
    "ChunkingConfig",
    "CorpusError",
    "DocQAError",
    "DocumentNotFoundError",
    "IndexFormatError",
    "RetrievalService",
    "SearchResult",
    "StoredIndex",
    "ValidationError",
    "__version__",
    "chunk_text",
    "load_index",
    "save_index",
]

__version__ = "0.1.0"
