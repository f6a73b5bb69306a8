"""The machine's cores, shared between the candidate's test run and grader's analysers.

The test run is one process that cannot be split, and the grade waits for it: every
moment another task takes from its core lengthens the grade. Niceness alone does not
keep its core free: grader's own analysers work in grader's process at the test run's
priority, and the kernel spreads low-priority commands over every core (on two cores,
the large benchmark library's suite ran 11 % slower with all analysers beside it than
alone, and 1 % slower with them taking turns). So while the suite runs, the analysers
take turns on the cores it leaves; once it has ended, every core is theirs.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator


def usable_cores() -> int:
    """Cores this process may run on (its affinity mask, which a container may narrow)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not Linux
        return max(1, os.cpu_count() or 1)


class CoreShare:
    """Turns on the cores a running test suite leaves to the analysers."""

    def __init__(self, cores: int | None = None) -> None:
        self.cores = cores if cores is not None else usable_cores()
        # At least one analyser runs at a time, even on one core: the suite's priority
        # then decides, as it did before.
        self._turns = threading.Semaphore(max(1, self.cores - 1))
        self._lock = threading.Lock()
        self._suite_ended = False

    @contextlib.contextmanager
    def analyser_turn(self) -> Iterator[None]:
        """Hold a core for one analyser; waits while every free core is taken."""
        with self._turns:
            yield

    def suite_ended(self) -> None:
        """The suite is over (or never started): its core goes to the analysers. Only
        the first call counts."""
        with self._lock:
            if self._suite_ended:
                return
            self._suite_ended = True
        if self.cores > 1:
            self._turns.release()
