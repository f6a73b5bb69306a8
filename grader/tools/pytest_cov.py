"""pytest + coverage: the candidate's own tests, run in the sandbox on a scratch copy.

Results come from files grader asked for (JUnit XML, grader's coverage data file) and are
read after the sandbox is gone. The candidate's pytest and coverage settings are replaced
by grader's: ``-c`` points pytest at a generated ini file (so ``addopts`` cannot skip
tests) and ``--rcfile`` points coverage at a generated rc file (so ``omit`` cannot hide
code). Plugins installed beside grader are not auto-loaded.
"""

from __future__ import annotations

import contextlib
import dataclasses
import glob
import json
import os
import re
import shutil
import stat
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeET

from grader.acquire.workspace import Workspace, remove_tree
from grader.core import proc
from grader.core.errors import NoRoomError
from grader.core.models import (
    FileStats,
    Finding,
    Location,
    Metric,
    MetricSpec,
    Severity,
    TestSummary,
    ToolResult,
    ToolStatus,
)
from grader.core.progress import stage
from grader.environment import project_install, pytest_settings, test_environment
from grader.sandbox.bubblewrap import SANDBOX_TMP, Limits, interpreter_paths
from grader.sandbox.scratch import DiskArea, disk_area, footprint
from grader.tools.base import ToolContext, config_path, package_version, python_module

MAX_FAILURE_MESSAGE = 600
MAX_JUNIT_BYTES = 64 * 1024 * 1024
MAX_COVERAGE_BYTES = 256 * 1024 * 1024
SLOWEST = 5


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


@dataclass(frozen=True)
class JunitCase:
    """One ``testcase`` of a JUnit XML file."""

    classname: str
    name: str
    outcome: str
    """passed, failed, error or skipped."""
    message: str
    text: str
    duration_s: float


def junit_cases(path: Path) -> list[JunitCase]:
    """Every test case of a JUnit XML file; the file is untrusted input."""
    # defusedxml refuses entity expansion and external references in hostile XML.
    root = SafeET.parse(path).getroot()
    cases = []
    for case in root.iter("testcase"):
        outcome = next(
            (child for child in case if child.tag in {"failure", "error", "skipped"}), None
        )
        tag = "passed" if outcome is None else outcome.tag.replace("failure", "failed")
        cases.append(
            JunitCase(
                classname=case.get("classname", ""),
                name=case.get("name", ""),
                outcome=tag,
                message="" if outcome is None else outcome.get("message") or "",
                text="" if outcome is None else outcome.text or "",
                duration_s=float(case.get("time") or 0.0),
            )
        )
    return cases


def parse_junit(path: Path) -> TestSummary:
    """Count outcomes from a JUnit XML file; the file is untrusted input."""
    cases = junit_cases(path)
    counts = Counter(case.outcome for case in cases)
    timings: list[tuple[str, float]] = []
    failures: list[tuple[str, str]] = []
    for case in cases:
        name = f"{case.classname}::{case.name}".strip(":")
        timings.append((name, case.duration_s))
        if case.outcome in {"failed", "error"}:
            message = _failure_message(case.message, case.text)
            failures.append((name, message[:MAX_FAILURE_MESSAGE]))
    timings.sort(key=lambda item: (-item[1], item[0]))
    return TestSummary(
        passed=counts["passed"],
        failed=counts["failed"],
        errors=counts["error"],
        skipped=counts["skipped"],
        slowest=tuple(timings[:SLOWEST]),
        failures=tuple(failures),
    )


_ERROR_LINE = re.compile(
    r"^(?:E\s+)?(?:[\w.]+(?:Error|error|Exception|Configured)|[a-z_]\w*(?:\.\w+)+(?=:)"
    r"|ERROR|INTERNALERROR)\b.*"
)


def _last_error(output: str, scratch: Path) -> str:
    """The last line of pytest's output that names an error (a conftest that cannot be
    imported, a plugin that cannot load), shortened; pytest's own ``E`` lines first."""
    lines = output.replace(f"{scratch}/", "").splitlines()
    found = [m.group(0).strip() for m in map(_ERROR_LINE.match, lines) if m]
    explained = [line for line in found if line.startswith("E ")]
    chosen = explained or found
    return chosen[-1].removeprefix("E").strip()[:300] if chosen else ""


def _failure_message(message: str, text: str) -> str:
    """pytest's one-line message, plus the error a collection failure hides (the module
    that is missing, or else the exception pytest reports last)."""
    message = message.strip() or text.strip()
    lines = text.splitlines()
    missing = next((line for line in lines if "No module named" in line), "")
    raised = [line for line in lines if line.startswith("E ") and line[1:].strip()]
    cause = missing or (raised[0] if message == "collection failure" and raised else "")
    if cause and cause.strip() not in message:
        message = f"{message} ({cause.strip()[:200]})"
    return message


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
        for folder in (paths.results, paths.config, paths.home, paths.tmp, paths.project):
            folder.mkdir()
        for folder in (*paths.writable(), paths.project):
            ctx.sandbox.own(folder)
        return paths

    def writable(self) -> tuple[Path, ...]:
        """Every folder the candidate's code may write to."""
        return (self.scratch, self.results, self.home, self.tmp)

    @property
    def project(self) -> Path:
        """Where the submission itself is installed when its tests need that (inside the
        disk-limited area, like everything its build writes)."""
        return self.home.parent / "project"

    def write_ini(self, ctx: ToolContext, extra_paths: tuple[Path, ...] = ()) -> str:
        """grader's pytest.ini, with the candidate's harmless settings carried over; returns
        the import path, for the tests' own subprocesses."""
        settings = pytest_settings.read(ctx.workspace)
        ini = pytest_settings.ini(self.scratch, settings, extra_paths)
        (self.config / "pytest.ini").write_text(ini, encoding="utf-8")
        return ":".join(pytest_settings.import_paths(self.scratch, settings, extra_paths))


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
        # One test module that fails to import (a missing dependency) must not hide the
        # results of every other module: it counts as an error, the rest still run.
        "--continue-on-collection-errors",
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


def _read_junit(
    junit: Path | None, result: proc.ProcResult, scratch: Path
) -> tuple[TestSummary | None, str]:
    if junit is None:
        said = _last_error(result.stdout + "\n" + result.stderr, scratch)
        return None, (
            f"pytest ended without writing results (exit code {result.exit_code}): "
            + (f"it said {said!r}" if said else "the suite crashed or a test ended the process")
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


def _test_metrics(summary: TestSummary, excused: int, fault: str) -> tuple[Metric, ...]:
    """Count and pass rate; ``excused`` failures came from a requirement the host could not
    install, and a candidate ``fault`` in their requirements means a fresh checkout cannot
    run the tests at all."""
    ran = summary.passed + summary.failed + summary.errors - excused
    count = Metric("tests.count", summary.total, "tests", "pytest")
    if fault:
        return count, Metric("tests.pass_rate", 0.0, "%", "pytest", fault)
    if not ran and excused:
        reason = "every test that ran failed for want of what this host could not provide"
        return count, Metric("tests.pass_rate", None, "%", "pytest", reason)
    rate = _percent(summary.passed, ran) if ran else 0.0
    return count, Metric("tests.pass_rate", rate, "%", "pytest", "" if ran else "no test ran")


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

    def run(self, ctx: ToolContext) -> ToolResult:
        """Copy the submission to scratch, run its tests in the sandbox, read the results."""
        ws = ctx.workspace
        if not ws.test_files:
            nothing = Metric("packaging.installable", None, "%", self.name, "no tests to run")
            return self._zero("no test files found", nothing)
        with stage("environment", ctx.on_event):
            prepared = test_environment.prepare(ctx)
        return dataclasses.replace(self._run(ctx, prepared), warnings=prepared.warnings)

    def _run(self, ctx: ToolContext, prepared: test_environment.TestEnvironment) -> ToolResult:
        ws = ctx.workspace
        notes = list(prepared.notes)
        installable = prepared.installable
        python = prepared.python
        if python is None:
            if prepared.candidate_fault:
                return self._zero(prepared.candidate_fault, installable, notes=tuple(notes))
            return self._unmeasured(prepared.problem, notes, installable)
        try:
            with disk_area(ctx.work_dir / "disk", ctx.limits.disk_mb, footprint(ws.root)) as area:
                return self._measure(ctx, area, prepared, python, [*notes, *area.notes()])
        except NoRoomError as exc:
            return self._unmeasured(str(exc), notes, installable)

    def _measure(
        self,
        ctx: ToolContext,
        area: DiskArea,
        prepared: test_environment.TestEnvironment,
        python: Path,
        notes: list[str],
    ) -> ToolResult:
        """Run the tests on a scratch copy inside the disk-limited area, read the results."""
        ws = ctx.workspace
        installable = prepared.installable
        paths = _Paths.prepare(ctx, area.root)
        installed = self._install_project(ctx, paths, python, notes)
        extra = tuple(p for p in (installed.site_packages,) if p) if installed else ()
        import_path = paths.write_ini(ctx, extra)
        env = _environment(paths, python, own_env=ctx.environments is not None)
        # pytest itself runs isolated (-I); a test's own `python -m pkg` or console script
        # finds the submission through this.
        env["PYTHONPATH"] = import_path
        if installed and installed.scripts:
            env["PATH"] = f"{installed.scripts}:{env['PATH']}"
        in_use = (
            ctx.environments.in_use(prepared.environment.key)
            if ctx.environments and prepared.environment
            else contextlib.nullcontext()
        )
        with in_use:
            result = self._run_tests(ctx, paths, python, env, area)
        # Checked before anything is cleared: a full area is the clearest sign.
        hit = area.hit_budget(result.stdout + result.stderr)
        if result.timed_out:
            limit = f"the test run exceeded its {ctx.limits.wall_s:g}s limit"
            return self._zero(limit, installable, result, (*notes, *_budget(area, hit)))
        private = ctx.work_dir / "taken"
        private.mkdir()
        junit = take_result(paths.results, "junit.xml", private, MAX_JUNIT_BYTES)
        summary, problem = _read_junit(junit, result, paths.scratch)
        output = result.stdout + result.stderr
        lacking = (
            test_environment.needs_service(output)
            or test_environment.needs_library(output)
            or test_environment.needs_dropped(output, prepared.dropped)
        )
        if summary is None and lacking:
            # The suite cannot even start without a live service (a conftest that connects
            # to a database on import) or a system library: the host's shortfall.
            why = f"the suite needs {lacking}, which the sandbox does not provide: {problem}"
            return self._unmeasured(why, notes, installable)
        if summary is None:
            # A suite that filled its budget may have left no room for its own results.
            reason = f"{area.hit_reason()}; {problem}" if hit else problem
            return self._zero(reason, installable, result, tuple(notes))
        hit = hit or area.hit_budget("\n".join(message for _, message in summary.failures))
        notes += _budget(area, hit)
        summary, excused = test_environment.label_failures(summary, prepared.dropped)
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
                *_test_metrics(summary, excused, prepared.candidate_fault),
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

    def _run_tests(
        self, ctx: ToolContext, paths: _Paths, python: Path, env: dict[str, str], area: DiskArea
    ) -> proc.ProcResult:
        """pytest under coverage in the sandbox, with grader's ini and the scratch copy."""
        return ctx.sandbox.run(
            _argv(paths, ctx.workspace, ctx.limits, python, own_env=ctx.environments is not None),
            cwd=paths.scratch,
            writable=list(paths.writable()),
            readable=[
                *interpreter_paths(python),
                paths.config,
                config_path("coveragerc").parent,
                paths.project,
            ],
            env=env,
            limits=ctx.limits,
            tmp=paths.tmp if area.enforced else None,
        )

    def _install_project(
        self, ctx: ToolContext, paths: _Paths, python: Path, notes: list[str]
    ) -> project_install.Installed | None:
        """Install the submission itself when its tests need it (see project_install)."""
        why = project_install.reason(ctx.workspace)
        if not why or ctx.environments is None:
            return None
        installed = project_install.install(ctx, paths.scratch, paths.project, python)
        notes.append(f"{installed.note} ({why})")
        return installed

    def _coverage(
        self, ctx: ToolContext, paths: _Paths, data_file: Path | None
    ) -> tuple[float | None, float | None, tuple[FileStats, ...], str]:
        """Turn grader's coverage data file into percentages, against pristine sources.

        The scratch copy the tests could change (a source file emptied, a link to a host
        FIFO planted) is replaced by the pristine copies of the files coverage can report
        on (the non-test Python files; nothing else is measured) first; only files under
        it are read, with memory and time limits. Everything else the tests wrote goes
        too, so the pristine copies fit in the disk area however full the tests left it.
        """
        if data_file is None:
            return None, None, (), "no coverage data was recorded"
        scratch = paths.scratch
        for folder in paths.writable():
            remove_tree(folder)
        for measured in ctx.workspace.source_files:
            target = scratch / measured
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(ctx.workspace.root / measured, target, follow_symlinks=False)
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
                path=relative,
                line_coverage=_percent(s["covered_lines"], s["num_statements"]),
                statements=s["num_statements"],
                missing_lines=tuple(info.get("missing_lines", ())),
                branches=s.get("num_branches"),
                covered_branches=s.get("covered_branches"),
            )
            for path, info in sorted(data["files"].items())
            if (relative := _inside(scratch, path)) is not None
            for s in [info["summary"]]
        )
        return line, branch if branch is not None else line, per_file, ""
