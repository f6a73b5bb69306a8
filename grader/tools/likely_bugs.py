"""Code that is very likely a bug whatever the linter says, read from the syntax tree:
an exception built and returned where it was meant to be raised."""

from __future__ import annotations

import ast
import re

from grader.tools.module_state import dotted

_EXCEPTION_NAME = re.compile(r"(?:Exception|Error)$")
_MAKES_EXCEPTIONS = re.compile(r"err|exc|fail|problem", re.IGNORECASE)
_RETURNS_EXCEPTIONS = re.compile(r"(?:Exception|Error)\b")


def returned_exceptions(tree: ast.Module) -> list[tuple[int, str]]:
    """(line, class) of each ``return HTTPException(...)``: an exception built and handed
    back as an ordinary value where it was meant to be raised, so nothing stops and the
    caller (FastAPI serialising the handler's result) carries on. A function that makes
    exceptions on purpose is left alone: its name says so (``_error``, ``to_exception``)
    or its annotation returns one."""
    found = []
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        annotation = ast.unparse(function.returns) if function.returns else ""
        if _MAKES_EXCEPTIONS.search(function.name) or _RETURNS_EXCEPTIONS.search(annotation):
            continue
        for node in ast.walk(function):
            if isinstance(node, ast.Return) and isinstance(node.value, ast.Call):
                called = dotted(node.value.func).rsplit(".", 1)[-1]
                if _EXCEPTION_NAME.search(called):
                    found.append((node.lineno, called))
    return sorted(set(found))
