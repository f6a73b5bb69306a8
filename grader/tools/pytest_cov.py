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

import dataclasses
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from grader.core import proc
from grader.core.errors import NoRoomError
from grader.core.models import Metric, MetricSpec, TestSummary, ToolResult, ToolStatus
from grader.core.progress import stage
from grader.environment import project_install, run_settings, test_environment
from grader.sandbox import services
from grader.sandbox.bubblewrap import interpreter_paths
from grader.sandbox.scratch import DiskArea, disk_area, footprint
from grader.tools import leftovers, mutation, scratch_dotenv, stale_rerun
from grader.tools import run_outcomes as outcomes
from grader.tools.base import ToolContext, package_version
from grader.tools.coverage_data import MAX_COVERAGE_BYTES, measured_files
from grader.tools.coverage_halves import ParsedCode
from grader.tools.junit_results import MAX_JUNIT_BYTES, read_junit
from grader.tools.pytest_run import (
    RunFolders,
    coverage_figures,
    environment_in_use,
    pytest_environment,
    run_suite,
    services_problem,
    settings_for,
    start_services,
    take_result,
)

RUNNERS = ("pytest", "coverage")


def _environment(ctx: ToolContext) -> test_environment.TestEnvironment:
    with stage("environment", ctx.on_event):
        return test_environment.prepare(ctx)


@dataclass(frozen=True)
class _Area:
    """A run's disk area, the submission copied into it, and the interpreter to run."""

    area: DiskArea
    folders: RunFolders
    python: Path = Path()


def _budget(area: DiskArea, hit: bool) -> list[str]:
    return [area.hit_reason()] if hit else []


@dataclass(frozen=True)
class _Ran:
    """One run of the suite: what it printed, its servers, and how to run it again."""

    result: proc.ProcResult
    launch: services.Launch
    suite: mutation.SuiteRun
    services: bool
    """Whether it needed servers (mutation testing then does not apply)."""
    parsed: ParsedCode
    left: leftovers.LeftBehind


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
            leftovers.METRIC,
            "paths",
            "Files and folders the test run left in the repository or rewrote there.",
        ),
        MetricSpec(
            "packaging.installable",
            "%",
            "100 when the declared requirements install; 0 when they name packages or "
            "versions that do not exist or cannot be resolved together.",
        ),
    )

    def version(self, held: Mapping[str, str] | None = None) -> str:
        """The pytest and coverage versions (those ``held`` by the test environment, else
        grader's own), and the servers the tests can have."""
        versions = {name: (held or {}).get(name) or package_version(name) for name in RUNNERS}
        runners = ", ".join(f"{name} {version}" for name, version in versions.items())
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
                Metric(leftovers.METRIC, None, "paths", self.name, reason),
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
        try:
            return self._run_started(ctx)
        finally:
            if ctx.tests_started is not None:
                ctx.tests_started.set()  # however the run ended: nothing waits forever

    def _run_started(self, ctx: ToolContext) -> ToolResult:
        ws = ctx.workspace
        if not ws.test_files:
            nothing = Metric("packaging.installable", None, "%", self.name, "no tests to run")
            return self._zero("no test files found", nothing)
        # The disk area is mounted and the submission copied into it while the environment
        # is prepared: neither needs the other, and with the environment cached they take
        # about as long as each other. Both are wasted only when the tests cannot run.
        with ThreadPoolExecutor(max_workers=1) as pool:
            pending = pool.submit(_environment, ctx)
            try:
                with disk_area(
                    ctx.work_dir / "disk", ctx.limits.disk_mb, footprint(ws.root)
                ) as area:
                    folders = RunFolders.prepare(ctx, area.root)
                    prepared = pending.result()
                    result = self._run(ctx, prepared, _Area(area, folders))
            except NoRoomError as exc:
                prepared = pending.result()
                result = self._unmeasured(str(exc), list(prepared.notes), prepared.installable)
        return dataclasses.replace(
            result, warnings=prepared.warnings, version=self._version_in(prepared)
        )

    def _version_in(self, prepared: test_environment.TestEnvironment) -> str:
        """The pytest and coverage the tests ran with: the environment's, where it has
        them (a candidate's pinned pytest 7), else grader's own."""
        return self.version({d.name: d.version for d in prepared.installed})

    def _run(
        self, ctx: ToolContext, prepared: test_environment.TestEnvironment, ready: _Area
    ) -> ToolResult:
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
        notes += ready.area.notes()
        ready = dataclasses.replace(ready, python=python)
        first = self._measure(ctx, ready, prepared, notes=notes, settings=settings)
        # A release the candidate pinned that crashed on this Python: raised, run again.
        return stale_rerun.rerun(ctx, prepared, first, settings, self._measure_in_area)

    def _measure_in_area(
        self,
        ctx: ToolContext,
        prepared: test_environment.TestEnvironment,
        python: Path,
        notes: list[str],
        settings: run_settings.RunSettings,
    ) -> tuple[ToolResult, str]:
        """One more test run in a disk area of its own; the result and what it printed."""
        ws = ctx.workspace
        try:
            with disk_area(ctx.work_dir / "disk", ctx.limits.disk_mb, footprint(ws.root)) as area:
                notes += area.notes()
                ready = _Area(area, RunFolders.prepare(ctx, area.root), python)
                return self._measure(ctx, ready, prepared, notes=notes, settings=settings)
        except NoRoomError as exc:
            return self._unmeasured(str(exc), notes, prepared.installable), ""

    def _measure(
        self,
        ctx: ToolContext,
        ready: _Area,
        prepared: test_environment.TestEnvironment,
        *,
        notes: list[str],
        settings: run_settings.RunSettings,
    ) -> tuple[ToolResult, str]:
        """Run the tests on the scratch copy inside the disk-limited area, read the
        results; what the run printed beside them."""
        area, paths, python = ready.area, ready.folders, ready.python
        parsed = ParsedCode.for_run(ctx, paths.scratch, measured_files(ctx.workspace))
        try:
            result, launch, suite, left = self._run_in_folders(
                ctx, area, paths, prepared=prepared, python=python, notes=notes, settings=settings
            )
            ran = _Ran(result, launch, suite, bool(settings.services), parsed, left)
            read = self._read(ctx, area, paths, prepared=prepared, ran=ran, notes=notes)
        finally:
            parsed.close()
        return read, result.stdout + result.stderr

    def _run_in_folders(
        self,
        ctx: ToolContext,
        area: DiskArea,
        paths: RunFolders,
        *,
        prepared: test_environment.TestEnvironment,
        python: Path,
        notes: list[str],
        settings: run_settings.RunSettings,
    ) -> tuple[proc.ProcResult, services.Launch, mutation.SuiteRun, leftovers.LeftBehind]:
        """Install what the tests need, start their servers, run them; how the run went,
        for mutation testing to run the suite again the same way, and what it left."""
        copies = run_settings.dotenv_copies(ctx.workspace, settings)
        written = scratch_dotenv.write(paths.scratch, copies)
        if written:
            notes.append(
                f"settings: also written to {', '.join(written)} for code that loads it, "
                "as cp .env.example .env would"
            )
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
        if ctx.tests_started is not None:
            ctx.tests_started.set()
        before = leftovers.listing(paths.scratch)
        with environment_in_use(ctx, prepared):
            result = run_suite(ctx, paths, python, env, area, launch=launch, hosts=settings.hosts)
        ignored = leftovers.git_ignored(ctx.workspace.root, ctx.workspace.files)
        left = leftovers.left_behind(before, leftovers.listing(paths.scratch), ignored)
        if ctx.cores is not None:
            ctx.cores.suite_ended()  # the coverage report and mutants share the cores
        suite = mutation.SuiteRun(
            python,
            env,
            (*interpreter_paths(python), paths.config, paths.project),
            settings.hosts,
            area.enforced,
            own_env,
            result.duration_s,
            {relative: copies[relative] for relative in written},
        )
        return result, launch, suite, left

    def _read(
        self,
        ctx: ToolContext,
        area: DiskArea,
        paths: RunFolders,
        *,
        prepared: test_environment.TestEnvironment,
        ran: _Ran,
        notes: list[str],
    ) -> ToolResult:
        """The run's results, read after the sandbox is gone; then the code the tests ran,
        mutation-tested (see mutation)."""
        ws = ctx.workspace
        installable = prepared.installable
        result, launch = ran.result, ran.launch
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
        line, branch, per_file, cov_note = coverage_figures(ctx, paths, data_file, ran.parsed)
        notes += [cov_note] if cov_note else []
        # The report step parses the code with the host's Python: code it cannot parse
        # (newer syntax) is the host's limit, never a zero.
        unmeasured = line is None and bool(ws.unparsable) and not ws.source_files
        if unmeasured:
            cov_note = (
                "coverage's report parses the code with this host's Python, which cannot "
                "parse any of it"
            )
        if result.truncated:
            notes.append(f"test output was truncated at {ctx.limits.output_bytes} bytes")
        why_nothing_ran = outcomes.why_nothing_ran(summary, result.exit_code)
        problem = prepared.candidate_fault or mutation.baseline_problem(summary, ran.services)
        with environment_in_use(ctx, prepared):
            mutated = (
                mutation.not_applicable(problem)
                if problem
                else mutation.measure(
                    ctx, paths, ran.suite, mutation.Recorded(ctx.work_dir, data_file, junit)
                )
            )
        notes += [mutated.note] if mutated.note else []
        return ToolResult(
            tool=self.name,
            version=self.version(),
            # A run that tested nothing is never "ok", whatever pytest's exit code.
            status=ToolStatus.NOTHING_TESTED if why_nothing_ran else ToolStatus.OK,
            reason=why_nothing_ran,
            findings=(
                *outcomes.failure_findings(summary, ws),
                *mutated.findings,
                *ran.left.findings(),
            ),
            metrics=(
                *outcomes.count_and_pass_rate(summary, excused, prepared.candidate_fault),
                Metric(
                    "coverage.line", None if unmeasured else line or 0.0, "%", self.name, cov_note
                ),
                Metric(
                    "coverage.branch",
                    None if unmeasured else branch or 0.0,
                    "%",
                    self.name,
                    cov_note,
                ),
                mutated.metric,
                ran.left.metric(),
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
