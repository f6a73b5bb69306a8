"""Start a test run's services inside its sandbox, then become the test command:
``python -I -S service_launcher.py SPEC.json -- COMMAND ...``.

It runs in the sandbox with the test run's own interpreter, before any of the candidate's
code, so it uses the standard library alone and the syntax of the oldest Python grader
tests on. SPEC (written by grader.sandbox.services) lists each server: commands that
prepare its data, the command that starts it, how to tell it is ready, and commands that
set it up (roles, databases). The servers stay children of the test command, which this
process becomes (exec): they die with the sandbox's pid namespace when the run ends.

A server that does not start is the host's failure, not the candidate's: it is reported
on stderr as ``grader-services TOKEN: REASON``. The token comes in the environment and
is removed from it before anything else starts, so the candidate's tests cannot print a
line that passes for it.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from typing import Any

TOKEN_VARIABLE = "GRADER_SERVICES_TOKEN"  # noqa: S105 - a name, not a value
FAILED_EXIT = 3
_POLL_S = 0.05
_LOG_TAIL_BYTES = 600


def _log_tail(log: str) -> str:
    try:
        with open(log, "rb") as stream:  # noqa: PTH123 - stays within Python 3.7's stdlib idioms
            stream.seek(0, os.SEEK_END)
            stream.seek(max(0, stream.tell() - _LOG_TAIL_BYTES))
            text = stream.read().decode("utf-8", "replace")
    except OSError:
        return "no log"
    return " | ".join(line.strip() for line in text.strip().splitlines()[-4:]) or "empty log"


def _run(argv: list[str], log: str, deadline: float) -> bool:
    with open(log, "ab") as stream:  # noqa: PTH123
        try:
            done = subprocess.run(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=stream,
                stderr=subprocess.STDOUT,
                timeout=max(1.0, deadline - time.monotonic()),
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            stream.write(f"{argv[0]}: {exc}\n".encode())
            return False
    return done.returncode == 0


def _answers(check: dict[str, Any], log: str) -> bool:
    if check["kind"] == "tcp":
        try:
            with socket.create_connection(("127.0.0.1", int(check["port"])), timeout=1):
                return True
        except OSError:
            return False
    return _run(check["argv"], log, time.monotonic() + 5)


def _start(service: dict[str, Any], deadline: float) -> str:
    """Start one server; '' when it is up and set up, else why not."""
    name, log = str(service["name"]), str(service["log"])
    for argv in service["prepare"]:
        if not _run(argv, log, deadline):
            return f"{name}: {argv[0]} failed: {_log_tail(log)}"
    with open(log, "ab") as stream:  # noqa: PTH123
        try:
            server = subprocess.Popen(
                service["start"],
                stdin=subprocess.DEVNULL,
                stdout=stream,
                stderr=subprocess.STDOUT,
            )
        except OSError as exc:
            return f"{name} did not start: {exc}"
    while not _answers(service["ready"], log):
        if server.poll() is not None:
            return f"{name} exited with code {server.returncode}: {_log_tail(log)}"
        if time.monotonic() > deadline:
            return f"{name} was not ready in time: {_log_tail(log)}"
        time.sleep(_POLL_S)
    for argv in service["setup"]:
        if not _run(argv, log, deadline):
            return f"{name}: setting it up failed: {_log_tail(log)}"
    return ""


def main(argv: list[str]) -> int:
    """Start every server in SPEC, then exec the command after ``--``."""
    token = os.environ.pop(TOKEN_VARIABLE, "")
    if len(argv) < 3 or argv[1] != "--":
        sys.stderr.write("usage: service_launcher.py SPEC.json -- COMMAND ...\n")
        return 2
    with open(argv[0], encoding="utf-8") as stream:  # noqa: PTH123
        spec = json.load(stream)
    deadline = time.monotonic() + float(spec["timeout_s"])
    for service in spec["services"]:
        problem = _start(service, deadline)
        if problem:
            sys.stderr.write(f"grader-services {token}: {problem}\n")
            return FAILED_EXIT
    command = argv[2:]
    os.execvp(command[0], command)  # noqa: S606 - argv list, no shell
    return 0  # not reached: exec replaces this process


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
