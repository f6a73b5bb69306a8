"""Notebook reproducibility: what a notebook's stored state says about how it was run.

A notebook carries the record of its last session: the order its cells ran in, their
outputs and errors. The article's data scientists "write useful algorithms in Jupyter
notebooks"; whether anyone else can run them again is read here, cell by cell, from
grader's reading of each notebook (grader.acquire.notebooks) and the syntax tree of its
script:

- stored execution counts out of order or with gaps: the outputs are not what running
  the notebook top to bottom gives;
- stored error outputs: a cell that failed when it was last run;
- training without a seed set before it (a heuristic: a ``fit``/``train`` call with no
  ``seed``/``manual_seed``/``set_seed`` call and no ``random_state=`` before it);
- absolute paths to the author's machine (``/Users/...``, ``/home/...``, ``C:\\...``);
- ``!pip install`` and ``%pip install`` cells: dependencies installed, never declared;
- oversized stored outputs, and credentials in stored outputs;
- all the logic in notebooks, with no importable module and no tests.
"""

from __future__ import annotations

import ast
import itertools
import re
from collections.abc import Iterator

from grader.acquire.notebooks import NotebookScript
from grader.acquire.workspace import Workspace
from grader.core.models import (
    Finding,
    Location,
    Metric,
    MetricSpec,
    Severity,
    ToolResult,
    ToolStatus,
)
from grader.tools.base import ToolContext, package_version
from grader.tools.secrets import PROVIDER_TOKENS

NAME = "notebooks"
MAX_OUTPUT_BYTES = 512 * 1024
SEED_CALLS = frozenset(
    {"seed", "manual_seed", "manual_seed_all", "set_seed", "set_random_seed", "seed_everything"}
)
SEEDED_GENERATORS = frozenset({"default_rng", "RandomState", "Generator", "PRNGKey"})
SEED_KEYWORDS = frozenset({"random_state", "seed", "random_seed"})
TRAINING_CALLS = frozenset(
    {"fit", "fit_transform", "fit_predict", "fit_resample", "partial_fit", "train",
     "train_test_split", "cross_val_score", "cross_validate", "fit_generator"}
)  # fmt: skip
_MACHINE_PATH = re.compile(
    r"^(/Users/|/home/|/root/|/Volumes/|/mnt/[a-z]/|/content/drive/|~[/\\]|[A-Za-z]:[\\/])"
)
_SHELL_INSTALL = re.compile(
    r"^\s*(\w+\s*=\s*)?[!%]\s*(pip3?|conda|mamba|uv\s+pip|python3?\s+-m\s+pip)\s+install\b"
)

METRICS = (
    MetricSpec("notebooks.count", "notebooks", "Jupyter notebooks in the submission."),
    MetricSpec(
        "notebooks.execution_order_problems", "notebooks",
        "Notebooks whose stored execution counts are out of order or have gaps.",
    ),
    MetricSpec("notebooks.error_outputs", "cells", "Cells stored with an error output."),
    MetricSpec(
        "notebooks.unseeded_training", "calls",
        "Training or splitting calls in notebooks with no seed set before them.",
    ),
    MetricSpec(
        "notebooks.absolute_paths", "paths", "Paths to the author's machine in notebook code."
    ),
    MetricSpec(
        "notebooks.shell_installs", "lines", "!pip / %pip / !conda installs in notebooks."
    ),
    MetricSpec(
        "notebooks.logic_only", "flag",
        "1 when every line of code lives in notebooks: no importable module, no tests.",
    ),
)  # fmt: skip


def _finding(rule: str, message: str, severity: Severity, location: Location) -> Finding:
    return Finding(NAME, rule, message, severity, location)


def execution_order(script: NotebookScript) -> Iterator[Finding]:
    """Stored execution counts that running top to bottom would not give."""
    ran = [(c.number, c.execution_count) for c in script.cells if c.execution_count is not None]
    counts = [count for _, count in ran]
    shown = ", ".join(map(str, counts[:12])) + (", ..." if len(counts) > 12 else "")
    for (_, before), (cell, count) in itertools.pairwise(ran):
        if count <= before:
            yield _finding(
                "execution-order",
                f"cells were run out of order (stored execution counts {shown}): cell "
                f"{cell} was run before a cell above it, so the stored outputs are not what "
                "running the notebook top to bottom gives",
                Severity.MEDIUM,
                Location(script.notebook, cell=cell),
            )
            return
    if counts and (counts[0] != 1 or any(b - a > 1 for a, b in itertools.pairwise(counts))):
        yield _finding(
            "execution-gaps",
            f"the stored execution counts have gaps ({shown}): cells were run again or "
            "deleted after running; restart the kernel and run all before committing",
            Severity.LOW,
            Location(script.notebook, cell=ran[0][0]),
        )


def stored_outputs(script: NotebookScript) -> Iterator[Finding]:
    """Error outputs, oversized outputs and credentials in what the notebook stored."""
    for cell in script.cells:
        for output in cell.outputs:
            where = Location(script.notebook, cell=cell.number)
            if output.kind == "error":
                yield _finding(
                    "error-output",
                    f"cell {cell.number} failed when it was last run ({output.error[:160]})",
                    Severity.MEDIUM,
                    where,
                )
            if output.size > MAX_OUTPUT_BYTES:
                yield _finding(
                    "oversized-output",
                    f"cell {cell.number} stores an output of {output.size // 1024} KB: data "
                    "or images committed inside the notebook; clear outputs before committing",
                    Severity.LOW,
                    where,
                )
            for kind, pattern in PROVIDER_TOKENS:
                if pattern.search(output.text):
                    yield _finding(
                        "secret-output",
                        f"cell {cell.number}'s stored output shows what looks like a {kind}: "
                        "outputs are committed with the notebook; revoke it",
                        Severity.HIGH,
                        where,
                    )


def _called(node: ast.Call) -> str:
    func = node.func
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


def _seeds(node: ast.Call) -> bool:
    name = _called(node)
    seeded_keyword = any(
        k.arg in SEED_KEYWORDS and not (isinstance(k.value, ast.Constant) and k.value.value is None)
        for k in node.keywords
    )
    return (
        name in SEED_CALLS
        or (name in SEEDED_GENERATORS and bool(node.args or node.keywords))
        or seeded_keyword
    )


def code_facts(script: NotebookScript, tree: ast.Module) -> Iterator[Finding]:
    """Unseeded training and machine paths, at the cell and line of the script's node."""

    def at(line: int) -> Location:
        cell, in_cell = script.origin(line) or (None, None)
        return Location(script.notebook, line=in_cell, cell=cell)

    # In the order they finish: RandomForestClassifier(random_state=0) before its .fit()
    calls = sorted(
        (n for n in ast.walk(tree) if isinstance(n, ast.Call)),
        key=lambda n: (n.end_lineno or n.lineno, n.end_col_offset or n.col_offset),
    )
    seeded = False
    for call in calls:
        seeded = seeded or _seeds(call)
        if not seeded and _called(call) in TRAINING_CALLS:
            yield _finding(
                "unseeded-training",
                f"{_called(call)}() runs with no random seed set before it (no seed() call, "
                "no random_state=): every run trains a different model",
                Severity.MEDIUM,
                at(call.lineno),
            )
            seeded = True  # one finding per notebook: the first unseeded call says it
    for node in ast.walk(tree):
        if not isinstance(node, ast.Constant):
            continue
        path = node.value
        if isinstance(path, str) and _MACHINE_PATH.match(path):
            yield _finding(
                "absolute-path",
                f"reads or writes {path[:80]!r}, a path on the author's machine: "
                "use a path relative to the repository",
                Severity.MEDIUM,
                at(node.lineno),
            )


def shell_installs(script: NotebookScript) -> Iterator[Finding]:
    """Packages installed from a cell: a dependency no requirements file declares."""
    for cell in script.cells:
        for number, line in enumerate(cell.source.splitlines(), start=1):
            if _SHELL_INSTALL.match(line):
                yield _finding(
                    "shell-install",
                    f"installs packages from the notebook ({line.strip()[:80]}): an undeclared "
                    "dependency install; declare them in requirements or pyproject.toml",
                    Severity.MEDIUM,
                    Location(script.notebook, line=number, cell=cell.number),
                )


def _logic_only(ws: Workspace) -> bool:
    scripts = {s.script for s in ws.notebooks}
    return not ws.test_files and not [f for f in ws.source_files if f not in scripts]


def analyse(ws: Workspace) -> tuple[list[Finding], dict[str, float | None]]:
    """Every notebook's findings and the counts the rubric scores."""
    findings: list[Finding] = []
    for script in ws.notebooks:
        findings += [*execution_order(script), *stored_outputs(script), *shell_installs(script)]
        try:
            tree = ast.parse(ws.path(script.script).read_bytes())
        except (OSError, SyntaxError, ValueError, RecursionError):
            continue
        findings += code_facts(script, tree)
    logic_only = bool(ws.notebook_files) and _logic_only(ws)
    if logic_only:
        findings.append(
            _finding(
                "logic-only-in-notebooks",
                "all the code lives in notebooks: no module to import and no tests, so none "
                "of it can be reused, tested or reviewed as code",
                Severity.MEDIUM,
                Location(ws.notebook_files[0]),
            )
        )

    def count(*rules: str) -> float:
        return float(sum(1 for f in findings if f.rule_id in rules))

    orders = {f.location.path for f in findings if f.rule_id.startswith("execution-")}
    return findings, {
        "notebooks.count": float(len(ws.notebook_files)),
        "notebooks.execution_order_problems": float(len(orders)),
        "notebooks.error_outputs": count("error-output"),
        "notebooks.unseeded_training": count("unseeded-training"),
        "notebooks.absolute_paths": count("absolute-path"),
        "notebooks.shell_installs": count("shell-install"),
        "notebooks.logic_only": float(logic_only),
    }


class Notebooks:
    """Reproducibility facts read from each notebook's stored state and code."""

    name = NAME
    metrics = METRICS

    def version(self) -> str:
        """nbformat reads the notebooks."""
        return f"nbformat {package_version('nbformat')}"

    def run(self, ctx: ToolContext) -> ToolResult:
        """Read every notebook; without one, nothing is measured (and nothing is wrong:
        the status stays ok, as for any tool with nothing to report)."""
        ws = ctx.workspace
        if not ws.notebook_files:
            reason = "no notebooks"
            return ToolResult(
                NAME,
                self.version(),
                ToolStatus.OK,
                reason=reason,
                metrics=tuple(Metric(m.name, None, m.unit, NAME, reason) for m in METRICS),
            )
        findings, values = analyse(ws)
        units = {m.name: m.unit for m in METRICS}
        return ToolResult(
            NAME,
            self.version(),
            ToolStatus.OK,
            findings=tuple(findings),
            metrics=tuple(Metric(n, v, units[n], NAME) for n, v in values.items()),
        )
