"""Validation of client-supplied document paths.

The HTTP API lets clients fetch a corpus document by its relative path. The
functions here are the first line of defence against path traversal: they
accept only plain relative POSIX paths made of normal segments. The service
additionally checks the path against the set of indexed documents and verifies
that the resolved file lies inside the corpus folder.
"""

from pathlib import PurePosixPath

from docqa.errors import ValidationError

MAX_PATH_CHARS = 512
_FORBIDDEN_SEGMENTS = frozenset({"", ".", ".."})


def normalise_document_path(raw: str) -> str:
    """Validate a client-supplied relative document path.

    Args:
        raw: The already percent-decoded path, e.g. ``guides/keys.md``.

    Returns:
        The path in canonical POSIX form.

    Raises:
        ValidationError: If the path is empty, too long, absolute, contains
            control characters or backslashes, or has empty, ``.`` or ``..``
            segments.

    """
    if not raw or len(raw) > MAX_PATH_CHARS:
        raise ValidationError("document path must be between 1 and 512 characters")
    if "\\" in raw or not raw.isprintable():
        raise ValidationError("document path contains forbidden characters")
    if raw.startswith("/") or ":" in raw.split("/", 1)[0]:
        raise ValidationError("document path must be relative")
    segments = raw.split("/")
    if any(segment in _FORBIDDEN_SEGMENTS for segment in segments):
        raise ValidationError(
            "document path must not contain empty, '.' or '..' segments"
        )
    return PurePosixPath(*segments).as_posix()
