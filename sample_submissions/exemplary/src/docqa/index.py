"""A hand-written Okapi BM25 index over text chunks.

For a query ``Q`` with terms ``q`` and a chunk ``D`` the score is::

    score(D, Q) = sum over q of  idf(q) * tf(q, D) * (k1 + 1)
                                 / (tf(q, D) + k1 * (1 - b + b * |D| / avgdl))

    idf(q) = ln(1 + (N - df(q) + 0.5) / (df(q) + 0.5))

where ``N`` is the number of chunks, ``df`` the number of chunks containing the
term, ``|D|`` the chunk length in terms and ``avgdl`` the mean chunk length.
The ``1 +`` inside the logarithm (as used by Lucene) keeps the idf positive
even for terms that occur in more than half of the chunks.

The index is an inverted index: for each term, a list of ``(chunk_id, tf)``
postings. Searching touches only the postings of the query terms.
"""

import heapq
import math
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from docqa.chunking import Chunk
from docqa.errors import IndexFormatError, ValidationError
from docqa.text import tokenize

MAX_K1 = 10.0

Posting = tuple[int, int]
"""A ``(chunk_id, term_frequency)`` pair."""


@dataclass(frozen=True, slots=True)
class BM25Params:
    """BM25 free parameters.

    Attributes:
        k1: Term-frequency saturation, typically 1.2 to 2.0 (range 0 to 10).
        b: Length normalisation strength, between 0 (none) and 1 (full).

    """

    k1: float = 1.5
    b: float = 0.75

    def __post_init__(self) -> None:
        """Validate the parameters.

        Raises:
            ValidationError: If a parameter is not finite or out of range.

        """
        if not (math.isfinite(self.k1) and 0.0 <= self.k1 <= MAX_K1):
            raise ValidationError(f"k1 must be between 0 and {MAX_K1}, got {self.k1}")
        if not (math.isfinite(self.b) and 0.0 <= self.b <= 1.0):
            raise ValidationError(f"b must be between 0 and 1, got {self.b}")


@dataclass(frozen=True, slots=True)
class SearchResult:
    """One ranked chunk returned by a search.

    Attributes:
        rank: 1-based position in the result list.
        score: BM25 score; higher is more relevant.
        chunk: The matching chunk.

    """

    rank: int
    score: float
    chunk: Chunk

    def to_dict(self) -> dict[str, object]:
        """Return a JSON-serialisable representation of the result."""
        return {
            "rank": self.rank,
            "score": round(self.score, 6),
            "source": self.chunk.source,
            "chunk": self.chunk.ordinal,
            "start": self.chunk.start,
            "end": self.chunk.end,
            "text": self.chunk.text,
        }


class BM25Index:
    """An immutable BM25 index over a sequence of chunks."""

    def __init__(
        self,
        chunks: Sequence[Chunk],
        postings: Mapping[str, Sequence[Posting]],
        lengths: Sequence[int],
        params: BM25Params,
    ) -> None:
        """Create an index from precomputed statistics.

        Use :meth:`build` to index chunks; this constructor is meant for
        deserialisation and therefore checks that the statistics are coherent.

        Args:
            chunks: The indexed chunks; their position is their chunk id.
            postings: For every term, its ``(chunk_id, tf)`` postings.
            lengths: Number of terms in each chunk.
            params: BM25 parameters.

        Raises:
            IndexFormatError: If the statistics are inconsistent.

        """
        if len(lengths) != len(chunks):
            raise IndexFormatError("there must be exactly one length per chunk")
        if any(length < 0 for length in lengths):
            raise IndexFormatError("chunk lengths must not be negative")
        self._chunks = tuple(chunks)
        self._lengths = tuple(lengths)
        self._postings = {term: tuple(entries) for term, entries in postings.items()}
        self._params = params
        self._check_postings()
        total = sum(self._lengths)
        self._avgdl = total / len(self._lengths) if total else 1.0

    def _check_postings(self) -> None:
        """Ensure every posting refers to an existing chunk with a positive tf."""
        count = len(self._chunks)
        for term, entries in self._postings.items():
            for chunk_id, frequency in entries:
                if not 0 <= chunk_id < count or frequency <= 0:
                    raise IndexFormatError(
                        f"invalid posting {chunk_id},{frequency} for {term!r}"
                    )

    @classmethod
    def build(
        cls, chunks: Sequence[Chunk], params: BM25Params | None = None
    ) -> "BM25Index":
        """Tokenise and index ``chunks``.

        Args:
            chunks: Chunks to index.
            params: BM25 parameters; defaults to :class:`BM25Params()`.

        Returns:
            The new index.

        """
        postings: defaultdict[str, list[Posting]] = defaultdict(list)
        lengths: list[int] = []
        for chunk_id, chunk in enumerate(chunks):
            terms = tokenize(chunk.text)
            lengths.append(len(terms))
            for term, frequency in Counter(terms).items():
                postings[term].append((chunk_id, frequency))
        return cls(chunks, postings, lengths, params or BM25Params())

    @property
    def chunks(self) -> tuple[Chunk, ...]:
        """The indexed chunks, in chunk-id order."""
        return self._chunks

    @property
    def lengths(self) -> tuple[int, ...]:
        """Number of terms per chunk, in chunk-id order."""
        return self._lengths

    @property
    def postings(self) -> Mapping[str, tuple[Posting, ...]]:
        """The inverted index: term to ``(chunk_id, tf)`` postings."""
        return self._postings

    @property
    def params(self) -> BM25Params:
        """The BM25 parameters used for scoring."""
        return self._params

    @property
    def sources(self) -> frozenset[str]:
        """The distinct source documents of the indexed chunks."""
        return frozenset(chunk.source for chunk in self._chunks)

    def idf(self, term: str) -> float:
        """Return the inverse document frequency of an (already normalised) term."""
        frequency = len(self._postings.get(term, ()))
        count = len(self._chunks)
        return math.log(1.0 + (count - frequency + 0.5) / (frequency + 0.5))

    def search(self, query: str, top_k: int) -> list[SearchResult]:
        """Return the ``top_k`` best-scoring chunks for ``query``.

        Chunks that share no term with the query are never returned. Ties are
        broken by chunk id, so results are deterministic.

        Args:
            query: Free-text query.
            top_k: Maximum number of results; must be positive.

        Returns:
            Results ordered by decreasing score.

        Raises:
            ValidationError: If ``top_k`` is not positive.

        """
        if top_k <= 0:
            raise ValidationError(f"top_k must be positive, got {top_k}")
        scores = self._score(tokenize(query))
        best = heapq.nlargest(
            top_k, scores.items(), key=lambda item: (item[1], -item[0])
        )
        return [
            SearchResult(rank=rank, score=score, chunk=self._chunks[chunk_id])
            for rank, (chunk_id, score) in enumerate(best, start=1)
        ]

    def _score(self, terms: Sequence[str]) -> dict[int, float]:
        """Accumulate BM25 scores for every chunk containing a query term."""
        scores: defaultdict[int, float] = defaultdict(float)
        for term in dict.fromkeys(terms):
            idf = self.idf(term)
            for chunk_id, frequency in self._postings.get(term, ()):
                scores[chunk_id] += idf * self._saturate(
                    frequency, self._lengths[chunk_id]
                )
        return scores

    def _saturate(self, frequency: int, length: int) -> float:
        """Return the length-normalised, saturated term-frequency component."""
        k1, b = self._params.k1, self._params.b
        norm = k1 * (1.0 - b + b * length / self._avgdl)
        return frequency * (k1 + 1.0) / (frequency + norm)
