"""Fingerprints: an identity for each finding that survives edits elsewhere in the file.

Code scanning (SARIF ``partialFingerprints``) matches a finding across pushes by this
identity, so it must not contain the line number. It hashes the tool, the rule, the path
and the finding's source line, normalised: whitespace collapsed and every string literal
emptied, so a credential written on the line never enters the hash. Findings whose
normalised line is the same (two ``print("...")`` calls in one file) are told apart by
their order in the file, as GitHub's own line hash does.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

from grader.core.models import CriterionScore, Finding

# A quoted string with its optional prefix (r, b, f...), or an unterminated one to the end
# of the line (the first line of a triple-quoted string); triple quotes are matched as an
# empty string followed by a quoted one, which empties them just the same.
_STRING_LITERAL = re.compile(r"""(?i)(?:\b[rbuf]{1,2})?(["'])(?:\\.|(?!\1).)*(?:\1|$)""")
_WHITESPACE = re.compile(r"\s+")
MAX_READ_BYTES = 5_000_000
"""Files bigger than this are not read; their findings are fingerprinted without a line."""


def normalized(line: str) -> str:
    """The line as hashed: string literals emptied, whitespace collapsed."""
    return _WHITESPACE.sub(" ", _STRING_LITERAL.sub(r"\1\1", line)).strip()


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode("utf-8", "surrogateescape")).hexdigest()[:32]


class _SourceLines:
    """Each file's lines, read once, only from regular files inside the submission."""

    def __init__(self, root: Path) -> None:
        self._root = root.resolve()
        self._files: dict[str, list[str]] = {}

    def line(self, path: str, number: int | None) -> str:
        if number is None:
            return ""
        if path not in self._files:
            self._files[path] = self._read(path)
        lines = self._files[path]
        return lines[number - 1] if 0 < number <= len(lines) else ""

    def _read(self, path: str) -> list[str]:
        candidate = self._root / path
        try:
            if candidate.is_symlink() or not candidate.is_file():
                return []
            if not candidate.resolve().is_relative_to(self._root):
                return []
            if candidate.stat().st_size > MAX_READ_BYTES:
                return []
            return candidate.read_text(encoding="utf-8", errors="replace").splitlines()
        except (OSError, ValueError):
            return []


def fingerprints(root: Path, findings: Iterable[Finding]) -> dict[Finding, str]:
    """A fingerprint for every distinct finding, read from the sources under ``root``."""
    source = _SourceLines(root)
    groups: dict[tuple[str, ...], list[Finding]] = defaultdict(list)
    for finding in set(findings):
        where = finding.location
        text = normalized(source.line(where.path, where.line))
        groups[(finding.tool, finding.rule_id, where.path, text)].append(finding)
    result: dict[Finding, str] = {}
    for key, members in groups.items():
        ordered = sorted(
            members, key=lambda f: (f.location.line or 0, f.location.column or 0, f.message)
        )
        for occurrence, finding in enumerate(ordered, start=1):
            result[finding] = f"{_digest(*key)}:{occurrence}"
    return result


def with_fingerprints(root: Path, criteria: Iterable[CriterionScore]) -> tuple[CriterionScore, ...]:
    """The criteria with every finding's ``fingerprint`` set."""
    criteria = tuple(criteria)
    known = fingerprints(root, (f for c in criteria for f in c.findings))
    return tuple(
        dataclasses.replace(
            c, findings=tuple(dataclasses.replace(f, fingerprint=known[f]) for f in c.findings)
        )
        for c in criteria
    )
