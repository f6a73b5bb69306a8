"""Declared versus imported dependencies.

An imported third-party module that no packaging file declares breaks the first fresh
install; a declared dependency nothing imports is dead weight. Which distribution
provides a module is read from the metadata of what the test environment installed, so
``rest_framework_simplejwt`` is djangorestframework-simplejwt's and ``factory`` is
factory-boy's without a table of names. A module is declared when a distribution the
submission declares directly provides it. One that only a declared distribution's own
requirements install (starlette under FastAPI) runs on every install of it, and is
counted apart, as a transitive import: its version is chosen by someone else's
requirements. One provided only by grader's runners, or by nothing, is undeclared.

The environment is the one the tests run in, asked for through
``test_environment.prepare``, which prepares it once per grade: the test run and this
check share one build. Without one (no tests, environments off, the build failed)
modules are matched to distributions by canonical name only, and the notes say so.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from grader import __version__
from grader.acquire.workspace import Workspace
from grader.core.models import (
    Finding,
    Location,
    Metric,
    MetricSpec,
    Severity,
    ToolResult,
    ToolStatus,
)
from grader.environment import packaging_declarations, requirements, test_environment
from grader.environment.imports import run_from_folder, third_party_modules
from grader.environment.installed import Distribution
from grader.environment.providers import by_name
from grader.tools.base import ToolContext
from grader.tools.declared_imports import Undeclared, check


def _direct(ws: Workspace, declared: requirements.Requirements) -> frozenset[str]:
    """Directly declared distributions: a lock file lists transitive ones too, so the
    project's own packaging files say which are direct when it has them, together with
    its requirement files (what ``pip install -r`` installs is declared, frozen or not)."""
    if not declared.locked:
        return declared.names
    own = requirements.read_declarations(ws)
    if not own.source:
        return declared.names
    return own.names | requirements.read_requirement_files(ws).names


def _undeclared_finding(item: Undeclared, by_metadata: bool) -> Finding:
    declare = f"declare {' or '.join(item.providers)} directly"
    if item.required_by:
        why = f"installed only as a dependency of {', '.join(item.required_by)}: {declare}"
    elif item.providers:
        why = f"installed only by grader, to run the tests: {declare}"
    elif by_metadata:
        why = "nothing declared provides it, so grader did not install it"
    else:
        why = f"no declared distribution is named like it ({by_name(item.module)})"
    return Finding(
        "deps",
        "undeclared-import",
        f"imports {item.module} but no packaging file declares it ({why})",
        Severity.MEDIUM,
        item.where,
    )


def _transitive_finding(item: Undeclared) -> Finding:
    return Finding(
        "deps",
        "transitive-import",
        f"imports {item.module}, which only {', '.join(item.required_by)}'s own requirements "
        f"install: it runs, but the version the code uses is chosen by "
        f"{', '.join(item.required_by)}; declare {' or '.join(item.providers)} directly",
        Severity.LOW,
        item.where,
    )


def _top(module: str) -> str:
    return module.split(".", 1)[0]


def _folder_import_finding(top: str, folder: str, where: Location) -> Finding:
    return Finding(
        "deps",
        "folder-relative-import",
        f"imports {top} as a top-level module, but it is {folder}/{top}: the import works "
        f"only when the code runs from {folder}/; import it as "
        f"{folder.replace('/', '.')}.{top} or make {folder}/ the package root",
        Severity.LOW,
        where,
    )


def _declaring(ws: Workspace, name: str, declared: requirements.Requirements) -> str:
    """The packaging files that name ``name`` (its spelling in a file may differ: ``-``,
    ``_``, ``.`` and case are alike), else every file the requirements came from."""
    spelled = r"[-_.]+".join(map(re.escape, re.split(r"[-_.]+", name)))
    wanted = re.compile(r"(?i)(?<![\w.-])" + spelled + r"(?![\w-])")
    naming = []
    for source in declared.sources:
        if not source.used:
            continue
        try:
            text = ws.path(source.path).read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        if wanted.search(text):
            naming.append(source.path)
    return ", ".join(naming) or declared.source


def _unused_finding(name: str, source: str) -> Finding:
    where = source.split(", ", maxsplit=1)[0] if source else "."
    return Finding(
        "deps",
        "unused-dependency",
        f"{name} is declared in {source or 'the packaging files'} but never imported",
        Severity.LOW,
        Location(where),
    )


# The packaging files name every declaration: a mention there says nothing about use.
_DECLARING = re.compile(
    r"(?:^|/)(?:requirements[^/]*\.(?:txt|in)|pyproject\.toml|setup\.(?:py|cfg)|Pipfile"
    r"(?:\.lock)?|[^/]*\.lock|environment\.ya?ml|tox\.ini|noxfile\.py)$"
)
# Distributions a framework loads by a name written elsewhere, never imported by the
# candidate: a database driver by its backend's name (Django's ENGINE
# "django.db.backends.postgresql", SQLAlchemy's "postgresql://" whose default driver is
# psycopg2, "mysql://" and mysqlclient), FastAPI's form parser where a route takes a
# File, a Form or an upload, pydantic's validator behind EmailStr, the HTTP client under
# Starlette's TestClient.
_POSTGRES = ("postgresql", "postgres")
_LOADED_BY_NAME: dict[str, tuple[str, ...]] = {
    "psycopg2": _POSTGRES,
    "psycopg2-binary": _POSTGRES,
    "psycopg": _POSTGRES,
    "psycopg-binary": _POSTGRES,
    "mysqlclient": ("mysql",),
    "python-multipart": ("UploadFile", "File", "Form", "OAuth2PasswordRequestForm"),
    "email-validator": ("EmailStr",),
    "httpx": ("TestClient",),  # Starlette's and FastAPI's test client runs on it
    # Starlette's and FastAPI's classes that load a library the code never imports.
    "ujson": ("UJSONResponse",),
    "orjson": ("ORJSONResponse",),
    "jinja2": ("Jinja2Templates",),
    "itsdangerous": ("SessionMiddleware",),
    # uvicorn's parser, event loop, reloader and WebSocket protocol, used when installed.
    "httptools": ("uvicorn",),
    "uvloop": ("uvicorn",),
    "watchfiles": ("uvicorn",),
    "websockets": ("uvicorn",),
}
_MAX_TEXT_BYTES = 256 * 1024
_MAX_TEXT_FILES = 2000


def _not_mentioned(
    ws: Workspace, names: tuple[str, ...], installed: tuple[Distribution, ...] | None
) -> tuple[str, ...]:
    """Of declarations nothing imports, those nothing else in the repository names
    either: a database driver named in a URL (``postgresql+asyncpg``) or loaded by its
    backend's name (``_LOADED_BY_NAME``), a Django app in ``INSTALLED_APPS``
    (``corsheaders``), a command the README runs (``psrecord``) is used without an
    import statement."""
    if not names:
        return names
    by_dist = {d.name: d for d in installed or ()}
    spellings = {
        name: {name, name.replace("-", "_")}
        | {m for m in (by_dist[name].modules if name in by_dist else ()) if "." not in m}
        for name in names
    }
    # Names in any case (Django app labels, README commands); the names a framework loads
    # by exactly as written ("File" in a FastAPI signature, not "file" in prose).
    loaded = {name: set(_LOADED_BY_NAME.get(name, ())) for name in names}
    patterns: list[tuple[re.Pattern[str] | None, Callable[[str], str]]] = [
        (_words({w for s in spellings.values() for w in s}, re.IGNORECASE), str.lower),
        (_words({w for s in loaded.values() for w in s}, re.NOFLAG), str),
    ]
    seen: set[str] = set()
    for relative in [f for f in ws.files if not _DECLARING.search(f)][:_MAX_TEXT_FILES]:
        path = ws.path(relative)
        try:
            if path.is_symlink() or path.stat().st_size > _MAX_TEXT_BYTES:
                continue
            text = path.read_bytes().decode("utf-8", errors="replace")
        except OSError:
            continue
        for pattern, spelt in patterns:
            if pattern is not None:
                seen.update(spelt(match) for match in pattern.findall(text))
    return tuple(n for n in names if not ({w.lower() for w in spellings[n]} | loaded[n]) & seen)


def _words(words: set[str], flags: re.RegexFlag) -> re.Pattern[str] | None:
    """A pattern finding any of ``words`` standing alone; None for no words."""
    if not words:
        return None
    alternatives = "|".join(sorted(re.escape(w) for w in words))
    return re.compile(rf"(?<![\w-])({alternatives})(?![\w-])", flags)


def _installed(ctx: ToolContext) -> tuple[tuple[Distribution, ...] | None, str]:
    """What the test environment holds, with what the extras and groups it left out
    provide when that was read, or None and why there is none to read."""
    if not ctx.workspace.test_files:
        return None, "no tests, so no test environment was built"
    if ctx.environments is None:
        return None, "test environments are off"
    prepared = test_environment.prepare(ctx)
    if not prepared.installed:
        return None, prepared.problem or "the test environment could not be read"
    return (*prepared.installed, *prepared.declared_elsewhere), ""


class Deps:
    """Undeclared imports and unused declarations."""

    name = "deps"
    metrics = (
        MetricSpec(
            "packaging.undeclared_imports",
            "modules",
            "Third-party modules imported but declared in no packaging file.",
        ),
        MetricSpec(
            "packaging.transitive_imports",
            "modules",
            "Third-party modules imported that only a declared distribution's own "
            "requirements install (starlette for FastAPI).",
        ),
        MetricSpec(
            "packaging.unused_dependencies",
            "packages",
            "Declared dependencies that no file imports.",
        ),
    )

    def version(self) -> str:
        """Part of grader."""
        return __version__

    def run(self, ctx: ToolContext) -> ToolResult:
        """Compare what the code imports with what the packaging files declare."""
        started = time.monotonic()
        ws = ctx.workspace
        declared = requirements.read(ws)
        installed, why_not = _installed(ctx)
        # Extras and groups the tests do not need are declared all the same: their
        # imports are matched by name, as nothing installed can say what they provide.
        direct = _direct(ws, declared)
        optional = packaging_declarations.optional_names(ws) - direct
        # The candidate's own package imported as if run from inside its folder (app/node/
        # imported as `node.crud`): not a distribution to declare, but code that runs
        # only from there.
        every = third_party_modules(ws)
        own: dict[str, tuple[str, Location]] = {}
        for module, where in every.items():
            if (folder := run_from_folder(ws, module)) and _top(module) not in own:
                own[_top(module)] = (folder, where)
        imported = {m: w for m, w in every.items() if _top(m) not in own}
        needed = third_party_modules(ws, required=True)
        result = check(
            imported,
            direct,
            installed,
            also_declared=optional,
            optional=frozenset(imported) - frozenset(needed),
        )
        findings = [_undeclared_finding(u, installed is not None) for u in result.undeclared]
        findings += [_transitive_finding(u) for u in result.transitive]
        findings += [_folder_import_finding(top, *own[top]) for top in sorted(own)]
        unused = _not_mentioned(ws, result.unused, installed)
        findings += [_unused_finding(name, _declaring(ws, name, declared)) for name in unused]
        notes = [f"requirements read from {declared.source}"] if declared.source else []
        if installed is None:
            notes.append(f"imports matched to distributions by name, not metadata: {why_not}")
        else:
            notes.append(
                "imports matched to distributions by the metadata of the "
                f"{len(installed)} installed in the test environment (with the wheels of "
                "extras and groups it left out, when an import needed them)"
            )
        return ToolResult(
            tool=self.name,
            version=self.version(),
            status=ToolStatus.OK,
            findings=tuple(findings),
            metrics=(
                Metric(
                    "packaging.undeclared_imports", len(result.undeclared), "modules", self.name
                ),
                Metric(
                    "packaging.transitive_imports", len(result.transitive), "modules", self.name
                ),
                Metric("packaging.unused_dependencies", len(unused), "packages", self.name),
            ),
            duration_s=time.monotonic() - started,
            notes=tuple(notes),
        )
