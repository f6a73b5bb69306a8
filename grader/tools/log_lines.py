"""Whether code records anything: a log line written, or logging set up (where lines go,
at what level). Importing logging, or asking for a logger nobody calls, records nothing.
Read from syntax trees by code_facts (Observability's logging credit)."""

from __future__ import annotations

import ast

from grader.tools.module_state import dotted

TRACING_MODULES = frozenset({"opentelemetry"})
"""Observability a module's import already shows: tracing and metrics set up through it."""
LOG_LEVELS = frozenset(
    {"debug", "info", "warning", "warn", "error", "exception", "critical", "fatal", "log", "msg"}
)
"""Methods that write a log line: the standard library's, loguru's and structlog's."""
LOG_SETUP = frozenset({"basicConfig", "dictConfig", "fileConfig"})
"""Calls that configure the standard library's logging, whatever they are reached by."""
LOGGER_SETUP = frozenset({"addHandler", "setLevel", "add", "configure"})
"""A logger's own configuration (a handler, a level; loguru's and structlog's sinks)."""


def records_or_sets_up(node: ast.AST) -> bool:
    """A log call or a logging configuration (see is_log_call, is_logging_config)."""
    return is_log_call(node) or is_logging_config(node)


def _logger_like(name: str) -> bool:
    """Whether one part of a dotted name is a logger: ``logger``, ``log``, ``_LOGGER``,
    ``access_log``, ``logging``."""
    part = name.lower().strip("_")
    return part in {"log", "logging", "logger", "structlog"} or part.endswith(("logger", "_log"))


def is_log_call(node: ast.AST) -> bool:
    """A call that writes a log line or sets up where log lines go: ``logger.info(...)``,
    ``logging.warning(...)``, ``self.log.error(...)``, ``logger.opt(depth=2).log(...)``,
    ``logging.basicConfig(...)``, ``dictConfig(...)``, loguru's ``logger.add(...)``.
    Importing logging, or asking for a logger nobody calls, records nothing."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
        return isinstance(node, ast.Call) and dotted(node.func) in LOG_SETUP
    owners = dotted(node.func.value).split(".")
    if node.func.attr in LOG_SETUP:
        return True
    wanted = LOG_LEVELS | LOGGER_SETUP
    return node.func.attr in wanted and any(_logger_like(part) for part in owners)


_DICT_CONFIG_KEYS = frozenset({"handlers", "loggers", "root"})


def is_logging_config(node: ast.AST) -> bool:
    """A dict in ``logging.config.dictConfig``'s schema (a ``version`` and where log lines
    go): Django's ``LOGGING`` setting, or one the code hands to dictConfig itself."""
    if not isinstance(node, ast.Dict):
        return False
    keys = {k.value for k in node.keys if isinstance(k, ast.Constant) and isinstance(k.value, str)}
    return "version" in keys and bool(_DICT_CONFIG_KEYS & keys)
