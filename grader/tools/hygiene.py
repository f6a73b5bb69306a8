"""What should never have been committed: byte-code caches, virtual environments, local
databases, a filled-in ``.env``, editor and OS droppings. Part of the facts tool.

A reviewer notices these in the first minute of opening a repository: they show the
candidate has no ``.gitignore`` habit, and a virtual environment or a database can carry
machine paths and personal data. A git source's checkout holds exactly what was
committed; a folder or an archive is what the candidate chose to hand in (grader's copy
of a plain folder leaves byte-code caches out, so those are charged only when
committed). Each folder counts once, however many files it holds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath

from grader.acquire.workspace import Workspace
from grader.core.models import Finding, Location, Severity

ARTIFACT_RULE = "committed-artifact"

_CACHE_FOLDERS = frozenset(
    {"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".tox", ".nox",
     ".ipynb_checkpoints", "htmlcov", ".hypothesis"}
)  # fmt: skip
_ENVIRONMENT_FOLDERS = frozenset({"venv", ".venv", "virtualenv", "site-packages"})
_OTHER_FOLDERS = {"node_modules": "installed npm packages", ".idea": "an editor's settings"}
_LOCAL_DATABASE = re.compile(r"\.(sqlite3?|db)$", re.IGNORECASE)
_BYTE_CODE = re.compile(r"\.py[co]$")
_FILLED_ENV = re.compile(r"^\s*(?:export\s+)?[A-Za-z_][A-Za-z0-9_]*\s*=\s*\S", re.MULTILINE)
_EXAMPLE_WORDS = ("example", "sample", "template", "dist", "defaults", "test")


@dataclass(frozen=True)
class Artifact:
    """One committed path that should not be in the repository, and what it is."""

    path: str
    what: str


def _folder(ws: Workspace, relative: str) -> str | None:
    name = PurePosixPath(relative).name
    if name in _CACHE_FOLDERS:
        return "a cache of generated files"
    if name in _OTHER_FOLDERS:
        return _OTHER_FOLDERS[name]
    root = ws.path(relative)
    if (
        name in _ENVIRONMENT_FOLDERS
        or (root / "pyvenv.cfg").is_file()
        or (root / "bin" / "activate").is_file()
    ):
        return "a virtual environment"
    return None


def _is_env_file(name: str) -> bool:
    lowered = name.lower()
    # .env, .env.local, .env-development, .env_prod, prod.env
    is_env = lowered == ".env" or lowered.startswith((".env.", ".env-", ".env_"))
    is_env = is_env or lowered.endswith(".env")
    return is_env and not any(word in lowered for word in _EXAMPLE_WORDS)


def _file(ws: Workspace, relative: str) -> str | None:
    name = PurePosixPath(relative).name
    if name == ".DS_Store":
        return "macOS folder metadata"
    if _BYTE_CODE.search(name):
        return "compiled byte-code"
    if _LOCAL_DATABASE.search(name):
        return "a local database"
    if _is_env_file(name):
        try:
            text = ws.path(relative).read_text(encoding="utf-8", errors="replace")[:100_000]
        except OSError:
            return None
        return "a filled-in environment file" if _FILLED_ENV.search(text) else None
    return None


def committed_artifacts(ws: Workspace) -> list[Artifact]:
    """Every artifact in the submission, folders first, in path order."""
    folders = [Artifact(f, what) for f in ws.unentered if (what := _folder(ws, f))]
    # a virtual environment under a name the inventory entered: found by its pyvenv.cfg
    folders += [
        Artifact(str(PurePosixPath(f).parent), "a virtual environment")
        for f in ws.files
        if PurePosixPath(f).name == "pyvenv.cfg" and "/" in f
    ]
    inside = tuple(f"{a.path}/" for a in folders)
    files = [
        Artifact(f, what)
        for f in ws.files
        if not f.startswith(inside) and (what := _file(ws, f)) is not None
    ]
    return sorted(folders, key=lambda a: a.path) + files


def finding(artifact: Artifact) -> Finding:
    """The report's line for one artifact."""
    return Finding(
        "facts",
        ARTIFACT_RULE,
        f"{artifact.path} is {artifact.what}, committed with the code: "
        "remove it and list it in .gitignore",
        Severity.MEDIUM,
        Location(artifact.path),
    )


def legacy_encodings(ws: Workspace) -> list[Finding]:
    """Python files saved in a legacy encoding: valid (PEP 263), read correctly, and
    worth a word, since Python 3 and every tool expect UTF-8 (PEP 3120)."""
    return [
        Finding(
            tool="facts",
            rule_id="legacy-encoding",
            message=(
                f"saved as {encoding}, as its coding line declares: Python 3 sources are "
                "UTF-8 by default (PEP 3120), and tools that read only UTF-8 would skip "
                "it; grader analysed it re-encoded as UTF-8, line for line"
            ),
            severity=Severity.INFO,
            location=Location(path, 1),
        )
        for path, encoding in ws.transcoded
    ]
