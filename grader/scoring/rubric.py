"""Load a rubric (TOML) and validate it against the metric registry.

A malformed rubric is rejected on load with the file, the key and what is wrong, so a
typo can never silently turn into a zero.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from grader.core.errors import RubricError
from grader.core.models import Band, Decision, RubricInfo, SubmissionKind

DEFAULT_GRADES = (("A", 90.0), ("B", 80.0), ("C", 70.0), ("D", 60.0), ("F", 0.0))
# How a hiring team reads a letter: A and B advance, C and D are discussed, F is rejected.
DEFAULT_DECISIONS = (
    ("A", Decision.ADVANCE),
    ("B", Decision.ADVANCE),
    ("C", Decision.DISCUSS),
    ("D", Decision.DISCUSS),
    ("F", Decision.REJECT),
)
MAX_WEIGHT = 100.0


def builtin_dir() -> Traversable:
    """rubrics/ of the repository: installed as grader.rubrics, or read from a checkout."""
    try:
        return resources.files("grader.rubrics")
    except ModuleNotFoundError:  # running from the repository (editable install)
        return Path(__file__).resolve().parents[2] / "rubrics"


@dataclass(frozen=True)
class Curve:
    """Piecewise-linear points: value -> 0..100, flat beyond the ends."""

    points: tuple[tuple[float, float], ...]

    def __call__(self, value: float) -> float:
        """Points earned for ``value``."""
        xs = self.points
        if value <= xs[0][0]:
            return xs[0][1]
        for (x0, y0), (x1, y1) in itertools.pairwise(xs):
            if value <= x1:
                return y0 + (y1 - y0) * (value - x0) / (x1 - x0)
        return xs[-1][1]

    @property
    def full_marks_at(self) -> tuple[str, float]:
        """Where the curve first reaches its best score, and in which direction."""
        best = max(y for _, y in self.points)
        if self.points[0][1] == best:
            return "<=", max(x for x, y in self.points if y == best)
        return ">=", min(x for x, y in self.points if y == best)


@dataclass(frozen=True)
class MetricRule:
    """How one metric scores inside a criterion."""

    metric: str
    weight: float
    curve: Curve
    rationale: str
    required: bool = False
    """When this metric cannot be measured, neither can the criterion."""
    applies_to: frozenset[SubmissionKind] = frozenset(SubmissionKind)
    """The kinds of submission this metric is expected of; scored for no other."""
    deduction: bool = False
    """Only subtracts: a check for a defect whose absence is no merit (a test that
    leaves files behind, DEBUG left on). What it charges comes off the criterion as if
    it took part in the mean; at full marks it takes no part, so a check nearly every
    submission passes does not dilute what the other metrics charge."""


@dataclass(frozen=True)
class Cap:
    """An upper bound on a criterion while a metric is above a value."""

    metric: str
    above: float
    cap: float
    reason: str


@dataclass(frozen=True)
class Criterion:
    """One hiring criterion: weighted metrics, optional caps, finding selectors."""

    id: str
    name: str
    weight: float
    rationale: str
    metrics: tuple[MetricRule, ...]
    caps: tuple[Cap, ...]
    findings: tuple[str, ...]
    applies_to: frozenset[SubmissionKind] = frozenset(SubmissionKind)
    """The kinds of submission this criterion is expected of; scored for no other."""


@dataclass(frozen=True)
class Rubric:
    """A validated rubric."""

    info: RubricInfo
    description: str
    criteria: tuple[Criterion, ...]
    grades: tuple[tuple[str, float], ...]
    source: str = ""
    """What the rationales quote ("the article ... by ..."), named for readers of explain."""
    decisions: tuple[tuple[str, Decision], ...] = DEFAULT_DECISIONS
    """What a hiring team does with each letter."""
    calibration: str = ""
    """How the grade floors were set, said in every report."""

    def grade(self, score: float) -> str:
        """Letter for a 0-100 score."""
        return next(letter for letter, floor in self.grades if score >= floor)

    def band(self, score: float) -> Band:
        """The decision ``score`` falls into, with its letter's range."""
        letter = self.grade(score)
        floors = dict(self.grades)
        higher = [floor for _, floor in self.grades if floor > floors[letter]]
        return Band(
            dict(self.decisions).get(letter, Decision.DISCUSS),
            floors[letter],
            min(higher) if higher else None,
            self.calibration,
        )

    def without(self, *ids: str) -> Rubric:
        """The rubric minus criteria that have nothing to measure in this grade (Correctness
        without hidden tests): left out, not reported as "not measured"."""
        kept = tuple(c for c in self.criteria if c.id not in ids)
        return dataclasses.replace(self, criteria=kept) if kept else self

    def for_kind(self, kind: SubmissionKind) -> tuple[Rubric, tuple[str, ...]]:
        """The rubric without what does not apply to ``kind``, and what was left out, as
        the report names it ("Observability", "Packaging & deployment: deploy.container")."""
        kept: list[Criterion] = []
        left_out: list[str] = []
        for criterion in self.criteria:
            metrics = tuple(m for m in criterion.metrics if kind in m.applies_to)
            if kind not in criterion.applies_to or not metrics:
                left_out.append(criterion.name)
                continue
            left_out += [
                f"{criterion.name}: {m.metric}" for m in criterion.metrics if m not in metrics
            ]
            kept.append(dataclasses.replace(criterion, metrics=metrics))
        if not kept:
            return self, ()
        return dataclasses.replace(self, criteria=tuple(kept)), tuple(left_out)

    def floor_of(self, letter: str) -> float | None:
        """The lowest score that earns ``letter``, when the rubric has it."""
        return dict(self.grades).get(letter)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class _Reader:
    """Typed access to TOML values that names the exact key when something is wrong."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, key: str, problem: str) -> RubricError:
        return RubricError(f"{self.path}: {key}: {problem}")

    def table(
        self, data: Mapping[str, Any], key: str, allowed: set[str], required: set[str]
    ) -> None:
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise self.fail(f"{key}.{unknown[0]}" if key else unknown[0], "unknown key")
        missing = sorted(required - set(data))
        if missing:
            raise self.fail(f"{key}.{missing[0]}" if key else missing[0], "required key is missing")

    def string(
        self, data: Mapping[str, Any], key: str, where: str, default: str | None = None
    ) -> str:
        value = data.get(key, default)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(f"{where}{key}", "must be a non-empty string")
        return value

    def number(
        self, data: Mapping[str, Any], key: str, where: str, low: float, high: float
    ) -> float:
        value = data.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(f"{where}{key}", "must be a number")
        if not low <= value <= high:
            raise self.fail(f"{where}{key}", f"{value} is out of range ({low:g} to {high:g})")
        return float(value)

    def point(self, pair: Any, key: str) -> tuple[float, float]:
        if not isinstance(pair, list) or len(pair) != 2 or not all(map(_is_number, pair)):
            raise self.fail(key, f"{pair!r} is not a [value, points] pair of numbers")
        if not 0 <= pair[1] <= 100:
            raise self.fail(key, f"points {pair[1]} out of range (0 to 100)")
        return float(pair[0]), float(pair[1])

    def table_list(self, data: Mapping[str, Any], key: str, where: str) -> list[Any]:
        value = data.get(key, [])
        if not isinstance(value, list):
            raise self.fail(f"{where}{key}", "must be a list")
        return value

    def kinds(self, data: Mapping[str, Any], where: str) -> frozenset[SubmissionKind]:
        """``applies_to``: a list of kinds of submission; every kind when left out."""
        if "applies_to" not in data:
            return frozenset(SubmissionKind)
        raw = data["applies_to"]
        names = ", ".join(kind.value for kind in SubmissionKind)
        if not isinstance(raw, list) or not raw:
            raise self.fail(f"{where}applies_to", f"must be a non-empty list of: {names}")
        try:
            return frozenset(SubmissionKind(item) for item in raw)
        except ValueError:
            raise self.fail(f"{where}applies_to", f"{raw!r} names a kind not in: {names}") from None

    def curve(self, data: Mapping[str, Any], where: str) -> Curve:
        raw = data.get("points")
        key = f"{where}points"
        if not isinstance(raw, list) or len(raw) < 2:
            raise self.fail(key, "must be a list of at least two [value, points] pairs")
        pairs = [self.point(pair, key) for pair in raw]
        if any(b[0] <= a[0] for a, b in itertools.pairwise(pairs)):
            raise self.fail(key, "values must be strictly increasing")
        return Curve(tuple(pairs))


def _metric_rule(r: _Reader, data: Any, where: str, known: Mapping[str, object]) -> MetricRule:
    if not isinstance(data, dict):
        raise r.fail(where.rstrip("."), "must be a table")
    r.table(
        data,
        where.rstrip("."),
        {"metric", "weight", "points", "rationale", "required", "applies_to", "deduction"},
        {"metric", "points"},
    )
    metric = r.string(data, "metric", where)
    if metric not in known:
        raise r.fail(f"{where}metric", f"unknown metric {metric!r}")
    weight = r.number({"weight": data.get("weight", 1)}, "weight", where, 0.0, MAX_WEIGHT)
    if weight == 0:
        raise r.fail(f"{where}weight", "must be above 0")
    rationale = r.string(data, "rationale", where)
    required = data.get("required", False)
    if not isinstance(required, bool):
        raise r.fail(f"{where}required", "must be true or false")
    deduction = data.get("deduction", False)
    if not isinstance(deduction, bool):
        raise r.fail(f"{where}deduction", "must be true or false")
    if deduction and required:
        raise r.fail(f"{where}deduction", "a deduction cannot be required")
    curve = r.curve(data, where)
    return MetricRule(metric, weight, curve, rationale, required, r.kinds(data, where), deduction)


def _cap(r: _Reader, data: Any, where: str, known: Mapping[str, object]) -> Cap:
    if not isinstance(data, dict):
        raise r.fail(where.rstrip("."), "must be a table")
    r.table(
        data,
        where.rstrip("."),
        {"metric", "above", "cap", "reason"},
        {"metric", "above", "cap", "reason"},
    )
    metric = r.string(data, "metric", where)
    if metric not in known:
        raise r.fail(f"{where}metric", f"unknown metric {metric!r}")
    above = r.number(data, "above", where, -1e12, 1e12)
    return Cap(metric, above, r.number(data, "cap", where, 0, 100), r.string(data, "reason", where))


def _criterion(r: _Reader, data: Any, where: str, known: Mapping[str, object]) -> Criterion:
    if not isinstance(data, dict):
        raise r.fail(where.rstrip("."), "must be a table")
    r.table(
        data,
        where.rstrip("."),
        {"id", "name", "weight", "rationale", "metrics", "caps", "findings", "applies_to"},
        {"id", "name", "weight", "rationale", "metrics"},
    )
    metrics_raw = r.table_list(data, "metrics", where)
    if not metrics_raw:
        raise r.fail(f"{where}metrics", "must list at least one metric")
    rules = tuple(
        _metric_rule(r, m, f"{where}metrics[{i}].", known) for i, m in enumerate(metrics_raw)
    )
    if len({rule.metric for rule in rules}) != len(rules):
        raise r.fail(f"{where}metrics", "a metric is listed twice")
    caps_raw = r.table_list(data, "caps", where)
    findings = r.table_list(data, "findings", where)
    if not all(isinstance(f, str) for f in findings):
        raise r.fail(
            f"{where}findings", "must be a list of selectors like 'ruff' or 'facts:print-call'"
        )
    return Criterion(
        id=r.string(data, "id", where),
        name=r.string(data, "name", where),
        weight=r.number(data, "weight", where, 0.0, MAX_WEIGHT),
        rationale=r.string(data, "rationale", where),
        metrics=rules,
        caps=tuple(_cap(r, c, f"{where}caps[{i}].", known) for i, c in enumerate(caps_raw)),
        findings=tuple(findings),
        applies_to=r.kinds(data, where),
    )


def _grades(r: _Reader, raw: Any) -> tuple[tuple[str, float], ...]:
    if raw is None:
        return DEFAULT_GRADES
    if not isinstance(raw, dict) or not raw:
        raise r.fail("grades", "must be a table of letter = minimum score")
    pairs = sorted(
        ((letter, r.number(raw, letter, "grades.", 0, 100)) for letter in raw),
        key=lambda pair: -pair[1],
    )
    if pairs[-1][1] != 0:
        raise r.fail("grades", "the lowest grade must start at 0")
    return tuple(pairs)


def _decisions(
    r: _Reader, raw: Any, grades: tuple[tuple[str, float], ...]
) -> tuple[tuple[str, Decision], ...]:
    if raw is None:
        return DEFAULT_DECISIONS
    letters = {letter for letter, _ in grades}
    if not isinstance(raw, dict) or set(raw) != letters:
        raise r.fail("decisions", f"must give each grade ({', '.join(sorted(letters))}) one")
    chosen = []
    for letter, value in raw.items():
        if value not in set(Decision):
            options = ", ".join(d.value for d in Decision)
            raise r.fail(f"decisions.{letter}", f"must be one of {options}")
        chosen.append((letter, Decision(value)))
    return tuple(chosen)


def parse(path: Path, data: bytes, known: Mapping[str, object]) -> Rubric:
    """Validate rubric ``data`` read from ``path`` against the ``known`` metric names."""
    r = _Reader(path)
    try:
        doc = tomllib.loads(data.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise RubricError(f"{path}: not valid TOML: {exc}") from None
    r.table(
        doc,
        "",
        {
            "name",
            "title",
            "audience",
            "description",
            "source",
            "grades",
            "decisions",
            "calibration",
            "criteria",
        },
        {"name", "title", "description", "criteria"},
    )
    raw_criteria = doc["criteria"]
    if not isinstance(raw_criteria, list) or not raw_criteria:
        raise r.fail("criteria", "must list at least one criterion")
    criteria = tuple(_criterion(r, c, f"criteria[{i}].", known) for i, c in enumerate(raw_criteria))
    seen: set[str] = set()
    for i, criterion in enumerate(criteria):
        if criterion.id in seen:
            raise r.fail(f"criteria[{i}].id", f"duplicate id {criterion.id!r}")
        seen.add(criterion.id)
    if sum(c.weight for c in criteria) <= 0:
        raise r.fail("criteria", "weights add up to 0")
    info = RubricInfo(
        name=r.string(doc, "name", ""),
        title=r.string(doc, "title", ""),
        audience=r.string(doc, "audience", "", default="hiring team"),
        sha256=hashlib.sha256(data).hexdigest(),
    )
    source = " ".join(r.string(doc, "source", "").split()) if "source" in doc else ""
    description = r.string(doc, "description", "")
    grades = _grades(r, doc.get("grades"))
    return Rubric(
        info,
        description,
        criteria,
        grades,
        source,
        _decisions(r, doc.get("decisions"), grades),
        " ".join(r.string(doc, "calibration", "").split()) if "calibration" in doc else "",
    )


def builtin_names() -> list[str]:
    """Names of the rubrics shipped with grader."""
    return sorted(
        entry.name.removesuffix(".toml")
        for entry in builtin_dir().iterdir()
        if entry.name.endswith(".toml")
    )


def load(name_or_path: str, known: Mapping[str, object]) -> Rubric:
    """Load a built-in rubric by name, or a rubric file by path."""
    path = Path(name_or_path)
    if not path.suffix and not path.exists():
        if name_or_path not in builtin_names():
            raise RubricError(
                f"unknown rubric {name_or_path!r} (built-in: {', '.join(builtin_names())}; "
                "or pass a path to a .toml file)"
            )
        data = builtin_dir().joinpath(f"{name_or_path}.toml").read_bytes()
        return parse(Path("rubrics") / f"{name_or_path}.toml", data, known)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise RubricError(f"{path}: cannot read rubric: {exc.strerror}") from None
    return parse(path, data, known)
