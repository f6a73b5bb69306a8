"""What would gain the most: the changes worth the most points of the overall score. Pure.

Each candidate change is scored by rescoring the report's own metrics with the rubric,
with the change applied, through the very function that scored the report
(``scoring.score_all``): weights, curves, caps and the criteria that were not measured
all count exactly as they did. A gain is therefore what the overall score would become if
that one change were made and nothing else, never an estimate of effort.

Metrics measured per file are attributed to files: coverage (the file's missed statements
and branches become covered) and rates of findings (a file's findings are fixed, so the
count and the rate drop by its share). Any other metric that is short of full marks is one
change: reaching its full-marks threshold.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from grader.core.models import FileStats, Finding, Metric, Report, Severity
from grader.scoring import score as scoring
from grader.scoring.rubric import Rubric
from grader.tools.bandit import security_weight

MIN_GAIN = 0.1
"""Gains are in tenths, as the overall score is: smaller ones are not worth a line."""


@dataclass(frozen=True)
class Gain:
    """One change and what it is worth."""

    points: float
    """How much the overall score would rise, 0-100 scale."""
    action: str
    """What to do, in the imperative."""
    criterion: str
    """Name of the criterion the change improves."""
    location: str | None = None
    """``path`` or ``path:line`` where to start."""
    detail: str = ""
    """What is there: the first finding, or the metric's value and its target."""


def _all(_finding: Finding) -> float:
    return 1.0


def _serious(finding: Finding) -> float:
    return 1.0 if finding.severity.rank >= Severity.MEDIUM.rank else 0.0


@dataclass(frozen=True)
class _FindingsRate:
    """A metric whose value is proportional to a weighted count of findings."""

    metric: str
    weight: Callable[[Finding], float] = _all


@dataclass(frozen=True)
class _PerFile:
    """Findings that can be fixed file by file, and the metrics fixing them moves."""

    selector: str
    noun: tuple[str, str]
    """Singular and plural."""
    rates: tuple[_FindingsRate, ...]


_PER_FILE = (
    _PerFile(
        "ruff",
        ("ruff finding", "ruff findings"),
        (_FindingsRate("lint.issues_per_kloc"), _FindingsRate("lint.serious_per_kloc", _serious)),
    ),
    _PerFile("mypy", ("type error", "type errors"), (_FindingsRate("types.errors_per_kloc"),)),
    _PerFile(
        "bandit",
        ("security finding", "security findings"),
        (_FindingsRate("security.weighted_per_kloc", security_weight),),
    ),
    _PerFile(
        "radon:complexity",
        ("over-complex function", "over-complex functions"),
        (_FindingsRate("complexity.high_share"),),
    ),
    _PerFile(
        "radon:function-length",
        ("over-long function", "over-long functions"),
        (_FindingsRate("design.long_function_share"),),
    ),
    _PerFile(
        "facts:print-call",
        ("print() call", "print() calls"),
        (_FindingsRate("observability.prints_per_kloc"),),
    ),
    _PerFile(
        "facts:suppression",
        ("suppression comment", "suppression comments"),
        (_FindingsRate("suppressions.per_kloc"),),
    ),
)
"""Every metric here is attributed to files; the rest are changes of their own."""

_COVERAGE = ("coverage.line", "coverage.branch")

_ADVICE = {
    "coverage.line": ("write tests that run the code", None),
    "coverage.branch": ("test the error paths and edge cases", None),
    "tests.pass_rate": ("make the tests run and pass", "pytest"),
    "tests.sloc_ratio": ("write more tests for the code", None),
    "tests.without_assert_share": ("give every test an assert", "facts:test-without-assert"),
    "tests.weak_assertion_share": (
        "assert what the code returns, not that it returned",
        "facts:test-weak-assertion",
    ),
    "tests.mutation_score": ("add assertions that catch the surviving mutants", "pytest"),
    "tests.disabled_share": ("run or delete the tests turned off", "facts:test-disabled"),
    "tests.leftover_files": (
        "have the tests write to a temporary directory",
        "pytest:test-leftover",
    ),
    "complexity.mean": ("split decisions into smaller functions", "radon:complexity"),
    "complexity.max": ("split the most complex function", "radon:complexity"),
    "maintainability.mi_mean": ("simplify the least maintainable modules", "radon"),
    "code.unparsable_files": ("fix the files Python cannot parse", "facts:unparsable"),
    "security.hardcoded_secrets": (
        "move credentials out of the code (environment or secret store)",
        "facts:hardcoded-secret",
    ),
    "safety.outside_symlinks": ("remove links that point outside", "facts:symlink-outside"),
    "security.debug_in_settings": (
        "read DEBUG from the environment, off by default",
        "facts:debug-in-settings",
    ),
    "types.annotation_coverage": ("annotate function parameters and returns", None),
    "docs.docstring_coverage": ("add docstrings to public modules, classes, functions", None),
    "docs.readme_sections": ("add the missing README sections", "facts:readme"),
    "docs.readme_substance": ("write the missing README sections", "facts:readme"),
    "docs.readme_commands": ("give working run and test commands in the README", "facts:readme"),
    "packaging.metadata": ("declare the project in pyproject.toml", None),
    "packaging.pinned_share": ("pin or lock the dependencies", None),
    "packaging.installable": ("make the declared requirements install", None),
    "packaging.undeclared_imports": ("declare every third-party module imported", "deps"),
    "packaging.transitive_imports": (
        "declare the packages the code imports directly",
        "deps:transitive-import",
    ),
    "deploy.container": ("add a Dockerfile", None),
    "deploy.iac": ("add infrastructure as code", None),
    "deploy.ci": ("add a CI workflow that runs the tests", None),
    "design.mean_function_length": ("shorten long functions", "radon:function-length"),
    "design.large_module_share": ("split the largest modules", None),
    "design.packaged_share": ("move the code into a package of modules", None),
    "design.import_cycle_share": ("break the import cycles", "design:import-cycle"),
    "design.upward_imports": (
        "make lower layers stop importing higher ones",
        "design:upward-import",
    ),
    "design.import_side_effects": (
        "create clients and connections in functions",
        "design:import-side-effect",
    ),
    "design.global_state": ("pass state instead of sharing globals", "design:global-state"),
    "design.hardcoded_addresses": (
        "read service addresses from the environment or settings",
        "design:hardcoded-address",
    ),
    "tests.path_edits": (
        "let the tests import the code without editing sys.path",
        "facts:test-path-edit",
    ),
    "design.framework_in_core": (
        "keep HTTP in the web layer: raise your own errors in the core and map them there",
        "design:framework-in-core",
    ),
    "design.duplicated_share": ("factor the copied blocks out", "design:duplicate-code"),
    "observability.logging": ("log through the logging module", None),
}


def _fmt(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


class _Rescorer:
    """The overall score of the report's metrics with some values replaced."""

    def __init__(self, rubric: Rubric, report: Report) -> None:
        self.rubric = rubric
        metrics = {m.name: m for result in report.tools for m in result.metrics}
        for criterion in report.criteria:  # derived rates live only in the criteria
            for m in criterion.metrics:
                metrics.setdefault(m.name, Metric(m.name, m.value, m.unit, m.source))
        self.metrics = metrics
        self.baseline = self.score({})

    def value(self, name: str) -> float | None:
        metric = self.metrics.get(name)
        return None if metric is None else metric.value

    def score(self, changed: Mapping[str, float]) -> float:
        metrics = dict(self.metrics)
        for name, value in changed.items():
            old = metrics[name]
            metrics[name] = Metric(name, value, old.unit, old.source)
        _, overall, _, _ = scoring.score_all(self.rubric, metrics, ())
        return overall or 0.0

    def gain(self, changed: Mapping[str, float]) -> float:
        return round(self.score(changed) - self.baseline, 1)


def _scored(rubric: Rubric) -> dict[str, str]:
    """Metric name -> the first criterion (name) that scores it."""
    owners: dict[str, str] = {}
    for criterion in rubric.criteria:
        for rule in criterion.metrics:
            owners.setdefault(rule.metric, criterion.name)
    return owners


def _first(findings: Iterable[Finding]) -> Finding:
    return min(findings, key=lambda f: (f.location.line or 0, f.rule_id))


def _findings_gains(
    rescorer: _Rescorer, findings: list[Finding], owners: Mapping[str, str]
) -> tuple[list[Gain], set[str]]:
    """Fixing one file's findings of one kind, for each file and kind; the metrics moved."""
    gains: list[Gain] = []
    attributed: set[str] = set()
    for group in _PER_FILE:
        rates = [r for r in group.rates if r.metric in owners and rescorer.value(r.metric)]
        chosen = [f for f in findings if scoring.matches(group.selector, f)]
        if not rates or not chosen:
            continue
        attributed.update(r.metric for r in rates)
        by_file: dict[str, list[Finding]] = {}
        for finding in chosen:
            by_file.setdefault(finding.location.path, []).append(finding)
        for path, in_file in by_file.items():
            changed = {}
            for rate in rates:
                total = sum(rate.weight(f) for f in chosen)
                share = sum(rate.weight(f) for f in in_file) / total if total else 0.0
                changed[rate.metric] = (rescorer.value(rate.metric) or 0.0) * (1 - share)
            first = _first(in_file)
            noun = group.noun[0] if len(in_file) == 1 else group.noun[1]
            gains.append(
                Gain(
                    rescorer.gain(changed),
                    f"fix {len(in_file)} {noun} in {path}",
                    owners[rates[0].metric],
                    str(first.location),
                    f"{first.rule_id}: {first.message}",
                )
            )
    return gains, attributed


def _coverage_gains(
    rescorer: _Rescorer, per_file: Iterable[FileStats], owners: Mapping[str, str]
) -> tuple[list[Gain], set[str]]:
    """Covering one file's missed statements and branches, for each file; the metrics moved."""
    files = [f for f in per_file if f.statements is not None and f.missing_lines is not None]
    statements = sum(f.statements or 0 for f in files)
    branches = sum(f.branches or 0 for f in files)
    line, branch = (rescorer.value(name) for name in _COVERAGE)
    owner = next((owners[name] for name in _COVERAGE if name in owners), None)
    if owner is None or not files or (line is None and branch is None):
        return [], set()
    gains = []
    for f in files:
        if not f.missing_lines and (f.branches or 0) == (f.covered_branches or 0):
            continue
        changed = {}
        if line is not None and statements:
            changed["coverage.line"] = min(
                line + 100 * len(f.missing_lines or ()) / statements, 100
            )
        if branch is not None and branches:
            missed = (f.branches or 0) - (f.covered_branches or 0)
            changed["coverage.branch"] = min(branch + 100 * missed / branches, 100)
        covered = f"{_fmt(f.line_coverage or 0.0)}% covered"
        missed = len(f.missing_lines or ())
        gains.append(
            Gain(
                rescorer.gain(changed),
                f"add tests for {f.path} ({covered})",
                owner,
                f"{f.path}:{f.missing_lines[0]}" if f.missing_lines else f.path,
                f"{missed} of {f.statements} statements never run by the tests",
            )
        )
    return gains, {name for name in _COVERAGE if rescorer.value(name) is not None}


def _metric_gains(
    rubric: Rubric, rescorer: _Rescorer, findings: list[Finding], attributed: set[str]
) -> list[Gain]:
    """Each other metric reaching full marks, and each cap lifted."""
    gains = []
    for criterion in rubric.criteria:
        for rule in criterion.metrics:
            value = rescorer.value(rule.metric)
            if rule.metric in attributed or value is None or rule.curve(value) >= 100:
                continue
            direction, target = rule.curve.full_marks_at
            advice, selector = _ADVICE.get(rule.metric, (f"improve {rule.metric}", None))
            hint = [f for f in findings if selector and scoring.matches(selector, f)]
            gains.append(
                Gain(
                    rescorer.gain({rule.metric: target}),
                    advice,
                    criterion.name,
                    str(_first(hint).location) if hint else None,
                    f"{rule.metric} is {_fmt(value)}, full marks need {direction} {_fmt(target)}",
                )
            )
        scored = {rule.metric for rule in criterion.metrics}
        for cap in criterion.caps:
            value = rescorer.value(cap.metric)
            if value is None or value <= cap.above or cap.metric in scored:
                continue  # a cap on a scored metric moves with that metric's own change
            gains.append(
                Gain(
                    rescorer.gain({cap.metric: cap.above}),
                    f"remove what caps {criterion.name} at {_fmt(cap.cap)}",
                    criterion.name,
                    None,
                    f"{cap.reason} ({cap.metric} = {_fmt(value)})",
                )
            )
    return gains


def gains(rubric: Rubric, report: Report, limit: int = 5) -> tuple[Gain, ...]:
    """The ``limit`` changes that would raise the overall score the most, largest first.

    ``rubric`` must be the rubric ``report`` was scored with.
    """
    rescorer = _Rescorer(rubric, report)
    owners = _scored(rubric)
    findings = [f for result in report.tools for f in result.findings]
    by_file, counted = _findings_gains(rescorer, findings, owners)
    by_coverage, covered = _coverage_gains(rescorer, report.per_file, owners)
    found = [
        *by_file,
        *by_coverage,
        *_metric_gains(rubric, rescorer, findings, counted | covered),
    ]
    worth = [g for g in found if g.points >= MIN_GAIN]
    worth.sort(key=lambda g: (-g.points, g.action))
    return tuple(worth[:limit])
