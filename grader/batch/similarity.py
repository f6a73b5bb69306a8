"""Candidates whose own code is suspiciously alike, found with copydetect.

copydetect tokenises Python with Pygments and replaces every variable, function and
class name with one letter before taking winnowed k-gram fingerprints (the MOSS
method), so renaming identifiers changes nothing and reordering functions only moves
where the shared fingerprints sit. Each candidate's analysed source files (tests and
``--exclude``d paths left out) form one document. The assignment's starter code never
counts: a file the candidate kept exactly as given is left out, and the starter's files
are copydetect's boilerplate, whose fingerprints are removed from every document, so
code two candidates share only because both were given it (in files they changed too)
is not theirs. A pair is reported when the larger of the two shares (how much of one
candidate's code appears in the other's) reaches the threshold.
"""

from __future__ import annotations

import bisect
import io
import itertools
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from grader.core.batch_models import SimilarPair, SourceRegion

# copydetect's defaults: fingerprints of 25 filtered characters, every one kept (window 1).
NOISE_THRESHOLD = 25
GUARANTEE_THRESHOLD = 25
MAX_REGIONS = 12
MAX_REGION_LINES = 60


@dataclass(frozen=True)
class Document:
    """One candidate's files joined into one text, remembering where each file starts."""

    text: str
    starts: tuple[int, ...]
    paths: tuple[str, ...]

    @classmethod
    def of(cls, files: Mapping[str, str]) -> Document:
        """Join ``files`` in path order, each ending with a newline."""
        parts, starts, offset = [], [], 0
        for path in sorted(files):
            text = files[path] if files[path].endswith("\n") else files[path] + "\n"
            starts.append(offset)
            parts.append(text)
            offset += len(text)
        return cls("".join(parts), tuple(starts), tuple(sorted(files)))

    def regions(self, slices: Any) -> tuple[SourceRegion, ...]:
        """Whole-line regions covering the copied character ranges, per file, merged."""
        spans: dict[int, list[tuple[int, int]]] = {}
        for first, last in zip(slices[0], slices[1], strict=True):
            start, end = int(first), int(last)
            while start < end:  # a copied range may run on into the next file
                number = bisect.bisect_right(self.starts, start) - 1
                file_end = self._end(number)
                spans.setdefault(number, []).append((start, min(end, file_end)))
                start = file_end
        found = [self._region(n, span) for n in sorted(spans) for span in _merge(spans[n])]
        return tuple(found[:MAX_REGIONS])

    def _end(self, number: int) -> int:
        return self.starts[number + 1] if number + 1 < len(self.starts) else len(self.text)

    def _region(self, number: int, span: tuple[int, int]) -> SourceRegion:
        base = self.starts[number]
        body = self.text[base : self._end(number)]
        first = body.count("\n", 0, span[0] - base) + 1
        last = body.count("\n", 0, max(span[1] - base - 1, span[0] - base)) + 1
        lines = body.splitlines()[first - 1 : last]
        if len(lines) > MAX_REGION_LINES:
            lines = [*lines[:MAX_REGION_LINES], f"... {len(lines) - MAX_REGION_LINES} more lines"]
        return SourceRegion(self.paths[number], first, last, "\n".join(lines))


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _boilerplate(starter: Iterable[str]) -> list[Any]:
    """Every k-gram fingerprint of the starter's files (window 1, as copydetect takes them)."""
    from copydetect import CodeFingerprint  # noqa: PLC0415

    hashes: set[Any] = set()
    for number, text in enumerate(sorted(set(starter))):
        hashes.update(
            CodeFingerprint(
                f"starter-{number}.py", NOISE_THRESHOLD, 1, language="python", fp=io.StringIO(text)
            ).hashes
        )
    return sorted(hashes)


def similar_pairs(
    sources: Mapping[str, Mapping[str, str]], threshold: float, starter: Iterable[str] = ()
) -> tuple[SimilarPair, ...]:
    """Every pair of candidates whose code overlaps at least ``threshold`` (0-1), code
    found in the ``starter`` files' texts left out."""
    if len(sources) < 2:
        return ()
    # copydetect imports numpy and matplotlib: only pay for them when comparing.
    from copydetect import CodeFingerprint, compare_files  # noqa: PLC0415

    given = set(starter)
    boilerplate = _boilerplate(given)
    # An untouched starter file is left out whole: a match may run a few characters past
    # the end of one file into the next, which would show given code as shared.
    documents = {
        candidate: Document.of({path: text for path, text in files.items() if text not in given})
        for candidate, files in sources.items()
    }
    prints = {
        candidate: CodeFingerprint(
            f"{candidate}.py",
            NOISE_THRESHOLD,
            GUARANTEE_THRESHOLD - NOISE_THRESHOLD + 1,
            boilerplate=boilerplate,
            language="python",
            fp=io.StringIO(document.text),
        )
        for candidate, document in documents.items()
    }
    pairs = []
    for first, second in itertools.combinations(sorted(prints), 2):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a file of nothing but names
            _, shares, slices = compare_files(prints[first], prints[second])
        share_first, share_second = (round(float(s), 3) for s in shares)
        if max(share_first, share_second) < threshold:
            continue
        pairs.append(
            SimilarPair(
                first,
                second,
                share_first,
                share_second,
                documents[first].regions(slices[0]),
                documents[second].regions(slices[1]),
            )
        )
    return tuple(sorted(pairs, key=lambda p: (-p.score, p.first, p.second)))
