# ruff: noqa
"""Hostile: a double-forked daemon that ignores SIGTERM/SIGHUP and heartbeats forever.

The daemon carries the marker in its argv so the host can look for it after grading. It
also tries to heartbeat into a host path it was told about.
"""

import subprocess
import sys
import time
from pathlib import Path

from app import add

MARKER = "@@MARKER@@"
HOST_HEARTBEAT = "@@HOST_HEARTBEAT@@"
DAEMON = """
import os, signal, sys, time
if os.fork():
    sys.exit(0)
os.setsid()
if os.fork():
    sys.exit(0)
signal.signal(signal.SIGTERM, signal.SIG_IGN)
signal.signal(signal.SIGHUP, signal.SIG_IGN)
beats = ["heartbeat.txt", os.path.expanduser("~/heartbeat.txt"), "/tmp/heartbeat.txt", sys.argv[2]]
while True:
    for path in beats:
        try:
            with open(path, "w") as sink:
                sink.write(str(time.time()))
        except OSError:
            pass
    time.sleep(0.1)
"""


def test_add():
    assert add(1, 2) == 3


def test_start_daemon():
    subprocess.run([sys.executable, "-c", DAEMON, MARKER, HOST_HEARTBEAT], check=True)
    deadline = time.monotonic() + 5
    while not Path("heartbeat.txt").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.5)  # let the host see it running
    assert Path("heartbeat.txt").exists()
