"""TF-IDF index with cosine similarity, pure python."""
import logging
import math
import re
from collections import Counter

logger = logging.getLogger(__name__)

STOPWORDS = {
    "a", "an", "the", "and", "or", "of", "to", "in", "is", "are", "was", "it",
    "for", "on", "with", "as", "by", "at", "be", "this", "that", "i", "do",
    "how", "what", "can", "you",
}


def tokenize(text: str) -> list[str]:
    """Lowercase and split on non-alphanumeric characters, drop stopwords."""
    tokens = re.findall(r"[a-z0-9]+", text.lower())
    return [t for t in tokens if t not in STOPWORDS]


class TfidfIndex:
    """Stores chunks and their tf-idf vectors.

    Call `build()` after adding chunks.
    """

    def __init__(self):
        self.chunks = []  # list of dicts with source, chunk_id, text
        self.vectors: list[dict[str, float]] = []
        self.idf: dict[str, float] = {}
        self.norms: list[float] = []

    def add_chunks(self, chunks):
        self.chunks.extend(chunks)

    def build(self):
        """Compute idf and the normalized tf-idf vector for every chunk."""
        n_docs = len(self.chunks)
        doc_freq = Counter()
        term_counts = []
        for chunk in self.chunks:
            counts = Counter(tokenize(chunk["text"]))
            term_counts.append(counts)
            doc_freq.update(counts.keys())

        # smoothed idf, same as sklearn
        self.idf = {term: math.log((1 + n_docs) / (1 + df)) + 1 for term, df in doc_freq.items()}

        self.vectors = []
        self.norms = []
        for counts in term_counts:
            vec = {term: (1 + math.log(tf)) * self.idf[term] for term, tf in counts.items()}
            self.vectors.append(vec)
            self.norms.append(math.sqrt(sum(v * v for v in vec.values())))
        logger.info("Built index: %d chunks, %d terms", n_docs, len(self.idf))

    def search(self, query: str, top_k: int = 5, min_score: float = 0.0) -> list[dict]:
        """Return the top_k chunks most similar to the query (cosine similarity)."""
        if not query or not query.strip():
            raise ValueError("query is empty")
        if top_k < 1:
            raise ValueError("top_k must be >= 1")
        if not self.vectors:
            if self.chunks:
                logger.warning("search() called before build(), building now")
                self.build()
            else:
                return []

        q_counts = Counter(tokenize(query))
        q_vec = {}
        for term, tf in q_counts.items():
            if term in self.idf:
                q_vec[term] = (1 + math.log(tf)) * self.idf[term]
            else:
                logger.debug("query term %r not in vocabulary", term)
        if not q_vec:
            return []
        q_norm = math.sqrt(sum(v * v for v in q_vec.values()))

        scored = []
        for i, vec in enumerate(self.vectors):
            if self.norms[i] == 0:
                continue
            dot = 0.0
            for term, weight in q_vec.items():
                if term in vec:
                    dot += weight * vec[term]
            if dot > 0:
                score = dot / (q_norm * self.norms[i])
                if score > min_score:
                    scored.append((score, i))

        scored.sort(key=lambda x: (-x[0], x[1]))
        results = []
        for score, i in scored[:top_k]:
            chunk = self.chunks[i]
            results.append(
                {
                    "score": round(score, 4),
                    "source": chunk["source"],
                    "chunk_id": chunk["chunk_id"],
                    "text": chunk["text"],
                }
            )
        return results

    def to_dict(self):
        return {"chunks": self.chunks, "idf": self.idf, "vectors": self.vectors, "norms": self.norms}

    @classmethod
    def from_dict(cls, data):
        idx = cls()
        idx.chunks = data["chunks"]
        idx.idf = data["idf"]
        idx.vectors = data["vectors"]
        idx.norms = data["norms"]
        return idx
