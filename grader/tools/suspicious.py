"""Test code that can forge the results grader reads. Part of the facts tool; every walk
is iterative and nothing here recurses over the syntax tree. (Credentials: secrets.py.)
"""

from __future__ import annotations

import ast
from collections.abc import Callable

from grader.core.models import Finding, Location, Severity

# pytest hooks that can change what a test run reports, and calls that end it early.
OUTCOME_HOOKS = frozenset(
    {
        "pytest_runtest_makereport",
        "pytest_report_teststatus",
        "pytest_runtest_logreport",
        "pytest_runtest_protocol",
        "pytest_runtest_call",
        "pytest_pyfunc_call",
        "pytest_sessionfinish",
        "pytest_terminal_summary",
        "pytest_junitxml_record",
    }
)
SELECTION_HOOKS = frozenset(
    {"pytest_collection_modifyitems", "pytest_ignore_collect", "pytest_deselected"}
)
PROCESS_ENDERS = frozenset({"exit", "_exit", "abort"})
SIGNAL_SENDERS = frozenset({"kill", "killpg"})
OWN_PROCESS = frozenset({"getpid", "getppid", "getpgrp", "getpgid"})


def call_name(node: ast.Call) -> str:
    """The called function's own name (``assert_ok`` for ``self._assert_ok(...)``)."""
    func = node.func
    if isinstance(func, ast.Attribute):
        return func.attr.lstrip("_")
    return func.id.lstrip("_") if isinstance(func, ast.Name) else ""


def _module_call(node: ast.AST, module: str | frozenset[str], names: frozenset[str]) -> bool:
    """Whether ``node`` calls ``module.name(...)`` for one of ``names``."""
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
        return False
    owner = node.func.value
    modules = {module} if isinstance(module, str) else module
    return isinstance(owner, ast.Name) and owner.id in modules and node.func.attr in names


def target_name(target: ast.expr) -> str:
    """The name being bound (``KEY``, ``self.key``, ``cfg["key"]``), read without recursion."""
    if isinstance(target, ast.Name):
        return target.id
    if isinstance(target, ast.Attribute):
        return target.attr
    if isinstance(target, ast.Subscript) and isinstance(target.slice, ast.Constant):
        return str(target.slice.value)
    return ""


def _finding(rule: str, relative: str, node: ast.AST, message: str, severity: Severity) -> Finding:
    return Finding(
        "facts", rule, message, severity, Location(relative, getattr(node, "lineno", None))
    )


def _targets_itself(target: ast.expr) -> bool:
    if isinstance(target, ast.Constant):
        return target.value in (0, -1)
    if isinstance(target, ast.UnaryOp) and isinstance(target.operand, ast.Constant):
        return True  # -1, or a negated process group
    return any(isinstance(n, ast.Call) and call_name(n) in OWN_PROCESS for n in ast.walk(target))


def _ends_process(node: ast.AST) -> bool:
    """os._exit / sys.exit / os.abort, or a signal sent to the test process or its parent.

    Signalling another process (one the test started) is ordinary and not flagged.
    """
    if _module_call(node, frozenset({"os", "sys"}), PROCESS_ENDERS):
        return True
    return (
        _module_call(node, "os", SIGNAL_SENDERS)
        and isinstance(node, ast.Call)
        and bool(node.args)
        and _targets_itself(node.args[0])
    )


def _hook_assignment(node: ast.AST) -> bool:
    return isinstance(node, ast.Assign) and any(
        target_name(t) in OUTCOME_HOOKS for t in node.targets
    )


def _defines(node: ast.AST, hooks: frozenset[str]) -> bool:
    return isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name in hooks


def _message(node: ast.AST) -> str:
    name = getattr(node, "name", "")
    return f"{name} hook can rewrite test outcomes or the run's result"


# (applies in test code only, predicate, message, severity, counts towards the cap)
TamperRule = tuple[bool, Callable[[ast.AST], bool], Callable[[ast.AST], str], Severity, bool]
TAMPER_RULES: tuple[TamperRule, ...] = (
    (
        False,
        _hook_assignment,
        lambda _: "a pytest hook bound by assignment can rewrite test outcomes",
        Severity.HIGH,
        True,
    ),
    (False, lambda n: _defines(n, OUTCOME_HOOKS), _message, Severity.HIGH, True),
    (
        False,
        lambda n: _defines(n, SELECTION_HOOKS),
        lambda n: f"{getattr(n, 'name', '')} hook can deselect or skip tests",
        Severity.MEDIUM,
        False,
    ),
    (
        True,
        lambda n: _module_call(n, "atexit", frozenset({"register"})),
        lambda _: "atexit.register() in test code runs after pytest and can rewrite its results",
        Severity.HIGH,
        True,
    ),
    (
        True,
        _ends_process,
        lambda _: "test code ends or signals its own process: results may never be written",
        Severity.HIGH,
        True,
    ),
)


def tampering(relative: str, tree: ast.Module, in_tests: bool) -> tuple[list[Finding], int]:
    """Findings for code that can forge or cut short the test results, and how many count
    towards the rubric's cap (selection hooks are shown but do not count).

    The candidate's test process writes the results grader reads, so whatever could
    forge them is found statically and shown to the reviewer.
    """
    findings: list[Finding] = []
    counted = 0
    for node in ast.walk(tree):
        for tests_only, matches, message, severity, counts in TAMPER_RULES:
            if (in_tests or not tests_only) and matches(node):
                findings.append(_finding("test-tampering", relative, node, message(node), severity))
                counted += counts
                break
    return findings, counted
