"""Whether a command a README gives runs something the repository has.

A command is judged only when grader knows its program; anything else (``cd``, ``git
clone``, ``curl``, ``export``) is neither credit nor fault. ``run`` commands start the
code (``python -m pkg``, ``python app.py``, ``uvicorn app.main:app``, a declared console
script, ``docker compose up``, ``make run``), ``test`` commands run its tests
(``pytest``, ``python -m unittest``, ``tox``, ``make test``), ``install`` commands set it
up (``pip install -r requirements.txt``, ``poetry install``).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePosixPath

from grader.acquire.workspace import Workspace
from grader.environment.packaging_declarations import pyproject

PYTHONS = re.compile(r"^(?:python(?:3(?:\.\d+)?)?|py)$")
WRAPPERS = {("uv", "run"), ("poetry", "run"), ("pipenv", "run"), ("pdm", "run"), ("hatch", "run")}
SERVERS = frozenset({"uvicorn", "gunicorn", "hypercorn", "daphne"})
COMPOSE_FILES = ("docker-compose.yml", "docker-compose.yaml", "compose.yml", "compose.yaml")
TEST_TARGETS = re.compile(r"test|check|coverage", re.IGNORECASE)
# Modules run with ``-m`` that are tools, not the submission: judged as what they do.
TOOL_MODULES = {"pytest": "test", "unittest": "test", "pip": "install", "venv": ""}


@dataclass(frozen=True)
class Verdict:
    """What a command is for, whether it works here, and why not."""

    kind: str
    ok: bool
    reason: str = ""


def _exists(ws: Workspace, path: str) -> bool:
    text = str(PurePosixPath(path))
    if text == ".":
        return True
    return text in ws.files or any(f.startswith(text + "/") for f in ws.files)


def _bases(ws: Workspace) -> list[str]:
    nested = {str(PurePosixPath(f).parent) + "/" for f in ws.files if f.endswith("/pyproject.toml")}
    return ["", "src/", *sorted(nested)]


def _module(ws: Workspace, dotted: str, runnable: bool) -> bool:
    """Whether ``dotted`` is a module of the repository (a package needs ``__main__.py``
    when it is run with ``-m``)."""
    path = dotted.replace(".", "/")
    package = f"{path}/__main__.py" if runnable else f"{path}/__init__.py"
    return any(f"{b}{path}.py" in ws.files or f"{b}{package}" in ws.files for b in _bases(ws))


def _scripts(ws: Workspace) -> set[str]:
    data = pyproject(ws)
    project, tool = data.get("project"), data.get("tool")
    poetry = tool.get("poetry") if isinstance(tool, dict) else None
    tables = [
        project.get("scripts") if isinstance(project, dict) else None,
        poetry.get("scripts") if isinstance(poetry, dict) else None,
    ]
    return {name for table in tables if isinstance(table, dict) for name in table}


def _make_targets(ws: Workspace) -> set[str] | None:
    name = next((n for n in ("Makefile", "makefile", "GNUmakefile") if n in ws.files), None)
    if name is None:
        return None
    text = ws.path(name).read_text(encoding="utf-8", errors="replace")
    return set(re.findall(r"^([A-Za-z0-9_.-]+)\s*:(?!=)", text, re.MULTILINE))


def _run_module(ws: Workspace, module: str) -> Verdict | None:
    top = module.split(".", maxsplit=1)[0]
    if top in TOOL_MODULES:
        kind = TOOL_MODULES[top]
        return Verdict(kind, True) if kind else None
    if _module(ws, module, runnable=True):
        return Verdict("run", True)
    if top in sys.stdlib_module_names or top in SERVERS or top in {"streamlit", "flask"}:
        return None
    return Verdict("run", False, f"no module {module} to run in the repository")


def _python(ws: Workspace, args: list[str]) -> Verdict | None:
    if args[:1] == ["-m"] and len(args) > 1:
        return _run_module(ws, args[1])
    if not args or args[0].startswith("-"):
        return None
    ok = _exists(ws, args[0])
    return Verdict("run", ok, "" if ok else f"{args[0]} is not in the repository")


def _pytest(ws: Workspace, args: list[str]) -> Verdict:
    missing = [a for a in args if not a.startswith("-") and "/" in a and not _exists(ws, a)]
    if missing:
        return Verdict("test", False, f"{missing[0]} is not in the repository")
    return Verdict("test", True)


def _tox(ws: Workspace, _args: list[str]) -> Verdict:
    ok = any(n in ws.files for n in ("tox.ini", "noxfile.py", "pyproject.toml"))
    return Verdict("test", ok, "" if ok else "no tox or nox configuration")


def _app_runner(ws: Workspace, args: list[str]) -> Verdict | None:
    if len(args) < 2 or args[0] not in {"run", "dev"}:
        return None
    ok = _exists(ws, args[1])
    return Verdict("run", ok, "" if ok else f"{args[1]} is not in the repository")


def _pip(ws: Workspace, args: list[str]) -> Verdict | None:
    return _install(ws, args[1:]) if args[:1] == ["install"] else None


def _server(ws: Workspace, args: list[str]) -> Verdict | None:
    target = next((a for a in args if ":" in a and not a.startswith("-")), None)
    if target is None:
        return None
    module = target.split(":")[0]
    if _module(ws, module, runnable=False):
        return Verdict("run", True)
    return Verdict("run", False, f"no module {module} in the repository")


def _docker(ws: Workspace, args: list[str]) -> Verdict | None:
    compose = args[:1] == ["compose"]
    if compose or args[:1] == ["-compose"]:
        if any(name in ws.files for name in COMPOSE_FILES):
            return Verdict("run", True)
        return Verdict("run", False, "no compose file in the repository")
    if args[:1] in (["build"], ["run"]):
        if any(PurePosixPath(f).name in {"Dockerfile", "Containerfile"} for f in ws.files):
            return Verdict("run", True)
        return Verdict("run", False, "no Dockerfile in the repository")
    return None


def _make(ws: Workspace, args: list[str]) -> Verdict:
    goals = [a for a in args if not a.startswith("-") and "=" not in a]
    kind = "test" if any(TEST_TARGETS.search(g) for g in goals) else "run"
    targets = _make_targets(ws)
    if targets is None:
        return Verdict(kind, False, "no Makefile in the repository")
    unknown = [g for g in goals if g not in targets]
    if unknown:
        return Verdict(kind, False, f"the Makefile has no target {unknown[0]}")
    return Verdict(kind, True)


def _install(ws: Workspace, args: list[str]) -> Verdict:
    for flag, value in zip(args, [*args[1:], ""], strict=True):
        if flag in {"-r", "--requirement", "-c"} and not _exists(ws, value):
            return Verdict("install", False, f"{value} is not in the repository")
        target = value.split("[", 1)[0]
        if flag in {"-e", "--editable"} and target.startswith(".") and not _exists(ws, target):
            return Verdict("install", False, f"{target} is not in the repository")
    return Verdict("install", True)


Handler = Callable[[Workspace, list[str]], "Verdict | None"]


def _handlers() -> dict[str, Handler]:
    table: dict[str, Handler] = {
        "pytest": _pytest,
        "py.test": _pytest,
        "tox": _tox,
        "nox": _tox,
        "streamlit": _app_runner,
        "fastapi": _app_runner,
        "docker": _docker,
        "docker-compose": lambda ws, args: _docker(ws, ["-compose", *args]),
        "make": _make,
        "pip": _pip,
        "pip3": _pip,
    }
    return table | dict.fromkeys(SERVERS, _server)


def _unwrapped(words: list[str]) -> list[str]:
    """``FOO=1 sudo uv run pytest`` -> ``pytest``."""
    while words and (("=" in words[0] and not words[0].startswith("-")) or words[0] == "sudo"):
        words = words[1:]
    if len(words) > 1 and (words[0], words[1]) in WRAPPERS:
        words = words[2:]
    return words


def judge(ws: Workspace, words: list[str]) -> Verdict | None:
    """What ``words`` (one command, already split) is for and whether it works here."""
    words = _unwrapped(words)
    if not words:
        return None
    program, args = PurePosixPath(words[0]).name, words[1:]
    if PYTHONS.match(program):
        return _python(ws, args)
    handler = _handlers().get(program)
    if handler is not None:
        return handler(ws, args)
    return Verdict("run", True) if words[0] in _scripts(ws) else None
