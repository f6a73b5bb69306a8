"""Grade the development corpus: public repositories grader was not built against.

Usage: python scripts/corpus.py [--repos FILE] [--work DIR] [--out FILE] [--only NAME ...]
                                [--no-grade]

Each repository in ``corpus/repos.toml`` is cloned at its pinned commit, from a folder of
git mirrors when ``$GRADER_CORPUS_MIRRORS`` is set (no network needed), else from its
public URL; then graded with the real ``grader`` command, one repository at a time (the
machine has two cores and the tests of a submission use them). The table of results goes
to stdout or ``--out``: per repository its tier, whether its tests ran, their outcome,
the score per criterion, what grader changed in the test environment and, when
Testability was not measured, why. One repository failing to clone or grade never stops
the others: its row says what went wrong. ``--no-grade`` rebuilds the table from the
reports a previous run left in ``--work``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import corpus_figures  # noqa: E402

from grader.core import proc  # noqa: E402

MIRRORS_VARIABLE = "GRADER_CORPUS_MIRRORS"
HALVES = ("dev", "check")
GRADER = ROOT / ".venv" / "bin" / "grader"
CLONE_TIMEOUT_S = 600.0
# Environment builds, the test run (300 s by default) and the static tools, with room.
GRADE_TIMEOUT_S = 1200.0
ERROR_FILE = "corpus-error.txt"  # why a repository has no report, for --no-grade
CRITERIA = (
    ("maintainability", "Mnt"),
    ("testability", "Tst"),
    ("security", "Sec"),
    ("type_safety", "Typ"),
    ("documentation", "Doc"),
    ("packaging", "Pkg"),
    ("design", "Dsg"),
    ("observability", "Obs"),
)


@dataclass(frozen=True)
class CorpusRepo:
    """One pinned repository of the corpus, as ``corpus/repos.toml`` declares it."""

    name: str  # owner/name on GitHub
    url: str
    commit: str
    kind: str  # "take-home" or "library"
    tier: str  # "strong", "average" or "weak": a human judgement, not grader's
    tier_reason: str
    notes: str
    has_tests: bool = True
    half: str = "dev"  # "dev" is tuned on; "check" is only measured

    @property
    def slug(self) -> str:
        """A folder name for this repository's clone and report."""
        return self.name.replace("/", "+")


@dataclass(frozen=True)
class Outcome:
    """What grading one repository left: its report, or the reason there is none."""

    repo: CorpusRepo
    report: dict[str, Any] | None
    error: str = ""


def load_repos(path: Path) -> list[CorpusRepo]:
    """Read and check the corpus file; a malformed entry is an error naming it."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    repos = []
    for index, entry in enumerate(data.get("repo", [])):
        try:
            repo = CorpusRepo(
                name=entry["name"],
                url=entry["url"],
                commit=entry["commit"],
                kind=entry["kind"],
                tier=entry["tier"],
                tier_reason=entry["tier_reason"],
                notes=entry.get("notes", ""),
                has_tests=bool(entry.get("has_tests", True)),
                half=str(entry.get("half", "dev")),
            )
        except KeyError as missing:
            raise ValueError(f"{path}: repo #{index + 1} has no {missing}") from None
        if repo.half not in HALVES:
            raise ValueError(f"{path}: {repo.name}: half must be one of {', '.join(HALVES)}")
        if len(repo.commit) != 40 or any(c not in "0123456789abcdef" for c in repo.commit):
            raise ValueError(f"{path}: {repo.name}: commit must be 40 lowercase hex digits")
        repos.append(repo)
    return repos


def _is_git_dir(path: Path) -> bool:
    return (path / "HEAD").is_file() and (path / "objects").is_dir()


def _child_ignoring_case(folder: Path, name: str) -> Path | None:
    exact = folder / name
    if exact.exists():
        return exact
    if not folder.is_dir():
        return None
    lowered = name.lower()
    return next((child for child in folder.iterdir() if child.name.lower() == lowered), None)


def find_mirror(mirrors: Path, name: str) -> Path | None:
    """The git directory of ``owner/name`` in a folder of mirrors, or None.

    Accepted layouts: ``owner+name/repo`` (bare, or a work tree's ``.git``), ``owner+name``,
    ``owner/name``, ``owner/name.git`` and ``name.git``; GitHub names ignore case.
    """
    owner, _, repo = name.partition("/")
    places = [
        _child_ignoring_case(mirrors, f"{owner}+{repo}"),
        _child_ignoring_case(mirrors / owner, repo) if (mirrors / owner).is_dir() else None,
        _child_ignoring_case(mirrors / owner, f"{repo}.git")
        if (mirrors / owner).is_dir()
        else None,
        _child_ignoring_case(mirrors, f"{repo}.git"),
    ]
    for place in places:
        if place is None:
            continue
        for candidate in (place, place / ".git", place / "repo", place / "repo" / ".git"):
            if _is_git_dir(candidate):
                return candidate
    return None


def _git(args: Sequence[str], cwd: Path) -> proc.ProcResult:
    return proc.run(["git", *args], cwd=cwd, timeout_s=CLONE_TIMEOUT_S)


def clone(repo: CorpusRepo, dest: Path, mirrors: Path | None) -> str:
    """Check ``repo`` out at its commit into ``dest``; returns an error line or ''."""
    if (dest / ".git").is_dir():
        head = _git(["rev-parse", "HEAD"], dest)
        if head.exit_code == 0 and head.stdout.strip() == repo.commit:
            return ""
    source = repo.url
    if mirrors is not None:
        mirror = find_mirror(mirrors, repo.name)
        if mirror is None:
            return f"no mirror of {repo.name} in {mirrors}"
        source = mirror.resolve().as_uri()
    dest.mkdir(parents=True, exist_ok=True)
    for args in (
        ["init", "--quiet"],
        ["fetch", "--quiet", "--depth", "1", source, repo.commit],
        ["checkout", "--quiet", "--detach", "FETCH_HEAD"],
    ):
        result = _git(args, dest)
        if result.exit_code != 0:
            detail = (result.stderr.strip().splitlines() or ["timed out"])[-1]
            return f"git {args[0]} failed: {detail}"
    return ""


def grade(repo: CorpusRepo, work: Path, mirrors: Path | None) -> Outcome:
    """Clone and grade one repository, keeping a failure's reason beside its report."""
    out = work / "reports" / repo.slug
    (out / ERROR_FILE).unlink(missing_ok=True)
    outcome = _clone_and_grade(repo, work, out, mirrors)
    if outcome.error:
        out.mkdir(parents=True, exist_ok=True)
        (out / ERROR_FILE).write_text(outcome.error + "\n", encoding="utf-8")
    return outcome


def _clone_and_grade(repo: CorpusRepo, work: Path, out: Path, mirrors: Path | None) -> Outcome:
    checkout = work / "clones" / repo.slug
    error = clone(repo, checkout, mirrors)
    if error:
        return Outcome(repo, None, error)
    extra = {"HOME": os.environ.get("HOME", "/root")}
    if "GRADER_CACHE_DIR" in os.environ:
        extra["GRADER_CACHE_DIR"] = os.environ["GRADER_CACHE_DIR"]
    result = proc.run(
        [str(GRADER), "grade", str(checkout), "--out", str(out), "--format", "json,html"],
        cwd=work,
        timeout_s=GRADE_TIMEOUT_S,
        env=proc.scrubbed_env(extra),
    )
    if result.timed_out:
        return Outcome(repo, None, f"grader timed out after {GRADE_TIMEOUT_S:.0f} s")
    if result.exit_code not in (0, 1):
        last = (result.stderr.strip().splitlines() or ["no message"])[-1]
        return Outcome(repo, None, f"grader exit {result.exit_code}: {last}")
    return read_report(repo, out)


def read_report(repo: CorpusRepo, out: Path) -> Outcome:
    """The outcome recorded by an earlier grade of ``repo`` in ``out``."""
    failure = out / ERROR_FILE
    if failure.is_file():
        return Outcome(repo, None, failure.read_text(encoding="utf-8").strip())
    try:
        report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as problem:
        return Outcome(repo, None, f"no readable report.json: {problem}")
    return Outcome(repo, report)


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _tool(report: dict[str, Any], name: str) -> dict[str, Any]:
    return next((tool for tool in report["tools"] if tool["name"] == name), {})


def _criterion(report: dict[str, Any], criterion_id: str) -> dict[str, Any]:
    return next((c for c in report["criteria"] if c["id"] == criterion_id), {})


def tests_summary(report: dict[str, Any]) -> tuple[str, str]:
    """Whether at least one test executed, and passed/failed/errors (or the reason none)."""
    pytest = _tool(report, "pytest")
    tests = pytest.get("tests")
    if not tests:
        status = pytest.get("status", "missing")
        return "no", status
    executed = tests["passed"] + tests["failed"]
    counts = f"{tests['passed']}/{tests['failed']}/{tests['errors']}"
    return ("yes" if executed else "no"), counts


def why_no_test_ran(report: dict[str, Any]) -> str:
    """Testability's reason when it was not measured, else the test tool's, when none ran."""
    testability = _criterion(report, "testability")
    if testability.get("score") is None:
        return str(testability.get("reason", ""))
    if tests_summary(report)[0] == "yes":
        return ""
    pytest = _tool(report, "pytest")
    failures = (pytest.get("tests") or {}).get("failures", [])
    detail = "; ".join(f"{f['name']}: {f['message']}" for f in failures[:2])
    reason = pytest.get("reason") or "no test executed"
    return f"{pytest.get('status', 'missing')}: {reason}" + (f" ({detail})" if detail else "")


def _score(value: float | None) -> str:
    return "n/m" if value is None else f"{value:.0f}"


def score_row(outcome: Outcome) -> str:
    """One row of the scores table."""
    repo = outcome.repo
    head = f"| [{repo.name}]({repo.url}) | {repo.kind} | {repo.tier} |"
    if outcome.report is None:
        blanks = " |" * (len(CRITERIA) + 2)
        return f"{head} - | {_cell(outcome.error)} |{blanks}"
    report = outcome.report
    ran, counts = tests_summary(report)
    criteria = " | ".join(_score(_criterion(report, cid).get("score")) for cid, _ in CRITERIA)
    total = f"{_score(report['score'])} {report['grade']}"
    return f"{head} {ran} | {_cell(counts)} | {total} | {criteria} |"


def environment_row(outcome: Outcome) -> str:
    """One row of the environment table: grader's changes, and why no test ran."""
    repo = outcome.repo
    if outcome.report is None:
        return f"| {repo.name} | not graded: {_cell(outcome.error)} | |"
    notes = "; ".join(_tool(outcome.report, "pytest").get("notes", [])) or "-"
    return f"| {repo.name} | {_cell(notes)} | {_cell(why_no_test_ran(outcome.report)) or '-'} |"


def figures(outcomes: Sequence[Outcome]) -> str:
    """The validity figures of each half present in ``outcomes``, then of all together."""
    rows = [
        corpus_figures.Row(o.repo.name, o.repo.tier, o.repo.has_tests, o.report) for o in outcomes
    ]
    halves = [h for h in HALVES if any(o.repo.half == h for o in outcomes)]
    by_half = {
        half: [row for row, o in zip(rows, outcomes, strict=True) if o.repo.half == half]
        for half in halves
    }
    # Grade floors are calibrated on the dev half only; the check half measures them.
    floors = corpus_figures.calibrated_floors(by_half["dev"]) if "dev" in by_half else None
    parts = []
    for half, chosen in by_half.items():
        parts.append(f"### Half `{half}` ({len(chosen)} repositories)\n\n")
        parts.append(corpus_figures.summary(chosen, CRITERIA))
        if floors is not None:
            shown = ", ".join(f"{letter} {floor:g}" for letter, floor in floors.items())
            strong = corpus_figures.decisions(chosen, "strong", corpus_figures.ADVANCE, floors)
            weak = corpus_figures.decisions(chosen, "weak", corpus_figures.REJECT, floors)
            parts.append(
                f"\nWith the floors calibrated on dev ({shown}): strong graded A or B "
                f"**{strong}**; weak graded F **{weak}**.\n"
            )
    if len(halves) > 1:
        parts.append(f"### Both halves ({len(rows)} repositories)\n\n")
        parts.append(corpus_figures.summary(rows, CRITERIA))
    return "\n".join(parts)


def table(outcomes: Iterable[Outcome]) -> str:
    """The Markdown tables for ``outcomes``: scores, then environments."""
    rows = list(outcomes)
    short = " | ".join(abbreviation for _, abbreviation in CRITERIA)
    lines = [
        f"| Repository | Kind | Tier | Tests ran | Passed/failed/errors | Score | {short} |",
        "|" + "---|" * (6 + len(CRITERIA)),
        *(score_row(outcome) for outcome in rows),
        "",
        "Criteria: "
        + ", ".join(f"{abbr} = {cid}" for cid, abbr in CRITERIA)
        + "; n/m = not measured.",
        "",
        "| Repository | What grader changed in the test environment"
        " | Why no test ran (Testability's reason when not measured) |",
        "|---|---|---|",
        *(environment_row(outcome) for outcome in rows),
    ]
    return "\n".join(lines) + "\n"


def _arguments(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repos", type=Path, default=ROOT / "corpus" / "repos.toml")
    parser.add_argument("--work", type=Path, default=ROOT / "grader-corpus")
    parser.add_argument("--out", type=Path, help="write the table here instead of stdout")
    parser.add_argument("--only", nargs="+", default=[], help="grade only these owner/names")
    parser.add_argument("--half", choices=HALVES, help="grade only this half of the corpus")
    parser.add_argument(
        "--no-grade", action="store_true", help="tabulate the reports already in --work"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str]) -> int:
    """Grade every selected repository, then print or write the table."""
    args = _arguments(argv)
    try:
        repos = load_repos(args.repos)
    except (OSError, ValueError) as problem:
        sys.stderr.write(f"corpus: {problem}\n")
        return 2
    if args.only:
        repos = [repo for repo in repos if repo.name in args.only]
    if args.half:
        repos = [repo for repo in repos if repo.half == args.half]
    mirrors_value = os.environ.get(MIRRORS_VARIABLE)
    mirrors = Path(mirrors_value) if mirrors_value else None
    if mirrors is not None and not mirrors.is_dir():
        sys.stderr.write(f"corpus: {MIRRORS_VARIABLE}={mirrors} is not a folder\n")
        return 2
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    outcomes = []
    for repo in repos:
        if args.no_grade:
            outcome = read_report(repo, work / "reports" / repo.slug)
        else:
            sys.stderr.write(f"corpus: grading {repo.name} at {repo.commit[:12]}\n")
            outcome = grade(repo, work, mirrors)
            if outcome.error:
                sys.stderr.write(f"corpus: {repo.name}: {outcome.error}\n")
        outcomes.append(outcome)
    text = figures(outcomes) + "\n" + table(outcomes)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
