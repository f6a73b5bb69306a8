"""The environment the candidate's tests run in, and what it means for the score.

Who is at fault for what did not install decides how the tests are scored (README,
"Who is at fault"):

- the candidate (a requirement that does not exist, a version never published, pins
  that contradict each other): the tests still run on what did install, Testability is
  measured, the pass rate scores 0 with that reason and ``packaging.installable`` is 0;
- the grading host (no wheel for this platform, no interpreter new enough, the index
  unreachable): what could not be measured is "not measured", never zero, and tests
  that fail only because a dropped requirement is missing do not count against the
  candidate.

grader installs only what the candidate declared (and its own runners): a module the
code imports that nothing declares is not installed, the notes say so, and tests that
fail for want of it count against the candidate. Guessing a distribution for it would
install whatever happens to be published under the guessed name.
"""

from __future__ import annotations

import dataclasses
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from grader.core.models import Metric, TestSummary
from grader.environment import (
    declared_elsewhere,
    imports,
    installed,
    interpreters,
    lock_export,
    packaging_declarations,
    project_install,
    pytest_settings,
    requirements,
    stale_pins,
    uv,
)
from grader.environment.cache import Environment, EnvironmentCache, EnvStatus
from grader.environment.context import BuildContext
from grader.environment.installed import Distribution
from grader.environment.installed_notes import installed_note, not_installed
from grader.environment.origins import origins
from grader.environment.per_grade import PerGrade
from grader.environment.providers import named_alike
from grader.environment.resolution import BINARY_TWINS, Dropped, Fault
from grader.environment.sdists import SourceBuilds

_MISSING_MODULE = re.compile(r"No module named '([\w.]+)'")
# A test that needs a live service: the sandbox has no network, so none is ever there.
_REFUSED = re.compile(
    r"connection refused|could not connect to server|connection to server at|"
    r"can't connect to mysql server|error \d+ connecting to|"
    r"serverselectiontimeouterror|connecterror.*\b(?:localhost|127\.0\.0\.1)",
    re.IGNORECASE,
)
_PORT = re.compile(r"(?:localhost|127\.0\.0\.1|\"[\w.-]+\")\D{0,40}?(\d{4,5})")
SERVICES = {
    "5432": "PostgreSQL",
    "3306": "MySQL",
    "6379": "Redis",
    "27017": "MongoDB",
    "9200": "Elasticsearch",
    "5672": "RabbitMQ",
    "11211": "Memcached",
}
_NO_INTERNET = re.compile(
    r"temporary failure in name resolution|name or service not known|network is unreachable",
    re.IGNORECASE,
)
SOURCE = "pytest"


@dataclass(frozen=True)
class TestEnvironment:
    """An interpreter to run the tests with, or why there is none; what to report."""

    __test__ = False  # not a pytest test class

    python: Path | None
    installable: Metric
    notes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    problem: str = ""
    environment: Environment | None = None
    installed: tuple[Distribution, ...] = ()
    """What the environment holds, read from its metadata; empty without one."""
    not_installed: tuple[str, ...] = ()
    """Modules the code imports that nothing declares, so grader did not install them."""
    declared: tuple[str, ...] = ()
    """The requirement lines the environment was built from."""
    imported: tuple[str, ...] = ()
    """Third-party modules the code and the tests import."""
    declared_elsewhere: tuple[Distribution, ...] = ()
    """Distributions of the extras and groups the tests do not need, read from their
    wheels when an import was otherwise unaccounted for (see declared_elsewhere)."""

    @property
    def dropped(self) -> tuple[Dropped, ...]:
        """Requirements left out of the environment."""
        return self.environment.dropped if self.environment else ()

    def needs(self, dropped: Dropped) -> bool:
        """Whether the code or the tests could need a dropped requirement: something they
        import is named like it. One nothing imports (a coverage uploader, a release
        tool) breaks the install, which Packaging charges, not the tests."""
        return any(named_alike(dropped.name, module) for module in self.imported)

    @property
    def candidate_fault(self) -> str:
        """Why the candidate's requirements do not install, or '' when they do."""
        env = self.environment
        if env is None:
            return ""
        theirs = [d for d in env.dropped if d.fault is Fault.CANDIDATE and self.needs(d)]
        if theirs:
            return "their requirements do not install: " + "; ".join(
                f"{d.requirement} {d.reason}" for d in theirs
            )
        if env.status is EnvStatus.FAILED and env.fault is Fault.CANDIDATE:
            return f"their requirements do not install: {env.reason}"
        return ""


def installable(env: Environment) -> Metric:
    """100 when the declared set installs; 0 when the candidate is at fault; else unmeasured."""
    if env.fault is Fault.CANDIDATE:
        return Metric("packaging.installable", 0.0, "%", SOURCE)
    if env.status is EnvStatus.READY:
        return Metric("packaging.installable", 100.0, "%", SOURCE)
    reason = env.reason or "; ".join(f"{d.requirement} {d.reason}" for d in env.dropped)
    return Metric("packaging.installable", None, "%", SOURCE, f"the grading host: {reason}")


def _source_notes(declared: requirements.Requirements) -> list[str]:
    used = [f"{s.path} ({s.detail})" for s in declared.sources if s.used]
    left = [f"{s.path} ({s.detail})" for s in declared.left_out]
    notes = [f"requirements from: {'; '.join(used)}"] if used else []
    return notes + ([f"left out: {'; '.join(left)}"] if left else [])


def _change_notes(env: Environment) -> list[str]:
    notes = [f"environment: grader {change}" for change in env.changes]
    notes += [
        f"environment partial: dropped {d.requirement}: {d.reason} "
        f"({'the candidate' if d.fault is Fault.CANDIDATE else 'the grading host'} is at fault)"
        for d in env.dropped
    ]
    return notes


# Folders whose code the tests never run: their imports say nothing about the test run.
AUXILIARY_FOLDERS = frozenset(
    {"docs", "doc", "benchmark", "benchmarks", "bench", "fuzz", "fuzzer", "fuzzing",
     "profiler", "profiling", "scripts", "examples", "notebooks"}
)  # fmt: skip


def _auxiliary(relative: str) -> bool:
    return relative.split("/", 1)[0] in AUXILIARY_FOLDERS


def _source_builds(ctx: BuildContext, cache: EnvironmentCache) -> SourceBuilds | None:
    """Building dependencies that have no wheel, in the sandbox: only where a sandbox
    really isolates (a build script is code too), with the network for fetching, and not
    when the user let builds run on the host anyway, nor from beyond a wheelhouse that
    is the only index."""
    if not ctx.sandbox.isolated or cache.offline or cache.allow_builds or cache.wheelhouse:
        return None
    # "loaded-wheels": each was imported before it was kept (wheel_loads); the wheels an
    # earlier grader kept in "wheels" without that check are not offered again.
    return SourceBuilds(ctx.sandbox, ctx.limits, cache.root / "loaded-wheels")


_PREPARED: PerGrade[TestEnvironment] = PerGrade()


def prepare(ctx: BuildContext) -> TestEnvironment:
    """The candidate's own environment (their requirements + grader's runners), prepared
    once per grade: the test run, the hidden tests and the dependency check share it."""
    return _PREPARED.get(ctx.workspace, ctx.environments, lambda: _prepare(ctx))


def prepare_with_raised_pins(
    ctx: BuildContext, steps: Mapping[str, int], *, seed_setuptools: bool = False
) -> TestEnvironment:
    """The candidate's environment again, with their exact pins of the names in ``steps``
    raised that far: those releases crashed on this Python (see stale_pins.raised); with
    setuptools as ``python -m venv`` seeds it when ``seed_setuptools`` (see
    stale_pins.wants_seeded_setuptools)."""
    return _prepare(ctx, steps, seed_setuptools=seed_setuptools)


def _seeds_setuptools(version: str) -> bool:
    """Whether ``python -m venv`` of this Python version installs setuptools."""
    try:
        return tuple(int(part) for part in version.split(".")[:2]) < stale_pins.SEEDED_UNTIL
    except ValueError:
        return False


def _wanted(
    ctx: BuildContext, notes: list[str], raise_pins: Mapping[str, int] | None = None
) -> tuple[requirements.Requirements, dict[str, str], list[str]]:
    """The requirement set to build, the file that declared each of its names, and what
    grader adds to run the tests (pytest-django, a build backend nothing declares)."""
    exported, failed = lock_export.export(ctx, interpreters.host().path)
    declared = requirements.read(ctx.workspace, exported)
    origin = origins(ctx.workspace, declared, exported)
    notes += [*declared.problems, *([failed] if failed else []), *_source_notes(declared)]
    if raise_pins:
        items, changes = stale_pins.raised(declared.items, raise_pins)
        declared = dataclasses.replace(declared, items=items)
        notes.append(
            f"environment: grader raised your {'; '.join(changes)}: the pinned release "
            f"crashed on this Python before any test ran"
        )
    settings = pytest_settings.read(ctx.workspace)
    runners: list[str] = []
    if settings.source:
        selection = {"testpaths": settings.testpaths, "norecursedirs": settings.norecursedirs}
        chosen = [key for key, patterns in selection.items() if patterns]
        kept = ", ".join([key for key, _ in settings.values] + chosen)
        notes.append(f"pytest settings kept from {settings.source}: {kept or 'none'}")
    left_out = pytest_settings.selection(ctx.workspace).left_out
    if left_out:
        notes.append(
            f"not run: {len(left_out)} test module(s) the author's pytest configuration "
            f"leaves out (testpaths, norecursedirs, python_files): {', '.join(left_out[:10])}"
        )
    if settings.deselected:
        notes.append(
            f'not run: tests the author\'s addopts deselects (-m "{settings.deselection}"), '
            "as their own pytest leaves them out"
        )
    if settings.commanded:
        notes.append(
            "tests import from the folders the author's test command runs them from: "
            + ", ".join(settings.commanded)
        )
    if settings.get("DJANGO_SETTINGS_MODULE") and "pytest-django" not in declared.names:
        declared = dataclasses.replace(declared, items=(*declared.items, "pytest-django"))
        runners.append("pytest-django")
        where = f" (manage.py in {settings.django_project})" if settings.django_project else ""
        notes.append(
            f"environment: grader added pytest-django to run the Django tests with "
            f"{settings.get('DJANGO_SETTINGS_MODULE')[0]}{where}"
        )
    if project_install.reason(ctx.workspace):
        build = project_install.build_requirements(ctx.workspace)
        declared = dataclasses.replace(declared, items=(*declared.items, *build))
        notes.append(f"environment: grader added the build backend {', '.join(build)}")
        names = [canonicalize_name(Requirement(item).name) for item in build]
        if build == project_install.FALLBACK_BACKEND:  # nothing declared one: grader's
            runners += names
        else:
            origin = {**dict.fromkeys(names, "pyproject.toml [build-system]"), **origin}
    return declared, origin, runners


def _prepare(
    ctx: BuildContext,
    raise_pins: Mapping[str, int] | None = None,
    *,
    seed_setuptools: bool = False,
) -> TestEnvironment:
    if ctx.environments is None:
        own = Metric("packaging.installable", None, "%", SOURCE, "grader's own env used")
        return TestEnvironment(Path(sys.executable), own)
    cache = ctx.environments
    notes: list[str] = []
    declared, origin, runners = _wanted(ctx, notes, raise_pins)
    choice = interpreters.choose(
        declared.requires_python, cache.root, downloads=cache.python_downloads
    )
    warnings: tuple[str, ...] = (choice.warning,) if choice.warning else ()
    if seed_setuptools and _seeds_setuptools(choice.interpreter.version):
        declared = dataclasses.replace(
            declared, items=(*declared.items, stale_pins.SEEDED_SETUPTOOLS)
        )
        runners.append("setuptools")
        notes.append(
            f"environment: grader added {stale_pins.SEEDED_SETUPTOOLS}, which `python -m "
            f"venv` puts in every environment of Python {choice.interpreter.version}: the "
            "tests died importing pkg_resources, which setuptools 82 removed"
        )
    if choice.warning and ctx.workspace.unparsable:
        path, why = ctx.workspace.unparsable[0]
        problem = f"{choice.warning}, where {path} does not parse ({why})"
        unmeasured = Metric("packaging.installable", None, "%", SOURCE, problem)
        return TestEnvironment(None, unmeasured, tuple(notes), warnings, problem)
    env = cache.prepare(declared, choice.interpreter, _source_builds(ctx, cache))
    notes += _change_notes(env)
    if env.status is EnvStatus.FAILED or env.python is None:
        problem = f"dependencies could not be installed: {env.reason}"
        return TestEnvironment(None, installable(env), tuple(notes), warnings, problem, env)
    how = "reused from the cache" if env.cached else f"built in {env.duration_s:.1f}s"
    notes.append(
        f"test environment on Python {choice.interpreter.version} with "
        f"{len(declared.items)} requirements: {how}"
    )
    held = installed.read(env.python.parent.parent)
    code = [f for f in ctx.workspace.python_files if not _auxiliary(f)]
    imported = imports.third_party_modules(ctx.workspace, code, required=True)
    optional = packaging_declarations.optional_names(ctx.workspace)
    outside = {m: w for m, w in imported.items() if not imports.run_from_folder(ctx.workspace, m)}
    missing = not_installed(outside, declared.names | optional, held)
    elsewhere: tuple[Distribution, ...] = ()
    # The project's own name (`all = ["myproj[a,b]"]`) is not a distribution to fetch.
    project = packaging_declarations.project_name(ctx.workspace)
    beyond_tests = optional - {dist.name for dist in held} - {canonicalize_name(project or "")}
    if missing and beyond_tests and not (cache.offline or cache.wheelhouse):
        uv_env = uv.environment(cache.root)
        elsewhere = declared_elsewhere.read(beyond_tests, choice.interpreter.path, uv_env)
        missing = not_installed(outside, declared.names | optional, (*held, *elsewhere))
    if missing:
        notes.append(
            f"environment: grader did not install {', '.join(missing)}: imported by the "
            "code but declared nowhere (a test that needs one fails, and counts against "
            "the candidate)"
        )
    if held:
        notes.append(installed_note(held, origin, runners))
    if cache.allow_builds:
        notes.append("source builds were allowed: dependency build scripts ran outside the sandbox")
    if env.dropped:
        warnings += (
            "test environment partial: "
            + ", ".join(f"{d.requirement} ({d.reason})" for d in env.dropped),
        )
    return TestEnvironment(
        env.python,
        installable(env),
        tuple(notes),
        warnings,
        "",
        env,
        held,
        missing,
        declared.items,
        tuple(imported),
        elsewhere,
    )


def _dropped_module(message: str, dropped: tuple[Dropped, ...]) -> Dropped | None:
    """The dropped requirement a failure's missing module belongs to, if any. Dropped
    requirements were never installed, so only their names can say: generously, since
    the candidate did declare them."""
    for module in _MISSING_MODULE.findall(message):
        for entry in dropped:
            names = (entry.name, BINARY_TWINS.get(entry.name, entry.name))
            if any(named_alike(name, module) for name in names):
                return entry
    return None


def _undeclared_module(message: str, undeclared: tuple[str, ...]) -> str:
    """The module a failure misses that the code imports and nothing declares, or ''."""
    for module in _MISSING_MODULE.findall(message):
        for name in undeclared:
            if module == name or module.startswith(f"{name}."):
                return name
    return ""


_SYSTEM_LIBRARY = re.compile(
    r"could not find the (\w+) library|(lib[\w+.-]+?)(?:\.so[\w.]*)?: cannot open shared object"
    r"|(pg_config) executable not found",
    re.IGNORECASE,
)


def needs_library(message: str) -> str:
    """The system library a failure says is missing ('the system library GDAL'), or ''."""
    found = _SYSTEM_LIBRARY.search(message)
    if found is None:
        return ""
    name = next(group for group in found.groups() if group)
    return f"the system library {name}"


def needs_dropped(message: str, dropped: tuple[Dropped, ...]) -> str:
    """The requirement grader had to drop for the host's sake that ``message`` says is
    missing ('graphene-django==3.0.0 (needs promise, which has no wheel ...)'), or ''."""
    cause = _dropped_module(message, dropped)
    if cause is None or cause.fault is not Fault.HOST:
        return ""
    return f"{cause.requirement} ({cause.reason})"


def needs_service(message: str) -> str:
    """The live service a failure was refused by ('PostgreSQL at port 5432'), or ''."""
    if not _REFUSED.search(message):
        return ""
    port = _PORT.search(message)
    if port is None:
        return "a live service"
    return f"{SERVICES.get(port.group(1), 'a service')} at port {port.group(1)}"


def _label(
    message: str, dropped: tuple[Dropped, ...], undeclared: tuple[str, ...]
) -> tuple[str, bool]:
    """A failure's message with its cause when grader knows it, and whether it is excused
    (the grading host, not the candidate, made it fail)."""
    cause = _dropped_module(message, dropped)
    if cause is not None:
        label = f"[caused by dropped requirement {cause.requirement}] {message}"
        return label, cause.fault is Fault.HOST
    missing = _undeclared_module(message, undeclared)
    if missing:
        return (
            f"[caused by undeclared import {missing}, which grader did not install] {message}",
            False,
        )
    lacking = needs_service(message) or needs_library(message)
    if lacking:
        return f"[needs {lacking}, which the sandbox does not provide] {message}", True
    if _NO_INTERNET.search(message):
        return f"[needs the internet, which tests never get] {message}", False
    return message, False


def label_failures(
    summary: TestSummary, dropped: tuple[Dropped, ...], undeclared: tuple[str, ...] = ()
) -> tuple[TestSummary, int]:
    """Failures whose cause grader knows, labelled (a requirement grader dropped, an
    ``undeclared`` import it did not install, a live service or the internet), and how
    many are excused: those the host caused."""
    labelled: list[tuple[str, str]] = []
    excused = 0
    for name, message in summary.failures:
        label, excuse = _label(message, dropped, undeclared)
        labelled.append((name, label))
        excused += excuse
    return dataclasses.replace(summary, failures=tuple(labelled)), excused
