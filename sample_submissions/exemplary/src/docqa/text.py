"""Text normalisation and tokenisation shared by indexing and querying.

Tokenisation is intentionally simple and deterministic: Unicode NFKC
normalisation, case folding, splitting on anything that is not a letter or a
digit, and removal of a small list of English stop words. The same function is
used for documents and queries, which is the property that matters most for
lexical ranking.
"""

import re
import unicodedata

_TOKEN_RE = re.compile(r"[^\W_]+")

# fmt: off
STOP_WORDS: frozenset[str] = frozenset(
    {
        "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "from",
        "has", "have", "he", "her", "his", "i", "if", "in", "into", "is", "it",
        "its", "of", "on", "or", "our", "she", "so", "that", "the", "their",
        "them", "then", "there", "these", "they", "this", "to", "was", "we",
        "were", "will", "with", "you", "your",
    }
)
# fmt: on


def tokenize(text: str) -> list[str]:
    """Split ``text`` into normalised index terms.

    Args:
        text: Arbitrary Unicode text.

    Returns:
        The terms in order of appearance, lower-cased, without stop words.

    """
    normalised = unicodedata.normalize("NFKC", text).casefold()
    return [token for token in _TOKEN_RE.findall(normalised) if token not in STOP_WORDS]
