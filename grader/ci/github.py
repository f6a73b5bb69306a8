"""The GitHub Action's logic (action.yml runs ``python -m grader.ci.github``).

``check-sandbox`` fails the job, with the reason, when bubblewrap cannot start: the
Action never grades without the sandbox. ``grade`` grades the workspace through grader's
own command line (``grader grade``), writes the Markdown report to the job summary, sets
the step outputs (score, grade, report-dir, sarif-file) and, on a pull request, grades
the base commit too and leads the summary with the score change.

Everything it reads comes from the runner's environment (``GITHUB_WORKSPACE``,
``GITHUB_STEP_SUMMARY``, ``GITHUB_OUTPUT``, ``GITHUB_EVENT_NAME``, ``GITHUB_EVENT_PATH``,
``RUNNER_TEMP``) and from the Action's inputs, passed as ``INPUT_*`` variables, so tests
can run it against temporary files and a local repository.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shlex
import sys
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from grader.cli import main as grader_main
from grader.cli.arguments import build_parser
from grader.core import proc
from grader.core.errors import ExitCode, GraderError, UsageError
from grader.sandbox.bubblewrap import bubblewrap_problem

GIT_TIMEOUT_S = 300.0
FORMATS = "html,json,md,sarif"
REFUSED_ARGS = frozenset({"--allow-unsandboxed", "--out", "--format"})
"""Options the Action sets itself, or never passes (it always grades in the sandbox)."""


@dataclass(frozen=True)
class Inputs:
    """The Action's inputs, as action.yml passes them."""

    rubric: str = ""
    """Empty: the assignment's rubric when one is given, else grader's default."""
    assignment: str = ""
    fail_under: str = ""
    audience: str = "candidate"
    path: str = "."
    args: str = ""

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Inputs:
        """Read ``INPUT_RUBRIC``, ``INPUT_ASSIGNMENT``, ... (empty means the default)."""
        defaults = cls()

        def get(name: str, default: str) -> str:
            return env.get(f"INPUT_{name}", "").strip() or default

        return cls(
            rubric=get("RUBRIC", ""),
            assignment=get("ASSIGNMENT", ""),
            fail_under=get("FAIL_UNDER", ""),
            audience=get("AUDIENCE", defaults.audience),
            path=get("PATH", defaults.path),
            args=env.get("INPUT_ARGS", ""),
        )


@dataclass(frozen=True)
class Runner:
    """The parts of the GitHub runner's environment the Action uses."""

    workspace: Path
    summary: Path
    output: Path
    temp: Path
    event_name: str
    event_path: Path | None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Runner:
        """Read the runner's variables; a missing one is a usage error."""
        missing = [
            name
            for name in ("GITHUB_WORKSPACE", "GITHUB_STEP_SUMMARY", "GITHUB_OUTPUT", "RUNNER_TEMP")
            if not env.get(name)
        ]
        if missing:
            raise UsageError(f"not running in a GitHub Actions job: {', '.join(missing)} unset")
        event_path = env.get("GITHUB_EVENT_PATH")
        return cls(
            workspace=Path(env["GITHUB_WORKSPACE"]),
            summary=Path(env["GITHUB_STEP_SUMMARY"]),
            output=Path(env["GITHUB_OUTPUT"]),
            temp=Path(env["RUNNER_TEMP"]),
            event_name=env.get("GITHUB_EVENT_NAME", ""),
            event_path=Path(event_path) if event_path else None,
        )


@dataclass(frozen=True)
class Graded:
    """One ``grader grade`` run: its exit code and, when it wrote one, its report."""

    exit_code: int
    out: Path
    report: dict[str, Any] | None

    @property
    def score(self) -> float | None:
        """The overall score, or None when not measured or not graded."""
        value = self.report.get("score") if self.report else None
        return float(value) if isinstance(value, int | float) else None


def supports(option: str) -> bool:
    """Whether this grader's ``grade`` command knows ``option`` (it may not exist yet)."""
    try:
        build_parser().parse_args(["grade", "SOURCE", option, "x"])
    except UsageError as exc:
        # "x" may be a value the option refuses; only an unknown option means no support.
        return "unrecognized arguments" not in str(exc)
    return True


def submission_folder(workspace: Path, path: str) -> Path:
    """The folder to grade: ``path`` inside the workspace, never outside it."""
    relative = PurePosixPath(path)
    if relative.is_absolute() or ".." in relative.parts:
        raise UsageError(f"path {path!r} must be a folder inside the repository")
    return workspace / relative


def grade_argv(inputs: Inputs, source: Path, out: Path) -> tuple[list[str], list[str]]:
    """``grader grade`` arguments for the inputs, and notices about inputs left out."""
    extra = shlex.split(inputs.args)
    refused = sorted({a.split("=")[0] for a in extra} & REFUSED_ARGS)
    if refused:
        raise UsageError(
            f"args may not contain {', '.join(refused)}: the Action sets or refuses it"
        )
    argv = ["grade", str(source), "--out", str(out), "--format", FORMATS]
    if inputs.rubric:  # given, it overrides the assignment's rubric, as on the command line
        argv += ["--rubric", inputs.rubric]
    if inputs.fail_under:
        argv += ["--fail-under", inputs.fail_under]
    notices = []
    if inputs.assignment:
        if not supports("--assignment"):
            raise UsageError("this grader has no --assignment option yet: leave `assignment` empty")
        argv += ["--assignment", inputs.assignment]
    if supports("--audience"):
        argv += ["--audience", inputs.audience]
    else:
        notices.append(
            f"audience {inputs.audience!r} not applied: this grader has no --audience option yet"
        )
    return argv + extra, notices


def run_grader(argv: Sequence[str], out: Path) -> Graded:
    """Run ``grader grade`` (in this process) and read the report it wrote."""
    code = grader_main(list(argv))
    report_file = out / "report.json"
    report = None
    if code in (ExitCode.GRADED, ExitCode.BELOW_FAIL_UNDER) and report_file.is_file():
        report = json.loads(report_file.read_text(encoding="utf-8"))
    return Graded(code, out, report)


def _git(repo: Path, *args: str) -> proc.ProcResult:
    # The runner's own repository: its local config (checkout's token) is what fetch needs.
    return proc.run(["git", *args], cwd=repo, timeout_s=GIT_TIMEOUT_S, env=proc.scrubbed_env())


def pull_request_base(runner: Runner) -> tuple[str, str] | None:
    """(base sha, base branch) when the job runs for a pull request."""
    if runner.event_name not in {"pull_request", "pull_request_target"} or not runner.event_path:
        return None
    try:
        event = json.loads(runner.event_path.read_text(encoding="utf-8"))
        base = event["pull_request"]["base"]
        return str(base["sha"]), str(base.get("ref") or base["sha"][:12])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def checkout_base(workspace: Path, sha: str, dest: Path) -> str | None:
    """A worktree of ``sha`` at ``dest`` (fetched when a shallow checkout lacks it), or why not."""
    if _git(workspace, "cat-file", "-e", f"{sha}^{{commit}}").exit_code != 0:
        fetched = _git(workspace, "fetch", "--quiet", "--no-tags", "--depth=1", "origin", sha)
        if fetched.exit_code != 0:
            return f"cannot fetch the base commit {sha[:12]}: {proc.tail(fetched.stderr, 1)}"
    added = _git(workspace, "worktree", "add", "--quiet", "--detach", str(dest), sha)
    if added.exit_code != 0:
        return f"cannot check out the base commit {sha[:12]}: {proc.tail(added.stderr, 1)}"
    return None


def remove_worktree(workspace: Path, dest: Path) -> None:
    """Remove the base worktree again."""
    _git(workspace, "worktree", "remove", "--force", str(dest))


def headline(head: Graded, base: Graded | None, base_ref: str) -> str:
    """``Score 81.2 (+3.4 vs main 77.8)``, or the score alone."""
    if head.score is None:
        return "Score: not measured"
    text = f"Score {head.score:.1f}"
    if base is not None and base.score is not None:
        return f"{text} ({head.score - base.score:+.1f} vs {base_ref} {base.score:.1f})"
    if base is not None:
        return f"{text} ({base_ref} could not be graded)"
    return text


def set_outputs(output: Path, values: Mapping[str, str]) -> None:
    """Append step outputs in the multi-line form, which no value can break out of."""
    with output.open("a", encoding="utf-8") as stream:
        for name, value in values.items():
            delimiter = f"grader_{uuid.uuid4().hex}"
            stream.write(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")


def rebase_sarif(sarif_file: Path, prefix: str) -> None:
    """Make the SARIF's paths relative to the repository root when a subfolder was graded."""
    if prefix in ("", "."):
        return
    log = json.loads(sarif_file.read_text(encoding="utf-8"))
    base = PurePosixPath(prefix).as_posix().strip("/") + "/"
    for run in log.get("runs", []):
        for result in run.get("results", []):
            for location in result.get("locations", []):
                artifact = location.get("physicalLocation", {}).get("artifactLocation", {})
                if "uri" in artifact:
                    artifact["uri"] = base + artifact["uri"]
    temp = sarif_file.with_suffix(".sarif.tmp")
    temp.write_text(json.dumps(log, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    temp.replace(sarif_file)


def annotate(level: str, text: str) -> None:
    """Print a workflow command (``::warning::...``); the text cannot start another one."""
    escaped = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    sys.stdout.write(f"::{level}::{escaped}\n")
    sys.stdout.flush()


def _grade_base(runner: Runner, inputs: Inputs) -> tuple[Graded | None, str]:
    found = pull_request_base(runner)
    if found is None:
        return None, ""
    sha, ref = found
    tree = runner.temp / f"grader-base-{sha[:12]}"
    problem = checkout_base(runner.workspace, sha, tree)
    if problem:
        annotate("warning", problem)
        return Graded(ExitCode.USAGE, tree, None), ref
    out = runner.temp / "grader-report" / "base"
    try:
        # The base is graded only to compare: it never fails the job.
        argv, _ = grade_argv(
            dataclasses.replace(inputs, fail_under=""), submission_folder(tree, inputs.path), out
        )
        graded = run_grader(argv, out)
    finally:
        remove_worktree(runner.workspace, tree)
    return graded, ref


def grade(runner: Runner, inputs: Inputs) -> int:
    """Grade the workspace (and a pull request's base), then write summary and outputs."""
    head_out = runner.temp / "grader-report" / "head"
    argv, notices = grade_argv(inputs, submission_folder(runner.workspace, inputs.path), head_out)
    for notice in notices:
        annotate("notice", notice)
    head = run_grader(argv, head_out)
    if head.report is None:
        with runner.summary.open("a", encoding="utf-8") as stream:
            stream.write(
                f"## grader\n\nThe submission could not be graded (exit {head.exit_code}).\n"
            )
        return head.exit_code
    base, base_ref = _grade_base(runner, inputs)
    sarif_file = head.out / "report.sarif"
    rebase_sarif(sarif_file, inputs.path)
    summary = [f"**{headline(head, base, base_ref)}**", ""] if base is not None else []
    summary.append((head.out / "report.md").read_text(encoding="utf-8"))
    with runner.summary.open("a", encoding="utf-8") as stream:
        stream.write("\n".join(summary) + "\n")
    set_outputs(
        runner.output,
        {
            "score": "" if head.score is None else f"{head.score:.1f}",
            "grade": str(head.report.get("grade", "")),
            "report-dir": str(head.out),
            "sarif-file": str(sarif_file),
        },
    )
    return head.exit_code


def check_sandbox() -> int:
    """Exit 1 with the reason when bubblewrap cannot start here."""
    problem = bubblewrap_problem()
    if problem is None:
        sys.stdout.write("grader: the bubblewrap sandbox works\n")
        return 0
    annotate(
        "error",
        f"{problem}. grader never runs a submission's tests without its sandbox; "
        "on Ubuntu 23.10 and later, user namespaces must be allowed for bwrap "
        "(scripts/allow-bwrap-userns.sh does it).",
    )
    return 1


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    """``python -m grader.ci.github check-sandbox|grade``."""
    args = list(sys.argv[1:] if argv is None else argv)
    environ = os.environ if env is None else env
    try:
        if args == ["check-sandbox"]:
            return check_sandbox()
        if args == ["grade"]:
            return grade(Runner.from_env(environ), Inputs.from_env(environ))
        raise UsageError("usage: python -m grader.ci.github check-sandbox|grade")
    except GraderError as exc:
        annotate("error", f"grader: {exc}")
        return int(exc.exit_code)


if __name__ == "__main__":
    raise SystemExit(main())
