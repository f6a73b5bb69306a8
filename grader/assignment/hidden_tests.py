"""The hiring team's own tests, run against the candidate's code in the sandbox.

They run in a pytest process of their own: grader's ini file, rootdir and ``confcutdir``
are a copy of the hidden tests folder outside the candidate's tree, so no ``conftest.py``,
ini setting or plugin of the candidate is ever loaded; plugin autoloading is off and only
pytest-timeout is loaded, by name, before the candidate's folders join the import path.
The candidate's code is on the import path and nothing else of theirs; it still runs
in the same process when the tests import it, as any code under test does.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeET

from grader.core import proc
from grader.core.models import (
    Finding,
    HiddenTestCase,
    HiddenTestRun,
    Location,
    Metric,
    MetricSpec,
    Severity,
    ToolResult,
    ToolStatus,
    Visibility,
)
from grader.environment import pytest_settings, test_environment
from grader.sandbox import services
from grader.sandbox.bubblewrap import SANDBOX_TMP, interpreter_paths
from grader.tools import git_copy
from grader.tools.base import ToolContext, package_version
from grader.tools.junit_results import MAX_JUNIT_BYTES, JunitCase, junit_cases
from grader.tools.pytest_run import services_problem, settings_for, take_result

NAME = "hidden-tests"
MAX_TRACEBACK = 3000
MAX_MESSAGE = 300
# pytest's exit codes: 0 all passed, 1 some failed, 5 nothing collected.
PYTEST_OK, PYTEST_FAILED, PYTEST_NO_TESTS = 0, 1, 5

METRICS = (
    MetricSpec("correctness.pass_rate", "%", "Share of the hiring team's hidden tests that pass."),
    MetricSpec("correctness.count", "tests", "Hidden tests that ran."),
)


@dataclass(frozen=True)
class _Paths:
    """The folders of one hidden run, all in the adapter's private folder."""

    tests: Path
    scratch: Path
    results: Path
    config: Path
    home: Path
    services: Path
    """Where the run's servers keep their data (writable by the run)."""


def _ignore_caches(folder: str, names: list[str]) -> set[str]:
    del folder
    return {n for n in names if n in {"__pycache__", ".pytest_cache", ".git"}}


def _test_name(case: JunitCase, tests: Path) -> str:
    """``sub.test_x.TestY`` -> ``sub/test_x.py::TestY::name``, when that file exists."""
    parts = case.classname.split(".")
    for end in range(len(parts), 0, -1):
        file = "/".join(parts[:end]) + ".py"
        if (tests / file).is_file():
            return "::".join([file, *parts[end:], case.name])
    return "::".join(p for p in (case.classname, case.name) if p)


_FRAME = re.compile(r"^(\S+\.py):(\d+):", re.MULTILINE)


def _where(text: str, scratch: Path) -> Location:
    """The deepest frame of the candidate's own code in a traceback, else the submission.

    pytest names files relative to its working folder (the scratch copy) or absolutely.
    """
    for path, line in reversed(_FRAME.findall(text)):
        relative = path.removeprefix(f"{scratch}/")
        if relative.startswith(("/", "../")):
            continue
        if (scratch / relative).is_file():
            return Location(relative, int(line))
    return Location(".")


def _clean(text: str, paths: _Paths) -> str:
    """Tracebacks name files relative to the submission and the hidden tests folder."""
    text = text.replace(f"{paths.scratch}/", "").replace(f"{paths.tests}/", "")
    return text.replace(f"../{paths.tests.name}/", "")


def failure_finding(case: HiddenTestCase) -> Finding | None:
    """A failed hidden test as a finding at the candidate's code it failed in."""
    if case.outcome not in {"failed", "error"}:
        return None
    return Finding(
        tool=NAME,
        rule_id=f"hidden-test-{case.outcome}",
        message=f"hidden test {case.name} {case.outcome}: {case.message}",
        severity=Severity.MEDIUM,
        location=case.location,
    )


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0][:MAX_MESSAGE] if lines else ""


def _argv(paths: _Paths, python: Path, per_test_s: float) -> list[str]:
    return [
        str(python),
        "-I",
        "-m",
        "pytest",
        "-c",
        str(paths.config / "pytest.ini"),
        f"--rootdir={paths.tests}",
        f"--confcutdir={paths.tests}",
        "-p",
        "no:cacheprovider",
        "-p",
        "pytest_timeout",
        f"--timeout={per_test_s:g}",
        # A hidden test module named like one of the candidate's must not shadow it.
        "--import-mode=importlib",
        f"--junitxml={paths.results / 'junit.xml'}",
        "-q",
        "--",
        str(paths.tests),
    ]


def _ini(import_path: list[str]) -> str:
    return "\n".join(
        [
            "[pytest]",
            f"pythonpath = {' '.join(import_path)}",
            "addopts =",
            "python_files = test_*.py *_test.py",
            "junit_family = xunit2",
            "",
        ]
    )


class HiddenTests:
    """Run the hidden tests in ``folder``; ``visibility`` says what the candidate may see."""

    name = NAME
    metrics = METRICS

    def __init__(self, folder: Path, visibility: Callable[[str], Visibility]) -> None:
        self.folder = folder
        self.visibility = visibility

    def version(self) -> str:
        """Installed pytest version."""
        return f"pytest {package_version('pytest')}"

    def _result(
        self,
        status: ToolStatus,
        rate: float | None,
        reason: str,
        run: HiddenTestRun,
        result: proc.ProcResult | None = None,
        *,
        findings: tuple[Finding, ...] = (),
    ) -> ToolResult:
        return ToolResult(
            tool=self.name,
            version=self.version(),
            status=status,
            reason=reason,
            findings=findings,
            metrics=(
                Metric("correctness.pass_rate", rate, "%", self.name, reason),
                Metric("correctness.count", len(run.cases) if run.cases else None, "tests", NAME),
            ),
            argv=result.argv if result else (),
            exit_code=result.exit_code if result else None,
            duration_s=result.duration_s if result else 0.0,
            stderr_tail=proc.tail(result.stdout + result.stderr) if result else "",
            hidden_tests=run,
        )

    def _prepare(self, ctx: ToolContext) -> _Paths:
        base = ctx.work_dir
        paths = _Paths(
            base / "hidden",
            base / "submission",
            base / "results",
            base / "config",
            base / "home",
            base / "services",
        )
        shutil.copytree(self.folder, paths.tests, symlinks=True, ignore=_ignore_caches)
        shutil.copytree(ctx.workspace.root, paths.scratch, symlinks=True)
        git_copy.prepare(ctx.workspace, paths.scratch)
        for folder in (paths.results, paths.config, paths.home, paths.services):
            folder.mkdir()
        for folder in (paths.scratch, paths.results, paths.home, paths.services):
            ctx.sandbox.own(folder)
        return paths

    def run(self, ctx: ToolContext) -> ToolResult:
        """Copy the hidden tests beside a scratch copy of the submission and run them."""
        prepared = test_environment.prepare(ctx)
        if prepared.python is None:
            why = prepared.candidate_fault or prepared.problem
            run = HiddenTestRun((), problem=why)
            if prepared.candidate_fault:
                return self._result(ToolStatus.OK, 0.0, why, run)
            return self._result(ToolStatus.SKIPPED, None, why, run)
        # The hidden tests import the candidate's code: they need the same settings and
        # servers as the candidate's own suite.
        run_settings = settings_for(ctx.workspace)
        missing = services_problem(run_settings, ctx.sandbox)
        if missing:
            return self._result(
                ToolStatus.SKIPPED, None, missing, HiddenTestRun((), problem=missing)
            )
        paths = self._prepare(ctx)
        settings = pytest_settings.read(ctx.workspace)
        import_path = pytest_settings.import_paths(paths.scratch, settings)
        (paths.config / "pytest.ini").write_text(_ini(import_path), encoding="utf-8")
        python = prepared.python
        timeout_s = min(services.START_TIMEOUT_S, ctx.limits.wall_s / 2)
        launch = services.prepare(
            run_settings.services, python, paths.services, paths.config, timeout_s
        )
        env = {
            **run_settings.environment(),
            "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
            "PATH": f"{python.parent}:/usr/local/bin:/usr/bin:/bin",
            "HOME": str(paths.home),
            "LANG": "C.UTF-8",
            "TMPDIR": SANDBOX_TMP,
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONHASHSEED": "0",
            # For tests that run the candidate's program in a subprocess.
            "PYTHONPATH": ":".join(import_path),
            "GRADER_SUBMISSION": str(paths.scratch),
            **launch.env(),
        }
        result = ctx.sandbox.run(
            launch.wrap(_argv(paths, python, ctx.limits.per_test_s)),
            cwd=paths.scratch,
            writable=[paths.scratch, paths.results, paths.home, paths.services],
            readable=[*interpreter_paths(python), paths.tests, paths.config, *launch.readable],
            env=env,
            limits=ctx.limits,
            hosts=run_settings.hosts,
        )
        not_started = launch.failure(result.stderr)
        if not_started:
            why = f"a server the tests need did not start: {not_started}"
            return self._result(ToolStatus.SKIPPED, None, why, HiddenTestRun((), problem=why))
        return self._read(ctx, paths, result)

    def _read(self, ctx: ToolContext, paths: _Paths, result: proc.ProcResult) -> ToolResult:
        if result.timed_out:
            why = f"the hidden tests exceeded the {ctx.limits.wall_s:g}s limit"
            return self._result(
                ToolStatus.TIMEOUT, 0.0, why, HiddenTestRun((), problem=why), result
            )
        private = ctx.work_dir / "taken"
        private.mkdir()
        junit = take_result(paths.results, "junit.xml", private, MAX_JUNIT_BYTES)
        if result.exit_code == PYTEST_NO_TESTS:
            why = "no test was collected from the hidden tests folder"
            return self._result(
                ToolStatus.FAILED, None, why, HiddenTestRun((), problem=why), result
            )
        try:
            cases = junit_cases(junit) if junit else None
        except (SafeET.ParseError, DefusedXmlException):
            cases = None
        if cases is None:
            said = _clean(proc.tail(result.stdout + result.stderr, 3), paths)
            why = f"the hidden tests ended without results (exit code {result.exit_code}): {said}"
            return self._result(ToolStatus.FAILED, 0.0, why, HiddenTestRun((), problem=why), result)
        failing = sum(1 for c in cases if c.outcome in {"failed", "error"})
        if (result.exit_code == PYTEST_OK and failing) or (
            result.exit_code == PYTEST_FAILED and not failing
        ):
            why = (
                f"pytest exited with {result.exit_code} but the results file reports {failing} "
                "failing hidden tests: the results were changed after pytest wrote them"
            )
            return self._result(ToolStatus.FAILED, 0.0, why, HiddenTestRun((), problem=why), result)
        return self._scored(paths, cases, result)

    def _scored(self, paths: _Paths, cases: list[JunitCase], result: proc.ProcResult) -> ToolResult:
        run = HiddenTestRun(
            tuple(
                HiddenTestCase(
                    name=(name := _test_name(case, paths.tests)),
                    outcome=case.outcome,
                    message=_first_line(_clean(case.message or case.text, paths)),
                    visibility=self.visibility(name),
                    traceback=_clean(case.text, paths)[-MAX_TRACEBACK:],
                    location=_where(case.text, paths.scratch),
                )
                for case in cases
            )
        )
        findings = tuple(f for case in run.cases if (f := failure_finding(case)))
        ran = [c for c in run.cases if c.outcome != "skipped"]
        passed = sum(1 for c in ran if c.outcome == "passed")
        rate = round(100.0 * passed / len(ran), 2) if ran else None
        reason = "" if ran else "every hidden test was skipped"
        status = ToolStatus.OK
        return self._result(status, rate, reason, run, result, findings=findings)
