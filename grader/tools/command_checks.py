"""Whether a command a README gives runs something the repository has.

A command is judged only when grader knows its program; anything else (``git clone``,
``curl``, ``export``) is neither credit nor fault. ``run`` commands start the code
(``python -m pkg``, ``python app.py``, ``uvicorn app.main:app``, ``flask run``, a declared
console script, ``docker compose up``, ``make run``), ``test`` commands run its tests
(``pytest``, ``python -m unittest``, ``tox``, ``make test``), ``install`` commands set it
up (``pip install -r requirements.txt``, ``poetry install``). A shell script the README
runs (``./run.sh``, ``bash scripts/test.sh``) is judged by the commands it holds. Paths
are read from the folder a reader is in (``cd src`` earlier in the README, see
``readme_substance``); a file named from elsewhere that the repository holds in exactly
one folder is found there (the README said where to run it from in prose).
"""

from __future__ import annotations

import ast
import re
import shlex
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePosixPath

from grader.acquire.workspace import Workspace
from grader.tools import project_tasks

PYTHONS = re.compile(r"^(?:python(?:3(?:\.\d+)?)?|py)$")
WRAPPERS = {("uv", "run"), ("poetry", "run"), ("pipenv", "run"), ("pdm", "run"), ("hatch", "run")}
SERVERS = frozenset({"uvicorn", "gunicorn", "hypercorn", "daphne"})
COMPOSE_FILES = ("docker-compose.yml", "docker-compose.yaml", "compose.yml", "compose.yaml")
TEST_TARGETS = re.compile(r"test|check|coverage", re.IGNORECASE)
TASK_RUNNERS = frozenset({"poe", "task"})
"""Task runners reading their tasks from pyproject.toml (poethepoet, taskipy)."""
# Modules run with ``-m`` that are tools, not the submission: judged as what they do.
TOOL_MODULES = {"pytest": "test", "unittest": "test", "pip": "install", "venv": ""}


@dataclass(frozen=True)
class Verdict:
    """What a command is for, whether it works here, and why not."""

    kind: str
    ok: bool
    reason: str = ""


def _exists(ws: Workspace, path: str, cwd: str = "") -> bool:
    """Whether ``path`` names a file or folder from ``cwd``, or else from the root."""
    for text in dict.fromkeys((_joined(cwd, path), _joined("", path))):
        if text == "." or text in ws.files or any(f.startswith(text + "/") for f in ws.files):
            return True
    return False


def _joined(cwd: str, path: str) -> str:
    """``path`` as written, from folder ``cwd`` of the repository ('' for its root)."""
    return (
        str(PurePosixPath(cwd, path))
        if cwd and not path.startswith("/")
        else str(PurePosixPath(path))
    )


def _elsewhere(ws: Workspace, path: str) -> str | None:
    """The one folder holding a file of that name, when the command's own path misses."""
    name = PurePosixPath(path).name
    found = [f for f in ws.files if PurePosixPath(f).name == name and "/" in f]
    return str(PurePosixPath(found[0]).parent) if len(found) == 1 else None


def _bases(ws: Workspace, cwd: str = "") -> list[str]:
    nested = {str(PurePosixPath(f).parent) + "/" for f in ws.files if f.endswith("/pyproject.toml")}
    return [*([f"{cwd}/"] if cwd else []), "", "src/", *sorted(nested)]


def _module(ws: Workspace, dotted: str, runnable: bool, cwd: str = "") -> bool:
    """Whether ``dotted`` is a module of the repository (a package needs ``__main__.py``
    when it is run with ``-m``)."""
    path = dotted.replace(".", "/")
    package = f"{path}/__main__.py" if runnable else f"{path}/__init__.py"
    bases = _bases(ws, cwd)
    return any(f"{b}{path}.py" in ws.files or f"{b}{package}" in ws.files for b in bases)


def _run_module(ws: Workspace, module: str, cwd: str = "") -> Verdict | None:
    top = module.split(".", maxsplit=1)[0]
    if top in TOOL_MODULES:
        kind = TOOL_MODULES[top]
        return Verdict(kind, True) if kind else None
    if _module(ws, module, runnable=True, cwd=cwd):
        return Verdict("run", True)
    if top in sys.stdlib_module_names or top in SERVERS or top in {"streamlit", "flask"}:
        return None
    return Verdict("run", False, f"no module {module} to run in the repository")


def _python(ws: Workspace, args: list[str], cwd: str = "") -> Verdict | None:
    if args[:1] == ["-m"] and len(args) > 1:
        return _run_module(ws, args[1], cwd)
    if not args or args[0].startswith("-"):
        return None
    found = next((p for p in (_joined(cwd, args[0]), _joined("", args[0])) if p in ws.files), "")
    folder = _elsewhere(ws, args[0]) if not found else None
    if not found and folder is None:
        ok = _exists(ws, args[0], cwd)  # a folder with __main__.py
        return Verdict("run", ok, "" if ok else f"{args[0]} is not in the repository")
    path = found or f"{folder}/{PurePosixPath(args[0]).name}"
    # Django's `manage.py test` runs the project's tests.
    kind = "test" if PurePosixPath(path).name == "manage.py" and args[1:2] == ["test"] else "run"
    if path.endswith(".py") and not _acts(ws, path):
        return Verdict(kind, False, f"{path} only defines things: running it does nothing")
    return Verdict(kind, True, f"{args[0]} is in {folder}/, run from there" if folder else "")


# Statements that do something when a module is run (a main guard is an If); imports,
# definitions and assignments only prepare.
_ACTIVE = (ast.If, ast.Expr, ast.For, ast.AsyncFor, ast.While, ast.With, ast.AsyncWith,
           ast.Try, ast.Match)  # fmt: skip


def _acts(ws: Workspace, path: str) -> bool:
    """Whether running the file at ``path`` does anything beyond defining names."""
    try:
        tree = ast.parse(ws.path(path).read_bytes())
    except (OSError, SyntaxError, ValueError, RecursionError):
        return True  # not ours to judge
    body = tree.body[1:] if ast.get_docstring(tree) is not None else tree.body
    return any(isinstance(node, _ACTIVE) for node in body)


def _pytest(ws: Workspace, args: list[str], cwd: str = "") -> Verdict:
    paths = [a for a in args if not a.startswith("-") and "/" in a]
    missing = [a for a in paths if not _exists(ws, a, cwd)]
    if missing:
        return Verdict("test", False, f"{missing[0]} is not in the repository")
    return Verdict("test", True)


def _tox(ws: Workspace, _args: list[str], _cwd: str = "") -> Verdict:
    ok = any(n in ws.files for n in ("tox.ini", "noxfile.py", "pyproject.toml"))
    return Verdict("test", ok, "" if ok else "no tox or nox configuration")


def _app_runner(ws: Workspace, args: list[str], cwd: str = "") -> Verdict | None:
    if len(args) < 2 or args[0] not in {"run", "dev"}:
        return None
    ok = _exists(ws, args[1], cwd)
    return Verdict("run", ok, "" if ok else f"{args[1]} is not in the repository")


# What ``flask run`` finds by itself in the folder it runs in (Flask's own rules).
FLASK_APPS = ("app.py", "wsgi.py", "app/__init__.py", "wsgi/__init__.py")


def _flask(ws: Workspace, args: list[str], cwd: str = "") -> Verdict | None:
    """``flask run``, ``flask --app hello run``: the application it would load."""
    if "run" not in args:
        return None
    named = next(
        (v for f, v in zip(args, [*args[1:], ""], strict=True) if f in {"--app", "-A"}), ""
    )
    if named:
        module = named.split(":")[0].removesuffix(".py").replace("/", ".")
        ok = _module(ws, module, runnable=False, cwd=cwd)
        return Verdict("run", ok, "" if ok else f"no module {module} in the repository")
    # Flask looks in the folder it runs in, never further.
    if any(_joined(cwd, name) in ws.files for name in FLASK_APPS) or ".flaskenv" in ws.files:
        return Verdict("run", True)
    return Verdict("run", False, "flask run finds no app.py or wsgi.py in that folder")


def _pip(ws: Workspace, args: list[str], cwd: str = "") -> Verdict | None:
    return _install(ws, args[1:], cwd) if args[:1] == ["install"] else None


# A project manager's install command and the file it installs from.
_PROJECT_INSTALLS = {
    "poetry": ({"install", "sync"}, "pyproject.toml"),
    "pdm": ({"install", "sync"}, "pyproject.toml"),
    "uv": ({"sync"}, "pyproject.toml"),
    "pipenv": ({"install", "sync"}, "Pipfile"),
}


def _project_manager(program: str) -> Handler:
    """``poetry install``, ``uv sync``, ``pipenv install``: they install from the
    project's own file, which must be there; ``uv pip install`` is pip's."""
    subcommands, manifest = _PROJECT_INSTALLS[program]

    def judge(ws: Workspace, args: list[str], cwd: str = "") -> Verdict | None:
        if program == "uv" and args[:1] == ["pip"]:
            return _pip(ws, args[1:], cwd)
        if program == "pipenv" and {"-r", "--requirements"} & set(args):
            return _install(ws, args[1:], cwd)  # imports a requirements file, as pip would
        if args[:1] and args[0] in subcommands and "--help" not in args:
            if _exists(ws, manifest, cwd):
                return Verdict("install", True)
            return Verdict("install", False, f"no {manifest} in the repository")
        if program == "pdm" and args[:1] and args[0] in project_tasks.scripts(ws):
            # pdm runs a script of its own by name, without ``run`` (``pdm start``)
            return Verdict(_task_kind(args[0]), True)
        return None

    return judge


def _server(ws: Workspace, args: list[str], cwd: str = "") -> Verdict | None:
    target = next((a for a in args if ":" in a and not a.startswith("-")), None)
    if target is None:
        return None
    module = target.split(":")[0]
    if _module(ws, module, runnable=False, cwd=cwd):
        return Verdict("run", True)
    return Verdict("run", False, f"no module {module} in the repository")


# Options of ``docker exec``/``docker compose exec|run`` that take a value, so that the
# word after them is not read as the container or service.
_CONTAINER_VALUED = frozenset(
    {"-e", "--env", "-u", "--user", "-w", "--workdir", "--env-file", "--name", "-p",
     "--publish", "-v", "--volume", "--entrypoint", "--index", "-l", "--label"}
)  # fmt: skip


def _after_options(args: list[str], valued: frozenset[str]) -> list[str]:
    """``args`` from the first word that is not an option or an option's value."""
    rest = list(args)
    while rest and rest[0].startswith("-"):
        option = rest.pop(0)
        if option in valued and "=" not in option and rest:
            rest.pop(0)
    return rest


def _in_container(args: list[str]) -> list[str]:
    """The command ``exec``/``run`` runs in a container, after its options and the
    container or service: ``-it backend pytest -q`` -> ``pytest -q``."""
    return _after_options(args, _CONTAINER_VALUED)[1:]


def _containered(ws: Workspace, inner: list[str], cwd: str) -> Verdict | None:
    """What a command run inside the project's container is for, judged against the
    repository the image is built from (``docker compose exec app pytest`` runs its tests)."""
    return _single(ws, inner, cwd) if inner else None


# docker compose's own options that take a value, before its subcommand.
_COMPOSE_VALUED = frozenset(
    {"-f", "--file", "-p", "--project-name", "--env-file", "--profile", "--project-directory",
     "--ansi", "--progress", "--parallel"}
)  # fmt: skip


def _compose(ws: Workspace, args: list[str], cwd: str) -> Verdict:
    """``docker compose …`` (``args`` after ``compose``): needs the compose files it names
    with ``-f`` (``docker compose -f docker-compose.dev.yml up``), or else one of the names
    compose looks for; ``exec`` and ``run`` are judged by the command they run in the
    service's container."""
    rest, named = list(args), []
    while rest and rest[0].startswith("-"):
        option, _, value = rest.pop(0).partition("=")
        if option in _COMPOSE_VALUED and not value and rest:
            value = rest.pop(0)
        if option in ("-f", "--file") and value:
            named.append(value)
    missing = [f for f in named if not _exists(ws, f, cwd)]
    if missing:
        return Verdict("run", False, f"no {missing[0]} in the repository")
    if not named and not any(PurePosixPath(f).name in COMPOSE_FILES for f in ws.files):
        return Verdict("run", False, "no compose file in the repository")
    inside = _in_container(rest[1:]) if rest[:1] in (["exec"], ["run"]) else []
    return _containered(ws, inside, cwd) or Verdict(_service_kind(rest), True)


def _service_kind(rest: list[str]) -> str:
    """A service ``up`` or ``run`` starts with its own command, named for the tests
    (``docker compose up tests --exit-code-from tests``), runs them."""
    if rest[:1] not in (["up"], ["run"]):
        return "run"
    service = _after_options(rest[1:], _CONTAINER_VALUED | _UP_VALUED)[:1]
    return _task_kind(service[0]) if service else "run"


def _task_kind(name: str) -> str:
    """What a task, target or service named ``name`` is for: the tests, or running."""
    return "test" if TEST_TARGETS.search(name) else "run"


# ``docker compose up``'s options that take a value.
_UP_VALUED = frozenset(
    {"--exit-code-from", "--scale", "-t", "--timeout", "--attach", "--wait-timeout"}
)


def _docker(ws: Workspace, args: list[str], cwd: str = "") -> Verdict | None:
    if args[:1] in (["compose"], ["-compose"]):
        return _compose(ws, args[1:], cwd)
    if args[:1] == ["exec"]:
        return _containered(ws, _in_container(args[1:]), cwd)
    if args[:1] in (["build"], ["run"]):
        if any(PurePosixPath(f).name in {"Dockerfile", "Containerfile"} for f in ws.files):
            return Verdict("run", True)
        return Verdict("run", False, "no Dockerfile in the repository")
    return None


def _make(ws: Workspace, args: list[str], _cwd: str = "") -> Verdict:
    goals = [a for a in args if not a.startswith("-") and "=" not in a]
    kind = "test" if any(_task_kind(g) == "test" for g in goals) else "run"
    targets = project_tasks.make_targets(ws)
    if targets is None:
        return Verdict(kind, False, "no Makefile in the repository")
    unknown = [g for g in goals if g not in targets]
    if unknown:
        return Verdict(kind, False, f"the Makefile has no target {unknown[0]}")
    return Verdict(kind, True)


def _install(ws: Workspace, args: list[str], cwd: str = "") -> Verdict:
    for flag, value in zip(args, [*args[1:], ""], strict=True):
        there = _exists(ws, value, cwd)
        if flag in {"-r", "--requirement", "-c"} and not there:
            return Verdict("install", False, f"{value} is not in the repository")
        target = value.split("[", 1)[0]
        if flag in {"-e", "--editable"} and target.startswith(".") and not there:
            return Verdict("install", False, f"{target} is not in the repository")
    return Verdict("install", True)


Handler = Callable[[Workspace, list[str], str], "Verdict | None"]


def _handlers() -> dict[str, Handler]:
    table: dict[str, Handler] = {
        "pytest": _pytest,
        "py.test": _pytest,
        "tox": _tox,
        "nox": _tox,
        "streamlit": _app_runner,
        "fastapi": _app_runner,
        "flask": _flask,
        "docker": _docker,
        "docker-compose": lambda ws, args, cwd: _docker(ws, ["-compose", *args], cwd),
        "make": _make,
        "pip": _pip,
        "pip3": _pip,
    }
    table |= {program: _project_manager(program) for program in _PROJECT_INSTALLS}
    return table | dict.fromkeys(SERVERS, _server)


def _unwrapped(words: list[str]) -> list[str]:
    """``FOO=1 sudo uv run pytest`` -> ``pytest``."""
    while words and (("=" in words[0] and not words[0].startswith("-")) or words[0] == "sudo"):
        words = words[1:]
    if len(words) > 1 and (words[0], words[1]) in WRAPPERS:
        words = words[2:]
    return words


# A script's own commands are judged, one script deep (a script calling a script is
# judged no further), and at most this many lines of it.
MAX_SCRIPT_LINES = 200
SHELLS = frozenset({"sh", "bash", "zsh"})


def _script_path(words: list[str]) -> str | None:
    """The shell script ``words`` runs (``./run.sh``, ``bash test.sh``), if any."""
    program = words[0]
    if PurePosixPath(program).name in SHELLS:
        scripts = [w for w in words[1:] if not w.startswith("-")]
        program = scripts[0] if scripts else ""
    if program.endswith(".sh"):
        return program
    extension = PurePosixPath(program).suffix
    return program if program.startswith("./") and not extension else None


def _script(ws: Workspace, program: str, cwd: str) -> list[Verdict]:
    """The verdicts of a shell script's own commands (a script it runs in turn is not
    read: one level deep)."""
    relative = _joined(cwd, program)
    if relative not in ws.files:
        return [Verdict("run", False, f"{program} is not in the repository")]
    text = ws.path(relative).read_text(encoding="utf-8", errors="replace")
    found = []
    for line in text.splitlines()[:MAX_SCRIPT_LINES]:
        try:
            inner = _unwrapped(shlex.split(line, comments=True))
        except ValueError:
            continue
        if inner and _script_path(inner) is None:
            verdict = _single(ws, inner, cwd)
            found += [verdict] if verdict is not None else []
    return found or [Verdict("run", True)]


def _single(ws: Workspace, words: list[str], cwd: str) -> Verdict | None:
    words = _unwrapped(words)
    if not words:
        return None
    program, args = PurePosixPath(words[0]).name, words[1:]
    if PYTHONS.match(program):
        return _python(ws, args, cwd)
    if program.endswith(".py"):  # ./manage.py runserver: run by its shebang
        return _python(ws, [words[0].removeprefix("./"), *args], cwd)
    handler = _handlers().get(program)
    if handler is not None:
        return handler(ws, args, cwd)
    # ``poetry run tests`` (unwrapped to ``tests``), ``poe test``, ``hatch run dev:test``
    task = args[0] if program in TASK_RUNNERS and args else words[0].rsplit(":", 1)[-1]
    if task in project_tasks.scripts(ws):
        return Verdict(_task_kind(task), True)
    return None


def judge_all(ws: Workspace, words: list[str], cwd: str = "") -> list[Verdict]:
    """What ``words`` (one command, already split, run from folder ``cwd``) is for and
    whether it works here: one verdict, or one per command of a script it runs."""
    unwrapped = _unwrapped(words)
    if not unwrapped:
        return []
    script = _script_path(unwrapped)
    if script is not None:
        return _script(ws, script, cwd)
    verdict = _single(ws, unwrapped, cwd)
    return [verdict] if verdict is not None else []


def judge(ws: Workspace, words: list[str], cwd: str = "") -> Verdict | None:
    """The first verdict of ``judge_all``."""
    found = judge_all(ws, words, cwd)
    return found[0] if found else None
