"""Load and validate an assignment (``assignment.toml``) and merge command-line overrides.

An assignment is what a hiring team set: the rubric, its own hidden tests and what the
candidate may see of them, the starter code, the deadline and a reference solution. A
malformed file is rejected on load with the file, the key and what is wrong, like a rubric.
Relative paths in the file are relative to the file's folder.
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from grader.core.errors import AssignmentError
from grader.core.models import SubmissionKind, Visibility

CALIBRATION_SUFFIX = ".calibration.json"
_TOP_KEYS = {"name", "rubric", "deadline", "reference", "starter", "hidden_tests", "kind"}
_STARTER_KEYS = {"source", "ref", "base"}
_HIDDEN_KEYS = {"path", "visibility", "tests"}


@dataclass(frozen=True)
class Starter:
    """The code the candidate started from: another repository, or a commit of their own."""

    source: str | None = None
    """A git URL or a folder (absolute once loaded)."""
    ref: str | None = None
    base: str | None = None
    """A commit in the submission's own history (``--base``)."""

    @property
    def label(self) -> str:
        """How reports name it."""
        if self.base:
            return f"--base {self.base}"
        return f"{self.source}@{self.ref}" if self.ref else str(self.source)


@dataclass(frozen=True)
class Assignment:
    """A validated assignment; every field optional, so the command line alone can build one."""

    name: str = "assignment"
    path: Path | None = None
    rubric: str | None = None
    hidden_tests: Path | None = None
    default_visibility: Visibility = Visibility.COUNT
    visibility: tuple[tuple[str, Visibility], ...] = ()
    """``file.py`` or ``file.py::test_name`` (relative to the hidden tests folder) -> level."""
    starter: Starter | None = None
    deadline: datetime | None = None
    reference: str | None = None
    kind: SubmissionKind | None = None
    """What the submissions are (service, pipeline, cli, library); None: read from each."""

    def visibility_of(self, test: str) -> Visibility:
        """The level for ``file.py::test_name[params]``: per test, then per file, then default."""
        rules = dict(self.visibility)
        file, _, name = test.partition("::")
        for key in (test, f"{file}::{name.partition('[')[0]}", file):
            if key in rules:
                return rules[key]
        folders = PurePosixPath(file).parents
        for folder in folders:
            if str(folder) != "." and f"{folder}/" in rules:
                return rules[f"{folder}/"]
        return self.default_visibility

    @property
    def calibration_path(self) -> Path | None:
        """Where ``grader calibrate`` stores the floor and ceiling, next to the file."""
        if self.path is None:
            return None
        return self.path.with_name(self.path.stem + CALIBRATION_SUFFIX)

    @property
    def active(self) -> bool:
        """Whether anything here changes how a submission is graded."""
        return bool(self.hidden_tests or self.starter or self.deadline or self.path)

    def to_data(self) -> dict[str, Any]:
        """Plain JSON-ready data (a batch passes the assignment to each worker process)."""
        starter = self.starter
        return {
            "name": self.name,
            "path": None if self.path is None else str(self.path),
            "rubric": self.rubric,
            "hidden_tests": None if self.hidden_tests is None else str(self.hidden_tests),
            "default_visibility": self.default_visibility.value,
            "visibility": [[key, level.value] for key, level in self.visibility],
            "starter": None if starter is None else dataclasses.asdict(starter),
            "deadline": None if self.deadline is None else self.deadline.isoformat(),
            "reference": self.reference,
            "kind": None if self.kind is None else self.kind.value,
        }

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Assignment:
        """The assignment ``to_data`` gave."""
        starter, deadline = data["starter"], data["deadline"]
        return cls(
            name=str(data["name"]),
            path=None if data["path"] is None else Path(data["path"]),
            rubric=data["rubric"],
            hidden_tests=None if data["hidden_tests"] is None else Path(data["hidden_tests"]),
            default_visibility=Visibility(data["default_visibility"]),
            visibility=tuple((str(key), Visibility(level)) for key, level in data["visibility"]),
            starter=None if starter is None else Starter(**starter),
            deadline=None if deadline is None else datetime.fromisoformat(deadline),
            reference=data["reference"],
            kind=None if data.get("kind") is None else SubmissionKind(data["kind"]),
        )


def parse_deadline(value: object, where: str) -> datetime:
    """An ISO-8601 timestamp with a time zone (a deadline without one is ambiguous)."""
    if isinstance(value, datetime):
        stamp = value
    elif isinstance(value, str):
        try:
            stamp = datetime.fromisoformat(value.strip())
        except ValueError:
            raise AssignmentError(
                f"{where}: {value!r} is not an ISO-8601 timestamp "
                "(for example 2024-05-01T18:00:00+02:00)"
            ) from None
    else:
        raise AssignmentError(f"{where}: must be an ISO-8601 timestamp")
    if stamp.tzinfo is None:
        raise AssignmentError(
            f"{where}: {stamp.isoformat()} has no time zone; add one (Z or +02:00)"
        )
    return stamp.astimezone(UTC)


def split_starter(value: str) -> Starter:
    """``URL_OR_PATH[@REF]``: the ref follows the last ``@`` after a path or URL (so
    ``git@host:org/repo`` keeps its user); an existing folder is taken whole."""
    if Path(value).expanduser().exists():
        return Starter(source=value)
    head, at, ref = value.rpartition("@")
    if at and ref and ("/" in head or "." in head or ":" in head) and head != "git":
        return Starter(source=head, ref=ref)
    return Starter(source=value)


def _local_or_url(value: str, folder: Path) -> str:
    """A relative path is relative to the assignment's folder; URLs stay as they are."""
    if "://" in value or value.startswith("git@"):
        return value
    path = Path(value).expanduser()
    return str(path if path.is_absolute() else (folder / path).resolve())


class _Reader:
    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, key: str, problem: str) -> AssignmentError:
        return AssignmentError(f"{self.path}: {key}: {problem}")

    def keys(self, data: Mapping[str, Any], where: str, allowed: set[str]) -> None:
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise self.fail(
                f"{where}{unknown[0]}", f"unknown key (known: {', '.join(sorted(allowed))})"
            )

    def text(self, data: Mapping[str, Any], key: str, where: str = "") -> str | None:
        value = data.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            raise self.fail(f"{where}{key}", "must be a non-empty string")
        return value.strip()

    def table(self, data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
        value = data.get(key, {})
        if not isinstance(value, dict):
            raise self.fail(key, "must be a table")
        return value

    def level(self, value: object, key: str) -> Visibility:
        try:
            return Visibility(str(value))
        except ValueError:
            choices = ", ".join(v.value for v in Visibility)
            raise self.fail(key, f"{value!r} is not a visibility ({choices})") from None


def _hidden(r: _Reader, doc: Mapping[str, Any], folder: Path) -> dict[str, Any]:
    table = r.table(doc, "hidden_tests")
    if not table:
        return {}
    r.keys(table, "hidden_tests.", _HIDDEN_KEYS)
    raw_path = r.text(table, "path", "hidden_tests.")
    if raw_path is None:
        raise r.fail("hidden_tests.path", "required key is missing")
    path = (folder / raw_path).resolve()
    if not path.is_dir():
        raise r.fail("hidden_tests.path", f"{path} is not a folder")
    default = r.level(table.get("visibility", "count"), "hidden_tests.visibility")
    tests = table.get("tests", {})
    if not isinstance(tests, dict):
        raise r.fail("hidden_tests.tests", "must be a table of test or file = visibility")
    rules = []
    for key, value in tests.items():
        file = key.partition("::")[0].rstrip("/")
        if not (path / file).exists():
            raise r.fail(f"hidden_tests.tests.{key!r}", f"no {file} in {path}")
        rules.append((key, r.level(value, f"hidden_tests.tests.{key!r}")))
    return {"hidden_tests": path, "default_visibility": default, "visibility": tuple(rules)}


def _starter(r: _Reader, doc: Mapping[str, Any], folder: Path) -> Starter | None:
    table = r.table(doc, "starter")
    if not table:
        return None
    r.keys(table, "starter.", _STARTER_KEYS)
    source, ref, base = (r.text(table, key, "starter.") for key in ("source", "ref", "base"))
    if source and base:
        raise r.fail("starter.base", "give either starter.source or starter.base, not both")
    if not source and not base:
        raise r.fail("starter.source", "give starter.source (a URL or folder) or starter.base")
    if ref and not source:
        raise r.fail("starter.ref", "needs starter.source")
    return Starter(source=_local_or_url(source, folder) if source else None, ref=ref, base=base)


def parse(path: Path, data: bytes) -> Assignment:
    """Validate assignment ``data`` read from ``path``."""
    r = _Reader(path)
    try:
        doc = tomllib.loads(data.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise AssignmentError(f"{path}: not valid TOML: {exc}") from None
    r.keys(doc, "", _TOP_KEYS)
    folder = path.resolve().parent
    rubric = r.text(doc, "rubric")
    if rubric and (rubric.endswith(".toml") or "/" in rubric):
        rubric = str((folder / rubric).resolve())
    reference = r.text(doc, "reference")
    deadline = doc.get("deadline")
    kind = r.text(doc, "kind")
    kinds = ", ".join(k.value for k in SubmissionKind)
    if kind and kind not in {k.value for k in SubmissionKind}:
        raise r.fail("kind", f"{kind!r} is not a kind of submission ({kinds})")
    return Assignment(
        name=r.text(doc, "name") or path.stem,
        path=path.resolve(),
        rubric=rubric,
        starter=_starter(r, doc, folder),
        deadline=None if deadline is None else parse_deadline(deadline, f"{path}: deadline"),
        reference=_local_or_url(reference, folder) if reference else None,
        kind=SubmissionKind(kind) if kind else None,
        **_hidden(r, doc, folder),
    )


def load(path: Path) -> Assignment:
    """Read and validate an assignment file."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise AssignmentError(f"{path}: cannot read assignment: {exc.strerror}") from None
    return parse(path, data)


def override(
    assignment: Assignment,
    *,
    hidden_tests: Path | None = None,
    starter: str | None = None,
    base: str | None = None,
    deadline: str | None = None,
    rubric: str | None = None,
) -> Assignment:
    """The assignment with what the command line gave; the command line wins."""
    changes: dict[str, Any] = {}
    if hidden_tests is not None:
        if not hidden_tests.is_dir():
            raise AssignmentError(f"--hidden-tests: {hidden_tests} is not a folder")
        changes["hidden_tests"] = hidden_tests.resolve()
    if starter is not None and base is not None:
        raise AssignmentError("give either --starter or --base, not both")
    if starter is not None:
        given = split_starter(starter)
        local = Path(str(given.source)).expanduser()
        if local.exists():  # a folder: absolute, so a batch's workers find it from anywhere
            given = dataclasses.replace(given, source=str(local.resolve()))
        changes["starter"] = given
    if base is not None:
        changes["starter"] = Starter(base=base)
    if deadline is not None:
        changes["deadline"] = parse_deadline(deadline, "--deadline")
    if rubric is not None:
        changes["rubric"] = rubric
    return dataclasses.replace(assignment, **changes)
