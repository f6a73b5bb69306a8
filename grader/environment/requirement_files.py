"""Requirement files (requirements*.txt, requirements/*.in and the like): which serve the
tests, and their entries with ``-r`` includes followed.

A file serves the tests when it sits at the root, is named or placed for the tests, sits
beside them, is the project's base requirements file, or is installed by the project's
CI, tox, nox or Makefile before its tests run. Files in auxiliary folders (``docs/``,
``benchmark/``, ``fuzzer/``) are used only when the code imports something only they
declare. Includes are followed within the submission only, at most ``MAX_INCLUDES``
files deep.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from grader.acquire.workspace import Workspace
from grader.environment import imports
from grader.environment.requirement_entries import Collector, Source, read_text

# Requirement files anywhere: requirements.txt, dev-requirements.txt, requirements_test.in,
# and every .txt/.in file in a requirements/ folder.
REQUIREMENTS_FILE = re.compile(
    r"(?:.*/)?(?:[\w.-]*[-_.])?requirements?(?:[-_.][\w.-]*)?\.(?:txt|in)"
    r"|(?:.*/)?req(?:uirement)?s/[\w.-]+\.(?:txt|in)"
)
# Words in a requirement file's name that say it is for the tests or the runtime.
_TEST_WORDS = frozenset({"test", "tests", "testing", "dev", "develop", "development", "ci"})
_RUNTIME_WORDS = frozenset({"base", "common", "core", "main", "default", "runtime", "install"})
_TEST_FOLDERS = frozenset({"tests", "test", "testing"})
INCLUDE = re.compile(r"^(?:-r|--requirement)\s*=?\s*(\S+)")
# How CI workflows, tox, nox and Makefiles install a requirements file.
_INSTALL_REFERENCE = re.compile(
    r"""(?:-r|--requirement)[\s=]+["']?([\w./-]+\.(?:txt|in))"""
    r"""|["'](?:-r|--requirement)["']\s*,\s*["']([\w./-]+\.(?:txt|in))["']"""
)
_INSTALLER_FILES = re.compile(
    r"\.github/workflows/[^/]+\.ya?ml|\.gitlab-ci\.ya?ml|\.circleci/config\.ya?ml"
    r"|azure-pipelines\.ya?ml|tox\.ini|noxfile\.py|Makefile|makefile|GNUmakefile|Justfile"
)
MAX_INCLUDES = 20


def _normalise(path: str) -> str:
    parts: list[str] = []
    for part in PurePosixPath(path).parts:
        if part == "..":
            if parts:
                parts.pop()
        elif part != ".":
            parts.append(part)
    return "/".join(parts)


def _with_includes(ws: Workspace, roots: list[str]) -> tuple[list[tuple[str, str]], list[str]]:
    """(file, line) for every requirement line, following ``-r`` within the submission;
    and the files read."""
    pending, lines = list(roots), []
    seen: list[str] = []
    while pending and len(seen) < MAX_INCLUDES:
        name = pending.pop(0)
        if name in seen or name not in ws.files:
            continue
        seen.append(name)
        for line in read_text(ws, name).splitlines():
            include = INCLUDE.match(line.strip())
            if include:
                pending.append(_normalise(str(PurePosixPath(name).parent / include.group(1))))
            else:
                lines.append((name, line))
    return lines, seen


def installed_by_tooling(ws: Workspace) -> dict[str, str]:
    """Requirement files that CI workflows, tox, nox or a Makefile install, with where."""
    found: dict[str, str] = {}
    for config in (f for f in ws.files if _INSTALLER_FILES.fullmatch(f)):
        base = PurePosixPath(config).parent if config in {"tox.ini", "noxfile.py"} else None
        for match in _INSTALL_REFERENCE.finditer(read_text(ws, config)):
            raw = match.group(1) or match.group(2)
            relative = _normalise(str(base / raw) if base else raw)
            if relative in ws.files:
                found.setdefault(relative, config)
    return found


def _words(path: str) -> set[str]:
    return set(re.split(r"[-_.]", PurePosixPath(path).stem.lower()))


def _role(path: str, referenced: dict[str, str], tests: tuple[str, ...]) -> str | None:
    """Why a requirements file serves the tests, or None when it is auxiliary."""
    parts = PurePosixPath(path).parts
    if path in referenced:
        return f"installed by {referenced[path]}"
    if len(parts) == 1:
        return "at the root"
    if _words(path) & _TEST_WORDS or _TEST_FOLDERS & set(parts[:-1]):
        return "named for the tests"
    folder = "/".join(parts[:-1]) + "/"
    if any(test.startswith(folder) for test in tests):
        return "beside the tests"
    in_requirements_folder = len(parts) == 2 and parts[0].lower() in {"requirements", "reqs"}
    if in_requirements_folder and _words(path) & (_RUNTIME_WORDS | {"requirements"}):
        return "the project's base requirements"
    return None


def find_requirement_files(ws: Workspace) -> tuple[list[str], list[str], dict[str, str]]:
    """(files serving the tests, auxiliary files, why each serving file was chosen)."""
    referenced = installed_by_tooling(ws)
    found = [f for f in ws.files if REQUIREMENTS_FILE.fullmatch(f) or f in referenced]
    # requirements.txt before requirements.in: pins first, so they win.
    found.sort(key=lambda f: (f.count("/"), f.endswith(".in"), f))
    roles = {f: role for f in found if (role := _role(f, referenced, ws.test_files))}
    return [f for f in found if f in roles], [f for f in found if f not in roles], roles


def read_requirement_files(
    ws: Workspace, roots: list[str], collector: Collector, why: dict[str, str]
) -> list[Source]:
    """Add the entries of ``roots`` and of the files they include; each file read is a
    source, with ``why`` it was chosen (an included file: "included with -r")."""
    lines, read = _with_includes(ws, roots)
    for name, line in lines:
        collector.add(line, name)
    return [Source(name, True, why.get(name, "included with -r")) for name in read]


def read_auxiliary(ws: Workspace, files: list[str], collector: Collector) -> list[Source]:
    """Use an auxiliary requirements file only when the code imports what only it declares."""
    sources: list[Source] = []
    for name in files:
        folder = str(PurePosixPath(name).parent)
        code = [f for f in ws.python_files if not f.startswith(folder + "/")]
        wanted = {imports.distribution(m) for m in imports.third_party(ws, code)}
        own = Collector()
        lines, _ = _with_includes(ws, [name])
        for file, line in lines:
            own.add(line, file)
        needed = sorted((imports.provided(own.declared()) & wanted) - collector.declared())
        if needed:
            reason = f"auxiliary, used because the code imports {', '.join(needed)}"
            sources += read_requirement_files(ws, [name], collector, {name: reason})
        else:
            sources.append(
                Source(name, False, "auxiliary folder: the code imports nothing only it declares")
            )
    return sources
