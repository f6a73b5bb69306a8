"""pytest + coverage: the candidate's own tests, run in the sandbox on a scratch copy.

Results come from files grader asked for (JUnit XML, grader's coverage data file) and are
read after the sandbox is gone. The candidate's pytest and coverage settings are replaced
by grader's: ``-c`` points pytest at a generated ini file (so ``addopts`` cannot skip
tests) and ``--rcfile`` points coverage at a generated rc file (so ``omit`` cannot hide
code). Plugins installed beside grader are not auto-loaded.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import stat
import sys
from dataclasses import dataclass
from pathlib import Path

from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeET

from grader import proc, requirements
from grader.environment import RUNNER_DISTRIBUTIONS, Environment, EnvStatus, runner_pins
from grader.errors import NoRoomError
from grader.models import (
    FileStats,
    Finding,
    Location,
    Metric,
    Severity,
    TestSummary,
    ToolResult,
    ToolStatus,
)
from grader.sandbox import SANDBOX_TMP, Limits, interpreter_paths
from grader.scratch import DiskArea, disk_area, footprint
from grader.tools.base import (
    MetricSpec,
    ToolContext,
    config_path,
    package_version,
    python_module,
)
from grader.workspace import Workspace, remove_tree

MAX_FAILURE_MESSAGE = 600
MAX_JUNIT_BYTES = 64 * 1024 * 1024
MAX_COVERAGE_BYTES = 256 * 1024 * 1024
SLOWEST = 5


def _pytest_ini(scratch: Path) -> str:
    paths = [str(scratch / "src")] if (scratch / "src").is_dir() else []
    paths.append(str(scratch))
    return "\n".join(
        [
            "[pytest]",
            f"pythonpath = {' '.join(paths)}",
            "addopts =",
            "python_files = test_*.py *_test.py",
            "junit_family = xunit2",
            "",
        ]
    )


def _omit_pattern(scratch: Path, relative: str) -> str:
    pattern = glob.escape(str(scratch / relative))
    # An excluded folder is omitted with everything in it.
    return pattern if relative.endswith(".py") else pattern + "/*"


def coverage_options(scratch: Path, data_file: Path, omitted: tuple[str, ...]) -> list[str]:
    """Options that complete grader's coveragerc for one submission.

    Test files are omitted by exact path (fnmatch-escaped), so what counts as a test is the
    same here as everywhere else in grader.
    """
    omit = ",".join(_omit_pattern(scratch, f) for f in omitted if "," not in f)
    return [
        f"--rcfile={config_path('coveragerc')}",
        f"--data-file={data_file}",
        f"--source={scratch}",
        *([f"--omit={omit}"] if omit else []),
    ]


def parse_junit(path: Path) -> TestSummary:
    """Count outcomes from a JUnit XML file; the file is untrusted input."""
    # defusedxml refuses entity expansion and external references in hostile XML.
    root = SafeET.parse(path).getroot()
    passed = failed = errors = skipped = 0
    timings: list[tuple[str, float]] = []
    failures: list[tuple[str, str]] = []
    for case in root.iter("testcase"):
        name = f"{case.get('classname', '')}::{case.get('name', '')}".strip(":")
        timings.append((name, float(case.get("time") or 0.0)))
        outcome = next(
            (child for child in case if child.tag in {"failure", "error", "skipped"}), None
        )
        if outcome is None:
            passed += 1
            continue
        if outcome.tag == "skipped":
            skipped += 1
            continue
        if outcome.tag == "failure":
            failed += 1
        else:
            errors += 1
        message = (outcome.get("message") or outcome.text or "").strip()
        failures.append((name, message[:MAX_FAILURE_MESSAGE]))
    timings.sort(key=lambda item: (-item[1], item[0]))
    return TestSummary(
        passed=passed,
        failed=failed,
        errors=errors,
        skipped=skipped,
        slowest=tuple(timings[:SLOWEST]),
        failures=tuple(failures),
    )


def _percent(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 2) if whole else None


@dataclass(frozen=True)
class _Paths:
    """The folders of one test run; the writable ones share the run's disk-limited area."""

    scratch: Path
    results: Path
    config: Path
    home: Path
    tmp: Path

    @classmethod
    def prepare(cls, ctx: ToolContext, area: Path) -> _Paths:
        """Copy the submission to scratch and hand the writable folders to the sandbox."""
        paths = cls(
            area / "submission",
            area / "results",
            ctx.work_dir / "config",
            area / "home",
            area / "tmp",
        )
        # Tests may rewrite files; the static tools keep reading the pristine copy.
        shutil.copytree(ctx.workspace.root, paths.scratch, symlinks=True)
        for folder in (paths.results, paths.config, paths.home, paths.tmp):
            folder.mkdir()
        (paths.config / "pytest.ini").write_text(_pytest_ini(paths.scratch), encoding="utf-8")
        for folder in paths.writable():
            ctx.sandbox.own(folder)
        return paths

    def writable(self) -> tuple[Path, ...]:
        """Every folder the candidate's code may write to."""
        return (self.scratch, self.results, self.home, self.tmp)


def _argv(
    paths: _Paths, ws: Workspace, limits: Limits, python: Path, *, own_env: bool
) -> list[str]:
    scratch = paths.scratch
    # In the candidate's environment the declared plugins load themselves (pytest-timeout
    # included); in grader's own only pytest-timeout is loaded, explicitly.
    timeout_plugin = [] if own_env else ["-p", "pytest_timeout"]
    return [
        str(python),
        "-I",
        "-m",
        "coverage",
        "run",
        *coverage_options(scratch, paths.results / ".coverage", (*ws.test_files, *ws.excluded)),
        "-m",
        "pytest",
        "-c",
        str(paths.config / "pytest.ini"),
        f"--rootdir={scratch}",
        "-p",
        "no:cacheprovider",
        *timeout_plugin,
        f"--timeout={limits.per_test_s:g}",
        f"--junitxml={paths.results / 'junit.xml'}",
        "-q",
        *[f"--ignore={scratch / path}" for path in ws.excluded],
        "--",
        str(scratch),
    ]


def _environment(paths: _Paths, python: Path, *, own_env: bool) -> dict[str, str]:
    autoload = {} if own_env else {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    return {
        **autoload,
        "PATH": f"{python.parent}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(paths.home),
        "LANG": "C.UTF-8",
        "TMPDIR": SANDBOX_TMP,
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",
    }


def _inside(scratch: Path, path: str) -> str | None:
    """A measured path relative to the scratch copy, or None when it lies elsewhere."""
    candidate = Path(path)
    if not candidate.is_absolute():
        return candidate.as_posix()
    try:
        return candidate.relative_to(scratch).as_posix()
    except ValueError:
        return None


def take_result(results: Path, name: str, private: Path, limit: int) -> Path | None:
    """Copy a result file out of the candidate-writable folder, safely.

    The candidate's process could have replaced it with a link to a host file, a FIFO or
    a huge file: it is opened without following links, must be a regular file under
    ``limit`` bytes, and is copied to a folder the candidate never saw.
    """
    try:
        fd = os.open(results / name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as stream:
        info = os.fstat(stream.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_size > limit:
            return None
        target = private / name
        target.write_bytes(stream.read(limit + 1)[:limit])
    return target


def _read_junit(junit: Path | None, result: proc.ProcResult) -> tuple[TestSummary | None, str]:
    if junit is None:
        return None, (
            f"pytest ended without writing results (exit code {result.exit_code}): "
            "the suite crashed or a test ended the process"
        )
    try:
        summary = parse_junit(junit)
    except (SafeET.ParseError, DefusedXmlException) as exc:
        return None, f"pytest's results could not be read: {exc}"
    return _consistent(summary, result.exit_code)


def _budget(area: DiskArea, hit: bool) -> list[str]:
    return [area.hit_reason()] if hit else []


# pytest's own exit codes: 0 all passed, 1 some tests failed.
PYTEST_OK, PYTEST_FAILED = 0, 1


def _consistent(summary: TestSummary, exit_code: int | None) -> tuple[TestSummary | None, str]:
    """The results file must agree with pytest's exit code, which code run after pytest
    (an atexit handler rewriting the file) cannot change without also being seen."""
    failing = summary.failed + summary.errors
    if (exit_code == PYTEST_OK and failing) or (exit_code == PYTEST_FAILED and not failing):
        return None, (
            f"pytest exited with {exit_code} but its results file reports {failing} failing "
            "tests: the results were changed after pytest wrote them"
        )
    return summary, ""


def _test_file(classname: str, ws: Workspace) -> str:
    """tests.test_api::TestX -> tests/test_api.py, when that file exists."""
    parts = classname.split("::", maxsplit=1)[0].split(".")
    for end in range(len(parts), 0, -1):
        candidate = "/".join(parts[:end]) + ".py"
        if candidate in ws.test_files:
            return candidate
    return "."


def _failure_findings(summary: TestSummary, ws: Workspace) -> tuple[Finding, ...]:
    return tuple(
        Finding(
            tool="pytest",
            rule_id="test-failed",
            message=f"{name.split('::')[-1]} failed: {message[:300]}",
            severity=Severity.MEDIUM,
            location=Location(_test_file(name, ws)),
        )
        for name, message in summary.failures
    )


def _test_metrics(summary: TestSummary) -> tuple[Metric, ...]:
    ran = summary.passed + summary.failed + summary.errors
    return (
        Metric("tests.count", summary.total, "tests", "pytest"),
        Metric(
            "tests.pass_rate",
            _percent(summary.passed, ran) if ran else 0.0,
            "%",
            "pytest",
            "" if ran else "no test ran",
        ),
    )


# uv's words for requirements that are wrong, as opposed to a network or cache problem.
_CANDIDATE_FAULTS = ("not found in the package registry", "No solution found", "no version of")


def _installable(env: Environment) -> Metric:
    if env.status is EnvStatus.READY:
        return Metric("packaging.installable", 100.0, "%", "pytest")
    offline = "network" in env.reason.lower() or "offline" in env.reason.lower()
    if (
        env.status is EnvStatus.FAILED
        and not offline
        and any(fault in env.reason for fault in _CANDIDATE_FAULTS)
    ):
        return Metric("packaging.installable", 0.0, "%", "pytest")
    return Metric("packaging.installable", None, "%", "pytest", env.reason)


class PytestCoverage:
    """Run the candidate's tests under coverage, isolated, with grader's settings."""

    name = "pytest"
    metrics = (
        MetricSpec("tests.count", "tests", "Tests collected from the candidate's test suite."),
        MetricSpec("tests.pass_rate", "%", "Share of tests that ran and passed."),
        MetricSpec("coverage.line", "%", "Statements of non-test code executed by the tests."),
        MetricSpec("coverage.branch", "%", "Branches of non-test code taken by the tests."),
        MetricSpec(
            "packaging.installable",
            "%",
            "100 when the declared requirements install; 0 when they name packages or "
            "versions that do not exist or cannot be resolved together.",
        ),
    )

    def version(self) -> str:
        """Installed pytest and coverage versions."""
        return f"pytest {package_version('pytest')}, coverage {package_version('coverage')}"

    def _zero(
        self,
        reason: str,
        installable: Metric,
        result: proc.ProcResult | None = None,
        notes: tuple[str, ...] = (),
    ) -> ToolResult:
        # A suite that hangs, crashes or does not exist earns nothing: scoring it as
        # "not measured" would let a candidate escape Testability by breaking the run.
        return ToolResult(
            tool=self.name,
            version=self.version(),
            status=ToolStatus.OK if result is None else ToolStatus.FAILED,
            reason=reason,
            metrics=(
                Metric("tests.count", 0, "tests", self.name, reason),
                Metric("tests.pass_rate", 0, "%", self.name, reason),
                Metric("coverage.line", 0, "%", self.name, reason),
                Metric("coverage.branch", 0, "%", self.name, reason),
                installable,
            ),
            argv=result.argv if result else (),
            exit_code=result.exit_code if result else None,
            duration_s=result.duration_s if result else 0.0,
            stderr_tail=proc.tail(result.stdout + result.stderr) if result else "",
            tests=TestSummary(),
            notes=notes,
        )

    def _unmeasured(self, reason: str, notes: list[str], installable: Metric) -> ToolResult:
        # Not the candidate's fault that grader could not run the tests (for example a
        # dependency with no wheel): Testability is "not measured", never zero.
        return ToolResult(
            tool=self.name,
            version=self.version(),
            status=ToolStatus.SKIPPED,
            reason=reason,
            metrics=(
                *(Metric(m.name, None, m.unit, self.name, reason) for m in self.metrics[:-1]),
                installable,
            ),
            notes=tuple(notes),
        )

    def _interpreter(self, ctx: ToolContext, notes: list[str]) -> tuple[Path | None, str, Metric]:
        """The candidate's own environment (declared requirements + grader's runners)."""
        if ctx.environments is None:
            own = Metric("packaging.installable", None, "%", self.name, "grader's own env used")
            return Path(sys.executable), "", own
        declared, dropped = requirements.without(
            requirements.read(ctx.workspace), RUNNER_DISTRIBUTIONS
        )
        notes += list(declared.problems)
        if dropped:
            notes.append(
                f"grader runs its own {', '.join(runner_pins())} (asked for: {', '.join(dropped)})"
            )
        env = ctx.environments.prepare(declared, Path(sys.executable).resolve())
        installable = _installable(env)
        if env.status is EnvStatus.UNSUPPORTED_PYTHON:
            return None, env.reason, installable
        if env.status is EnvStatus.FAILED:
            return None, f"dependencies could not be installed: {env.reason}", installable
        source = f" from {declared.source}" if declared.source else ""
        how = "reused from the cache" if env.cached else f"built in {env.duration_s:.1f}s"
        notes.append(f"test environment with {len(declared.items)} requirements{source}: {how}")
        if ctx.environments.allow_builds:
            notes.append(
                "source builds were allowed: dependency build scripts ran outside the sandbox"
            )
        return env.python, "", installable

    def run(self, ctx: ToolContext) -> ToolResult:
        """Copy the submission to scratch, run its tests in the sandbox, read the results."""
        ws = ctx.workspace
        if not ws.test_files:
            nothing = Metric("packaging.installable", None, "%", self.name, "no tests to run")
            return self._zero("no test files found", nothing)
        notes: list[str] = []
        python, problem, installable = self._interpreter(ctx, notes)
        if python is None:
            return self._unmeasured(problem, notes, installable)
        try:
            with disk_area(ctx.work_dir / "disk", ctx.limits.disk_mb, footprint(ws.root)) as area:
                return self._measure(ctx, area, python, installable, [*notes, *area.notes()])
        except NoRoomError as exc:
            return self._unmeasured(str(exc), notes, installable)

    def _measure(
        self,
        ctx: ToolContext,
        area: DiskArea,
        python: Path,
        installable: Metric,
        notes: list[str],
    ) -> ToolResult:
        """Run the tests on a scratch copy inside the disk-limited area, read the results."""
        ws = ctx.workspace
        paths = _Paths.prepare(ctx, area.root)
        result = ctx.sandbox.run(
            _argv(paths, ws, ctx.limits, python, own_env=ctx.environments is not None),
            cwd=paths.scratch,
            writable=[paths.scratch, paths.results, paths.home],
            readable=[*interpreter_paths(python), paths.config, config_path("coveragerc").parent],
            env=_environment(paths, python, own_env=ctx.environments is not None),
            limits=ctx.limits,
            tmp=paths.tmp if area.enforced else None,
        )
        # Checked before anything is cleared: a full area is the clearest sign.
        hit = area.hit_budget(result.stdout + result.stderr)
        if result.timed_out:
            limit = f"the test run exceeded its {ctx.limits.wall_s:g}s limit"
            return self._zero(limit, installable, result, (*notes, *_budget(area, hit)))
        private = ctx.work_dir / "taken"
        private.mkdir()
        junit = take_result(paths.results, "junit.xml", private, MAX_JUNIT_BYTES)
        summary, problem = _read_junit(junit, result)
        if summary is None:
            # A suite that filled its budget may have left no room for its own results.
            reason = f"{area.hit_reason()}; {problem}" if hit else problem
            return self._zero(reason, installable, result, tuple(notes))
        hit = hit or area.hit_budget("\n".join(message for _, message in summary.failures))
        notes += _budget(area, hit)
        data_file = take_result(paths.results, ".coverage", private, MAX_COVERAGE_BYTES)
        line, branch, per_file, cov_note = self._coverage(ctx, paths, data_file)
        notes += [cov_note] if cov_note else []
        if result.truncated:
            notes.append(f"test output was truncated at {ctx.limits.output_bytes} bytes")
        return ToolResult(
            tool=self.name,
            version=self.version(),
            status=ToolStatus.OK,
            findings=_failure_findings(summary, ws),
            metrics=(
                *_test_metrics(summary),
                Metric("coverage.line", line or 0.0, "%", self.name, cov_note),
                Metric("coverage.branch", branch or 0.0, "%", self.name, cov_note),
                installable,
            ),
            argv=result.argv,
            exit_code=result.exit_code,
            duration_s=result.duration_s,
            stderr_tail=proc.tail(result.stderr),
            notes=tuple(notes),
            tests=summary,
            per_file=per_file,
        )

    def _coverage(
        self, ctx: ToolContext, paths: _Paths, data_file: Path | None
    ) -> tuple[float | None, float | None, tuple[FileStats, ...], str]:
        """Turn grader's coverage data file into percentages, against pristine sources.

        The scratch copy the tests could change (a source file emptied, a link to a host
        FIFO planted) is replaced by the pristine submission first; only files under it
        are read, with memory and time limits. Everything else the tests wrote goes too,
        so the pristine copy fits in the disk area however full the tests left it.
        """
        if data_file is None:
            return None, None, (), "no coverage data was recorded"
        for folder in paths.writable():
            remove_tree(folder)
        scratch = paths.scratch
        shutil.copytree(ctx.workspace.root, scratch, symlinks=True)
        report = ctx.work_dir / "coverage.json"
        argv = [
            "prlimit",
            f"--as={ctx.limits.memory_mb * 1024 * 1024}",
            "--",
            *python_module(
                "coverage",
                "json",
                f"--rcfile={config_path('coveragerc')}",
                f"--data-file={data_file}",
                f"--include={glob.escape(str(scratch))}/*",
                "-o",
                str(report),
                "--ignore-errors",
            ),
        ]
        # From the scratch folder, coverage names files relative to the submission root.
        result = proc.run(argv, cwd=scratch, timeout_s=ctx.static_timeout_s)
        if not report.is_file():
            return None, None, (), "no coverage data was recorded: " + proc.tail(result.stdout, 1)
        data = json.loads(report.read_text(encoding="utf-8"))
        totals = data["totals"]
        line = _percent(totals["covered_lines"], totals["num_statements"])
        branch = _percent(totals.get("covered_branches", 0), totals.get("num_branches", 0))
        per_file = tuple(
            FileStats(
                path=relative, line_coverage=_percent(s["covered_lines"], s["num_statements"])
            )
            for path, info in sorted(data["files"].items())
            if (relative := _inside(scratch, path)) is not None
            for s in [info["summary"]]
        )
        return line, branch if branch is not None else line, per_file, ""
