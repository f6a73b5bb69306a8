"""A large, realistic submission for the benchmark, generated reproducibly.

Usage: python scripts/bench_submission.py DEST [SCALE]

SCALE 1 writes about 5,000 lines of Python (a package of typed modules and a pytest suite
whose tests pass and do real work: parsing, aggregation, graph searches, text scoring);
SCALE 4 writes four times as many modules and tests. The same SCALE always writes the
same files, so timings of different runs and machines compare like with like.

Each unit is one module of one of four kinds (records, rules, text, graphs) about one
business entity, and a test module for it; the kinds are real code, the entity names
only vary the vocabulary.
"""

from __future__ import annotations

import sys
from pathlib import Path
from string import Template

PACKAGE = "opsdesk"
NAMES = (
    "order", "invoice", "shipment", "customer", "product", "ticket", "booking", "payment",
    "sensor", "reading", "route", "vehicle", "driver", "warehouse", "supplier", "contract",
    "employee", "shift", "project", "task", "asset", "lease", "policy", "claim",
    "account", "transfer", "device", "alert", "course", "lesson", "patient", "visit",
)  # fmt: skip
KINDS = ("records", "rules", "text", "graphs")
UNITS_PER_SCALE = len(NAMES)

RECORDS = Template('''\
"""$Name records: parsing, validation and aggregation of $name rows."""

from __future__ import annotations

import csv
import io
import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass


class Invalid${Name}Error(ValueError):
    """A $name row that cannot be read."""


@dataclass(frozen=True)
class ${Name}Row:
    """One $name as exported by the upstream system."""

    ident: str
    region: str
    amount: float
    quantity: int

    @property
    def total(self) -> float:
        """The row's amount times its quantity, rounded to cents."""
        return round(self.amount * self.quantity, 2)


def parse_row(fields: list[str]) -> ${Name}Row:
    """Build a row from CSV fields; raises Invalid${Name}Error with the reason."""
    if len(fields) != 4:
        raise Invalid${Name}Error(f"expected 4 fields, got {len(fields)}")
    ident, region, amount, quantity = (field.strip() for field in fields)
    if not ident:
        raise Invalid${Name}Error("empty identifier")
    try:
        value = float(amount)
        count = int(quantity)
    except ValueError as exc:
        raise Invalid${Name}Error(f"bad number in {fields!r}") from exc
    if value < 0 or count < 0:
        raise Invalid${Name}Error("negative amount or quantity")
    return ${Name}Row(ident, region or "unknown", value, count)


def read_rows(text: str) -> tuple[list[${Name}Row], list[str]]:
    """All valid rows of a CSV export and one message per rejected line."""
    rows: list[${Name}Row] = []
    problems: list[str] = []
    for number, fields in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not fields or fields[0].startswith("#"):
            continue
        try:
            rows.append(parse_row(fields))
        except Invalid${Name}Error as exc:
            problems.append(f"line {number}: {exc}")
    return rows, problems


def totals_by_region(rows: Iterable[${Name}Row]) -> dict[str, float]:
    """Sum of row totals per region, regions sorted by name."""
    sums: dict[str, float] = defaultdict(float)
    for row in rows:
        sums[row.region] += row.total
    return {region: round(sums[region], 2) for region in sorted(sums)}


def summary(rows: list[${Name}Row]) -> dict[str, float]:
    """Count, mean, median and spread of the row totals."""
    if not rows:
        return {"count": 0, "mean": 0.0, "median": 0.0, "stdev": 0.0}
    totals = [row.total for row in rows]
    spread = statistics.pstdev(totals) if len(totals) > 1 else 0.0
    return {
        "count": len(totals),
        "mean": round(statistics.fmean(totals), 4),
        "median": round(statistics.median(totals), 4),
        "stdev": round(spread, 4),
    }


def top(rows: Iterable[${Name}Row], count: int = $seed) -> list[${Name}Row]:
    """The rows with the highest totals, ties broken by identifier."""
    return sorted(rows, key=lambda row: (-row.total, row.ident))[:count]


def synthetic(count: int, regions: int = 7) -> str:
    """A deterministic CSV export of ``count`` rows, every tenth one broken."""
    lines = []
    for index in range(count):
        if index % 10 == 9:
            lines.append(f"bad-{index},r{index % regions},not-a-number,1")
            continue
        amount = (index * $seed) % 997 / 10
        lines.append(f"$name-{index},r{index % regions},{amount},{index % 5}")
    return "\\n".join(lines)
''')

RECORDS_TEST = Template('''\
"""Tests for $PACKAGE.records.$name."""

import pytest

from $PACKAGE.records.$name import (
    Invalid${Name}Error,
    ${Name}Row,
    parse_row,
    read_rows,
    summary,
    synthetic,
    top,
    totals_by_region,
)


def test_parse_row_reads_numbers() -> None:
    row = parse_row(["a1", "north", "2.5", "4"])
    assert row == ${Name}Row("a1", "north", 2.5, 4)
    assert row.total == 10.0


@pytest.mark.parametrize(
    "fields",
    [["a"], ["", "x", "1", "1"], ["a", "x", "one", "1"], ["a", "x", "-1", "1"]],
)
def test_parse_row_rejects_bad_rows(fields: list[str]) -> None:
    with pytest.raises(Invalid${Name}Error):
        parse_row(fields)


def test_missing_region_is_unknown() -> None:
    assert parse_row(["a", "", "1", "1"]).region == "unknown"


def test_read_rows_reports_each_bad_line() -> None:
    rows, problems = read_rows(synthetic(8_000))
    assert len(rows) == 7_200
    assert len(problems) == 800
    assert problems[0].startswith("line 10:")


def test_totals_by_region_adds_up() -> None:
    rows, _ = read_rows(synthetic(6_000))
    totals = totals_by_region(rows)
    assert list(totals) == sorted(totals)
    assert round(sum(totals.values()), 2) == round(sum(row.total for row in rows), 2)


def test_summary_of_nothing() -> None:
    assert summary([])["count"] == 0


def test_summary_and_top() -> None:
    rows, _ = read_rows(synthetic(4_000))
    stats = summary(rows)
    assert stats["count"] == len(rows)
    assert stats["median"] <= max(row.total for row in rows)
    best = top(rows)
    assert best == sorted(best, key=lambda row: (-row.total, row.ident))
''')

RULES = Template('''\
"""$Name rules: a small rules engine deciding what happens to a $name."""

from __future__ import annotations

import enum
import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field


class Decision(enum.Enum):
    """What the engine decides for one $name."""

    APPROVE = "approve"
    REVIEW = "review"
    REJECT = "reject"


@dataclass(frozen=True)
class ${Name}Case:
    """The facts the rules look at."""

    score: int
    age_days: int
    flags: frozenset[str] = frozenset()
    history: tuple[int, ...] = ()


@dataclass(frozen=True)
class Rule:
    """A named predicate and the decision it forces when it matches."""

    name: str
    applies: Callable[[${Name}Case], bool]
    decision: Decision
    priority: int = 0


@dataclass
class Engine:
    """Evaluates rules by priority; the first match decides, else the default."""

    rules: list[Rule] = field(default_factory=list)
    default: Decision = Decision.REVIEW
    audit: list[str] = field(default_factory=list)

    def add(self, rule: Rule) -> None:
        """Register a rule; higher priorities are tried first."""
        self.rules.append(rule)
        self.rules.sort(key=lambda r: (-r.priority, r.name))

    def decide(self, case: ${Name}Case) -> Decision:
        """The decision for ``case``, recording which rule made it."""
        for rule in self.rules:
            if rule.applies(case):
                self.audit.append(rule.name)
                return rule.decision
        self.audit.append("default")
        return self.default

    def decide_all(self, cases: Sequence[${Name}Case]) -> dict[Decision, int]:
        """How many cases end in each decision."""
        counts = dict.fromkeys(Decision, 0)
        for case in cases:
            counts[self.decide(case)] += 1
        return counts


@functools.lru_cache(maxsize=1024)
def trend(history: tuple[int, ...]) -> int:
    """-1, 0 or 1: whether the history is mostly falling, flat or rising."""
    if len(history) < 2:
        return 0
    rises = sum(1 for a, b in zip(history, history[1:], strict=False) if b > a)
    falls = sum(1 for a, b in zip(history, history[1:], strict=False) if b < a)
    if rises > falls:
        return 1
    if falls > rises:
        return -1
    return 0


def standard_engine(threshold: int = $threshold) -> Engine:
    """The rules the $name team agreed on."""
    engine = Engine()
    engine.add(Rule("blocked", lambda c: "blocked" in c.flags, Decision.REJECT, priority=100))
    engine.add(Rule("stale", lambda c: c.age_days > 365, Decision.REVIEW, priority=50))
    engine.add(
        Rule("strong", lambda c: c.score >= threshold and trend(c.history) >= 0, Decision.APPROVE)
    )
    engine.add(Rule("weak", lambda c: c.score < threshold // 2, Decision.REJECT, priority=10))
    return engine


def generate_cases(count: int) -> list[${Name}Case]:
    """Deterministic cases covering every rule."""
    cases = []
    for index in range(count):
        flags = frozenset({"blocked"}) if index % 17 == 0 else frozenset()
        history = tuple((index * step) % 13 for step in range(1, 6))
        cases.append(${Name}Case((index * $seed) % 100, index % 400, flags, history))
    return cases
''')

RULES_TEST = Template('''\
"""Tests for $PACKAGE.rules.$name."""

import pytest

from $PACKAGE.rules.$name import (
    Decision,
    Engine,
    ${Name}Case,
    Rule,
    generate_cases,
    standard_engine,
    trend,
)


@pytest.mark.parametrize(
    ("history", "expected"),
    [((), 0), ((1,), 0), ((1, 2, 3), 1), ((3, 2, 1), -1), ((1, 2, 1), 0)],
)
def test_trend(history: tuple[int, ...], expected: int) -> None:
    assert trend(history) == expected


def test_blocked_wins_over_everything() -> None:
    engine = standard_engine()
    case = ${Name}Case(score=100, age_days=1, flags=frozenset({"blocked"}))
    assert engine.decide(case) is Decision.REJECT
    assert engine.audit == ["blocked"]


def test_stale_cases_are_reviewed() -> None:
    assert standard_engine().decide(${Name}Case(score=99, age_days=999)) is Decision.REVIEW


def test_default_applies_when_nothing_matches() -> None:
    engine = Engine(default=Decision.APPROVE)
    assert engine.decide(${Name}Case(score=1, age_days=1)) is Decision.APPROVE
    assert engine.audit == ["default"]


def test_priorities_order_rules() -> None:
    engine = Engine()
    engine.add(Rule("low", lambda c: True, Decision.APPROVE, priority=1))
    engine.add(Rule("high", lambda c: True, Decision.REJECT, priority=9))
    assert [rule.name for rule in engine.rules] == ["high", "low"]


def test_many_cases_reach_every_decision() -> None:
    counts = standard_engine().decide_all(generate_cases(12_000))
    assert sum(counts.values()) == 12_000
    assert all(counts[decision] > 0 for decision in Decision)
''')

TEXT = Template('''\
"""$Name notes: tokenising free text and ranking notes by relevance."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

_WORD = re.compile(r"[a-z][a-z0-9']+")
STOP_WORDS = frozenset({"the", "and", "for", "with", "that", "this", "from", "was"})


@dataclass(frozen=True)
class Note:
    """A free-text note attached to a $name."""

    ident: int
    text: str


def tokens(text: str) -> list[str]:
    """Lower-case words of the text, without stop words."""
    return [word for word in _WORD.findall(text.lower()) if word not in STOP_WORDS]


def document_frequencies(notes: Iterable[Note]) -> Counter[str]:
    """In how many notes each word appears."""
    frequencies: Counter[str] = Counter()
    for note in notes:
        frequencies.update(set(tokens(note.text)))
    return frequencies


class Index:
    """A TF-IDF index over a fixed set of notes."""

    def __init__(self, notes: list[Note]) -> None:
        self.notes = notes
        self.frequencies = document_frequencies(notes)
        self.vectors = [self._vector(tokens(note.text)) for note in notes]

    def _idf(self, word: str) -> float:
        return math.log((1 + len(self.notes)) / (1 + self.frequencies[word])) + 1

    def _vector(self, words: list[str]) -> dict[str, float]:
        counts = Counter(words)
        vector = {word: count * self._idf(word) for word, count in counts.items()}
        norm = math.sqrt(sum(value * value for value in vector.values())) or 1.0
        return {word: value / norm for word, value in vector.items()}

    def search(self, query: str, limit: int = 5) -> list[tuple[int, float]]:
        """Note ids and similarity to the query, best first."""
        wanted = self._vector(tokens(query))
        scored = [
            (note.ident, _dot(wanted, vector))
            for note, vector in zip(self.notes, self.vectors, strict=True)
        ]
        ranked = sorted((item for item in scored if item[1] > 0), key=lambda i: (-i[1], i[0]))
        return ranked[:limit]


def _dot(left: Mapping[str, float], right: Mapping[str, float]) -> float:
    if len(left) > len(right):
        left, right = right, left
    return sum(value * right.get(word, 0.0) for word, value in left.items())


VOCABULARY = (
    "$name", "late", "damaged", "refund", "priority", "customer", "urgent", "missing",
    "escalate", "resolved", "duplicate", "invoice", "address", "delay", "quality",
)


def synthetic_notes(count: int) -> list[Note]:
    """Deterministic notes drawn from a small vocabulary."""
    notes = []
    for index in range(count):
        words = [VOCABULARY[(index * step + $seed) % len(VOCABULARY)] for step in range(1, 9)]
        notes.append(Note(index, "The " + " and ".join(words) + "."))
    return notes
''')

TEXT_TEST = Template('''\
"""Tests for $PACKAGE.text.$name."""

import pytest

from $PACKAGE.text.$name import Index, Note, document_frequencies, synthetic_notes, tokens


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The order was late", ["order", "late"]),
        ("", []),
        ("Refund AND refund", ["refund", "refund"]),
        ("it's 2nd time", ["it's", "nd", "time"]),
    ],
)
def test_tokens(text: str, expected: list[str]) -> None:
    assert tokens(text) == expected


def test_document_frequency_counts_notes_not_words() -> None:
    notes = [Note(1, "late late late"), Note(2, "late refund")]
    assert document_frequencies(notes) == {"late": 2, "refund": 1}


def test_search_ranks_the_matching_note_first() -> None:
    index = Index([Note(1, "damaged parcel"), Note(2, "late delivery"), Note(3, "late late")])
    ranked = index.search("late")
    assert [ident for ident, _ in ranked] == [3, 2]


def test_search_without_matches_is_empty() -> None:
    assert Index([Note(1, "damaged")]).search("refund") == []


def test_large_index_search() -> None:
    index = Index(synthetic_notes(1_500))
    for query in ("urgent refund", "damaged address", "$name delay"):
        ranked = index.search(query, limit=10)
        scores = [score for _, score in ranked]
        assert scores == sorted(scores, reverse=True)
        assert len(ranked) == 10
''')

GRAPHS = Template('''\
"""$Name network: dependencies between ${name}s and the cheapest paths between them."""

from __future__ import annotations

import heapq
from collections import defaultdict, deque
from collections.abc import Iterable


class CycleError(ValueError):
    """The dependencies contain a cycle, so there is no order."""


class Network:
    """A weighted directed graph of ${name}s."""

    def __init__(self) -> None:
        self.edges: dict[str, dict[str, float]] = defaultdict(dict)
        self.nodes: set[str] = set()

    def connect(self, source: str, target: str, cost: float = 1.0) -> None:
        """Add (or cheapen) an edge."""
        if cost < 0:
            raise ValueError("costs cannot be negative")
        self.nodes.update((source, target))
        known = self.edges[source].get(target)
        if known is None or cost < known:
            self.edges[source][target] = cost

    def order(self) -> list[str]:
        """Nodes so that every edge goes forward (Kahn's algorithm)."""
        incoming = dict.fromkeys(self.nodes, 0)
        for targets in self.edges.values():
            for target in targets:
                incoming[target] += 1
        ready = deque(sorted(node for node, count in incoming.items() if count == 0))
        result = []
        while ready:
            node = ready.popleft()
            result.append(node)
            for target in sorted(self.edges.get(node, {})):
                incoming[target] -= 1
                if incoming[target] == 0:
                    ready.append(target)
        if len(result) != len(self.nodes):
            raise CycleError("the $name dependencies contain a cycle")
        return result

    def cheapest(self, source: str, target: str) -> tuple[float, list[str]] | None:
        """Cost and path of the cheapest route (Dijkstra), or None when unreachable."""
        best = {source: 0.0}
        previous: dict[str, str] = {}
        queue = [(0.0, source)]
        while queue:
            cost, node = heapq.heappop(queue)
            if node == target:
                return cost, _path(previous, source, target)
            if cost > best.get(node, float("inf")):
                continue
            for neighbour, step in self.edges.get(node, {}).items():
                candidate = cost + step
                if candidate < best.get(neighbour, float("inf")):
                    best[neighbour] = candidate
                    previous[neighbour] = node
                    heapq.heappush(queue, (candidate, neighbour))
        return None


def _path(previous: dict[str, str], source: str, target: str) -> list[str]:
    path = [target]
    while path[-1] != source:
        path.append(previous[path[-1]])
    return path[::-1]


def grid(size: int) -> Network:
    """A size x size grid with deterministic costs, edges going right and down."""
    network = Network()
    for row in range(size):
        for column in range(size):
            here = f"{row}:{column}"
            if column + 1 < size:
                network.connect(here, f"{row}:{column + 1}", (row * $seed + column) % 7 + 1)
            if row + 1 < size:
                network.connect(here, f"{row + 1}:{column}", (column * $seed + row) % 5 + 1)
    return network


def chain(names: Iterable[str]) -> Network:
    """Each name depends on the one before it."""
    network = Network()
    items = list(names)
    for before, after in zip(items, items[1:], strict=False):
        network.connect(before, after)
    return network
''')

GRAPHS_TEST = Template('''\
"""Tests for $PACKAGE.graphs.$name."""

import pytest

from $PACKAGE.graphs.$name import CycleError, Network, chain, grid


def test_chain_orders_in_sequence() -> None:
    assert chain(["a", "b", "c"]).order() == ["a", "b", "c"]


def test_cycle_is_refused() -> None:
    network = chain(["a", "b"])
    network.connect("b", "a")
    with pytest.raises(CycleError):
        network.order()


def test_negative_costs_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        Network().connect("a", "b", -1)


def test_cheaper_edge_replaces_dearer_one() -> None:
    network = Network()
    network.connect("a", "b", 5)
    network.connect("a", "b", 2)
    network.connect("a", "b", 9)
    assert network.cheapest("a", "b") == (2, ["a", "b"])


def test_unreachable_is_none() -> None:
    network = chain(["a", "b"])
    network.nodes.add("z")
    assert network.cheapest("a", "z") is None


@pytest.mark.parametrize("size", [15, 30, 45])
def test_grid_paths(size: int) -> None:
    network = grid(size)
    found = network.cheapest("0:0", f"{size - 1}:{size - 1}")
    assert found is not None
    cost, path = found
    assert path[0] == "0:0"
    assert len(path) == 2 * size - 1
    assert cost >= 2 * (size - 1)
    assert len(network.order()) == size * size
''')

MODULES = {"records": RECORDS, "rules": RULES, "text": TEXT, "graphs": GRAPHS}
TESTS = {
    "records": RECORDS_TEST,
    "rules": RULES_TEST,
    "text": TEXT_TEST,
    "graphs": GRAPHS_TEST,
}

README = """\
# opsdesk

Back-office helpers for an operations desk: reading exports, deciding cases with rules,
searching notes and planning routes. Generated for grader's benchmark.

## Installation

```sh
pip install -e .[dev]
```

## Usage

```python
from opsdesk.graphs.order import grid
grid(10).cheapest("0:0", "9:9")
```

## Testing

```sh
pytest
```
"""

PYPROJECT = """\
[build-system]
requires = ["setuptools>=69"]
build-backend = "setuptools.build_meta"

[project]
name = "opsdesk"
version = "1.0.0"
requires-python = ">=3.11"
dependencies = []

[project.optional-dependencies]
dev = ["pytest>=8"]

[tool.setuptools.packages.find]
where = ["src"]
"""


def units(scale: int) -> list[tuple[str, str]]:
    """(kind, entity) of every unit; the first 32 cover all four kinds evenly."""
    count = UNITS_PER_SCALE * scale
    chosen = []
    for index in range(count):
        name = NAMES[index % len(NAMES)]
        round_ = index // len(NAMES)
        # Each round shifts the kinds by one, so a name never repeats within a kind.
        chosen.append((KINDS[(index + round_) % len(KINDS)], name))
    return chosen


def generate(dest: Path, scale: int = 1) -> int:
    """Write the submission into ``dest`` (which must not exist); returns its line count."""
    if not 1 <= scale <= len(KINDS):
        raise ValueError(f"scale {scale} is out of range")
    dest.mkdir(parents=True)
    (dest / "README.md").write_text(README, encoding="utf-8")
    (dest / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    package = dest / "src" / PACKAGE
    lines = 0
    for kind in KINDS:
        (package / kind).mkdir(parents=True)
        (package / kind / "__init__.py").write_text(f'"""{kind.title()}."""\n', encoding="utf-8")
    (package / "__init__.py").write_text('"""opsdesk."""\n', encoding="utf-8")
    (dest / "tests").mkdir()
    for number, (kind, name) in enumerate(units(scale)):
        values = {
            "name": name,
            "Name": name.title(),
            "PACKAGE": PACKAGE,
            "seed": str(number % 9 + 3),
            "threshold": str(50 + number % 20),
        }
        module = MODULES[kind].substitute(values)
        test = TESTS[kind].substitute(values)
        (package / kind / f"{name}.py").write_text(module, encoding="utf-8")
        (dest / "tests" / f"test_{kind}_{name}.py").write_text(test, encoding="utf-8")
        lines += module.count("\n") + test.count("\n")
    return lines


if __name__ == "__main__":
    written = generate(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 1)
    sys.stdout.write(f"{written} lines\n")
