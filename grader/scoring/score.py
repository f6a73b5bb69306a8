"""Pure scoring: (metrics, findings, rubric) -> criterion scores with reasons. No I/O.

A criterion's score is the weighted mean of its measured metrics' points, less what its
deductions charge; metrics that could not be measured are left out and named. A
deduction (a check for a defect whose absence is no merit) charges what it would cost
inside the mean, (100 - points) x weight / (the mean's weight + the deductions'), and
nothing at full marks, so adding one never raises a score. A criterion with no measured
metric is "not measured" and left out of the overall score, which says so.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from grader.core.models import CriterionScore, Finding, Metric, MetricScore
from grader.scoring.rubric import Criterion, MetricRule, Rubric


def matches(selector: str, finding: Finding) -> bool:
    """``tool`` selects all of a tool's findings; ``tool:prefix`` narrows by rule id."""
    tool, _, prefix = selector.partition(":")
    return finding.tool == tool and finding.rule_id.startswith(prefix)


def _fmt(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.2f}".rstrip("0").rstrip(".")


def _metric_score(rule: MetricRule, metric: Metric | None) -> MetricScore:
    direction, threshold = rule.curve.full_marks_at
    unit = metric.unit if metric else ""
    if metric is None or metric.value is None:
        reason = metric.reason if metric and metric.reason else "not measured"
        return MetricScore(
            rule.metric,
            None,
            unit,
            None,
            rule.weight,
            threshold,
            f"not measured: {reason}",
            rule.rationale,
            metric.source if metric else "",
        )
    points = round(rule.curve(metric.value), 2)
    value = f"{_fmt(metric.value)} {unit}".strip()
    if points >= 100:
        explanation = f"{value}: full marks (needs {direction} {_fmt(threshold)})"
    else:
        explanation = f"{value}: {_fmt(points)}/100, full marks need {direction} {_fmt(threshold)}"
        if metric.reason:  # why a measured value is low, when the tool knows (a broken run)
            explanation += f" ({metric.reason})"
    return MetricScore(
        rule.metric,
        metric.value,
        unit,
        points,
        rule.weight,
        threshold,
        explanation,
        rule.rationale,
        metric.source,
    )


def sorted_findings(findings: Iterable[Finding]) -> tuple[Finding, ...]:
    """Most severe first, then by place."""
    return _sorted_findings(findings)


def _sorted_findings(findings: Iterable[Finding]) -> tuple[Finding, ...]:
    return tuple(
        sorted(
            findings,
            key=lambda f: (-f.severity.rank, f.location.path, f.location.line or 0, f.rule_id),
        )
    )


def _selected(criterion: Criterion, findings: Iterable[Finding]) -> tuple[Finding, ...]:
    chosen = (f for f in findings if any(matches(s, f) for s in criterion.findings))
    return _sorted_findings(chosen)


def _not_measured(scored: tuple[MetricScore, ...]) -> str:
    """One clause per distinct reason, naming the metrics it applies to."""
    by_reason: dict[str, list[str]] = {}
    for m in scored:
        by_reason.setdefault(m.explanation.removeprefix("not measured: "), []).append(m.name)
    return "; ".join(
        f"not measured: {reason} ({', '.join(names)})" for reason, names in by_reason.items()
    )


def _weighted(scored: Iterable[MetricScore]) -> tuple[float, float]:
    """Weighted mean points of measured metrics, and their total weight."""
    measured = [m for m in scored if m.points is not None]
    total = sum(m.weight for m in measured)
    return sum((m.points or 0.0) * m.weight for m in measured) / total, total


def _apply_caps(
    criterion: Criterion, metrics: Mapping[str, Metric], score: float
) -> tuple[float, list[str]]:
    applied: list[str] = []
    for cap in criterion.caps:
        metric = metrics.get(cap.metric)
        value = metric.value if metric else None
        if value is None or value <= cap.above or score <= cap.cap:
            continue
        score = cap.cap
        applied.append(f"capped at {_fmt(cap.cap)}: {cap.reason} ({cap.metric} = {_fmt(value)})")
    return score, applied


def _costs(charged: list[tuple[float, MetricScore]], scored: tuple[MetricScore, ...]) -> list[str]:
    """What each metric cost, largest first, then what could not be measured."""
    costs = sorted(charged, key=lambda pair: -pair[0])
    parts = [
        f"{m.name} cost {_fmt(round(cost, 1))} points ({m.explanation})"
        for cost, m in costs
        if cost >= 0.05
    ]
    skipped = [m.name for m in scored if m.points is None]
    if skipped:
        parts.append(f"not measured: {', '.join(skipped)}")
    return parts


def _deducted(
    criterion: Criterion, scored: tuple[MetricScore, ...]
) -> tuple[float, list[tuple[float, MetricScore]]]:
    """The criterion's points before caps, and what each measured metric cost."""
    pairs = list(zip(criterion.metrics, scored, strict=True))
    regular = [m for rule, m in pairs if not rule.deduction and m.points is not None]
    deductions = [m for rule, m in pairs if rule.deduction and m.points is not None]
    if not regular:  # a criterion of deductions only (score_criterion keeps them apart)
        regular, deductions = deductions, []
    mean, weight = _weighted(regular)
    whole = weight + sum(m.weight for m in deductions)
    taken = [((100 - (m.points or 0.0)) * m.weight / whole, m) for m in deductions]
    charged = [((100 - (m.points or 0.0)) * m.weight / weight, m) for m in regular]
    return max(0.0, mean - sum(cost for cost, _ in taken)), charged + taken


def score_criterion(
    criterion: Criterion, metrics: Mapping[str, Metric], findings: Iterable[Finding]
) -> CriterionScore:
    """Score one criterion from the metrics it names."""
    scored = tuple(_metric_score(rule, metrics.get(rule.metric)) for rule in criterion.metrics)
    selected = _selected(criterion, findings)
    missing_required = [
        m
        for rule, m in zip(criterion.metrics, scored, strict=True)
        if rule.required and m.points is None
    ]
    if missing_required:
        return CriterionScore(
            criterion.id, criterion.name, criterion.weight, None,
            _not_measured(tuple(missing_required)), criterion.rationale, scored, selected,
        )  # fmt: skip
    regular = [m for rule, m in zip(criterion.metrics, scored, strict=True) if not rule.deduction]
    if all(m.points is None for m in regular or scored):  # deductions alone measure nothing
        return CriterionScore(
            criterion.id, criterion.name, criterion.weight, None,
            _not_measured(scored), criterion.rationale, scored, selected,
        )  # fmt: skip
    points, charged = _deducted(criterion, scored)
    score, caps = _apply_caps(criterion, metrics, points)
    reason = "; ".join([*caps, *_costs(charged, scored)]) or "full marks on every metric"
    return CriterionScore(
        criterion.id, criterion.name, criterion.weight, round(score, 1), reason,
        criterion.rationale, scored, selected, tuple(caps),
    )  # fmt: skip


def _overall_reason(criteria: tuple[CriterionScore, ...], measured: int) -> str:
    missing = [c.name for c in criteria if c.score is None]
    reason = f"weighted mean of {measured} criteria"
    if missing:
        reason += f"; not measured and left out: {', '.join(missing)}"
    return reason


def score_all(
    rubric: Rubric, metrics: Mapping[str, Metric], findings: Iterable[Finding]
) -> tuple[tuple[CriterionScore, ...], float | None, str, str]:
    """Every criterion, then the weighted overall score, its letter and its reason."""
    all_findings = tuple(findings)
    criteria = tuple(score_criterion(c, metrics, all_findings) for c in rubric.criteria)
    measured = [(c.score, c.weight) for c in criteria if c.score is not None and c.weight > 0]
    if not measured:
        return criteria, None, "n/a", "no criterion could be measured"
    weight = sum(w for _, w in measured)
    overall = round(sum(score * w for score, w in measured) / weight, 1)
    return criteria, overall, rubric.grade(overall), _overall_reason(criteria, len(measured))
