"""Join control groups, then become the given command: ``python -I -m grader.sandbox.launch
--join CGROUP_PROCS_FILE [--join ...] -- COMMAND ...``.

A process joins a group by writing its own pid, and everything it starts afterwards
stays inside, so joining before ``exec`` leaves no window for a fork to escape.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str]) -> int:
    """Write our pid into each --join file, then exec the command after --."""
    split = argv.index("--")
    options, command = argv[:split], argv[split + 1 :]
    if not command or len(options) % 2 or any(o != "--join" for o in options[::2]):
        sys.stderr.write("usage: python -m grader.sandbox.launch --join FILE ... -- COMMAND ...\n")
        return 2
    for procs in options[1::2]:
        with open(procs, "w", encoding="ascii") as stream:  # noqa: PTH123 - a kernel file
            stream.write(str(os.getpid()))
    os.execvp(command[0], command)  # noqa: S606 - argv list, no shell
    return 0  # not reached: exec replaces this process


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
