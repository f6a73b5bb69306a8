"""Run untrusted commands: bubblewrap isolation, resource limits, an allow-listed env.

Inside the bubblewrap sandbox a candidate's code sees a read-only system, a private /tmp,
no network (not even the host's loopback), no view of the grader's home, caches or output
folder, and only the scratch copy of its own submission is writable. Resource limits are
set with ``prlimit``; when the grader runs as root the sandbox also drops to an
unprivileged uid, since the kernel does not apply a process-count limit to root. The pid
namespace guarantees that every process the run started, double-forked daemons included,
dies with it. The sandbox's own user has an account (initdb and ``getpass.getuser()``
look it up), and a run may name hosts that resolve to its own loopback, where the
services it started listen.
"""

from __future__ import annotations

import functools
import os
import secrets
import shutil
import sys
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from grader.acquire.workspace import walk_tree
from grader.core import proc
from grader.core.errors import GraderError, UsageError
from grader.sandbox import cgroups

# When grader runs as root, each sandbox runs as its own unprivileged uid from this range
# (no account has one): the kernel counts the process limit per uid, so one candidate's
# fork bomb cannot take the process slots of another grade running beside it.
SANDBOX_UIDS = range(1_500_000_000, 1_600_000_000)
# The sandbox's own /tmp: private (a fresh tmpfs, or the run's disk-limited folder), never
# the host's.
SANDBOX_TMP = "/tmp"  # noqa: S108

# System folders the candidate's interpreter needs, bound read-only.
_SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
_SYSTEM_FILES = (
    "/etc/ld.so.cache",
    "/etc/localtime",
    "/etc/passwd",
    "/etc/group",
    "/etc/nsswitch.conf",
    # So that "localhost" resolves: a test that needs a database on localhost then fails
    # with "connection refused", which grader recognises, not a name-resolution error.
    "/etc/hosts",
)
# Debian's alternatives: symlinks through which system libraries are found (libblas.so.3,
# which GDAL needs through armadillo, points into /etc/alternatives). Links, no secrets.
_SYSTEM_ETC_DIRS = ("/etc/alternatives",)


@dataclass(frozen=True)
class Limits:
    """Bounds on a candidate's test run; defaults are generous for a take-home."""

    wall_s: float = 300.0
    per_test_s: float = 60.0
    memory_mb: int = 2048
    processes: int = 256
    file_size_mb: int = 256
    disk_mb: int = 1024
    """Everything the run writes (scratch copy aside): see grader/scratch.py."""
    output_bytes: int = 4 * 1024 * 1024


class Sandbox(Protocol):
    """Something that can run a command on a candidate's behalf."""

    @property
    def isolated(self) -> bool:
        """True when the command cannot see the host beyond what it was given."""
        ...

    def own(self, path: Path) -> None:
        """Make ``path`` (recursively) writable by whoever the command runs as."""
        ...

    def run(
        self,
        argv: Sequence[str],
        *,
        cwd: Path,
        writable: Sequence[Path],
        readable: Sequence[Path],
        env: Mapping[str, str],
        limits: Limits,
        tmp: Path | None = None,
        hosts: Sequence[str] = (),
    ) -> proc.ProcResult:
        """Run ``argv`` with ``cwd`` as its working folder, within ``limits``.

        ``tmp`` is a folder to show as the command's /tmp (so it shares a disk budget);
        without it /tmp is a fresh private tmpfs. ``hosts`` are names that resolve to the
        sandbox's own loopback (the services a run starts inside it).
        """
        ...


def _prlimit(limits: Limits) -> list[str]:
    return [
        "prlimit",
        f"--as={limits.memory_mb * 1024 * 1024}",
        f"--nproc={limits.processes}",
        f"--fsize={limits.file_size_mb * 1024 * 1024}",
        "--core=0",
        "--",
    ]


def _running_as_root() -> bool:
    return os.geteuid() == 0


def _drop_root_inside(uid: int) -> list[str]:
    # bubblewrap mounts as root; the candidate's code then runs as an unprivileged uid, so
    # the kernel applies the process-count limit (it never does to root) and no
    # capability is left.
    return [
        "setpriv",
        f"--reuid={uid}",
        f"--regid={uid}",
        "--clear-groups",
        "--inh-caps=-all",
        "--bounding-set=-all",
        "--",
    ]


def _namespaces(as_root: bool) -> list[str]:
    if not as_root:
        return ["--unshare-all", "--cap-drop", "ALL"]
    # Without a user namespace, so that setpriv can switch to a real unprivileged uid.
    keep = ("CAP_SETUID", "CAP_SETGID", "CAP_SETPCAP")
    args = ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts"]
    args += ["--unshare-cgroup-try", "--cap-drop", "ALL"]
    for capability in keep:
        args += ["--cap-add", capability]
    return args


def _system_mounts(tmp: Path | None, generated: Mapping[str, Path]) -> list[str]:
    args: list[str] = []
    for directory in map(Path, _SYSTEM_DIRS):
        if directory.is_symlink():
            args += ["--symlink", str(directory.readlink()), str(directory)]
        elif directory.is_dir():
            args += ["--ro-bind", str(directory), str(directory)]
    args += ["--perms", "0755", "--dir", "/etc"]
    for file in _SYSTEM_FILES:
        args += ["--ro-bind-try", str(generated.get(file, file)), file]
    for links in _SYSTEM_ETC_DIRS:
        args += ["--ro-bind-try", links, links]
    args += ["--proc", "/proc", "--dev", "/dev"]
    if tmp is None:
        return [*args, "--perms", "1777", "--tmpfs", SANDBOX_TMP]
    # Before the writable folders: those under the host's /tmp get their mount points
    # made inside this folder, not over it.
    return [*args, "--bind", str(tmp), SANDBOX_TMP]


def _etc_files(folder: Path, uid: int | None, hosts: Sequence[str]) -> dict[str, Path]:
    """Generated stand-ins for the host's /etc files, written to ``folder``: an account for
    ``uid`` (a uid of grader's own has none, and initdb refuses to run without one), and
    ``hosts`` on the loopback beside localhost."""
    generated: dict[str, Path] = {}
    if uid is not None:
        for name, entry in (
            ("passwd", f"sandbox:x:{uid}:{uid}:grader sandbox:/nonexistent:/usr/sbin/nologin"),
            ("group", f"sandbox:x:{uid}:"),
        ):
            host = Path("/etc", name)
            lines = host.read_text(encoding="utf-8") if host.is_file() else ""
            generated[str(host)] = folder / name
            (folder / name).write_text(f"{lines.rstrip()}\n{entry}\n", encoding="utf-8")
    if hosts:
        generated["/etc/hosts"] = folder / "hosts"
        (folder / "hosts").write_text(
            f"127.0.0.1 localhost {' '.join(hosts)}\n::1 localhost ip6-localhost ip6-loopback\n",
            encoding="utf-8",
        )
    for path in generated.values():
        path.chmod(0o644)
    return generated


def _parents(paths: Sequence[Path]) -> list[Path]:
    """Folders above bound paths, created world-traversable inside the sandbox."""
    seen: dict[Path, None] = {}
    for path in paths:
        for parent in reversed(path.parents):
            if str(parent) not in {"/", SANDBOX_TMP, "/usr"} and parent not in paths:
                seen.setdefault(parent)
    return list(seen)


def _chown_tree(path: Path, uid: int) -> None:
    for folder, entries in walk_tree(path):
        os.lchown(folder, uid, uid)
        for entry in entries:
            if not entry.is_dir(follow_symlinks=False):
                os.lchown(entry.path, uid, uid)


def interpreter_paths(python: Path) -> list[Path]:
    """Folders an interpreter needs to start: its venv and the installation behind it."""
    paths = {Path(sys.prefix), Path(sys.base_prefix)} if python == Path(sys.executable) else set()
    paths.add(python.parent.parent)
    resolved = python.resolve()
    paths.add(resolved.parent.parent)
    return sorted(paths)


class Bubblewrap:
    """The real sandbox."""

    isolated = True

    def __init__(self, executable: str = "bwrap") -> None:
        self.executable = executable
        self.uid = SANDBOX_UIDS[secrets.randbelow(len(SANDBOX_UIDS))]

    def own(self, path: Path) -> None:
        """Make ``path`` writable by the uid this sandbox runs as."""
        if _running_as_root():
            _chown_tree(path, self.uid)

    def _argv(
        self,
        argv: Sequence[str],
        cwd: Path,
        writable: Sequence[Path],
        readable: Sequence[Path],
        env: Mapping[str, str],
        *,
        tmp: Path | None,
        generated: Mapping[str, Path],
    ) -> list[str]:
        as_root = _running_as_root()
        args = [self.executable, "--die-with-parent", "--new-session", "--clearenv"]
        args += _namespaces(as_root)
        for key, value in sorted(env.items()):
            args += ["--setenv", key, value]
        args += _system_mounts(tmp, generated)
        for parent in _parents([*readable, *writable]):
            args += ["--perms", "0755", "--dir", str(parent)]
        for path in readable:
            args += ["--ro-bind", str(path), str(path)]
        for path in writable:
            args += ["--bind", str(path), str(path)]
        args += ["--chdir", str(cwd), "--"]
        if as_root:
            args += _drop_root_inside(self.uid)
        return [*args, *argv]

    def run(
        self,
        argv: Sequence[str],
        *,
        cwd: Path,
        writable: Sequence[Path],
        readable: Sequence[Path],
        env: Mapping[str, str],
        limits: Limits,
        tmp: Path | None = None,
        hosts: Sequence[str] = (),
    ) -> proc.ProcResult:
        """Run ``argv`` inside bubblewrap, as an unprivileged user, within ``limits``."""
        with tempfile.TemporaryDirectory(prefix="grader-etc-") as etc:
            uid = self.uid if _running_as_root() else None
            generated = _etc_files(Path(etc), uid, hosts)
            inner = self._argv(argv, cwd, writable, readable, env, tmp=tmp, generated=generated)
            wrapped = [*_prlimit(limits), *inner]
            group = cgroups.create(limits.memory_mb * 1024 * 1024, limits.processes)
            try:
                return proc.run(
                    [*group.launcher(), *wrapped] if group else wrapped,
                    cwd=cwd,
                    timeout_s=limits.wall_s,
                    env=proc.scrubbed_env(),
                    output_cap=limits.output_bytes,
                )
            finally:
                if group:
                    group.remove()


class NotNeeded:
    """Stands in when a submission has no tests: nothing of the candidate's will run."""

    isolated = True

    def own(self, path: Path) -> None:
        """Nothing runs, so nothing needs handing over."""

    def run(
        self,
        argv: Sequence[str],
        *,
        cwd: Path,
        writable: Sequence[Path],
        readable: Sequence[Path],
        env: Mapping[str, str],
        limits: Limits,
        tmp: Path | None = None,
        hosts: Sequence[str] = (),
    ) -> proc.ProcResult:
        """Refuse: a submission without tests must not reach here."""
        raise GraderError("no sandbox was prepared for a submission without tests")


class Unisolated:
    """Runs candidate code with limits but without isolation: only on explicit request."""

    isolated = False

    def own(self, path: Path) -> None:
        """Runs as grader's own user, which owns everything already."""

    def run(
        self,
        argv: Sequence[str],
        *,
        cwd: Path,
        writable: Sequence[Path],
        readable: Sequence[Path],
        env: Mapping[str, str],
        limits: Limits,
        tmp: Path | None = None,
        hosts: Sequence[str] = (),
    ) -> proc.ProcResult:
        """Run ``argv`` directly with resource limits and the allow-listed environment."""
        # Nothing enforces them without bubblewrap; no service is started here (pytest_cov).
        del writable, readable, tmp, hosts
        return proc.run(
            [*_prlimit(limits), *argv],
            cwd=cwd,
            timeout_s=limits.wall_s,
            env=dict(env),
            output_cap=limits.output_bytes,
        )


@functools.cache
def bubblewrap_executable() -> str | None:
    """$GRADER_BWRAP (to pin or rule out a build), else bwrap from PATH."""
    configured = os.environ.get("GRADER_BWRAP")
    if configured is not None:
        return configured if Path(configured).is_file() else None
    return shutil.which("bwrap")


def bubblewrap_problem() -> str | None:
    """Why bubblewrap cannot be used here, or None when it works."""
    executable = bubblewrap_executable()
    if executable is None:
        return "bubblewrap (bwrap) is not installed"
    probe = Bubblewrap(executable).run(
        ["/bin/true"],
        cwd=Path("/"),
        writable=[],
        readable=[],
        env={"PATH": "/usr/bin:/bin"},
        limits=Limits(wall_s=30),
    )
    if probe.exit_code != 0:
        return f"bubblewrap cannot create a sandbox here: {proc.tail(probe.stderr, 2)}"
    return None


def choose(*, allow_unisolated: bool) -> Sandbox:
    """Bubblewrap when it works; otherwise refuse unless the user accepted the risk."""
    problem = bubblewrap_problem()
    executable = bubblewrap_executable()
    if problem is None and executable is not None:
        return Bubblewrap(executable)
    if allow_unisolated:
        return Unisolated()
    raise UsageError(
        f"{problem}; refusing to run candidate code without isolation "
        "(install bubblewrap, or pass --allow-unsandboxed to accept the risk)"
    )


def choose_soon(*, allow_unisolated: bool) -> Callable[[], Sandbox]:
    """``choose``, started now in the background; call the result for its answer.

    The probe starts a sandbox (about 50 ms, spent waiting on bubblewrap): started before
    the submission is acquired, it is done by the time its tests need it. A grade with no
    tests never asks, and a refusal it would have raised is dropped with it."""
    answer: Future[Sandbox] = Future()

    def probe() -> None:
        try:
            answer.set_result(choose(allow_unisolated=allow_unisolated))
        except BaseException as exc:  # handed to whoever asks, in their thread
            answer.set_exception(exc)

    threading.Thread(target=probe, name="sandbox probe", daemon=True).start()
    return answer.result
