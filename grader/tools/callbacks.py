"""Functions whose signature their caller dictates: callbacks.

A function handed to a framework or library to call (a route registered by decorator, an
exception or signal handler, a Django view named in ``urls.py``, a ``signal.signal``
handler) receives what its caller passes, under the names its caller binds: Django calls
a view with ``request`` whether or not it reads it, an exception handler gets ``(request,
exc)``, FastAPI and Flask bind a path's ``{id}`` to the parameter named ``id``. ruff's
unused-argument (``ARG001``) and builtin-shadowing argument (``A002``) rules judge such a
signature as if the candidate had chosen it; a reviewer does not.

A function counts as a callback when a decorator registers it (an attribute of an
object, called or not: ``@app.get("/")``, ``@app.before_request``; or one of the
framework names that register: ``@receiver(post_save)``, ``@shared_task``), or when any
module of the submission passes it by name as a call's argument (``path("",
views.health)``, ``app.add_exception_handler(Error, handle)``). ``functools``' caches,
``@staticmethod`` and a bare ``@retry(3)`` wrap a function for its own callers instead.
"""

from __future__ import annotations

import ast
import functools

from grader.acquire.workspace import Workspace
from grader.tools.module_state import dotted, import_bindings

DICTATED_RULES = frozenset({"ARG001", "A002"})

# Decorators from these modules wrap a function for its own callers; they register nothing.
_WRAPPING_MODULES = frozenset({"functools", "contextlib", "typing", "abc", "torch", "numba"})
# Decorators called by a bare name that hand the function to a framework (Django's signal
# receiver, a task queue's task, SQLAlchemy's event listener, pydantic's validators); a
# bare call otherwise (`@retry(...)`, `@timer("x")`) wraps the function for its callers.
_REGISTERING_NAMES = frozenset(
    {"receiver", "route", "task", "shared_task", "listens_for", "validator",
     "field_validator", "model_validator", "root_validator", "hookimpl", "callback"}
)  # fmt: skip


def _root(node: ast.expr) -> str:
    """The name an attribute chain starts from (``app`` in ``app.router.get``)."""
    return dotted(node).split(".", 1)[0]


def registers(decorator: ast.expr) -> bool:
    """Whether ``decorator`` hands the function to someone else to call."""
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    if isinstance(target, ast.Name):
        # `@receiver(post_save)` registers; `@cache`, `@staticmethod`, `@retry(3)` wrap.
        return target.id in _REGISTERING_NAMES
    return isinstance(target, ast.Attribute) and _root(target) not in _WRAPPING_MODULES


def _referenced(node: ast.expr, modules: set[str]) -> set[str]:
    """Names of functions an argument expression refers to without calling them: a name,
    or an attribute of an imported module (``views.health``; ``order.total`` is data)."""
    if isinstance(node, ast.Name):
        return {node.id}
    if isinstance(node, ast.Attribute) and _root(node) in modules:
        return {node.attr}
    if isinstance(node, ast.List | ast.Tuple | ast.Set):
        return {name for item in node.elts for name in _referenced(item, modules)}
    return set()


def passed_by_name(tree: ast.Module) -> frozenset[str]:
    """Names passed as arguments of a call anywhere in ``tree``."""
    modules = set(import_bindings(tree))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            for argument in (*node.args, *(k.value for k in node.keywords)):
                names |= _referenced(argument, modules)
    return frozenset(names)


@functools.lru_cache(maxsize=32)
def _trees(ws: Workspace) -> tuple[tuple[str, ast.Module], ...]:
    """Every Python file of the submission that parses, with its tree, parsed once."""
    parsed = []
    for path in ws.python_files:
        try:
            parsed.append((path, ast.parse(ws.path(path).read_bytes())))
        except (OSError, SyntaxError, ValueError, RecursionError):
            continue
    return tuple(parsed)


@functools.lru_cache(maxsize=32)
def _handed_over(ws: Workspace) -> frozenset[str]:
    """Names any module of the submission passes to a call by reference."""
    return frozenset(name for _, tree in _trees(ws) for name in passed_by_name(tree))


def _function_at(
    tree: ast.Module, parameter: str, line: int
) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    """The function whose parameter ``parameter`` is declared on ``line``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            arguments = node.args
            for argument in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs):
                if argument.arg == parameter and argument.lineno == line:
                    return node
    return None


def is_callback(ws: Workspace, path: str, parameter: str, line: int) -> bool:
    """Whether the function declaring ``parameter`` on ``line`` of ``path`` is a callback."""
    tree = next((tree for parsed, tree in _trees(ws) if parsed == path), None)
    function = None if tree is None else _function_at(tree, parameter, line)
    if function is None:
        return False
    return any(registers(d) for d in function.decorator_list) or (function.name in _handed_over(ws))
