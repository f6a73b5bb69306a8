"""How the candidate's tests run: the run's folders, the scratch copy, grader's
pytest.ini, pytest's command line and environment (with the settings the repository
documents, see grader.environment.run_settings), the servers started before it (see
grader.sandbox.services), and result files taken out safely.

The scratch copy is the only copy the tests see (the static tools keep reading the
pristine one); every folder the candidate's code may write to lives in the run's
disk-limited area. Plugins installed beside grader are not auto-loaded in grader's own
environment, and ``-c`` points pytest at the generated ini file (so ``addopts`` cannot
skip tests).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from grader.acquire.workspace import Workspace, remove_tree
from grader.core import proc
from grader.core.models import FileStats
from grader.environment import pytest_settings, run_settings, test_environment
from grader.sandbox import services
from grader.sandbox.bubblewrap import SANDBOX_TMP, Limits, Sandbox, interpreter_paths
from grader.sandbox.scratch import DiskArea
from grader.tools import git_copy
from grader.tools.base import ToolContext, config_path
from grader.tools.coverage_data import (
    contexts_rcfile,
    coverage_options,
    coverage_report,
    measured_files,
    unmeasured_code,
)
from grader.tools.coverage_halves import ParsedCode


@dataclass(frozen=True)
class RunFolders:
    """The folders of one test run; the writable ones share the run's disk-limited area."""

    scratch: Path
    results: Path
    config: Path
    home: Path
    tmp: Path
    services: Path
    """The data of the servers the run starts (see grader.sandbox.services)."""

    @classmethod
    def prepare(cls, ctx: ToolContext, area: Path) -> RunFolders:
        """Copy the submission to scratch and hand the writable folders to the sandbox."""
        paths = cls(
            area / "submission",
            area / "results",
            ctx.work_dir / "config",
            area / "home",
            area / "tmp",
            area / "services",
        )
        # Tests may rewrite files; the static tools keep reading the pristine copy.
        shutil.copytree(ctx.workspace.root, paths.scratch, symlinks=True)
        git_copy.prepare(ctx.workspace, paths.scratch)
        for folder in (*paths.writable()[1:], paths.config, paths.project):
            folder.mkdir()
        for folder in (*paths.writable(), paths.project):
            ctx.sandbox.own(folder)
        return paths

    def writable(self) -> tuple[Path, ...]:
        """Every folder the candidate's code may write to."""
        return (self.scratch, self.results, self.home, self.tmp, self.services)

    @property
    def project(self) -> Path:
        """Where the submission itself is installed when its tests need that (inside the
        disk-limited area, like everything its build writes)."""
        return self.home.parent / "project"

    def restore_pristine(self, ws: Workspace) -> None:
        """Empty every folder the tests could write to, then put back the pristine copies
        of the files coverage reports on (the non-test Python files) in scratch."""
        for folder in self.writable():
            remove_tree(folder)
        for measured in ws.source_files:
            target = self.scratch / measured
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(ws.root / measured, target, follow_symlinks=False)

    def working_folder(self, ws: Workspace) -> Path:
        """Where the suite runs: the submission's root, or manage.py's folder for a Django
        project run through it (its author runs ``python manage.py test`` there, and its
        tests open their data files relative to it)."""
        project = pytest_settings.read(ws).django_project
        return self.scratch / project if project and project != "." else self.scratch

    def write_ini(self, ctx: ToolContext, extra_paths: tuple[Path, ...] = ()) -> str:
        """grader's pytest.ini, with the candidate's harmless settings carried over; returns
        the import path, for the tests' own subprocesses."""
        settings = pytest_settings.read(ctx.workspace)
        ini = pytest_settings.ini(self.scratch, settings, extra_paths)
        (self.config / "pytest.ini").write_text(ini, encoding="utf-8")
        return ":".join(pytest_settings.import_paths(self.scratch, settings, extra_paths))


def pytest_argv(
    paths: RunFolders,
    ws: Workspace,
    limits: Limits,
    python: Path,
    *,
    own_env: bool,
    contexts: bool = False,
) -> list[str]:
    """pytest under coverage on the scratch copy, with grader's ini and a per-test timeout;
    ``own_env`` when it runs in the candidate's environment rather than grader's;
    ``contexts`` records which test function ran each line (for mutation testing), with
    an rc file written to the run's config folder."""
    scratch = paths.scratch
    rcfile = contexts_rcfile(paths.config) if contexts else None
    # In the candidate's environment the declared plugins load themselves (pytest-timeout
    # included); in grader's own only pytest-timeout is loaded, explicitly.
    timeout_plugin = [] if own_env else ["-p", "pytest_timeout"]
    return [
        str(python),
        "-I",
        "-m",
        "coverage",
        "run",
        *coverage_options(
            scratch,
            paths.results / ".coverage",
            (*ws.test_files, *ws.excluded, *unmeasured_code(ws)),
            rcfile,
        ),
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
        *test_targets(scratch, ws),
    ]


def test_targets(scratch: Path, ws: Workspace) -> list[str]:
    """What pytest is given to collect: the author's testpaths, or the whole copy."""
    chosen = pytest_settings.selection(ws).paths
    return [str(scratch / path) for path in chosen] or [str(scratch)]


def pytest_environment(
    paths: RunFolders, python: Path, *, own_env: bool, settings: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The test run's environment variables: the repository's own ``settings``, then what
    pytest needs, HOME and TMPDIR in the run's own folders (grader's win, though
    run_settings never lets a setting name one of them); plugins not auto-loaded outside
    the candidate's environment."""
    autoload = {} if own_env else {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    return {
        **(settings or {}),
        **autoload,
        "PATH": f"{python.parent}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(paths.home),
        "LANG": "C.UTF-8",
        "TMPDIR": SANDBOX_TMP,
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",
    }


def settings_for(ws: Workspace) -> run_settings.RunSettings:
    """The repository's run settings, less the Django settings module when grader's
    pytest.ini names one (pytest-django lets the environment override the ini file)."""
    settings = run_settings.read(ws)
    if pytest_settings.read(ws).get("DJANGO_SETTINGS_MODULE"):
        return settings.without(["DJANGO_SETTINGS_MODULE"])
    return settings


def services_problem(settings: run_settings.RunSettings, sandbox: Sandbox) -> str:
    """Why the servers the tests need cannot be started here, or ''. The host's shortfall:
    the tests are then not measured."""
    for service in settings.services:
        problem = services.missing(service.kind, service.spatial)
        if not problem and not sandbox.isolated:
            problem = (
                f"{service.kind.value} is started only inside the sandbox, and this run has "
                "none (--allow-unsandboxed)"
            )
        if problem:
            return f"{problem}; the tests need it ({service.declared_in})"
    return ""


def start_services(
    settings: run_settings.RunSettings, paths: RunFolders, python: Path, limits: Limits
) -> services.Launch:
    """The launcher that starts the run's servers before pytest, inside the sandbox."""
    # Starting takes seconds; a run too short for that still gets half its time for tests.
    timeout_s = min(services.START_TIMEOUT_S, limits.wall_s / 2)
    return services.prepare(settings.services, python, paths.services, paths.config, timeout_s)


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


def environment_in_use(
    ctx: ToolContext, prepared: test_environment.TestEnvironment
) -> contextlib.AbstractContextManager[object]:
    """Holds the environment against eviction while the suite runs in it (a fresh
    context each time: the suite runs more than once, for mutation testing)."""
    if ctx.environments and prepared.environment:
        return ctx.environments.in_use(prepared.environment.key)
    return contextlib.nullcontext()


def run_suite(
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
        paths,
        ctx.workspace,
        ctx.limits,
        python,
        own_env=ctx.environments is not None,
        contexts=ctx.mutation.max_mutants > 0,
    )
    return ctx.sandbox.run(
        launch.wrap(argv),
        cwd=paths.working_folder(ctx.workspace),
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


def coverage_figures(
    ctx: ToolContext, paths: RunFolders, data_file: Path | None, parsed: ParsedCode
) -> tuple[float | None, float | None, tuple[FileStats, ...], str]:
    """Turn grader's coverage data file into percentages, against pristine sources.

    The files were parsed from the pristine copies while the tests ran, or are parsed
    now from the scratch copy, where the pristine copies of the files coverage reports
    on replace whatever the tests left (a source file emptied, a link to a host FIFO
    planted); everything else the tests wrote goes, so they fit in the disk area.
    Only files under it are read, with memory and time limits.
    """
    if data_file is None:
        parsed.close()
        return None, None, (), "no coverage data was recorded"
    report = ctx.work_dir / "coverage.json"
    counted = parsed.counted(data_file, report)
    paths.restore_pristine(ctx.workspace)  # for the report and the mutants
    return coverage_report(
        data_file,
        paths.scratch,
        report,
        memory_mb=ctx.limits.memory_mb,
        timeout_s=ctx.static_timeout_s,
        files=measured_files(ctx.workspace),
        parts=ctx.cores.cores if ctx.cores is not None else 1,
        counted=counted,
    )
