"""Installing the submission itself, when its tests need more than its sources on the path.

Tests that read the distribution's metadata (``importlib.metadata.version("pkg")``) or
run its console scripts fail when the project is only importable from its folder. When a
submission declares a build system and its tests do either, the project is built and
installed into a folder of the test run's own, with its build backend taken from the
environment, **inside the sandbox** (its build scripts are the candidate's code) and
without network. The sources stay first on the import path, so coverage still measures
them; the installed copy contributes its metadata and scripts. When the build fails, the
tests run from the sources as before, and the report says why.
"""

from __future__ import annotations

import ast
import functools
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement

from grader.acquire import versions
from grader.acquire.workspace import Workspace
from grader.core import proc
from grader.environment import uv
from grader.environment.context import BuildContext
from grader.environment.packaging_declarations import pyproject
from grader.sandbox.bubblewrap import interpreter_paths

_METADATA_USE = re.compile(
    r"importlib\.metadata|importlib_metadata|pkg_resources|\bentry_points\s*\("
)
FALLBACK_BACKEND = ("setuptools>=61", "wheel")


@dataclass(frozen=True)
class Installed:
    """Where the built project went, or why it could not be built."""

    site_packages: Path | None
    scripts: Path | None
    note: str


def _scripts(data: dict[str, object]) -> list[str]:
    project = data.get("project")
    names: list[str] = []
    for key in ("scripts", "gui-scripts"):
        table = project.get(key) if isinstance(project, dict) else None
        names += list(table) if isinstance(table, dict) else []
    return names


# Both the test environment and the test run ask, per grade: read the files once.
@functools.lru_cache(maxsize=16)
def reason(ws: Workspace) -> str:
    """Why the tests need the project installed, or '' when its sources suffice."""
    data = pyproject(ws)
    if "build-system" not in data and "setup.py" not in ws.files:
        return ""
    written = _version_file(data)
    if written and written not in ws.files:
        return f"its version file {written} is written by the build, from the git history"
    texts = {
        test: ws.path(test).read_text(encoding="utf-8", errors="replace") for test in ws.test_files
    }
    for test, text in texts.items():
        if _METADATA_USE.search(text):
            return f"{test} reads the installed distribution's metadata"
    scripts = set(_scripts(data))
    for test, text in texts.items():
        # Only a module that names a script can run it: the others are not parsed.
        if not any(script in text for script in scripts):
            continue
        ran = scripts & _commands_run(text)
        if ran:
            return f"{test} runs its console script {sorted(ran)[0]!r}"
    return ""


def _version_file(data: dict[str, Any]) -> str:
    """The file a versioning tool writes the version into at build time, if configured:
    setuptools-scm's ``version_file``/``write_to``, hatch-vcs's build hook, pdm's."""
    tool = data.get("tool")
    tool = tool if isinstance(tool, dict) else {}
    candidates = [
        _get(tool, "setuptools_scm", "version_file"),
        _get(tool, "setuptools_scm", "write_to"),
        _get(tool, "hatch", "build", "hooks", "vcs", "version-file"),
        _get(tool, "pdm", "version", "write_to"),
    ]
    return next((c for c in candidates if isinstance(c, str) and c), "")


def _get(table: dict[str, Any], *keys: str) -> object:
    found: object = table
    for key in keys:
        found = found.get(key) if isinstance(found, dict) else None
    return found


# Calls that run a command named by their first argument (a string or a list).
_RUNNERS = frozenset(
    {"run", "call", "check_call", "check_output", "Popen", "system", "popen", "which",
     "getoutput", "getstatusoutput", "create_subprocess_exec", "create_subprocess_shell"}
)  # fmt: skip


def _commands_run(text: str) -> set[str]:
    """The programs a test module runs: the first word of a command given to subprocess,
    os.system, shutil.which and the like (``["docqa", "ask"]``, ``"docqa ask"``). A string
    that merely equals a script's name (``getLogger("docqa")``) is not one."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError):
        return set()
    found: set[str] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else ""
        name = node.func.id if isinstance(node.func, ast.Name) else name
        first = node.args[0]
        if isinstance(first, ast.List | ast.Tuple) and first.elts:
            first = first.elts[0]
        elif name not in _RUNNERS:
            continue
        if isinstance(first, ast.Constant) and isinstance(first.value, str) and first.value:
            found.add(first.value.split()[0] if first.value.split() else first.value)
    return found


def build_requirements(ws: Workspace) -> tuple[str, ...]:
    """The build backend's requirements, to install into the test environment."""
    system = pyproject(ws).get("build-system")
    declared = system.get("requires") if isinstance(system, dict) else None
    if not isinstance(declared, list):
        return FALLBACK_BACKEND
    valid = []
    for entry in declared:
        try:
            valid.append(str(Requirement(entry)))
        except (InvalidRequirement, TypeError):
            continue
    return tuple(valid)


def install(ctx: BuildContext, scratch: Path, target: Path, python: Path) -> Installed:
    """Build and install the project at ``scratch`` into ``target``, in the sandbox."""
    uv_binary = Path(uv.executable()).resolve()
    argv = [
        str(uv_binary), "pip", "install", "--no-config", "--no-deps", "--no-build-isolation",
        "--offline", "--quiet", "--python", str(python), "--prefix", str(target), str(scratch),
    ]  # fmt: skip
    result = ctx.sandbox.run(
        argv,
        cwd=scratch,
        writable=[scratch, target],
        readable=[*interpreter_paths(python), uv_binary],
        env={**uv.sandboxed_environment(python), **history_version(ctx.workspace)},
        limits=ctx.limits,
    )
    if result.exit_code != 0:
        said = uv.message(result.stderr, 300) if result.stderr else proc.tail(result.stdout, 2)
        return Installed(
            None, None, f"the project could not be built, so it was not installed: {said}"
        )
    version = f"python{_version(python)}"
    site = target / "lib" / version / "site-packages"
    return Installed(
        site if site.is_dir() else None,
        target / "bin" if (target / "bin").is_dir() else None,
        "the project was built and installed in the sandbox for its tests"
        + (
            f" (version {ctx.workspace.version}, from its git history)"
            if ctx.workspace.version
            else ""
        ),
    )


# Each versioning tool's documented override of the version it would read from git
# (hatch-vcs and setuptools-scm share the first).
_VERSION_OVERRIDES = (
    "SETUPTOOLS_SCM_PRETEND_VERSION",
    "PDM_BUILD_SCM_VERSION",
    "POETRY_DYNAMIC_VERSIONING_BYPASS",
    "UV_DYNAMIC_VERSIONING_BYPASS",
)


def history_version(ws: Workspace) -> dict[str, str]:
    """The version the repository's history gives, for a build with no history to read
    (the sandbox's copy has none); ``versions.UNKNOWN`` without history."""
    version = ws.version or versions.UNKNOWN
    return dict.fromkeys(_VERSION_OVERRIDES, version)


def _version(python: Path) -> str:
    """'3.12' for an interpreter, read from its venv's lib folder (no process started)."""
    libs = sorted((python.parent.parent / "lib").glob("python3.*"))
    return libs[0].name.removeprefix("python") if libs else f"3.{sys.version_info.minor}"
