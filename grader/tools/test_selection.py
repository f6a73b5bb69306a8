"""Which of the candidate's tests ran a line: coverage's dynamic contexts, as pytest node ids.

The pytest stage can record, with coverage's ``dynamic_context = test_function``, the
test function that was running when each line ran: a dotted name, the function's module
then its qualified name (``tests.test_x.TestY.test_z``; ``test_x.test_z`` when pytest
imported the file as a top-level module), or ``""`` for a line run outside any test
function (an import, collection, a fixture, ``setUp``). pytest's JUnit file names every
test it collected (``classname="tests.test_x.TestY" name="test_z[1]"``), which with the
submission's test files gives each one's node id (``tests/test_x.py::TestY::test_z``).

A context names the collected tests whose dotted name ends with it. Parameters are
dropped: a node id without them runs every case of the test. A method's context names
the class that defines it, so a test that subclasses inherit also selects, by its name,
the tests of every class that inherits from the defining one by name in the test files'
syntax trees. pytest-cov's shape (``tests/test_x.py::TestY::test_z|run``) is read too.

When in doubt the choice is wider, never narrower: a line any context of which is ``""``
or names no collected test gets ``None`` (run the whole suite); a line no context ran
gets no test at all.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

MAX_ARGUMENT_CHARS = 256 * 1024
"""A choice longer than this on the command line runs the whole suite instead."""


def node_id(classname: str, name: str, modules: Mapping[str, str]) -> str | None:
    """A JUnit test case's node id without parameters, given the test files by dotted
    name (``tests.test_x``: ``tests/test_x.py``); None when it is in none of them."""
    parts = [*classname.split("."), name.partition("[")[0]]
    for cut in range(len(parts) - 1, 0, -1):
        path = modules.get(".".join(parts[:cut]))
        if path is not None:
            return "::".join([path, *parts[cut:]])
    return None


def dotted(path: str) -> str:
    """A test file's name as JUnit's classname spells it (``tests/test_x.py``: ``tests.test_x``)."""
    return path.removesuffix(".py").replace("/", ".")


def _inheritance(sources: Iterable[str]) -> dict[str, set[str]] | None:
    """Each class name's subclasses' names, from every test file's syntax tree; None when
    a file cannot be parsed (an inherited test could then go unseen)."""
    children: dict[str, set[str]] = {}
    for source in sources:
        try:
            tree = ast.parse(source)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return None
        for node in ast.walk(tree):
            if not isinstance(node, ast.ClassDef):
                continue
            for base in node.bases:
                name = base.attr if isinstance(base, ast.Attribute) else getattr(base, "id", "")
                if isinstance(name, str) and name:
                    children.setdefault(name, set()).add(node.name)
    return children


@dataclass(frozen=True)
class Collected:
    """The tests pytest collected, by every name a context can give them."""

    cases: Mapping[str, int]
    """Node id (without parameters): how many test cases it runs."""
    seconds: Mapping[str, float]
    """Node id: how long its cases took in the pytest stage, by JUnit's account."""
    children: Mapping[str, set[str]]
    by_suffix: dict[str, set[str]] = field(default_factory=dict, init=False)
    """Every dotted suffix of a test's name (``test_x.TestY.test_z``): its node ids."""
    by_method: dict[tuple[str, str], set[str]] = field(default_factory=dict, init=False)
    """(innermost class, function): the node ids of that method."""

    def __post_init__(self) -> None:
        for node in self.cases:
            path, *names = node.split("::")
            parts = [*dotted(path).split("."), *names]
            for start in range(len(parts) - 1):
                self.by_suffix.setdefault(".".join(parts[start:]), set()).add(node)
            if len(names) > 1:
                self.by_method.setdefault((names[-2], names[-1]), set()).add(node)

    @property
    def total(self) -> int:
        """Test cases collected."""
        return sum(self.cases.values())

    def count(self, nodes: Iterable[str]) -> int:
        """Test cases the node ids run."""
        return sum(self.cases.get(node, 0) for node in nodes)

    def duration_s(self, nodes: Iterable[str] | None = None) -> float:
        """How long the node ids' cases (every case when None) took in the pytest stage."""
        chosen = self.seconds if nodes is None else nodes
        return sum(self.seconds.get(node, 0.0) for node in chosen)

    def slowest_s(self) -> float:
        """The longest any one node id's cases took."""
        return max(self.seconds.values(), default=0.0)

    def _subclasses(self, name: str) -> set[str]:
        found, todo = {name}, [name]
        while todo:
            for child in self.children.get(todo.pop(), ()):
                if child not in found:
                    found.add(child)
                    todo.append(child)
        return found

    def named(self, context: str) -> set[str]:
        """The node ids one context names; empty when it names no collected test."""
        if "::" in context:  # pytest-cov's node id, then |setup, |run or |teardown
            node = context.rpartition("|")[0] or context
            path, _, names = node.partition("::")
            node = f"{path}::{names.partition('[')[0]}"
            return {node} if node in self.cases else set()
        found = set(self.by_suffix.get(context, ()))
        *_, owner, function = ["", *context.split(".")]
        if owner in self.children:
            for cls in self._subclasses(owner):
                found |= self.by_method.get((cls, function), set())
        return found

    def select(self, contexts: Iterable[str]) -> frozenset[str] | None:
        """The node ids to run for a line these contexts ran; None for the whole suite."""
        chosen: set[str] = set()
        for context in contexts:
            nodes = self.named(context) if context else set()
            if not nodes:
                return None
            chosen |= nodes
        if sum(len(node) + 1 for node in chosen) > MAX_ARGUMENT_CHARS:
            return None
        return frozenset(chosen)


def collected(
    cases: Iterable[tuple[str, str, float]], test_files: Mapping[str, str]
) -> Collected | None:
    """The tests of JUnit's ``(classname, name, seconds)`` cases found in ``test_files``
    (path: source); None when a test file cannot be parsed or no case is in a test file."""
    children = _inheritance(test_files.values())
    if children is None:
        return None
    modules = {dotted(path): path for path in test_files}
    counts: dict[str, int] = {}
    seconds: dict[str, float] = {}
    for classname, name, duration_s in cases:
        node = node_id(classname, name, modules)
        if node is not None:
            counts[node] = counts.get(node, 0) + 1
            seconds[node] = seconds.get(node, 0.0) + max(0.0, duration_s)
    return Collected(counts, seconds, children) if counts else None


@dataclass(frozen=True)
class Selector:
    """The tests to run for a mutated line: the collected tests, and each line's contexts
    (path: line: contexts) for the files coverage reported them for."""

    tests: Collected
    contexts: Mapping[str, Mapping[int, tuple[str, ...]]]

    def for_line(self, path: str, line: int) -> frozenset[str] | None:
        """Node ids to run; None for the whole suite; empty when no test ran the line."""
        lines = self.contexts.get(path)
        if lines is None:
            return None
        return self.tests.select(lines.get(line, ()))
