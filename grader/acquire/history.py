"""The candidate's git history: commits after the starter, dates, and the Process metrics.

Read with git through grader's hardened runner (grader.acquire.git.run_git) from the clone's
history, which is kept outside the submission. Commit dates are whatever the candidate's
git wrote, so they are reported with that warning and checked for signs of rewriting.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from grader.acquire.git import run_git
from grader.acquire.workspace import is_test_file
from grader.core.models import Commit, History, Metric, MetricSpec

SOURCE = "history"
FUTURE_SLACK = timedelta(hours=1)
# Subjects that say nothing about the change.
VAGUE = re.compile(
    r"^(?:wip|fix(?:es|ed)?|update[sd]?|changes?|stuff|misc|tmp|temp|test|commit|done|"
    r"final|asdf|\.+|-+|\W*)$",
    re.IGNORECASE,
)
METRICS = (
    MetricSpec("process.commits", "commits", "Commits after the starter, up to the graded one."),
    MetricSpec(
        "process.message_quality", "%", "Commits whose message says what changed (not wip, fix)."
    ),
    MetricSpec(
        "process.largest_commit_share", "%", "Share of changed lines in the largest commit."
    ),
    MetricSpec(
        "process.tests_with_code",
        "%",
        "Commits changing code that also change tests, or come after tests for it arrived.",
    ),
)


@dataclass(frozen=True)
class _Raw:
    sha: str
    tree: str
    date: str
    subject: str
    files: tuple[str, ...]
    lines: int


def _log(git_dir: Path, revisions: list[str]) -> list[_Raw]:
    result = run_git(
        [
            f"--git-dir={git_dir}",
            "-c",
            "core.quotePath=false",
            "log",
            "--reverse",
            "--no-renames",
            "--format=%x1e%H%x1f%T%x1f%cI%x1f%s",
            "--numstat",
            *revisions,
            "--",
        ],
        git_dir,
    )
    commits = []
    for block in result.stdout.split("\x1e")[1:]:
        header, _, body = block.partition("\n")
        sha, tree, date, subject = [*header.split("\x1f"), "", "", "", ""][:4]
        files, lines = [], 0
        for row in body.splitlines():
            parts = row.split("\t", 2)
            if len(parts) == 3:  # added, deleted, path
                files.append(parts[2])
                lines += sum(int(n) for n in parts[:2] if n.isdigit())
        commits.append(_Raw(sha, tree, date, subject.strip(), tuple(files), lines))
    return commits


def _flags(commits: list[_Raw], now: datetime) -> list[str]:
    dates = [datetime.fromisoformat(c.date) for c in commits if c.date]
    flags = []
    backwards = [
        c.sha[:10]
        for c, before, after in zip(commits[1:], dates, dates[1:], strict=False)
        if after < before
    ]
    if backwards:
        flags.append(f"commit dates go backwards at {', '.join(backwards[:5])}")
    future = [c.sha[:10] for c, d in zip(commits, dates, strict=False) if d > now + FUTURE_SLACK]
    if future:
        flags.append(f"commit dates lie in the future: {', '.join(future[:5])}")
    if len(dates) > 1 and len(set(dates)) == 1:
        flags.append(f"all {len(dates)} commits carry the same date ({dates[0].isoformat()})")
    return flags


def _messages(commits: list[_Raw]) -> list[str]:
    vague = [c for c in commits if not c.subject or VAGUE.match(c.subject)]
    return [f"{c.sha[:10]}: {c.subject or '(empty message)'!r} says nothing" for c in vague]


def _tests_with_code(commits: list[_Raw]) -> float | None:
    """Share of code-changing commits made with or after tests (None without tests)."""
    if not any(is_test_file(f) for c in commits for f in c.files if f.endswith(".py")):
        return None
    seen_tests = False
    code_commits = tested = 0
    for c in commits:
        python = [f for f in c.files if f.endswith(".py")]
        has_tests = any(is_test_file(f) for f in python)
        seen_tests = seen_tests or has_tests
        if any(not is_test_file(f) for f in python):
            code_commits += 1
            tested += seen_tests
    return round(100.0 * tested / code_commits, 1) if code_commits else None


def read(
    git_dir: Path,
    graded: str,
    *,
    since: str | None = None,
    starter_tree: str | None = None,
    after_deadline: tuple[str, ...] = (),
    deadline: datetime | None = None,
) -> tuple[History, tuple[Metric, ...]]:
    """The commits after the starter (``since`` a commit, or after the newest commit whose
    tree is the starter's) up to ``graded``, and the Process metrics."""
    commits = _log(git_dir, [f"{since}..{graded}" if since else graded])
    if starter_tree:
        starts = [i for i, c in enumerate(commits) if c.tree == starter_tree]
        if starts:
            commits = commits[starts[-1] + 1 :]
    later = _log(git_dir, [*after_deadline[:1], f"^{graded}"]) if after_deadline else []
    total = sum(c.lines for c in commits)
    largest = max(commits, key=lambda c: c.lines, default=None)
    messages = _messages(commits)
    tests_with_code = _tests_with_code(commits)
    if largest is not None and total and len(commits) > 1:
        messages.append(
            f"the largest commit, {largest.sha[:10]} ({largest.subject!r}), holds "
            f"{100 * largest.lines / total:.0f}% of the changed lines"
        )
    history = History(
        commits=tuple(Commit(c.sha, c.date, c.subject, c.files, c.lines) for c in commits),
        after_deadline=tuple(Commit(c.sha, c.date, c.subject, c.files, c.lines) for c in later),
        deadline=deadline.isoformat() if deadline else None,
        flags=tuple(_flags(commits, datetime.now(UTC))),
        message_problems=tuple(messages),
        tests_with_code=None if tests_with_code is None else tests_with_code >= 50,
    )
    count = len(commits)
    why = "" if count else "no commit after the starter"
    metrics = (
        Metric("process.commits", count, "commits", SOURCE),
        Metric(
            "process.message_quality",
            round(100.0 * (count - len(_messages(commits))) / count, 1) if count else None,
            "%",
            SOURCE,
            why,
        ),
        Metric(
            "process.largest_commit_share",
            round(100.0 * largest.lines / total, 1) if largest and total else None,
            "%",
            SOURCE,
            why or ("" if total else "no changed lines"),
        ),
        Metric(
            "process.tests_with_code",
            tests_with_code,
            "%",
            SOURCE,
            "" if tests_with_code is not None else "no tests in the history",
        ),
    )
    return history, metrics
