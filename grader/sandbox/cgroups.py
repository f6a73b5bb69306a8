"""Per-run control groups: a memory and a process limit on a whole test run.

``prlimit`` bounds each process; a control group bounds them together, so eight
children of 100 MB cannot hold 800 MB under a 512 MB limit. Used when grader runs as
root on a host whose cgroup v1 (memory, pids) or v2 hierarchy it can write to;
otherwise the per-process limits stand alone, and the report says which applied.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")


@dataclass(frozen=True)
class Cgroup:
    """One run's control groups (one per controller on v1, one on v2)."""

    folders: tuple[Path, ...]

    def launcher(self) -> list[str]:
        """argv prefix that joins these groups, then runs the rest of the command."""
        joins = [arg for folder in self.folders for arg in ("--join", str(folder / "cgroup.procs"))]
        return [sys.executable, "-I", "-m", "grader.sandbox.launch", *joins, "--"]

    def remove(self) -> None:
        """Kill anything still inside, then delete the groups."""
        for folder in self.folders:
            for _ in range(50):
                pids = _pids(folder)
                for pid in pids:
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.kill(pid, signal.SIGKILL)
                with contextlib.suppress(FileNotFoundError):
                    try:
                        folder.rmdir()
                        break
                    except OSError:
                        time.sleep(0.05)


def _pids(folder: Path) -> list[int]:
    try:
        return [int(line) for line in (folder / "cgroup.procs").read_text().split()]
    except (OSError, ValueError):
        return []


def _own_paths() -> dict[str, str]:
    """This process's cgroup path per controller ('' for the v2 unified hierarchy)."""
    paths: dict[str, str] = {}
    for line in Path("/proc/self/cgroup").read_text(encoding="utf-8").splitlines():
        _, controllers, path = line.split(":", 2)
        for controller in controllers.split(",") if controllers else [""]:
            paths[controller] = path.lstrip("/")
    return paths


def _write(path: Path, value: str) -> None:
    path.write_text(value, encoding="ascii")


def _v1(memory_bytes: int, processes: int, name: str) -> Cgroup | None:
    own = _own_paths()
    memory_root, pids_root = CGROUP_ROOT / "memory", CGROUP_ROOT / "pids"
    if not ((memory_root / "cgroup.procs").exists() and (pids_root / "cgroup.procs").exists()):
        return None
    memory = memory_root / own.get("memory", "") / name
    pids = pids_root / own.get("pids", "") / name
    memory.mkdir()
    group = Cgroup((memory, pids))
    try:
        pids.mkdir()
        _write(memory / "memory.limit_in_bytes", str(memory_bytes))
        with contextlib.suppress(FileNotFoundError, PermissionError, OSError):
            _write(memory / "memory.memsw.limit_in_bytes", str(memory_bytes))
        _write(pids / "pids.max", str(processes))
    except OSError:
        group.remove()
        raise
    return group


def _v2(memory_bytes: int, processes: int, name: str) -> Cgroup | None:
    root = CGROUP_ROOT if (CGROUP_ROOT / "cgroup.controllers").exists() else None
    if root is None:
        return None
    parent = root / _own_paths().get("", "")
    enabled = (parent / "cgroup.subtree_control").read_text(encoding="ascii").split()
    if not {"memory", "pids"} <= set(enabled):
        return None
    folder = parent / name
    folder.mkdir()
    group = Cgroup((folder,))
    try:
        _write(folder / "memory.max", str(memory_bytes))
        with contextlib.suppress(FileNotFoundError):
            _write(folder / "memory.swap.max", "0")
        _write(folder / "pids.max", str(processes))
    except OSError:
        group.remove()
        raise
    return group


def available() -> bool:
    """Whether this host lets grader put a run in control groups of its own."""
    group = create(64 * 1024 * 1024, 16)
    if group is None:
        return False
    group.remove()
    return True


def create(memory_bytes: int, processes: int) -> Cgroup | None:
    """A fresh group with both limits, or None where this host does not allow one."""
    if os.geteuid() != 0:
        return None
    name = f"grader-{uuid.uuid4().hex[:12]}"
    for make in (_v2, _v1):
        with contextlib.suppress(OSError, ValueError):
            group = make(memory_bytes, processes, name)
            if group is not None:
                return group
    return None
