"""Stages of a grade, timed: logged at INFO and reported to an optional observer.

The pipeline knows nothing about terminals: it calls ``on_event(stage, event)`` when a
stage starts and ends, and the command line decides how to show it (a spinner, or nothing).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum

log = logging.getLogger(__name__)


class Event(StrEnum):
    """What happened to a stage."""

    START = "start"
    DONE = "done"
    FAILED = "failed"


OnEvent = Callable[[str, Event], None]
"""An observer of stages: called with the stage's name and what happened to it."""


@contextmanager
def stage(name: str, on_event: OnEvent | None = None) -> Iterator[None]:
    """Time the enclosed block as stage ``name``: log it and tell ``on_event``."""
    log.info("%s: started", name)
    if on_event is not None:
        on_event(name, Event.START)
    started = time.perf_counter()
    try:
        yield
    except BaseException:
        log.info("%s: failed after %.2fs", name, time.perf_counter() - started)
        if on_event is not None:
            on_event(name, Event.FAILED)
        raise
    log.info("%s: done in %.2fs", name, time.perf_counter() - started)
    if on_event is not None:
        on_event(name, Event.DONE)
