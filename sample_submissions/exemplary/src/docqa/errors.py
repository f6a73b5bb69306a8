"""Exception hierarchy used across docqa.

Every error that is caused by user input or by the environment (rather than by
a bug) derives from :class:`DocQAError`, so interfaces such as the CLI and the
HTTP API can turn them into friendly messages without hiding real defects.
"""


class DocQAError(Exception):
    """Base class for all errors raised deliberately by docqa."""


class ValidationError(DocQAError, ValueError):
    """Raised when user-supplied input (arguments, parameters) is invalid."""


class CorpusError(DocQAError):
    """Raised when a corpus folder cannot be used to build an index."""


class IndexFormatError(DocQAError):
    """Raised when a persisted index is unreadable, malformed or incompatible."""


class DocumentNotFoundError(DocQAError):
    """Raised when a requested document is not part of the indexed corpus."""
