"""pytest + coverage: the candidate's own tests, run in the sandbox on a scratch copy.

The adapter: it prepares the test environment, runs the tests (pytest_run: the folders,
the command, grader's pytest.ini), reads the results after the sandbox is gone
(junit_results, coverage_data) and turns them into metrics and findings. The tests run
with the settings the repository documents and the servers it declares, as its author
runs them (grader.environment.run_settings). A suite that cannot run scores zero when
that is the candidate's doing and "not measured" when it is the host's (a server it
needs that the host cannot start included). The candidate's pytest and coverage
settings are replaced by grader's.
"""

from __future__ import annotations

import contextlib
import dataclasses
from pathlib import Path

from grader.acquire.workspace import Workspace
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
from grader.environment import project_install, run_settings, test_environment
from grader.sandbox import services
from grader.sandbox.bubblewrap import interpreter_paths
from grader.sandbox.scratch import DiskArea, disk_area, footprint
from grader.tools import mutation
from grader.tools.base import ToolContext, config_path, package_version, percent
from grader.tools.coverage_data import MAX_COVERAGE_BYTES, coverage_report
from grader.tools.junit_results import MAX_JUNIT_BYTES, read_junit
from grader.tools.pytest_run import (
    RunFolders,
    pytest_argv,
    pytest_environment,
    services_problem,
    settings_for,
    start_services,
    take_result,
)


def _budget(area: DiskArea, hit: bool) -> list[str]:
    return [area.hit_reason()] if hit else []


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
    rate = percent(summary.passed, ran) if ran else 0.0
    return count, Metric("tests.pass_rate", rate, "%", "pytest", "" if ran else "no test ran")


def _tested_nothing(summary: TestSummary, exit_code: int | None) -> str:
    """Why a run that executed no test tested nothing, or '' when a test ran."""
    if summary.passed + summary.failed + summary.errors:
        return ""
    if summary.total:
        return f"no test ran: pytest collected {summary.total} and skipped every one"
    return f"no test ran: pytest collected none (exit code {exit_code})"


class PytestCoverage:
    """Run the candidate's tests under coverage, isolated, with grader's settings."""

    name = "pytest"
    metrics = (
        MetricSpec("tests.count", "tests", "Tests collected from the candidate's test suite."),
        MetricSpec("tests.pass_rate", "%", "Share of tests that ran and passed."),
        MetricSpec("coverage.line", "%", "Statements of non-test code executed by the tests."),
        MetricSpec("coverage.branch", "%", "Branches of non-test code taken by the tests."),
        MetricSpec(
            mutation.METRIC,
            "%",
            "Sampled mutants of the code the tests run that made a test fail (see mutation).",
        ),
        MetricSpec(
            "packaging.installable",
            "%",
            "100 when the declared requirements install; 0 when they name packages or "
            "versions that do not exist or cannot be resolved together.",
        ),
    )

    def version(self) -> str:
        """Installed pytest and coverage versions, and the servers the tests can have."""
        runners = f"pytest {package_version('pytest')}, coverage {package_version('coverage')}"
        return f"{runners}; servers: {services.available()}"

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
            # a run that hangs or crashes failed; no test at all tested nothing: never "ok"
            status=ToolStatus.NOTHING_TESTED if result is None else ToolStatus.FAILED,
            reason=reason,
            metrics=(
                Metric("tests.count", 0, "tests", self.name, reason),
                Metric("tests.pass_rate", 0, "%", self.name, reason),
                Metric("coverage.line", 0, "%", self.name, reason),
                Metric("coverage.branch", 0, "%", self.name, reason),
                mutation.not_applicable(reason).metric,
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
        settings = settings_for(ws)
        notes += settings.notes()
        missing = services_problem(settings, ctx.sandbox)
        if missing:
            return self._unmeasured(missing, notes, installable)
        try:
            with disk_area(ctx.work_dir / "disk", ctx.limits.disk_mb, footprint(ws.root)) as area:
                notes += area.notes()
                return self._measure(ctx, area, prepared, python, notes, settings=settings)
        except NoRoomError as exc:
            return self._unmeasured(str(exc), notes, installable)

    def _measure(
        self,
        ctx: ToolContext,
        area: DiskArea,
        prepared: test_environment.TestEnvironment,
        python: Path,
        notes: list[str],
        *,
        settings: run_settings.RunSettings,
    ) -> ToolResult:
        """Run the tests on a scratch copy inside the disk-limited area, read the results."""
        ws = ctx.workspace
        installable = prepared.installable
        paths = RunFolders.prepare(ctx, area.root)
        installed = self._install_project(ctx, paths, python, notes)
        extra = tuple(p for p in (installed.site_packages,) if p) if installed else ()
        import_path = paths.write_ini(ctx, extra)
        launch = start_services(settings, paths, python, ctx.limits)
        own_env = ctx.environments is not None
        env = pytest_environment(paths, python, own_env=own_env, settings=settings.environment())
        env.update(launch.env())
        # pytest itself runs isolated (-I); a test's own `python -m pkg` or console script
        # finds the submission through this.
        env["PYTHONPATH"] = import_path
        if installed and installed.scripts:
            env["PATH"] = f"{installed.scripts}:{env['PATH']}"

        def in_use() -> contextlib.AbstractContextManager[object]:
            if ctx.environments and prepared.environment:
                return ctx.environments.in_use(prepared.environment.key)
            return contextlib.nullcontext()

        with in_use():
            result = self._run_tests(
                ctx, paths, python, env, area, launch=launch, hosts=settings.hosts
            )
        not_started = launch.failure(result.stderr)
        if not_started:
            # Before any of the candidate's code ran (the launcher's own token says so).
            return self._unmeasured(
                f"a server the tests need did not start: {not_started}", notes, installable
            )
        # Checked before anything is cleared: a full area is the clearest sign.
        hit = area.hit_budget(result.stdout + result.stderr)
        if result.timed_out:
            limit = f"the test run exceeded its {ctx.limits.wall_s:g}s limit"
            return self._zero(limit, installable, result, (*notes, *_budget(area, hit)))
        private = ctx.work_dir / "taken"
        private.mkdir()
        junit = take_result(paths.results, "junit.xml", private, MAX_JUNIT_BYTES)
        summary, problem = read_junit(junit, result, paths.scratch)
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
        summary, excused = test_environment.label_failures(
            summary, prepared.dropped, prepared.not_installed
        )
        data_file = take_result(paths.results, ".coverage", private, MAX_COVERAGE_BYTES)
        line, branch, per_file, cov_note = self._coverage(ctx, paths, data_file)
        notes += [cov_note] if cov_note else []
        if result.truncated:
            notes.append(f"test output was truncated at {ctx.limits.output_bytes} bytes")
        tested_nothing = _tested_nothing(summary, result.exit_code)
        problem = prepared.candidate_fault or mutation.baseline_problem(
            summary, bool(settings.services)
        )
        suite = mutation.SuiteRun(
            python,
            env,
            (*interpreter_paths(python), paths.config, paths.project),
            settings.hosts,
            area.enforced,
            own_env,
            result.duration_s,
        )
        with in_use():
            mutated = (
                mutation.not_applicable(problem)
                if problem
                else mutation.measure(ctx, paths, suite, ctx.work_dir / "coverage.json")
            )
        notes += [mutated.note] if mutated.note else []
        return ToolResult(
            tool=self.name,
            version=self.version(),
            # A run that tested nothing is never "ok", whatever pytest's exit code.
            status=ToolStatus.NOTHING_TESTED if tested_nothing else ToolStatus.OK,
            reason=tested_nothing,
            findings=(*_failure_findings(summary, ws), *mutated.findings),
            metrics=(
                *_test_metrics(summary, excused, prepared.candidate_fault),
                Metric("coverage.line", line or 0.0, "%", self.name, cov_note),
                Metric("coverage.branch", branch or 0.0, "%", self.name, cov_note),
                mutated.metric,
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
        self,
        ctx: ToolContext,
        paths: RunFolders,
        python: Path,
        env: dict[str, str],
        area: DiskArea,
        *,
        launch: services.Launch,
        hosts: tuple[str, ...],
    ) -> proc.ProcResult:
        """pytest under coverage in the sandbox, with grader's ini and the scratch copy,
        after the servers it needs have started (in the same sandbox)."""
        argv = pytest_argv(
            paths, ctx.workspace, ctx.limits, python, own_env=ctx.environments is not None
        )
        return ctx.sandbox.run(
            launch.wrap(argv),
            cwd=paths.scratch,
            writable=list(paths.writable()),
            readable=[
                *interpreter_paths(python),
                paths.config,
                config_path("coveragerc").parent,
                paths.project,
                *launch.readable,
            ],
            env=env,
            limits=ctx.limits,
            tmp=paths.tmp if area.enforced else None,
            hosts=hosts,
        )

    def _install_project(
        self, ctx: ToolContext, paths: RunFolders, python: Path, notes: list[str]
    ) -> project_install.Installed | None:
        """Install the submission itself when its tests need it (see project_install)."""
        why = project_install.reason(ctx.workspace)
        if not why or ctx.environments is None:
            return None
        installed = project_install.install(ctx, paths.scratch, paths.project, python)
        notes.append(f"{installed.note} ({why})")
        return installed

    def _coverage(
        self, ctx: ToolContext, paths: RunFolders, data_file: Path | None
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
        paths.restore_pristine(ctx.workspace)
        return coverage_report(
            data_file,
            paths.scratch,
            ctx.work_dir / "coverage.json",
            memory_mb=ctx.limits.memory_mb,
            timeout_s=ctx.static_timeout_s,
        )
