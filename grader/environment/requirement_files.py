"""Requirement files (requirements*.txt, requirements/*.in and the like): which serve the
tests, and their entries as pip reads them, with ``-r`` and ``-c`` includes followed.

A file serves the tests when it sits at the root, is named or placed for the tests, sits
beside them, is the project's base requirements file, or is installed by the project's
CI, tox, nox or Makefile before its tests run. Files in auxiliary folders (``docs/``,
``benchmark/``, ``fuzzer/``) are used only when the code imports something only they
declare.

A file is decoded by its byte-order mark and read with pip's own rules
(pip-requirements-parser, a copy of pip's parser): ``\\`` continuations, ``--hash``
options, comments after a tab, markers, editable and URL lines, as ``pip-compile
--generate-hashes``, ``uv export`` and ``poetry export`` write them. Includes are
followed by grader, within the submission only, at most ``MAX_INCLUDES`` files; a
constraints file (``-c``) narrows the versions of what the others declare, as pip does,
and declares nothing itself.
"""

from __future__ import annotations

import codecs
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from pip_requirements_parser import (  # type: ignore[import-untyped]
    IncorrectRequirementLine,
    RequirementsFile,
)

from grader.acquire.workspace import Workspace
from grader.environment import imports, providers
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
INCLUDED = "included with -r"
CONSTRAINTS = "constraints, included with -c"


@dataclass(frozen=True)
class _Parsed:
    """One file as pip reads it: requirement entries (PEP 508, or the line itself when it
    is not one, for the collector to report), and the files it includes."""

    entries: tuple[str, ...]
    requirements: tuple[str, ...]
    constraints: tuple[str, ...]


def _inside(folder: PurePosixPath, target: str) -> str | None:
    """``target`` relative to ``folder``, as a path in the submission; None when it leaves
    the submission (an absolute path, too many ``..``) or is a URL."""
    parts: list[str] = []
    for part in (folder / target).parts if "://" not in target else ("/",):
        if part == "/" or (part == ".." and not parts):
            return None
        if part == "..":
            parts.pop()
        elif part != ".":
            parts.append(part)
    return "/".join(parts)


def _pip_file(text: str) -> RequirementsFile:
    """``text`` read by pip's parser. It reads only files: this one is written as UTF-8
    behind a byte-order mark, which pip's decoder honours before any locale or coding
    comment, so the text is read back exactly as grader decoded it."""
    with tempfile.TemporaryDirectory(prefix="grader-requirements-") as folder:
        path = Path(folder) / "requirements.txt"
        path.write_bytes(codecs.BOM_UTF8 + text.encode("utf-8", errors="replace"))
        return RequirementsFile.from_file(str(path), include_nested=False)


def _entry(item: Any) -> str:
    """A requirement pip parsed, as PEP 508: ``name @ url`` for a named link (VCS, URL,
    path), the line itself for a nameless one, the requirement with its marker otherwise."""
    if item.req is None:
        return str(item.line)
    if item.link is not None:
        return f"{item.req.name} @ {item.link.url}"
    if item.marker is not None and item.req.marker is None:
        return f"{item.req}; {item.marker}"
    return str(item.req)


def _parse(text: str) -> _Parsed:
    pip = _pip_file(text)
    entries = [_entry(item) for item in pip.requirements]
    # An incorrect line is also returned as the option line it is: that one is reported.
    invalid = [i for i in pip.invalid_lines if not isinstance(i, IncorrectRequirementLine)]
    entries += [str(item.line) for item in invalid]
    requirements: list[str] = []
    constraints: list[str] = []
    for option in pip.options:
        requirements += option.options.get("requirements", [])
        constraints += option.options.get("constraints", [])
        if not {"requirements", "constraints"} & set(option.options):
            entries.append(str(option.line))  # for the collector to report as ignored
    return _Parsed(tuple(entries), tuple(requirements), tuple(constraints))


def _constrained(entry: str, constraints: dict[str, SpecifierSet]) -> str:
    """``entry`` narrowed by the constraints on its name, as pip applies them."""
    try:
        requirement = Requirement(entry)
    except ValueError:
        return entry
    bound = constraints.get(canonicalize_name(requirement.name))
    if bound is None or requirement.url:
        return entry
    requirement.specifier &= bound
    return str(requirement)


def _constraints_of(entries: list[str]) -> dict[str, SpecifierSet]:
    """The version bounds a constraints file sets. One that holds only under a marker is
    not applied: it would split the requirement in two, for a case no submission showed."""
    bounds: dict[str, SpecifierSet] = {}
    for entry in entries:
        try:
            requirement = Requirement(entry)
        except ValueError:
            continue
        if not requirement.url and requirement.marker is None:
            name = canonicalize_name(requirement.name)
            bounds[name] = bounds.get(name, SpecifierSet()) & requirement.specifier
    return bounds


def _with_includes(ws: Workspace, roots: list[str]) -> tuple[list[tuple[str, str]], dict[str, str]]:
    """(file, entry) for every requirement of ``roots`` and the files they include with
    ``-r``, narrowed by the files included with ``-c``; and each file read, with how it
    was reached ("root", or how it was included). An include that leaves the submission
    or names no file of it is kept as its option line, for the collector to report."""
    pending = [(name, "root") for name in roots]
    seen: set[tuple[str, bool]] = set()  # a file may be read as requirements and constraints
    files: dict[str, str] = {}
    found: list[tuple[str, str]] = []
    constraint_entries: list[str] = []
    while pending and len(seen) < MAX_INCLUDES:
        name, how = pending.pop(0)
        if (name, how == CONSTRAINTS) in seen:
            continue
        seen.add((name, how == CONSTRAINTS))
        files.setdefault(name, how)
        parsed = _parse(read_text(ws, name))
        folder = PurePosixPath(name).parent
        for option, targets, reached in (
            ("-r", parsed.requirements, INCLUDED),
            ("-c", parsed.constraints, CONSTRAINTS),
        ):
            for target in targets:
                inside = _inside(folder, target)
                if inside is not None and inside in ws.files:
                    # As pip does: -r in a constraints file still names requirements.
                    pending.append((inside, reached))
                else:
                    found.append((name, f"{option} {target}"))
        if how == CONSTRAINTS:
            constraint_entries += parsed.entries
        else:
            found += [(name, entry) for entry in parsed.entries]
    bounds = _constraints_of(constraint_entries)
    return [(file, _constrained(entry, bounds)) for file, entry in found], files


def installed_by_tooling(ws: Workspace) -> dict[str, str]:
    """Requirement files that CI workflows, tox, nox or a Makefile install, with where."""
    found: dict[str, str] = {}
    for config in (f for f in ws.files if _INSTALLER_FILES.fullmatch(f)):
        base = PurePosixPath(config).parent if config in {"tox.ini", "noxfile.py"} else None
        for match in _INSTALL_REFERENCE.finditer(read_text(ws, config)):
            raw = match.group(1) or match.group(2)
            relative = _inside(base or PurePosixPath(), raw)
            if relative is not None and relative in ws.files:
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
    source, with ``why`` it was chosen (an included file: how it was included)."""
    lines, read = _with_includes(ws, roots)
    for name, line in lines:
        collector.add(line, name)
    return [Source(name, True, why.get(name, how)) for name, how in read.items()]


def read_auxiliary(ws: Workspace, files: list[str], collector: Collector) -> list[Source]:
    """Use an auxiliary requirements file only when the code imports what only it declares."""
    sources: list[Source] = []
    for name in files:
        folder = str(PurePosixPath(name).parent)
        code = [f for f in ws.python_files if not f.startswith(folder + "/")]
        # Nothing is installed yet, so only names can say what a module needs: matched
        # generously, as this only chooses among the candidate's own declarations.
        unserved = [
            module
            for module in imports.third_party(ws, code)
            if not any(providers.named_alike(d, module) for d in collector.declared())
        ]
        own = Collector()
        lines, _ = _with_includes(ws, [name])
        for file, line in lines:
            own.add(line, file)
        needed = sorted(
            d
            for d in own.declared() - collector.declared()
            if any(providers.named_alike(d, module) for module in unserved)
        )
        if needed:
            reason = f"auxiliary, used because the code imports {', '.join(needed)}"
            sources += read_requirement_files(ws, [name], collector, {name: reason})
        else:
            sources.append(
                Source(name, False, "auxiliary folder: the code imports nothing only it declares")
            )
    return sources
