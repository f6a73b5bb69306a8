"""What kind of submission this is, read from the repository, and so what applies to it.

A reviewer does not ask a library for logs or a container, nor a data pipeline for
package metadata; a service that is deployed and run is asked for both. The kind is read
from what the code imports and what the packaging declares, in this order:

1. service: a web framework is imported (FastAPI, Flask, Django, ...), a ``manage.py``
   runs one, or a module serves HTTP with the standard library's ``http.server``;
2. pipeline: a data or workflow library is imported (pandas, polars, PySpark, Airflow, ...),
   or a module that runs as a program (``if __name__ == "__main__"``) imports a numeric,
   plotting, machine-learning or scraping library (NumPy, matplotlib, PyTorch, Beautiful
   Soup: a library of functions may use them too, a program that runs on them is a job);
3. cli: the packaging declares a console script, or a module that runs as a program
   parses its command line (argparse, click, typer, or ``sys.argv`` by hand);
4. library: anything else, a package or a module of functions that its tests import.

An assignment file's ``kind`` wins over all of this. The rubric says per criterion and
per metric which kinds it applies to (``applies_to``); what does not apply is left out
of the score and named in the report, never scored as zero or as full marks.
"""

from __future__ import annotations

import ast

from grader.acquire.workspace import Workspace
from grader.core.models import Applicability, SubmissionKind
from grader.environment.imports import modules_by_file, third_party
from grader.environment.packaging_declarations import console_scripts
from grader.tools.module_state import reads_argv

WEB_FRAMEWORKS = frozenset(
    {"fastapi", "flask", "django", "starlette", "aiohttp", "tornado", "litestar", "sanic",
     "falcon", "bottle", "pyramid", "quart", "connexion", "rest_framework"}
)  # fmt: skip
DATA_LIBRARIES = frozenset(
    {"pandas", "polars", "pyspark", "dask", "airflow", "dagster", "prefect", "luigi",
     "duckdb", "pyarrow", "sklearn", "apache_beam", "great_expectations"}
)  # fmt: skip
ANALYSIS_LIBRARIES = frozenset(
    {"numpy", "scipy", "matplotlib", "seaborn", "plotly", "statsmodels", "torch",
     "tensorflow", "keras", "xgboost", "lightgbm", "bs4", "scrapy"}
)  # fmt: skip
COMMAND_LINE_PARSERS = frozenset({"argparse", "click", "typer", "fire", "docopt"})
# The servers a web application is run under: importing one is running a service.
APPLICATION_SERVERS = frozenset(
    {"uvicorn", "gunicorn", "hypercorn", "waitress", "daphne", "granian"}
)  # fmt: skip
# The standard library's own servers: a hand-rolled HTTP service is still a service.
STANDARD_SERVERS = frozenset(
    {"http.server", "socketserver", "wsgiref.simple_server", "xmlrpc.server"}
)
MAX_EVIDENCE = 3


def _imported(modules: frozenset[str], imported: dict[str, str]) -> list[str]:
    return [
        f"{module} imported in {where}"
        for module, where in sorted(imported.items())
        if module in modules
    ]


def _web(imported: dict[str, str]) -> list[str]:
    """A web framework imported, its extensions (``flask_sqlalchemy``, ``flask_openapi3``,
    ``django_filters``: an application built on the framework through them) or a server
    that runs one."""
    return [
        f"{module} imported in {where}"
        for module, where in sorted(imported.items())
        if module in WEB_FRAMEWORKS | APPLICATION_SERVERS
        or any(module.startswith(f"{framework}_") for framework in WEB_FRAMEWORKS)
    ]


def _main_guard(tree: ast.Module) -> bool:
    """``if __name__ == "__main__":`` at module level."""
    for node in tree.body:
        test = node.test if isinstance(node, ast.If) else None
        if isinstance(test, ast.Compare) and isinstance(test.left, ast.Name):
            constants = [c for c in test.comparators if isinstance(c, ast.Constant)]
            if test.left.id == "__name__" and any(c.value == "__main__" for c in constants):
                return True
    return False


def _with_parents(dotted: set[str]) -> set[str]:
    """``http.server`` -> {``http``, ``http.server``}."""
    return {".".join(name.split(".")[:i]) for name in dotted for i in range(1, name.count(".") + 2)}


def _as_program(ws: Workspace, relative: str) -> ast.Module | None:
    """The module's syntax tree when it runs as a program (a ``__main__`` guard)."""
    try:
        tree = ast.parse(ws.path(relative).read_bytes())
    except (SyntaxError, ValueError, RecursionError, OSError):
        return None
    return tree if _main_guard(tree) else None


def _programs(ws: Workspace) -> tuple[list[str], list[str], list[str]]:
    """Modules that serve HTTP with the standard library, modules that run as a program
    and parse their command line, and modules that run as a program on an analysis
    library (only modules that could be either are parsed again, for the guard)."""
    servers, commands, jobs = [], [], []
    for relative, dotted in sorted(modules_by_file(ws, ws.source_files).items()):
        imported = _with_parents(dotted)
        served = sorted(imported & STANDARD_SERVERS)
        if served:
            servers.append(f"{relative} serves with {served[0]}")
        parsers = sorted(imported & COMMAND_LINE_PARSERS)
        analysis = sorted(imported & ANALYSIS_LIBRARIES)
        if not (parsers or analysis or "sys" in imported):
            continue
        tree = _as_program(ws, relative)
        if tree is None:
            continue
        if parsers or reads_argv(tree):
            how = parsers[0] if parsers else "sys.argv"
            commands.append(f"{relative} parses its command line with {how}")
        if analysis:
            jobs.append(f"{relative} runs as a program on {analysis[0]}")
    return servers, commands, jobs


def detect(ws: Workspace) -> Applicability:
    """The kind of ``ws`` and the facts that say so."""
    imported = {
        module: f"{where.path}:{where.line}"
        for module, where in third_party(ws, ws.source_files).items()
    }
    servers, programs, jobs = _programs(ws)
    web = _web(imported) + servers
    if "manage.py" in {f.rsplit("/", 1)[-1] for f in ws.files}:
        web.append("a Django manage.py")
    if web:
        return Applicability(SubmissionKind.SERVICE, tuple(web[:MAX_EVIDENCE]))
    data = _imported(DATA_LIBRARIES, imported) + jobs
    if data:
        return Applicability(SubmissionKind.PIPELINE, tuple(data[:MAX_EVIDENCE]))
    scripts = [f"console script {name!r} declared" for name in console_scripts(ws)]
    command_line = scripts + programs
    if command_line:
        return Applicability(SubmissionKind.CLI, tuple(command_line[:MAX_EVIDENCE]))
    return Applicability(
        SubmissionKind.LIBRARY,
        ("no web framework, data library or command-line entry point",),
    )


def chosen(ws: Workspace, assignment_kind: SubmissionKind | None) -> Applicability:
    """The assignment's kind when it names one, else the one read from the repository."""
    if assignment_kind is not None:
        return Applicability(assignment_kind, ("named by the assignment",), from_assignment=True)
    return detect(ws)
