"""The one subprocess wrapper: deadlines kill the whole group, output is kept."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from grader.core import proc


def test_a_command_that_ends_keeps_its_output_and_exit_code(tmp_path: Path) -> None:
    done = proc.run(
        [sys.executable, "-c", "import sys; print('out'); sys.exit(3)"],
        cwd=tmp_path,
        timeout_s=60,
    )
    assert (done.exit_code, done.stdout.strip(), done.timed_out) == (3, "out", False)


def test_a_command_past_its_deadline_is_killed_with_everything_it_started(
    tmp_path: Path,
) -> None:
    pid_file = tmp_path / "grandchild.pid"
    script = (
        "import subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])\n"
        f"open({str(pid_file)!r}, 'w').write(str(child.pid))\n"
        "print('started', flush=True)\n"
        "time.sleep(600)\n"
    )
    done = proc.run([sys.executable, "-c", script], cwd=tmp_path, timeout_s=1.0)
    assert done.timed_out
    assert done.exit_code is None
    assert done.stdout.strip() == "started"
    grandchild = int(pid_file.read_text())
    assert not _alive(grandchild)


@pytest.mark.skipif(
    not Path("/proc/self/autogroup").exists(), reason="this kernel does not group by session"
)
def test_a_lowered_priority_also_lowers_the_commands_session(tmp_path: Path) -> None:
    """Each command starts a session; where the kernel weighs sessions against each
    other, only the session's own nice value keeps the command from slowing the tests."""
    script = "import os; print(os.nice(0)); print(open('/proc/self/autogroup').read())"
    # The command may read its session before the priority lands: let it wait a moment.
    done = proc.run(
        [sys.executable, "-c", f"import time; time.sleep(0.5); {script}"],
        cwd=tmp_path,
        timeout_s=60,
        niceness=7,
    )
    nice, autogroup = done.stdout.splitlines()[:2]
    assert nice == "7"
    assert autogroup.endswith("nice 7")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie no one reaped yet is dead too.
    status = Path(f"/proc/{pid}/stat")
    return status.exists() and status.read_text().split()[2] != "Z"
