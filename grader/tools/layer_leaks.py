"""The web framework inside the core: storage, models, services or domain code that
imports HTTP itself.

Issue of design a reviewer raises at once in a service: ``crud.py`` raising FastAPI's
``HTTPException``, a repository building a Flask response, a service module returning
DRF's ``Response``. The core logic then cannot be reused or tested without the
framework, and an HTTP status decides what a storage function does. A module's layer is
read from its path the way import_graph reads a module's dotted name (the deepest part
that names a layer: ``app/crud.py`` is storage, ``app/api/routes.py`` is the web layer);
only lower layers are charged. What counts as HTTP is the request/response part of each
framework, not its ORM or settings (``django.db`` in ``models.py`` is the point of it).
"""

from __future__ import annotations

import ast
from pathlib import PurePosixPath

from grader.tools.import_graph import level_of_parts, path_parts
from grader.tools.module_state import Place

# Module prefixes that are a framework's HTTP layer: requests, responses, HTTP errors,
# routing. A name matches itself and its submodules.
HTTP_LAYER = (
    "fastapi", "starlette", "flask", "quart", "django.http", "django.shortcuts",
    "django.views", "rest_framework", "werkzeug.exceptions", "werkzeug.wrappers",
    "aiohttp.web", "sanic", "litestar", "tornado.web", "falcon", "bottle",
)  # fmt: skip
WIRING_ONLY = frozenset({"Depends"})
# Modules whose own name says they connect the core to the framework: FastAPI's
# dependency providers (reading ``request.app.state``), start-up hooks, middleware. They
# belong to the web layer wherever they sit.
WIRING_MODULES = frozenset(
    {"dependencies", "dependency", "deps", "lifespan", "lifespans", "middleware",
     "middlewares", "exception_handlers"}
)  # fmt: skip
# The framework's request authentication (a bearer token read from the header, a login
# form): a module that uses it provides the routes' auth dependency, which is web-layer
# wiring wherever it sits (``services/auth.py``, FastAPI's template's ``core/security.py``).
REQUEST_AUTH = ("fastapi.security", "starlette.authentication", "flask_login", "flask_httpauth")


def layer(relative: str, apps: frozenset[str] = frozenset()) -> str | None:
    """'lower', 'higher' or None, from the deepest part of the file's path that names one
    (below its Django app, if any: see import_graph.django_apps)."""
    return level_of_parts(path_parts(relative, apps))


def _http(module: str) -> str:
    return next((p for p in HTTP_LAYER if module == p or module.startswith(p + ".")), "")


def _bound(alias: ast.alias, *, from_import: bool) -> str:
    """The name an import binds: ``import a.b`` binds ``a``."""
    if alias.asname:
        return alias.asname
    return alias.name if from_import else alias.name.split(".", 1)[0]


def http_imports(tree: ast.Module) -> list[Place]:
    """Each import of a framework's HTTP layer in a module that the module uses, with what
    it imports. An import nothing uses is dead code (ruff charges it), not a dependency."""
    used = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules = [a.name for a in node.names if _bound(a, from_import=False) in used]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = {a.name for a in node.names if _bound(a, from_import=True) in used}
            # FastAPI's Depends wires a session into routes (SQLModel's own tutorial keeps
            # it beside the engine): dependency injection, not HTTP.
            modules = [] if names <= WIRING_ONLY else [node.module]
        else:
            continue
        found += [Place(node.lineno, module) for module in modules if _http(module)]
    return sorted(found, key=lambda p: p.line)


def _authenticates_requests(tree: ast.Module) -> bool:
    """Whether the module uses (not only imports) the framework's request authentication."""
    used = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            bound = [_bound(a, from_import=True) for a in node.names]
            modules = [node.module]
        elif isinstance(node, ast.Import):
            bound = [_bound(a, from_import=False) for a in node.names]
            modules = [a.name for a in node.names]
        else:
            continue
        auth = any(m == p or m.startswith(p + ".") for m in modules for p in REQUEST_AUTH)
        if auth and used & set(bound):
            return True
    return False


def leaks(relative: str, tree: ast.Module, apps: frozenset[str] = frozenset()) -> list[Place]:
    """A lower-layer module's use of the web framework, as one place: its first HTTP
    import, naming every HTTP module it imports (a module is charged once, however many
    names it takes from the framework)."""
    if layer(relative, apps) != "lower" or PurePosixPath(relative).stem in WIRING_MODULES:
        return []
    found = http_imports(tree)
    if not found or _authenticates_requests(tree):
        return []
    imported = ", ".join(dict.fromkeys(place.message for place in found))
    return [
        Place(
            found[0].line,
            f"{PurePosixPath(relative).stem} (storage, models, services or domain) imports "
            f"{imported}: the web framework reaches into the core logic",
        )
    ]
