"""The one subprocess wrapper every tool goes through.

Argument lists only (never a shell), a scrubbed environment, a wall-clock timeout that kills
the whole process group, and a cap on captured output so a submission printing gigabytes
cannot exhaust the grader's memory.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

DEFAULT_OUTPUT_CAP = 4 * 1024 * 1024

# Variables a tool may legitimately need; everything else (tokens, cloud credentials,
# GITHUB_* secrets) stays behind.
_PASSED_THROUGH = ("PATH", "LANG", "LC_ALL", "TZ", "SYSTEMROOT")


@dataclass(frozen=True)
class ProcResult:
    """What a finished (or killed) command left behind."""

    argv: tuple[str, ...]
    exit_code: int | None
    stdout: str
    stderr: str
    duration_s: float
    timed_out: bool = False
    truncated: bool = False
    missing_executable: bool = False


def scrubbed_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """An allow-listed environment: nothing secret from the grader's own leaks into tools."""
    env = {key: os.environ[key] for key in _PASSED_THROUGH if key in os.environ}
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    env.setdefault("LANG", "C.UTF-8")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["PYTHONHASHSEED"] = "0"
    env["NO_COLOR"] = "1"
    if extra:
        env.update(extra)
    return env


def _drain(stream: IO[bytes], sink: bytearray, cap: int, flags: list[bool]) -> None:
    # Keep reading past the cap so the child never blocks on a full pipe.
    while chunk := stream.read(65536):
        room = cap - len(sink)
        if room > 0:
            sink.extend(chunk[:room])
        if len(chunk) > room:
            flags[0] = True


_RUNNING: set[subprocess.Popen[bytes]] = set()
_RUNNING_LOCK = threading.Lock()


def stop_all() -> None:
    """Kill every command still running (on Ctrl-C), so the tools' threads return at once."""
    with _RUNNING_LOCK:
        running = list(_RUNNING)
    for proc in running:
        _kill_group(proc)


def interrupt_all() -> None:
    """Send SIGINT to every running command (not its group), so each can clean up and end."""
    with _RUNNING_LOCK:
        running = list(_RUNNING)
    for proc in running:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGINT)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        proc.kill()


def _lower_priority(pid: int, niceness: int) -> None:
    """Lower a command's CPU priority. Set from here, not in a pre-exec hook (unsafe with
    threads): the interpreter a tool starts with has barely begun when this lands.

    Where the kernel groups processes by session (autogroup, on by default in Debian's
    and Ubuntu's kernels), a process's nice value only ranks it inside its own session,
    and every command here starts one: the session's own nice value is what the
    scheduler weighs against the test run. Both are set.
    """
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.setpriority(os.PRIO_PROCESS, pid, niceness)
    with contextlib.suppress(OSError):
        Path(f"/proc/{pid}/autogroup").write_text(str(niceness), encoding="ascii")


def _expire(proc: subprocess.Popen[bytes], expired: threading.Event) -> None:
    expired.set()
    _kill_group(proc)


class _Capture:
    """Reads a child's stdout and stderr on threads, keeping at most ``cap`` bytes of each."""

    def __init__(self, proc: subprocess.Popen[bytes], cap: int) -> None:
        self.out, self.err = bytearray(), bytearray()
        self.flags = [False]
        self.streams = [s for s in (proc.stdout, proc.stderr) if s is not None]
        self.readers = [
            threading.Thread(target=_drain, args=(stream, sink, cap, self.flags), daemon=True)
            for stream, sink in zip(self.streams, (self.out, self.err), strict=False)
        ]
        for reader in self.readers:
            reader.start()

    def finish(self) -> tuple[str, str, bool]:
        for reader in self.readers:
            reader.join(timeout=5)
        for stream in self.streams:
            stream.close()
        return (
            self.out.decode("utf-8", errors="replace"),
            self.err.decode("utf-8", errors="replace"),
            self.flags[0],
        )


def run(
    argv: Sequence[str],
    *,
    cwd: Path,
    timeout_s: float,
    env: Mapping[str, str] | None = None,
    output_cap: int = DEFAULT_OUTPUT_CAP,
    niceness: int = 0,
    stdin: int | None = None,
) -> ProcResult:
    """Run ``argv`` and return its outcome; a missing program or a timeout is a result.

    A positive ``niceness`` lowers the command's CPU priority (and that of everything it
    starts), so that it uses what another command leaves idle. ``stdin`` is a file
    descriptor the command reads (the read end of a pipe), nothing by default.
    """
    argv_t = tuple(argv)
    started = time.monotonic()
    try:
        proc = subprocess.Popen(
            argv_t,
            cwd=cwd,
            env=dict(env) if env is not None else scrubbed_env(),
            stdin=subprocess.DEVNULL if stdin is None else stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
    except (FileNotFoundError, PermissionError) as exc:
        return ProcResult(argv_t, None, "", str(exc), 0.0, missing_executable=True)

    if niceness:
        _lower_priority(proc.pid, niceness)
    capture = _Capture(proc, output_cap)
    # Popen.wait(timeout) polls, sleeping up to 50 ms between looks: every command would
    # end up to 50 ms late. A timer kills at the deadline; the wait itself blocks.
    expired = threading.Event()
    deadline = threading.Timer(timeout_s, _expire, args=(proc, expired))
    deadline.daemon = True
    with _RUNNING_LOCK:
        _RUNNING.add(proc)
    deadline.start()
    try:
        proc.wait()
    finally:
        deadline.cancel()
        with _RUNNING_LOCK:
            _RUNNING.discard(proc)
        # Whatever happened (timeout, Ctrl-C), nothing the command started survives it.
        _kill_group(proc)
        proc.wait()
    stdout, stderr, truncated = capture.finish()
    timed_out = expired.is_set()
    return ProcResult(
        argv=argv_t,
        exit_code=None if timed_out else proc.returncode,
        stdout=stdout,
        stderr=stderr,
        duration_s=time.monotonic() - started,
        timed_out=timed_out,
        truncated=truncated,
    )


def tail(text: str, lines: int = 20) -> str:
    """The last lines of a tool's stderr, for a report's 'why did it fail'."""
    return "\n".join(text.strip().splitlines()[-lines:])
