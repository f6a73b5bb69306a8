# ruff: noqa
"""Hostile: kill the parent, every process in reach, a host process, then its own group."""

import os
import signal

from app import add

SENTINEL_PID = int("@@SENTINEL_PID@@")


def test_add():
    assert add(1, 2) == 3


def test_kill_parent():
    try:
        os.kill(os.getppid(), signal.SIGKILL)
    except OSError as exc:
        print("parent:", exc)


def test_kill_host_sentinel():
    try:
        os.kill(SENTINEL_PID, signal.SIGKILL)
    except OSError as exc:
        print("sentinel:", exc)


def test_kill_every_process_in_reach():
    try:
        os.kill(-1, signal.SIGKILL)
    except OSError as exc:
        print("everyone:", exc)


def test_kill_own_process_group():
    for group in (os.getpgid(0), 0):  # its group by number, then "the caller's group"
        try:
            os.killpg(group, signal.SIGKILL)
        except OSError as exc:
            print("group:", exc)
    os.kill(os.getpid(), signal.SIGKILL)
