"""File locks shared by threads, jobs and concurrent grader processes on one machine.

``exclusive(path)`` holds an ``fcntl.flock`` on ``path`` (created if missing) for the
duration of a ``with`` block. The kernel releases the lock when the holder exits, even
when it is killed, so a crashed grader never leaves a stale lock behind. Locks are
advisory: every writer of the guarded resource must take them.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def exclusive(path: Path, *, blocking: bool = True) -> Iterator[bool]:
    """Hold an exclusive lock on ``path``; yields False (without the lock) when
    ``blocking`` is False and another holder has it."""
    with _locked(path, fcntl.LOCK_EX, blocking) as held:
        yield held


@contextlib.contextmanager
def shared(path: Path, *, blocking: bool = True) -> Iterator[bool]:
    """Hold a shared lock: many readers at once, never alongside an exclusive holder."""
    with _locked(path, fcntl.LOCK_SH, blocking) as held:
        yield held


@contextlib.contextmanager
def _locked(path: Path, operation: int, blocking: bool) -> Iterator[bool]:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        try:
            fcntl.flock(descriptor, operation if blocking else operation | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(descriptor, fcntl.LOCK_UN)
    finally:
        os.close(descriptor)
