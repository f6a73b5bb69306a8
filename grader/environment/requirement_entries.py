"""What every reader of a packaging file shares: the entries it collects and how it
reaches into the file's data.

A reader (one per format: requirement_files, lock_files, packaging_declarations,
poetry_declarations) adds each entry it finds to a ``Collector`` and returns a one-line
detail saying what it read; ``grader.environment.requirements`` records that as a
``Source``. The collector re-parses every entry as a PEP 508 requirement and keeps it in
canonical form, so nothing from the submission reaches the installer as an option
(``--index-url``, ``-e``, direct URLs and paths are reported and left out). A name declared
as a direct reference (a git, path or URL dependency) still counts as declared, and no
index package of that name is ever installed in its place. Files are decoded by their
byte-order mark. The data helpers check every level's shape: a packaging file is
untrusted input.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from grader.acquire.workspace import Workspace
from grader.core import text

# Extras and dependency groups meant for running the tests.
TEST_EXTRAS = ("test", "tests", "testing", "dev", "develop", "development")
# pip's rule for a comment: "#" at the start or after any whitespace, a tab included.
# PEP 508 allows "#" only inside a URL, where no whitespace precedes it.
_COMMENT = re.compile(r"(?:^|\s)#.*$")
# Options that name another requirements file.
_INCLUDE_OPTIONS = frozenset({"-r", "--requirement", "-c", "--constraint"})
# A line pip installs from a path or a URL alone, with no name to read.
_LOCATION = re.compile(r"[./~]|[\w+.-]+://|file:", re.IGNORECASE)
_VCS_SCHEMES = ("git+", "hg+", "svn+", "bzr+")


@dataclass(frozen=True)
class Source:
    """A packaging file, whether its requirements were used, and how or why not."""

    path: str
    used: bool
    detail: str


class Collector:
    """Validates entries one by one, keeping what is installable and noting the rest."""

    def __init__(self, project: str | None = None) -> None:
        self.project = canonicalize_name(project) if project else None
        self.items: dict[str, str] = {}
        self.references: set[str] = set()
        self.problems: list[str] = []

    def add(self, raw: str, where: str) -> None:
        line = _COMMENT.sub("", raw).strip()
        if not line:
            return
        if line.startswith("-"):
            self._option(line, where)
            return
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            if _LOCATION.match(line):  # its URL is not repeated: it may hold a token
                self.problems.append(f"{where}: a path or URL without a name, not installed")
            else:
                self.problems.append(f"{where}: {line[:80]!r} is not a valid requirement")
            return
        name = canonicalize_name(requirement.name)
        if requirement.url:
            self.reference(name, where, _kind(requirement.url))
        elif name != self.project:  # the project's own extras are expanded where read
            # One entry per name and environment marker: the first source in preference wins.
            self.items.setdefault(f"{name};{requirement.marker}", str(requirement))

    def _option(self, line: str, where: str) -> None:
        option = re.split(r"[\s=]", line, maxsplit=1)[0]
        if option in _INCLUDE_OPTIONS:
            self.problems.append(f"{where}: {line[:80]!r} names no file of the submission")
        else:
            self.problems.append(f"{where}: option {option!r} ignored")

    def reference(self, name: str, where: str, kind: str) -> None:
        """``name`` comes from ``kind`` (a git repository, a path, a URL), not the package
        index: it counts as declared, and nothing is installed for it. Its URL is not
        repeated: it may hold a token."""
        name = canonicalize_name(name)
        if name == self.project or name in self.references:
            return
        self.references.add(name)
        self.problems.append(
            f"{where}: {name} comes from {kind}, not the package index: not installed "
            "(grader installs only from the index, and never an index package in its place)"
        )

    def installable(self) -> tuple[str, ...]:
        """The entries to install, sorted: never one whose name is declared elsewhere as a
        direct reference, which an index package of the same name would impersonate."""
        kept = (v for k, v in self.items.items() if k.split(";", 1)[0] not in self.references)
        return tuple(sorted(kept))

    def declared(self) -> set[str]:
        return {key.split(";", 1)[0] for key in self.items} | self.references


def _kind(url: str) -> str:
    if url.lower().startswith(_VCS_SCHEMES):
        return "a version control repository"
    return "a path" if url.lower().startswith("file:") else "a URL"


def read_text(ws: Workspace, name: str) -> str:
    """A packaging file's text, decoded by its byte-order mark (a Windows editor saves
    UTF-16), with ``\\n`` line endings; undecodable bytes are replaced, never fatal."""
    return text.read_text(ws.path(name))


def read_toml(ws: Workspace, name: str) -> dict[str, Any]:
    """A TOML packaging file as data; empty when it is not valid TOML."""
    try:
        return tomllib.loads(read_text(ws, name))
    except tomllib.TOMLDecodeError:
        return {}


def table_at(data: Any, *keys: str) -> dict[str, Any]:
    """The table at ``keys``, or an empty one when any level is missing or not a table."""
    for key in keys:
        data = data.get(key, {}) if isinstance(data, dict) else {}
    return data if isinstance(data, dict) else {}


def tables_at(data: Any, key: str) -> list[dict[str, Any]]:
    """An array of tables, keeping only the entries that are tables."""
    values = data.get(key, []) if isinstance(data, dict) else []
    return [v for v in values if isinstance(v, dict)] if isinstance(values, list) else []


def strings_at(table: Any, key: str) -> list[str]:
    """String entries of ``table[key]`` when both are the right shape, else nothing."""
    values = table.get(key, []) if isinstance(table, dict) else []
    return [v for v in values if isinstance(v, str)] if isinstance(values, list) else []
