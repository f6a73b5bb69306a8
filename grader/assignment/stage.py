"""The assignment's part of one grade: the one entry point ``pipeline.py`` calls.

A hiring team's assignment changes a grade in four places, always in this order:
  1. ``start``: the submission is compared with the starter (a submission identical to it
     is "no work submitted" and is not graded);
  2. ``tools``: the hidden tests join the registry's tools;
  3. ``score_inputs``: findings and counts keep to the candidate's own lines, the git
     history adds the Process metrics, and criteria with nothing to measure leave the rubric;
  4. ``finish``: the report gets the assignment's section (hidden tests, authorship,
     history, interview points, calibration).
Without an assignment every step hands its input back unchanged.
"""

from __future__ import annotations

import dataclasses
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from grader import __version__
from grader.acquire import history
from grader.acquire.source import Acquired, acquire
from grader.acquire.workspace import Workspace, walk_tree
from grader.assignment import authorship, calibration, hidden_tests, interview
from grader.assignment.spec import Assignment
from grader.core.errors import UsageError
from grader.core.models import (
    AssignmentReport,
    Authorship,
    Finding,
    History,
    Metric,
    MetricSpec,
    Report,
    Submission,
)
from grader.scoring import normalize, score
from grader.scoring.rubric import Rubric
from grader.tools.base import Tool

METRICS: tuple[MetricSpec, ...] = (*hidden_tests.METRICS, *history.METRICS)
"""The metrics an assignment adds, for rubrics to reference."""


@dataclass(frozen=True)
class _Starter:
    """The candidate's lines relative to the starter, when one was given."""

    summary: Authorship
    lines: authorship.Lines


@dataclass(frozen=True)
class ScoreInputs:
    """What scoring gets once the assignment has had its say."""

    rubric: Rubric
    metrics: dict[str, Metric]
    findings: list[Finding]
    authorship: Authorship | None
    history: History | None


def _copy_python(root: Path, dest: Path) -> None:
    for _, entries in walk_tree(root, lambda entry: entry.name != ".git"):
        for entry in entries:
            if entry.name.endswith(".py") and entry.is_file(follow_symlinks=False):
                target = dest / Path(entry.path).relative_to(root)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(entry.path, target, follow_symlinks=False)


def _compare_with_starter(
    assignment: Assignment,
    acquired: Acquired,
    workspace: Workspace,
    workdir: Path,
    keep_starter: Path | None,
) -> _Starter | None:
    starter = assignment.starter
    if starter is None:
        return None
    if starter.base:
        if acquired.git_dir is None:
            raise UsageError(f"--base needs a git repository, and {acquired.source} is not one")
        root = authorship.export(acquired.git_dir, starter.base, workdir / "base", workdir)
    else:
        folder = workdir / "starter"
        folder.mkdir()
        root = acquire(str(starter.source), starter.ref, folder).root
    if keep_starter is not None:
        _copy_python(root, keep_starter)
    compared = workdir / "authorship"
    compared.mkdir()
    summary, lines = authorship.compare(root, workspace.root, compared, starter.label)
    return _Starter(summary, lines)


@dataclass(frozen=True)
class AssignmentGrade:
    """One grade seen from the assignment: what it set and what the starter comparison found."""

    assignment: Assignment
    acquired: Acquired
    starter: _Starter | None = None

    @classmethod
    def start(
        cls,
        assignment: Assignment,
        acquired: Acquired,
        workspace: Workspace,
        workdir: Path,
        keep_starter: Path | None = None,
    ) -> AssignmentGrade:
        """Compare the submission with the starter, when the assignment gives one."""
        starter = _compare_with_starter(assignment, acquired, workspace, workdir, keep_starter)
        return cls(assignment, acquired, starter)

    def no_work(self, rubric: Rubric, root_label: str) -> Report | None:
        """The report of a submission identical to the starter; None when there is work."""
        if self.starter is None or not self.starter.summary.identical:
            return None
        summary = self.starter.summary
        acquired = self.acquired
        return Report(
            grader_version=__version__,
            submission=Submission(
                source=acquired.source,
                commit=acquired.commit,
                commit_date=acquired.commit_date,
                ref=acquired.ref,
                root_label=root_label,
                warnings=("no work submitted: the submission is identical to the starter",),
            ),
            rubric=rubric.info,
            score=None,
            grade="n/a",
            score_reason="no work submitted: the submission is identical to the starter "
            f"({summary.base}), so nothing of the candidate's was graded",
            criteria=(),
            tools=(),
            generated_at=datetime.now(UTC).isoformat(timespec="seconds"),
            tests_isolated=True,
            assignment=AssignmentReport(
                name=self.assignment.name, authorship=summary, no_work=True
            ),
        )

    def tools(self, registry: tuple[Tool, ...]) -> tuple[Tool, ...]:
        """The registry's tools, plus the hiring team's hidden tests when there are any."""
        assignment = self.assignment
        if assignment.hidden_tests is None:
            return registry
        hidden = hidden_tests.HiddenTests(assignment.hidden_tests, assignment.visibility_of)
        return (*registry, hidden)

    def score_inputs(
        self,
        rubric: Rubric,
        workspace: Workspace,
        metrics: dict[str, Metric],
        findings: list[Finding],
    ) -> ScoreInputs:
        """Keep to the candidate's lines, add Process, and drop what cannot be measured."""
        if self.assignment.hidden_tests is None:
            rubric = rubric.without("correctness")
        summary, metrics, findings = self._candidate_only(workspace, metrics, findings)
        past = self._history(metrics)
        if past is None:
            rubric = rubric.without("process")
        return ScoreInputs(rubric, metrics, findings, summary, past)

    def _candidate_only(
        self, workspace: Workspace, metrics: dict[str, Metric], findings: list[Finding]
    ) -> tuple[Authorship | None, dict[str, Metric], list[Finding]]:
        starter = self.starter
        if starter is None:
            return None, metrics, findings
        kept = tuple(
            f for f in findings if starter.lines.authored(f.location.path, f.location.line)
        )
        sloc = authorship.candidate_sloc(workspace, starter.lines)
        summary = dataclasses.replace(
            starter.summary,
            candidate_sloc=sum(sloc),
            starter_findings=score.sorted_findings(f for f in findings if f not in kept),
        )
        return summary, normalize.derive(authorship.recount(metrics, kept, sloc)), list(kept)

    def _history(self, metrics: dict[str, Metric]) -> History | None:
        """The candidate's commits after the starter; adds the Process metrics to ``metrics``."""
        acquired, assignment = self.acquired, self.assignment
        if acquired.git_dir is None or acquired.commit is None:
            return None
        past, process = history.read(
            acquired.git_dir,
            acquired.commit,
            since=assignment.starter.base if assignment.starter else None,
            starter_tree=self.starter.lines.starter_tree if self.starter else None,
            after_deadline=acquired.after_deadline,
            deadline=assignment.deadline,
        )
        metrics.update({m.name: m for m in process})
        return past

    @staticmethod
    def warnings(inputs: ScoreInputs) -> tuple[str, ...]:
        """What the history says a reader must know."""
        past = inputs.history
        if past is None:
            return ()
        late = (
            (f"{len(past.after_deadline)} commits after the deadline were not graded",)
            if past.after_deadline
            else ()
        )
        return (*past.flags, *late)

    def finish(self, report: Report, inputs: ScoreInputs) -> Report:
        """The report with the assignment's section; unchanged without an assignment."""
        assignment = self.assignment
        if not assignment.active:
            return report
        hidden = next((r.hidden_tests for r in report.tools if r.hidden_tests is not None), None)
        authored = self.starter.lines.authored if self.starter else None
        return dataclasses.replace(
            report,
            assignment=AssignmentReport(
                name=assignment.name,
                hidden_tests=hidden,
                authorship=inputs.authorship,
                history=inputs.history,
                discussion=interview.points(report, authored),
                calibration=calibration.place(assignment, inputs.rubric, report.score),
            ),
        )
