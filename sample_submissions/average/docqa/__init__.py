"""docqa - simple document question answering (retrieval only)."""
from .index import TfidfIndex  # noqa: F401

__version__ = "0.1"
