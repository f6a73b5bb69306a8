"""report.md: a compact summary for pull-request comments and job summaries."""

from __future__ import annotations

import re

from grader.core.models import AssignmentReport, Report

_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_{}\[\]()#+\-.!|~])")
# Only a "<" followed by a letter, "/", "!" or "?" can open HTML, a comment or an autolink;
# any other "<" (as in "<= 5") and every ">" (as in ">= 100") is plain text in a table cell.
_TAG_OPENER = re.compile(r"<(?=[A-Za-z/!?])")
_ELLIPSIS = "…"
_NUMBER_TAIL = re.compile(r"[\d.,]+$")


def _shorten(text: str, limit: int) -> str:
    """At most `limit` characters, cut at a word boundary with an ellipsis when too long.

    Cutting happens on the plain text, so neither an escape nor a number is ever cut in two.
    """
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    head = text[: limit - len(_ELLIPSIS)]
    if not text[len(head)].isspace():
        # Back to the last space; in one overlong word, at least to the start of a number.
        head = head[: head.rindex(" ")] if " " in head else _NUMBER_TAIL.sub("", head) or head
    return head.rstrip() + _ELLIPSIS


def _cell(text: str, limit: int | None = None) -> str:
    """Candidate-controlled text as inert Markdown: no links, images, tables or HTML.

    With a limit, the text is shortened first (see _shorten), then escaped.
    """
    if limit is not None:
        text = _shorten(text, limit)
    escaped = _MARKDOWN_PUNCTUATION.sub(r"\\\1", text)
    return _TAG_OPENER.sub("&lt;", escaped).replace("\n", " ")


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
    if report.band is not None:
        lines += [_cell(report.band.summary(report.grade)), ""]
    if report.applicability is not None:
        lines += [_cell(report.applicability.summary()), ""]
    warnings = [f"> **Warning:** {_cell(w)}" for w in sub.warnings]
    return lines + ([*warnings, ""] if warnings else [])


def _criteria(report: Report) -> list[str]:
    lines = ["| Criterion | Weight | Score | Why |", "|---|---:|---:|---|"]
    for c in report.criteria:
        value = "not measured" if c.score is None else f"{c.score:.0f}"
        lines.append(f"| {c.name} | {c.weight:g} | {value} | {_cell(c.reason, 300)} |")
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


def _hidden_tests(a: AssignmentReport) -> list[str]:
    run = a.hidden_tests
    if run is None:
        return []
    if run.problem:
        return ["", f"**Reference tests:** {_cell(run.problem)}"]
    lines = ["", f"**Reference tests:** {run.passed} of {run.total} passed", ""]
    if run.cases:
        lines += ["| Test | Result | Message |", "|---|---|---|"]
        lines += [f"| {_cell(c.name)} | {c.outcome} | {_cell(c.message, 200)} |" for c in run.cases]
    if run.counted_total:
        lines += ["", f"{run.counted_passed} of {run.counted_total} further tests passed."]
    return lines


def _assignment(report: Report) -> list[str]:
    a = report.assignment
    if a is None:
        return []
    lines = ["", f"### Assignment: {_cell(a.name)}"]
    if a.no_work:
        lines += ["", "**No work submitted:** the submission is identical to the starter."]
    if a.authorship:
        s = a.authorship
        lines += [
            "",
            f"Against the starter ({_cell(s.base)}): {s.lines_added} lines added, "
            f"{s.lines_changed} changed, {s.lines_deleted} deleted; {s.files_added} files "
            f"added, {s.files_changed} changed, {s.files_deleted} deleted. "
            f"{len(s.starter_findings)} findings on starter lines were not scored.",
        ]
    if a.calibration:
        c = a.calibration
        where = "" if c.position is None else f"; this submission is at {c.position:.0f}%"
        lines += [
            "",
            f"Calibration: the bare starter scores {c.floor}, the reference solution "
            f"{c.ceiling} ({c.ceiling_grade}){where}.",
        ]
        lines += [f"> **Warning:** {_cell(c.warning)}"] if c.warning else []
    lines += _hidden_tests(a)
    if a.history:
        h = a.history
        lines += ["", f"**History:** {len(h.commits)} commits after the starter"]
        lines += [
            f"- commit after the deadline: `{c.sha[:12]}` {_cell(c.subject)}"
            for c in h.after_deadline
        ]
        lines += [f"- {_cell(flag)}" for flag in h.flags]
    if a.discussion:
        lines += ["", "### Discussion points", ""]
        lines += [
            f"{i}. {_cell(d.question)} ({_cell(str(d.location))})"
            for i, d in enumerate(a.discussion, 1)
        ]
    return lines


def render(report: Report) -> str:
    """Score, grade and one line per criterion, plus the top findings."""
    footer = ["", f"<sub>grader {report.grader_version}; {report.score_reason}</sub>", ""]
    body = _criteria(report) + _top_findings(report) + _assignment(report)
    return "\n".join(_header(report) + body + footer)
