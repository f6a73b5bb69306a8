"""report.md: a compact summary for pull-request comments and job summaries."""

from __future__ import annotations

import re

from grader.models import Report

_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_{}\[\]()#+\-.!|~])")


def _cell(text: str) -> str:
    """Candidate-controlled text as inert Markdown: no links, images, tables or HTML."""
    escaped = _MARKDOWN_PUNCTUATION.sub(r"\\\1", text)
    return escaped.replace("<", "&lt;").replace(">", "&gt;").replace("\n", " ")


def _header(report: Report) -> list[str]:
    score = "n/a" if report.score is None else f"{report.score:.1f}"
    sub = report.submission
    commit = f" at `{sub.commit[:12]}`" if sub.commit else ""
    rubric = f"rubric **{_cell(report.rubric.title)}** (`{report.rubric.sha256[:12]}`)"
    lines = [
        f"## grader: {score}/100 (grade {report.grade})",
        "",
        f"Submission {_cell(sub.source)}{commit}, {rubric}",
        "",
    ]
    warnings = [f"> **Warning:** {_cell(w)}" for w in sub.warnings]
    return lines + ([*warnings, ""] if warnings else [])


def _criteria(report: Report) -> list[str]:
    lines = ["| Criterion | Weight | Score | Why |", "|---|---:|---:|---|"]
    for c in report.criteria:
        value = "not measured" if c.score is None else f"{c.score:.0f}"
        lines.append(f"| {c.name} | {c.weight:g} | {value} | {_cell(c.reason)[:300]} |")
    return lines


def _top_findings(report: Report) -> list[str]:
    unique = {f for c in report.criteria for f in c.findings}
    top = sorted(unique, key=lambda f: (-f.severity.rank, f.location.path, f.location.line or 0))
    if not top:
        return []
    return ["", "### Top findings", ""] + [
        f"- **{f.severity.value}** {_cell(str(f.location))} "
        f"{f.tool} {_cell(f.rule_id)}: {_cell(f.message)}"
        for f in top[:10]
    ]


def render(report: Report) -> str:
    """Score, grade and one line per criterion, plus the top findings."""
    footer = ["", f"<sub>grader {report.grader_version}; {report.score_reason}</sub>", ""]
    return "\n".join(_header(report) + _criteria(report) + _top_findings(report) + footer)
