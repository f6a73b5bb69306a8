"""report.sarif: the report's findings as SARIF 2.1.0, shaped for GitHub code scanning.

One run: its driver is grader and its extensions are the tools grader ran (ruff, mypy,
bandit, radon, facts, ...), each holding the rules its findings broke. Not one run per
tool: code scanning stopped combining several runs of one tool and category from a
single upload (June 2025), while a driver with extensions is how CodeQL itself reports
its query packs, so one file uploads as one analysis. Rule ids carry the tool
(``ruff/E722``, ``bandit/B105``) because code scanning tells rules apart by id alone.

Only findings the report shows under a criterion are emitted, so files left out with
``--exclude`` never appear. Paths are relative to the submission's root
(``uriBaseId`` ``%SRCROOT%``); findings about the submission as a whole have no file and
are left out with a note. Messages are the report's own, already redacted; no source
snippet is ever copied, so a credential on a flagged line cannot reach the file.

Code scanning's limits ("SARIF results exceed limits" in GitHub's documentation): 20
runs per file, 25,000 results per run of which only 5,000 are kept, 25,000 rules per
run, 100 tool extensions per run, 1,000 locations per result, 20 tags per rule (10
shown), 10 MB per file after gzip. grader writes one run, one location per result and
at most 10 tags per rule, and keeps at most 5,000 results, the most severe first, so the
choice of what is dropped is grader's and deterministic; if the file would still exceed
10 MB compressed, fewer results are kept. What was dropped is said in the run's
``invocations[0].toolExecutionNotifications`` and ``properties.omittedResults``.
"""

from __future__ import annotations

import gzip
import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import quote, urlparse

from grader.core.models import Finding, Report, Severity
from grader.render.json_report import assignment_dict

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
SRCROOT = "%SRCROOT%"
FINGERPRINT_KEY = "graderFingerprint/v1"
"""partialFingerprints key; the value is grader.scoring.fingerprints' line hash and occurrence."""

_LEVELS = {
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
# code scanning rates security alerts by a 0.1-10 "security-severity" on the rule.
_SECURITY_SEVERITY = {
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
    Severity.INFO: "1.0",
}
SECURITY_CRITERION = "security"
# Tools whose documentation URL ends in the rule's name (ruff .../rules/bare-except,
# bandit .../plugins/b105_hardcoded_password_string.html).
_NAMED_BY_URL = frozenset({"ruff", "bandit"})


@dataclass(frozen=True)
class Limits:
    """What GitHub code scanning accepts and keeps from one SARIF file."""

    results_per_run: int = 5_000
    gzip_bytes: int = 10 * 1024 * 1024
    extensions_per_run: int = 100
    tags_per_rule: int = 10


@dataclass(frozen=True)
class _Entry:
    """One distinct finding and the criteria it is charged under."""

    finding: Finding
    uri: str
    criteria: tuple[str, ...]

    @property
    def rule_id(self) -> str:
        return f"{self.finding.tool}/{self.finding.rule_id}"


def artifact_uri(path: str) -> str | None:
    """A relative URI for a submission path, or None when it names no file inside it."""
    pure = PurePosixPath(path)
    if not path or path == "." or pure.is_absolute() or ".." in pure.parts:
        return None
    return quote(path.encode("utf-8", "surrogateescape"), safe="/")


def _entries(report: Report) -> tuple[list[_Entry], int]:
    """Distinct findings with a file, most severe first; and how many had no file."""
    criteria: dict[tuple[Any, ...], list[str]] = defaultdict(list)
    first: dict[tuple[Any, ...], Finding] = {}
    for criterion in report.criteria:
        for f in criterion.findings:
            key = (f.tool, f.rule_id, f.location.path, f.location.line, f.message)
            first.setdefault(key, f)
            if criterion.id not in criteria[key]:
                criteria[key].append(criterion.id)
    entries, fileless = [], 0
    for key, finding in first.items():
        uri = artifact_uri(finding.location.path)
        if uri is None:
            fileless += 1
            continue
        entries.append(_Entry(finding, uri, tuple(criteria[key])))
    entries.sort(
        key=lambda e: (
            -e.finding.severity.rank,
            e.rule_id,
            e.finding.location.path,
            e.finding.location.line or 0,
            e.finding.message,
        )
    )
    return entries, fileless


def _humanized(finding: Finding) -> str:
    name = finding.rule_id
    if finding.tool in _NAMED_BY_URL and finding.help_url:
        url = urlparse(finding.help_url)
        # bandit's blacklist pages hold several rules, one anchor each (#b403-import-pickle).
        last = url.fragment or PurePosixPath(url.path).name.removesuffix(".html")
        prefix = finding.rule_id.lower()
        name = last.removeprefix(f"{prefix}_").removeprefix(f"{prefix}-") or name
    return name.replace("_", " ").replace("-", " ").capitalize()


def _rule(entries: list[_Entry], names: dict[str, str], limits: Limits) -> dict[str, Any]:
    sample = entries[0].finding
    worst = max((e.finding.severity for e in entries), key=lambda s: s.rank)
    criteria = sorted({c for e in entries for c in e.criteria})
    title = _humanized(sample)
    charged = ", ".join(names.get(c, c) for c in criteria)
    full = f"{sample.tool} rule {sample.rule_id} ({title.lower()}), charged under {charged}."
    security = [SECURITY_CRITERION] if SECURITY_CRITERION in criteria else []
    tags = list(dict.fromkeys([*security, sample.tool, *criteria]))[: limits.tags_per_rule]
    rule: dict[str, Any] = {
        "id": entries[0].rule_id,
        "name": sample.rule_id,
        "shortDescription": {"text": f"{title} ({sample.tool} {sample.rule_id})"},
        "fullDescription": {"text": full},
        "help": {"text": full + (f" Documentation: {sample.help_url}" if sample.help_url else "")},
        "defaultConfiguration": {"level": _LEVELS[worst]},
        "properties": {"tags": tags},
    }
    if sample.help_url:
        rule["helpUri"] = sample.help_url
    if security:
        rule["properties"]["security-severity"] = _SECURITY_SEVERITY[worst]
    return rule


def _result(entry: _Entry, rule_index: int, component: int) -> dict[str, Any]:
    f = entry.finding
    region: dict[str, int] = {}
    if f.location.line:
        region["startLine"] = f.location.line
        if f.location.end_line and f.location.end_line >= f.location.line:
            region["endLine"] = f.location.end_line
    physical: dict[str, Any] = {"artifactLocation": {"uri": entry.uri, "uriBaseId": SRCROOT}}
    if region:
        physical["region"] = region
    result: dict[str, Any] = {
        "ruleId": entry.rule_id,
        "rule": {"id": entry.rule_id, "index": rule_index, "toolComponent": {"index": component}},
        "level": _LEVELS[f.severity],
        "message": {"text": f.message or _humanized(f)},
        "locations": [{"physicalLocation": physical}],
        "properties": {"severity": f.severity.value, "criteria": list(entry.criteria)},
    }
    if f.fingerprint:
        result["partialFingerprints"] = {FINGERPRINT_KEY: f.fingerprint}
    if f.confidence is not None:
        result["properties"]["confidence"] = f.confidence.value
    return result


def _tool_names(report: Report, entries: list[_Entry], limits: Limits) -> list[str]:
    names = [t.tool for t in report.tools]
    names += sorted({e.finding.tool for e in entries} - set(names))
    return names[: limits.extensions_per_run]


def _notes(omitted: int, fileless: int, foreign: int, limits: Limits) -> list[str]:
    notes = []
    if omitted:
        notes.append(
            f"{omitted} findings left out: GitHub code scanning keeps at most "
            f"{limits.results_per_run} results per run and {limits.gzip_bytes / 2**20:g} MB "
            "per compressed file; the most severe were kept."
        )
    if fileless:
        notes.append(
            f"{fileless} findings concern the submission as a whole (no file): "
            "see report.html or report.json."
        )
    if foreign:
        notes.append(f"{foreign} findings of tools beyond the extension limit left out.")
    return notes


def _log(
    report: Report, entries: list[_Entry], fileless: int, limits: Limits, keep: int
) -> dict[str, Any]:
    tools = _tool_names(report, entries, limits)
    component = {name: index for index, name in enumerate(tools)}
    kept = [e for e in entries[:keep] if e.finding.tool in component]
    foreign = len(entries[:keep]) - len(kept)
    by_rule: dict[str, list[_Entry]] = defaultdict(list)
    for entry in kept:
        by_rule[entry.rule_id].append(entry)
    rule_ids = {name: sorted(r for r in by_rule if r.startswith(f"{name}/")) for name in tools}
    index = {r: i for ids in rule_ids.values() for i, r in enumerate(ids)}
    names = {c.id: c.name for c in report.criteria}
    versions = {t.tool: t.version for t in report.tools}
    extensions = [
        {
            "name": name,
            **({"version": versions[name]} if versions.get(name) else {}),
            "rules": [_rule(by_rule[r], names, limits) for r in rule_ids[name]],
        }
        for name in tools
    ]
    notes = _notes(len(entries) - keep, fileless, foreign, limits)
    run = {
        "tool": {
            "driver": {
                "name": "grader",
                "version": report.grader_version,
                "semanticVersion": report.grader_version,
                "rules": [],
            },
            "extensions": extensions,
        },
        "invocations": [
            {
                "executionSuccessful": True,
                "endTimeUtc": report.generated_at,
                "toolExecutionNotifications": [
                    {"level": "warning", "message": {"text": note}} for note in notes
                ],
            }
        ],
        "originalUriBaseIds": {
            SRCROOT: {"description": {"text": "The root folder of the graded submission."}}
        },
        "results": [_result(e, index[e.rule_id], component[e.finding.tool]) for e in kept],
        "properties": {
            "score": report.score,
            "grade": report.grade,
            "rubric": report.rubric.name,
            "rubricSha256": report.rubric.sha256,
            "commit": report.submission.commit,
            "omittedResults": len(entries) - keep,
            **({"assignment": assignment_dict(report.assignment)} if report.assignment else {}),
        },
    }
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}


def _serialise(log: dict[str, Any]) -> str:
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"


def render_within(report: Report, limits: Limits) -> str:
    """The SARIF log, cut to what code scanning keeps under ``limits``."""
    entries, fileless = _entries(report)
    keep = min(len(entries), limits.results_per_run)
    while True:
        text = _serialise(_log(report, entries, fileless, limits, keep))
        size = len(gzip.compress(text.encode("utf-8", "backslashreplace"), mtime=0))
        if size <= limits.gzip_bytes or keep == 0:
            return text
        # Shrink in proportion to the excess, always by at least one result.
        keep = min(keep - 1, int(keep * limits.gzip_bytes / size * 0.9))


def render(report: Report) -> str:
    """report.sarif within GitHub code scanning's limits."""
    return render_within(report, Limits())
