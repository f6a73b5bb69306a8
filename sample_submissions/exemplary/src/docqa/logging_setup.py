"""Logging configuration for the command-line entry points.

Library modules only create loggers; configuring handlers is the job of the
application. Two formats are supported: a human-readable one for terminals and
one JSON object per line for log collectors (CloudWatch, Cloud Logging, Loki).
"""

import json
import logging
import sys
from typing import TextIO

LOG_FORMATS = ("text", "json")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")

_TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
_RESERVED = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message"
}


class JsonFormatter(logging.Formatter):
    """Format records as single-line JSON objects, including ``extra`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        """Return the JSON representation of ``record``."""
        payload: dict[str, object] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        payload.update(
            (key, value) for key, value in vars(record).items() if key not in _RESERVED
        )
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)


def configure_logging(
    level: str = "INFO", fmt: str = "text", stream: TextIO | None = None
) -> None:
    """Configure the ``docqa`` logger hierarchy.

    Calling it again replaces the previous configuration, which keeps tests and
    repeated CLI invocations in one process predictable.

    Args:
        level: One of ``LOG_LEVELS``.
        fmt: One of ``LOG_FORMATS``.
        stream: Destination stream; defaults to standard error.

    Raises:
        ValueError: If ``level`` or ``fmt`` is not supported.

    """
    if level not in LOG_LEVELS or fmt not in LOG_FORMATS:
        raise ValueError(
            f"unsupported logging configuration: level={level!r} format={fmt!r}"
        )
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(
        JsonFormatter() if fmt == "json" else logging.Formatter(_TEXT_FORMAT)
    )
    logger = logging.getLogger("docqa")
    for existing in list(logger.handlers):
        logger.removeHandler(existing)
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
