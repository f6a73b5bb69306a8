"""Cores shared between the test run and the analysers: while the suite runs it keeps a
core to itself and the analysers take turns on the rest; afterwards every core is theirs."""

from __future__ import annotations

import threading

import pytest

from grader.core.cores import CoreShare

# How long a thread that must stay blocked is given to (wrongly) get through.
BLOCKED_S = 0.3
# How long a thread that must get through may take: generous, it only bounds a failure.
THROUGH_S = 10.0


def _try_turn(share: CoreShare) -> tuple[threading.Event, threading.Event]:
    """A thread that takes a turn and holds it until released: (entered, release)."""
    entered, release = threading.Event(), threading.Event()

    def hold() -> None:
        with share.analyser_turn():
            entered.set()
            release.wait(THROUGH_S)

    threading.Thread(target=hold, daemon=True).start()
    return entered, release


@pytest.mark.parametrize(
    ("cores", "during_suite", "after_suite"),
    [(1, 1, 1), (2, 1, 2), (4, 3, 4)],
)
def test_analysers_at_once_during_and_after_the_suite(
    cores: int, during_suite: int, after_suite: int
) -> None:
    share = CoreShare(cores)
    turns = [_try_turn(share) for _ in range(after_suite + 1)]
    entered = [t[0] for t in turns]
    for event in entered[:during_suite]:
        assert event.wait(THROUGH_S)
    assert not entered[during_suite].wait(BLOCKED_S)
    share.suite_ended()
    share.suite_ended()  # only the first call frees a core
    for event in entered[:after_suite]:
        assert event.wait(THROUGH_S)
    assert not entered[after_suite].wait(BLOCKED_S)
    turns[0][1].set()  # a finished analyser hands its turn on
    assert entered[after_suite].wait(THROUGH_S)
    for _, release in turns:
        release.set()
