"""One answer per grade to a question several tools ask at once.

The test run, the hidden tests and the dependency check all need the same test
environment, and they run side by side. The environment cache already builds each
requirement set once (a file lock per set), but preparing it also reads the
declarations, may run poetry in the sandbox to export a lock, and retries a set that
fails to install; done once per grade, the tools that ask later wait for the first and
share its answer. A grade is known by its workspace: the answer lives as long as that
workspace does.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from concurrent.futures import Future
from typing import Generic, TypeVar

from grader.acquire.workspace import Workspace

T = TypeVar("T")


class PerGrade(Generic[T]):
    """Answers computed once per workspace object (and ``scope``), shared by every caller.

    Keyed by identity: two grades of the same folder are two grades."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._answers: dict[int, tuple[weakref.ref[Workspace], object, Future[T]]] = {}

    def get(self, workspace: Workspace, scope: object, compute: Callable[[], T]) -> T:
        """The answer for ``workspace``, computed by the first caller; a different
        ``scope`` object (another environment cache) asks afresh."""
        key = id(workspace)
        answer: Future[T]
        with self._lock:
            known = self._answers.get(key)
            if known is not None and known[0]() is workspace and known[1] is scope:
                answer, first = known[2], False
            else:
                answer, first = Future(), True
                self._answers[key] = (weakref.ref(workspace, self._forget(key)), scope, answer)
        if first:
            try:
                answer.set_result(compute())
            except BaseException as exc:  # every waiting tool gets the same failure
                answer.set_exception(exc)
                raise
        return answer.result()

    def _forget(self, key: int) -> Callable[[weakref.ref[Workspace]], None]:
        """Drops the answer when its workspace is gone (without the lock: the collector
        may run this while the lock is held)."""

        def forget(gone: weakref.ref[Workspace]) -> None:
            known = self._answers.get(key)
            if known is not None and known[0] is gone:
                self._answers.pop(key, None)

        return forget
