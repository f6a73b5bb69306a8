"""Facts read from the code and the repository without running anything: the adapter.

It reads every Python file once (code_facts), the README's sections (readme) and what
the repository's other files say about packaging and delivery (repository_files), and
turns them into the facts metrics and findings.
"""

from __future__ import annotations

import time

from grader import __version__
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
from grader.environment import requirements
from grader.tools import (
    debug_settings,
    hygiene,
    newer_syntax,
    readme_substance,
    repository_files,
    secrets,
)
from grader.tools.base import ToolContext, percent
from grader.tools.code_facts import CodeTally, read_code
from grader.tools.newer_syntax import NewerSyntax
from grader.tools.readme import find_readme, readme_score


def _flag(present: bool) -> float:
    return 100.0 if present else 0.0


class Facts:
    """Static facts about the code and the repository; runs in-process, reads only."""

    name = "facts"
    metrics = (
        MetricSpec(
            "docs.docstring_coverage",
            "%",
            "Public modules, classes and functions with a docstring.",
        ),
        MetricSpec("docs.readme_sections", "%", "Expected README sections present."),
        MetricSpec("types.annotation_coverage", "%", "Function parameters and returns annotated."),
        MetricSpec(
            "suppressions.count", "comments", "noqa, type: ignore, nosec, no cover, pylint."
        ),
        MetricSpec(
            "observability.prints",
            "calls",
            "print() calls in non-test code, but for a command-line program's own output "
            "(a module parsing a command line, scripts/, a __main__ block).",
        ),
        MetricSpec("observability.logging", "%", "100 when non-test code writes log lines."),
        MetricSpec(
            "code.returned_exceptions",
            "places",
            "Exceptions returned as values where they were meant to be raised.",
        ),
        MetricSpec("tests.without_assert_share", "%", "Test functions that assert nothing."),
        MetricSpec(
            "tests.weak_assertion_share",
            "%",
            "Test functions that assert nothing, or only what cannot fail or only that "
            "something came back.",
        ),
        MetricSpec(
            "tests.disabled_share",
            "%",
            "Tests commented out or skipped whatever the conditions, of all tests written.",
        ),
        MetricSpec(
            "tests.outcome_tampering",
            "places",
            "pytest hooks that can rewrite outcomes, and calls that end the test process.",
        ),
        MetricSpec(
            "tests.path_edits",
            "files",
            "Test files that edit sys.path or change directory to find the code under test.",
        ),
        MetricSpec("packaging.metadata", "%", "100 when the project declares package metadata."),
        MetricSpec("packaging.pinned_share", "%", "Declared dependencies pinned or locked."),
        MetricSpec("deploy.container", "%", "100 when a Dockerfile or Containerfile is present."),
        MetricSpec("deploy.iac", "%", "100 when infrastructure as code is present."),
        MetricSpec("deploy.ci", "%", "100 when a CI workflow is present."),
        MetricSpec("safety.outside_symlinks", "links", "Symlinks pointing outside the submission."),
        MetricSpec("code.unparsable_files", "files", "Python files no tool can parse."),
        MetricSpec(
            "security.hardcoded_secrets",
            "secrets",
            "Live-looking credentials committed in code or configuration (tests left out).",
        ),
        MetricSpec(
            "repository.committed_artifacts",
            "paths",
            "Caches, virtual environments, local databases and filled-in .env files committed.",
        ),
        MetricSpec(
            "security.development_secrets",
            "secrets",
            "Secrets committed with a value that says it is for development only.",
        ),
        MetricSpec(
            "security.debug_in_settings",
            "files",
            "Django settings modules that write DEBUG = True for every deployment.",
        ),
        *readme_substance.METRICS,
    )

    def version(self) -> str:
        """Facts are grader's own code."""
        return __version__

    def run(self, ctx: ToolContext) -> ToolResult:
        """Read every Python file once and the repository layout."""
        started = time.monotonic()
        ws = ctx.workspace
        newer = newer_syntax.find(ctx, requirements.read(ws).requires_python)
        tally = read_code(ws, newer)
        artifacts = hygiene.committed_artifacts(ws)
        tally.findings += [hygiene.finding(a) for a in artifacts]
        tally.findings += hygiene.legacy_encodings(ws)
        for found in secrets.scan_once(ws):
            tally.findings.append(secrets.finding(found))
            if found.development:
                tally.development_secrets += 1
            else:
                tally.secrets += 1
        debug_on = debug_settings.find(ws)
        tally.findings += debug_on
        readme, missing = readme_score(ws)
        if missing:
            tally.findings.append(
                Finding(
                    "facts",
                    "readme-missing-sections",
                    f"README lacks a section on: {', '.join(missing)}",
                    Severity.INFO,
                    Location(find_readme(ws) or "."),
                )
            )
        readme_metrics, readme_findings = readme_substance.measure(ws)
        tally.findings += readme_findings
        notes = []
        if tally.suppressions:
            counts = ", ".join(f"{k} {v}" for k, v in sorted(tally.suppressions.items()))
            notes.append(f"suppression comments: {counts}")
        metrics = (
            *_code_metrics(tally),
            Metric("repository.committed_artifacts", len(artifacts), "paths", self.name),
            Metric("security.debug_in_settings", len(debug_on), "files", self.name),
            Metric("docs.readme_sections", readme, "%", self.name),
            *readme_metrics,
            *_repository_metrics(ws, newer),
        )
        return ToolResult(
            tool=self.name,
            version=self.version(),
            status=ToolStatus.OK,
            findings=tuple(tally.findings),
            metrics=tuple(
                m if m.value is None else Metric(m.name, m.value, m.unit, m.source) for m in metrics
            ),
            duration_s=time.monotonic() - started,
            notes=tuple(notes),
            warnings=(newer.warning(),) if newer.files else (),
        )


def _code_metrics(tally: CodeTally) -> tuple[Metric, ...]:
    return (
        Metric(
            "docs.docstring_coverage",
            percent(tally.documented, tally.documentable),
            "%",
            "facts",
            "nothing to document",
        ),
        Metric(
            "types.annotation_coverage",
            percent(tally.annotated, tally.annotatable),
            "%",
            "facts",
            "no functions",
        ),
        Metric("suppressions.count", sum(tally.suppressions.values()), "comments", "facts"),
        Metric("observability.prints", tally.prints, "calls", "facts"),
        Metric("observability.logging", _flag(tally.uses_logging), "%", "facts"),
        Metric("code.returned_exceptions", tally.returned_exceptions, "places", "facts"),
        Metric("tests.outcome_tampering", tally.outcome_hooks, "places", "facts"),
        Metric("tests.path_edits", tally.path_edits, "files", "facts"),
        Metric("security.hardcoded_secrets", tally.secrets, "secrets", "facts"),
        Metric("security.development_secrets", tally.development_secrets, "secrets", "facts"),
        Metric(
            "tests.without_assert_share",
            percent(tally.tests_without_assert, tally.tests),
            "%",
            "facts",
            "no test functions",
        ),
        Metric(
            "tests.weak_assertion_share",
            percent(tally.tests_weak, tally.tests),
            "%",
            "facts",
            "no test functions",
        ),
        Metric(
            "tests.disabled_share",
            percent(tally.tests_disabled, tally.tests + tally.tests_commented_out),
            "%",
            "facts",
            "no test functions",
        ),
    )


def _repository_metrics(ws: Workspace, newer: NewerSyntax) -> tuple[Metric, ...]:
    return (
        Metric("packaging.metadata", _flag(repository_files.has_packaging(ws)), "%", "facts"),
        Metric(
            "packaging.pinned_share",
            repository_files.pinned_share(ws),
            "%",
            "facts",
            "no third-party dependencies declared",
        ),
        Metric("deploy.container", _flag(repository_files.has_container(ws)), "%", "facts"),
        Metric("deploy.iac", _flag(repository_files.has_iac(ws)), "%", "facts"),
        Metric("deploy.ci", _flag(repository_files.has_ci(ws)), "%", "facts"),
        Metric("safety.outside_symlinks", len(ws.outside_symlinks), "links", "facts"),
        Metric("code.unparsable_files", len(ws.unparsable) - len(newer.files), "files", "facts"),
    )
