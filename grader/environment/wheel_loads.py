"""Whether a wheel grader built from a source distribution loads on the Python it was
built for, checked in the sandbox before the wheel is kept.

An old release of a C extension compiles on a newer Python and then fails when imported
(psycopg2 2.8 on Python 3.11: "initialization of _psycopg raised unreported exception").
Installed, it would make every test that touches it fail and charge the candidate for the
grading host's Python. Refused here, the build counts as failed, and the requirement is
raised to a release with a wheel for this Python, as for a release that has none.

Only the wheel's compiled modules are imported, each by its dotted name: a package that
imports a dependency the bare wheel does not hold says nothing about the build, so a
missing module of another distribution passes.
"""

from __future__ import annotations

import zipfile
from dataclasses import replace
from pathlib import Path

from grader.core import proc
from grader.environment import uv
from grader.environment.installed import module_of
from grader.sandbox.bubblewrap import Limits, Sandbox, interpreter_paths

LOAD_LIMIT_S = 60.0
EXTENSION_SUFFIXES = (".so", ".pyd")

# Run from the unpacked wheel, which it puts first on sys.path; argv: the dotted names of
# every module the wheel holds, "--", the compiled modules to import. A module missing
# that the wheel does not hold belongs to another distribution (zope.interface, imported
# by zope.proxy's package): a dependency, not the build's fault. A shared library that is
# no Python module (one loaded with ctypes) has no init function to find.
_PROBE = """\
import importlib, os, sys
sys.path.insert(0, os.getcwd())
split = sys.argv.index("--")
own, modules = set(sys.argv[1:split]), sys.argv[split + 1:]
for name in modules:
    try:
        importlib.import_module(name)
    except ModuleNotFoundError as error:
        if (error.name or "") not in own:
            continue
        print(f"{name}: {type(error).__name__}: {error}")
        sys.exit(1)
    except ImportError as error:
        if "module export function" in str(error):
            continue
        print(f"{name}: {type(error).__name__}: {error}")
        sys.exit(1)
    except BaseException as error:
        print(f"{name}: {type(error).__name__}: {error}")
        sys.exit(1)
"""
# Unpacked on the host to be imported in the sandbox: a wheel larger than this is kept
# unchecked, as before the check.
MAX_UNPACKED_BYTES = 512 * 1024 * 1024


def compiled_modules(names: list[str]) -> list[str]:
    """The dotted names of a wheel's compiled modules, from its member names."""
    return sorted(
        module
        for name in names
        if name.endswith(EXTENSION_SUFFIXES) and (module := module_of(name))
    )


def load_problem(wheel: Path, python: Path, sandbox: Sandbox, limits: Limits, work: Path) -> str:
    """Why the wheel's compiled modules do not import on ``python`` (one line), or ""."""
    try:
        with zipfile.ZipFile(wheel) as zipped:
            names = zipped.namelist()
            modules = compiled_modules(names)
            size = sum(info.file_size for info in zipped.infolist())
            if not modules or size > MAX_UNPACKED_BYTES:
                return ""
            unpacked = work / "unpacked"
            zipped.extractall(unpacked)  # drops ".." and leading "/" from member names
    except (zipfile.BadZipFile, OSError) as error:
        return f"its wheel could not be unpacked: {error}"
    for path in unpacked.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    unpacked.chmod(0o755)
    own = sorted({module for name in names if (module := module_of(name))})
    result = sandbox.run(
        [str(python), "-I", "-c", _PROBE, *own, "--", *modules],
        cwd=unpacked,
        writable=[],
        readable=[*interpreter_paths(python), unpacked],
        env=uv.sandboxed_environment(python),
        limits=replace(limits, wall_s=min(limits.wall_s, LOAD_LIMIT_S)),
    )
    if result.timed_out:
        return f"importing it took longer than {LOAD_LIMIT_S:.0f}s"
    if result.exit_code == 0:
        return ""
    said = proc.tail(result.stdout, 1) or proc.tail(result.stderr, 1)
    return f"it was built but does not load on this Python ({said})"
