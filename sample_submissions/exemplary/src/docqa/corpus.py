"""Discovering and reading the documents of a corpus folder.

Only regular files with a supported suffix are read. Files that resolve outside
the corpus root (through symbolic links), files larger than a configurable
limit, files that are not valid UTF-8 and files without any text are skipped
with a log message instead of aborting the whole run: one bad file should not
prevent the rest of the corpus from being indexed.
"""

import logging
from dataclasses import dataclass
from pathlib import Path

from docqa.errors import CorpusError, ValidationError

logger = logging.getLogger(__name__)

SUPPORTED_SUFFIXES: frozenset[str] = frozenset({".txt", ".md", ".markdown"})
DEFAULT_MAX_FILE_BYTES = 5 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Document:
    """A document read from the corpus.

    Attributes:
        source: POSIX path relative to the corpus root, e.g. ``guides/keys.md``.
        text: Decoded document text.

    """

    source: str
    text: str


def resolve_corpus_root(root: Path) -> Path:
    """Return the absolute, symlink-free path of an existing corpus folder.

    Args:
        root: Path to the corpus folder.

    Returns:
        The resolved folder path.

    Raises:
        CorpusError: If ``root`` does not exist or is not a directory.

    """
    resolved = root.expanduser().resolve()
    if not resolved.is_dir():
        raise CorpusError(f"corpus folder does not exist or is not a directory: {root}")
    return resolved


def discover_files(root: Path) -> list[Path]:
    """List candidate files below ``root`` in a stable order.

    Args:
        root: A resolved corpus folder.

    Returns:
        Files with a supported suffix, sorted by path.

    """
    return sorted(
        path
        for path in root.rglob("*")
        if path.suffix.lower() in SUPPORTED_SUFFIXES and path.is_file()
    )


def read_document(root: Path, path: Path, max_file_bytes: int) -> Document | None:
    """Read one corpus file, or return ``None`` if it must be skipped.

    Args:
        root: The resolved corpus folder.
        path: A file below ``root``, as returned by :func:`discover_files`.
        max_file_bytes: Files larger than this are skipped.

    Returns:
        The document, or ``None`` when the file is skipped.

    """
    source = path.relative_to(root).as_posix()
    resolved = path.resolve()
    if not resolved.is_relative_to(root):
        logger.warning("skipping %s: it resolves outside the corpus folder", source)
        return None
    size = resolved.stat().st_size
    if size > max_file_bytes:
        logger.warning(
            "skipping %s: %d bytes exceeds the %d byte limit",
            source,
            size,
            max_file_bytes,
        )
        return None
    try:
        text = resolved.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        logger.warning("skipping %s: not valid UTF-8", source)
        return None
    if not text.strip():
        logger.info("skipping %s: no text", source)
        return None
    return Document(source=source, text=text)


def load_documents(
    root: Path, max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
) -> list[Document]:
    """Read every supported document below ``root``.

    Args:
        root: Path to the corpus folder.
        max_file_bytes: Per-file size limit in bytes; must be positive.

    Returns:
        The readable documents, sorted by source path.

    Raises:
        CorpusError: If ``root`` is not a directory.
        ValidationError: If ``max_file_bytes`` is not positive.

    """
    if max_file_bytes <= 0:
        raise ValidationError(f"max_file_bytes must be positive, got {max_file_bytes}")
    resolved_root = resolve_corpus_root(root)
    candidates = discover_files(resolved_root)
    documents = [
        document
        for path in candidates
        if (document := read_document(resolved_root, path, max_file_bytes)) is not None
    ]
    logger.info(
        "read %d of %d candidate files from %s",
        len(documents),
        len(candidates),
        resolved_root,
    )
    return documents
