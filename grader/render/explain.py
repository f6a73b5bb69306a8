"""``grader explain`` and ``grader rubrics``: how a rubric scores, as plain text.

A candidate reads this to know what a criterion or a metric is worth before grading:
its share of the overall score, each metric's curve as thresholds, the caps and the
rationale, all read from the rubric itself.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Mapping

from grader.core.errors import UsageError
from grader.scoring.rubric import Criterion, Curve, MetricRule, Rubric

WIDTH = 88


def _fmt(value: float) -> str:
    return f"{value:g}"


def _wrap(text: str, indent: str) -> str:
    return textwrap.fill(
        " ".join(text.split()), WIDTH, initial_indent=indent, subsequent_indent=indent
    )


def curve_text(curve: Curve, unit: str) -> str:
    """The curve as thresholds: ``<= 5 → 100, 20 → 70, >= 60 → 0`` (linear in between)."""
    points = curve.points
    unit = "" if unit == "ratio" else unit if unit == "%" else f" {unit}" if unit else ""
    parts = []
    for i, (value, score) in enumerate(points):
        edge = "<= " if i == 0 else ">= " if i == len(points) - 1 else ""
        parts.append(f"{edge}{_fmt(value)}{unit} → {_fmt(score)}")
    return ", ".join(parts) + " (linear in between)"


def _share(part: float, whole: float) -> str:
    return f"{100 * part / whole:.0f} %" if whole else "0 %"


def _metric_share(rule: MetricRule, criterion: Criterion) -> float:
    """The most of its criterion the metric can cost, from 0 to 1."""
    mean = sum(r.weight for r in criterion.metrics if not r.deduction)
    whole = mean + sum(r.weight for r in criterion.metrics if r.deduction)
    return rule.weight / (whole if rule.deduction else mean) if whole else 0.0


def _metric_lines(rule: MetricRule, criterion: Criterion, units: Mapping[str, str]) -> list[str]:
    share = f"{100 * _metric_share(rule, criterion):.0f} %"
    role = (
        f"a deduction of up to {share} of {criterion.name}"
        if rule.deduction
        else f"{share} of {criterion.name}{', required' if rule.required else ''}"
    )
    return [
        f"  {rule.metric}  (weight {_fmt(rule.weight)}, {role})",
        f"    points: {curve_text(rule.curve, units.get(rule.metric, ''))}",
        _wrap(rule.rationale, "    "),
    ]


def _criterion(rubric: Rubric, criterion: Criterion, units: Mapping[str, str]) -> list[str]:
    total = sum(c.weight for c in rubric.criteria)
    lines = [
        f"{criterion.name} ({criterion.id}): weight {_fmt(criterion.weight)}, "
        f"{_share(criterion.weight, total)} of the overall score in rubric {rubric.info.name!r}",
        _wrap(criterion.rationale, "  "),
        "",
        "Metrics (the criterion is their weighted mean, less what the deductions charge; "
        "one not measured is left out):",
    ]
    for rule in criterion.metrics:
        lines += _metric_lines(rule, criterion, units)
    if criterion.caps:
        lines += ["", "Caps:"]
        lines += [
            _wrap(
                f"at most {_fmt(cap.cap)} while {cap.metric} > {_fmt(cap.above)}: {cap.reason}",
                "  ",
            )
            for cap in criterion.caps
        ]
    if criterion.findings:
        lines += ["", f"Findings shown: {', '.join(criterion.findings)}"]
    return lines


def _metric(
    rubric: Rubric,
    name: str,
    users: Iterable[Criterion],
    descriptions: Mapping[str, str],
    units: Mapping[str, str],
) -> list[str]:
    lines = [_wrap(f"{name}: {descriptions.get(name, '')}".rstrip(": "), "")]
    total = sum(c.weight for c in rubric.criteria)
    for criterion in users:
        rule = next((r for r in criterion.metrics if r.metric == name), None)
        if rule is not None:
            share = criterion.weight / total * _metric_share(rule, criterion)
            lines += [
                "",
                f"In {criterion.name} ({criterion.id}): worth up to {100 * share:.1f} points "
                f"of the overall score",
                *_metric_lines(rule, criterion, units),
            ]
        lines += [
            _wrap(
                f"Caps {criterion.name} at {_fmt(cap.cap)} while above {_fmt(cap.above)}: "
                f"{cap.reason}",
                "  ",
            )
            for cap in criterion.caps
            if cap.metric == name
        ]
    return lines


def explain(
    rubric: Rubric,
    name: str,
    descriptions: Mapping[str, str],
    units: Mapping[str, str],
) -> str:
    """How ``rubric`` scores the criterion (by id or name) or metric called ``name``."""
    # Rationales quote "the article": name it, when the rubric says what they quote.
    source = ["", _wrap(f"Rationales quote {rubric.source}.", "")] if rubric.source else []
    for criterion in rubric.criteria:
        if name in {criterion.id, criterion.name} or name.lower() == criterion.name.lower():
            return "\n".join(_criterion(rubric, criterion, units) + source) + "\n"
    users = [
        c
        for c in rubric.criteria
        if any(r.metric == name for r in c.metrics) or any(cap.metric == name for cap in c.caps)
    ]
    if users:
        return "\n".join(_metric(rubric, name, users, descriptions, units) + source) + "\n"
    criteria = ", ".join(c.id for c in rubric.criteria)
    if name in descriptions:
        raise UsageError(f"rubric {rubric.info.name!r} does not score metric {name!r}")
    raise UsageError(
        f"no criterion or metric {name!r} in rubric {rubric.info.name!r} (criteria: {criteria})"
    )


def overview(rubric: Rubric) -> str:
    """Every criterion of ``rubric`` with its weight and metrics: what ``explain`` can explain."""
    total = sum(c.weight for c in rubric.criteria)
    lines = [f"{rubric.info.title} (rubric {rubric.info.name!r}, for the {rubric.info.audience})"]
    for c in rubric.criteria:
        lines.append(f"  {c.id:<16} {_share(c.weight, total):>5}  {c.name}")
        lines.append(_wrap(", ".join(r.metric for r in c.metrics), " " * 26))
    lines.append("grader explain CRITERION|METRIC tells how one of them is scored.")
    return "\n".join(lines) + "\n"


def rubrics(loaded: Iterable[tuple[str, Rubric]]) -> str:
    """The built-in rubrics: name, title, audience and the first line of the description."""
    lines = []
    for name, rubric in loaded:
        first = rubric.description.strip().split(". ")[0].rstrip(".")
        lines.append(f"{name:<14} {rubric.info.title} (for the {rubric.info.audience})")
        lines.append(_wrap(first + ".", " " * 15))
    return "\n".join(lines) + "\n"
