"""bandit: security findings in the candidate's non-test code, from ``-f json``.

``# nosec`` comments are not honoured (``--ignore-nosec``): a security finding is shown to
the reviewer whatever the candidate wrote next to it; the comment itself is counted as a
suppression.
"""

from __future__ import annotations

import functools
import json
import re
from collections import Counter
from collections.abc import Callable
from typing import Any

from grader.core import proc
from grader.core.models import (
    Finding,
    Location,
    Metric,
    MetricSpec,
    Severity,
    ToolResult,
    ToolStatus,
)
from grader.tools import (
    module_state,
    random_use,
    repository_files,
    ruff_parsed,
    secrets,
    sql_strings,
)
from grader.tools.base import (
    ToolContext,
    config_path,
    failure,
    package_version,
    python_module,
    relative,
    run_static,
)

# bandit's hard-coded password tests quote the password they found ("Possible hardcoded
# password: 'hunter2'"): the report keeps what bandit says and drops the value.
_CREDENTIAL_TESTS = frozenset({"B105", "B106", "B107"})
_RANDOM_TEST = "B311"
_LEVELS = {"LOW": Severity.LOW, "MEDIUM": Severity.MEDIUM, "HIGH": Severity.HIGH}
# Points per finding by severity, before normalising by size.
SEVERITY_WEIGHT = {Severity.LOW: 1.0, Severity.MEDIUM: 3.0, Severity.HIGH: 10.0}


def redacted_message(item: dict[str, Any]) -> str:
    """bandit's message, without the password its credential tests quote."""
    text: str = item["issue_text"]
    if item["test_id"] in _CREDENTIAL_TESTS:
        return text.split(": ", maxsplit=1)[0] + ": (value redacted)"
    return text


# bandit's hard-coded password tests fire on any string under a password-sounding name,
# including settings that name or describe a secret rather than hold one
# (TOKEN_TYPE = "bearer", PASSWORD_FIELD = "password", token_url="/token"); and a real
# credential is also found by the secrets scan, which charges it once (Security's
# development_secrets or secrets). A finding of these tests is left out when the scan
# charges its line, or when the name it stands under describes a secret. A word under a
# secret's own name (SECRET_KEY = "secret") is still charged: hard-coded, however weak.
_SECRET_WORDS = re.compile(r"(?i)pas+wo?r?d|pass(phrase)?|pwd|token|secrete?")
_DESCRIBES_A_SECRET = re.compile(
    r"(?i)[_.-]?(type|kind|field|fields|url|uri|endpoint|route|path|header|name|prefix|"
    r"scheme|algorithm|algo|alg|length|len|min|max|env|var|label|placeholder|regex|pattern|"
    r"column|col|param|attr|format|location|lifetime|expiry|expires?|expire_\w+|ttl|"
    r"timeout|hash_\w+|hasher|validator|validators|reset_\w+)$"
)
_NAMED = re.compile(r"([A-Za-z_][\w.]*)['\"]?\s*(?:==|=|:)")


_QUOTED_VALUE = re.compile(r": '(?P<value>.*)'$")
# Lines longer than this are not read for names (the patterns' cost grows with length).
_LONGEST_JUDGED_LINE = 2_000


def _holder(line: str, issue_text: str) -> str | None:
    """The secret-sounding name the flagged string is given to on ``line``
    (``token_type`` in ``Token(access_token=token, token_type="bearer")``), when bandit
    quotes the string; a neighbour given the same string (``username="admin"``) is not."""
    quoted = _QUOTED_VALUE.search(issue_text)
    if quoted is None:
        return None
    value = re.escape(quoted["value"])
    given = re.finditer(rf"([A-Za-z_][\w.]*)['\"]?\s*(?:==|=|:)\s*[rbuRBU]?['\"]{value}['\"]", line)
    names = [m.group(1) for m in given if _SECRET_WORDS.search(m.group(1).rsplit(".", 1)[-1])]
    return names[0] if names else None


def _describes_a_secret(line: str, issue_text: str) -> bool:
    """Whether the secret-sounding name on ``line`` names or describes a secret
    (``TOKEN_TYPE``, ``password_field``) rather than holding one: the name the flagged
    string is given to, else the first secret-sounding name on the line."""
    if len(line) > _LONGEST_JUDGED_LINE:  # minified or generated: left to bandit as it is
        return False
    names = [n for n in _NAMED.findall(line) if _SECRET_WORDS.search(n.rsplit(".", 1)[-1])]
    holder = _holder(line, issue_text)
    name = holder if holder is not None else (names[0] if names else None)
    return name is not None and _DESCRIBES_A_SECRET.search(name.rsplit(".", 1)[-1]) is not None


_RANDOM_FOR_DATA = (
    "pseudo-random finding(s) left out: the value is no token, password or key "
    "(sampling, simulation, test data), which the random module is fit for"
)
_CONTAINED = (
    "binding-to-all-interfaces finding(s) left out: the repository runs in a container, "
    "where listening on 0.0.0.0 is how its port is published"
)
_BIND_ALL_TEST = "B104"
_SCANNED = "hard-coded password finding(s) left out: charged by the secrets scan"
_DESCRIBED = (
    "hard-coded password finding(s) left out: the name describes a secret "
    "(its type, field or URL), not one"
)


def _left_out(
    ctx: ToolContext,
    item: dict[str, Any],
    charged: frozenset[tuple[str, int]],
    read: Callable[[str], str | None],
) -> str:
    """Why a finding is left out, or '' (kept): a credential test's on a line the secrets
    scan charges or under a name describing a secret; a pseudo-random value's that nothing
    names as a secret (see random_use); binding all interfaces in a repository that ships
    a container image (inside one, 127.0.0.1 is unreachable from the published port)."""
    test = item["test_id"]
    if test == _BIND_ALL_TEST:
        return _CONTAINED if repository_files.has_container(ctx.workspace) else ""
    if test not in {*_CREDENTIAL_TESTS, _RANDOM_TEST}:
        return ""
    path, line = relative(ctx, item["filename"]), int(item["line_number"])
    if test in _CREDENTIAL_TESTS and (path, line) in charged:
        return _SCANNED
    source = read(path)
    if source is None:
        return ""
    if test == _RANDOM_TEST:
        return "" if random_use.makes_a_secret(source, line) else _RANDOM_FOR_DATA
    lines = source.splitlines()
    described = 0 < line <= len(lines) and _describes_a_secret(lines[line - 1], item["issue_text"])
    return _DESCRIBED if described else ""


def _read(ctx: ToolContext, path: str) -> str | None:
    try:
        return ctx.workspace.path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def _names_only(ctx: ToolContext, item: dict[str, Any]) -> bool:
    """A B608 statement that interpolates only table or column names (see sql_strings)."""
    try:
        path = ctx.workspace.path(relative(ctx, item["filename"]))
        source = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return sql_strings.interpolates_names_only(source, int(item["line_number"]))


def _in_local_runner(source: str | None, line: int) -> bool:
    """Whether ``line`` lies in a module's ``if __name__ == "__main__":`` block."""
    tree = None if source is None else random_use.parsed(source)
    return tree is not None and any(
        module_state.is_main_guard(block) and block.lineno <= line <= (block.end_lineno or 0)
        for block in tree.body
    )


_LOCAL_RUNNER = (
    "in the module's own runner (`if __name__ == '__main__'`), which starts a development "
    "server on the author's machine; a deployment binds what it needs"
)


def _finding(ctx: ToolContext, item: dict[str, Any], read: Callable[[str], str | None]) -> Finding:
    severity = _LEVELS.get(item["issue_severity"], Severity.LOW)
    message = redacted_message(item)
    line = int(item["line_number"])
    if item["test_id"] == _BIND_ALL_TEST and _in_local_runner(
        read(relative(ctx, item["filename"])), line
    ):
        severity, message = Severity.LOW, f"{message} ({_LOCAL_RUNNER})"
    elif item["test_id"] in SEVERITY_OVERRIDES:
        severity, why = SEVERITY_OVERRIDES[item["test_id"]]
        message = f"{message} ({why})"
    elif item["test_id"] == "B608" and _names_only(ctx, item):
        severity = Severity.LOW
        message = (
            f"{message} (only table or column names are interpolated, which query "
            "parameters cannot bind: check they never come from input)"
        )
    return Finding(
        tool="bandit",
        rule_id=item["test_id"],
        message=message,
        severity=severity,
        confidence=_LEVELS.get(item["issue_confidence"], Severity.LOW),
        location=Location(
            path=relative(ctx, item["filename"]),
            line=item["line_number"],
            column=item.get("col_offset"),
        ),
        help_url=item.get("more_info"),
    )


# Findings a reviewer rejects on sight, whatever else is right: code or commands built
# from input (eval, exec, shell=True, os.system), SQL built from strings, TLS verification
# turned off. Unpickling or YAML-loading a file (most often one the submission wrote
# itself: a trained model, its own config) and a debugger left on for local runs are
# charged by their severity, as is a weak hash.
REJECT_ON_SIGHT = frozenset(
    {
        "B102", "B307",  # exec, eval
        "B602", "B605",  # shell=True, os.system with a shell
        "B608",  # SQL built from strings
        "B501", "B502", "B503", "B504",  # TLS verification off, old protocols
    }
)  # fmt: skip
# bandit rates a weak hash (md5, sha1) HIGH wherever it is used; comparing file contents
# or deduplicating is what it is most often for in a take-home, and there it is harmless.
# Charged low, with what to check.
SEVERITY_OVERRIDES = {
    "B324": (Severity.LOW, "fine as a checksum, never for passwords, tokens or signatures")
}


def _is_confident(finding: Finding) -> bool:
    return finding.confidence is not None and finding.confidence.rank >= Severity.MEDIUM.rank


def security_weight(finding: Finding) -> float:
    """What one finding adds to ``security.weighted``: by severity, when bandit is confident."""
    return SEVERITY_WEIGHT.get(finding.severity, 0.0) if _is_confident(finding) else 0.0


def metrics_of(findings: tuple[Finding, ...]) -> tuple[Metric, ...]:
    """bandit's metrics computed from its findings (also for a subset of them)."""
    return _metrics(findings)


def _metrics(findings: tuple[Finding, ...]) -> tuple[Metric, ...]:
    weighted = sum(security_weight(f) for f in findings)
    worst = [f for f in findings if f.severity is Severity.HIGH and f.confidence is Severity.HIGH]
    severe = [
        f
        for f in findings
        if f.rule_id in REJECT_ON_SIGHT
        and f.severity.rank >= Severity.MEDIUM.rank
        and _is_confident(f)
    ]
    return (
        Metric("security.issues", len(findings), "issues", "bandit"),
        Metric("security.weighted", weighted, "points", "bandit"),
        Metric("security.high_severity_high_confidence", len(worst), "issues", "bandit"),
        Metric("security.reject_on_sight", len(severe), "issues", "bandit"),
    )


# bandit's answer when every code file is one only ruff parses: no results of its own.
_NOTHING_TO_RUN = proc.ProcResult((), 0, '{"results": []}', "", 0.0)


class Bandit:
    """Security linting of everything that is not a test."""

    name = "bandit"
    metrics = (
        MetricSpec("security.issues", "issues", "Security findings of any severity."),
        MetricSpec(
            "security.weighted",
            "points",
            "Security findings weighted by severity (low 1, medium 3, high 10), "
            "counting medium and high confidence only.",
        ),
        MetricSpec(
            "security.high_severity_high_confidence",
            "issues",
            "Findings bandit rates both high severity and high confidence.",
        ),
        MetricSpec(
            "security.reject_on_sight",
            "issues",
            "Findings a reviewer rejects on sight (eval or exec, shell=True or os.system, SQL "
            "built from strings, TLS verification off), at medium severity and confidence "
            "or above.",
        ),
    )

    def version(self) -> str:
        """Installed bandit version."""
        return package_version("bandit")

    def run(self, ctx: ToolContext) -> ToolResult:
        """Run bandit on the candidate's code (tests excluded)."""
        # Migrations are a tool's output, as ruff, mypy and radon treat them.
        generated = set(ctx.workspace.migrations)
        files = [
            str(ctx.workspace.path(f)) for f in ctx.workspace.source_files if f not in generated
        ]
        newer = ruff_parsed.newer_code(ctx)
        if not files and not newer:
            return ToolResult(
                self.name,
                self.version(),
                ToolStatus.NOT_APPLICABLE,
                reason="no non-test Python files",
                metrics=tuple(
                    Metric(m.name, None, m.unit, self.name, "no code") for m in self.metrics
                ),
            )
        argv = python_module(
            "bandit",
            "-c",
            str(config_path("bandit.yaml")),
            "-f",
            "json",
            "-q",
            "--ignore-nosec",
            "--",
            *files,
        )
        result = run_static(ctx, argv) if files else _NOTHING_TO_RUN
        try:
            raw = json.loads(result.stdout)
        except json.JSONDecodeError:
            return failure(self.name, self.version(), result, "bandit gave no JSON", self.metrics)
        # Files only a newer Python parses get bandit's checks through ruff (see ruff_parsed).
        items = [*raw.get("results", []), *ruff_parsed.bandit_items(ctx, newer)]
        charged = frozenset((f.path, f.line) for f in secrets.scan_once(ctx.workspace))
        read = functools.cache(functools.partial(_read, ctx))  # once per file, not per finding
        judged = [(item, _left_out(ctx, item, charged, read)) for item in items]
        findings = tuple(_finding(ctx, item, read) for item, why in judged if not why)
        left_out = Counter(why for _, why in judged if why)
        notes = tuple(
            f"bandit could not parse {e['filename']}: {e['reason']}" for e in raw.get("errors", [])
        )
        notes += tuple(f"{count} {why}" for why, count in sorted(left_out.items()))
        if newer:
            notes += (
                f"{len(newer)} file(s) in a newer Python's syntax were checked with ruff's "
                "implementation of bandit's tests (same test ids)",
            )
        return ToolResult(
            tool=self.name,
            version=self.version(),
            status=ToolStatus.OK,
            findings=findings,
            metrics=_metrics(findings),
            argv=result.argv,
            exit_code=result.exit_code,
            duration_s=result.duration_s,
            notes=notes,
        )
