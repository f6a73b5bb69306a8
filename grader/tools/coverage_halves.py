"""Coverage's report in two halves: the measured files parsed while the tests run, the
run's data counted against them once it is over (see coverage_probe, the process that
does both, memory-limited).

The probe starts on a core the suite leaves (grader.core.cores) and holds it only while it
parses; then it waits, idle, for the run's data file on its stdin. Given up when the suite
ends before it had its turn: the report then parses on every core itself, without waiting
for one. Whatever happens, ``close`` lets the probe end (its stdin reaches end of file).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from grader.core import proc
from grader.tools.base import ToolContext, config_path

PROBE = Path(__file__).with_name("coverage_probe.py")
READY_POLL_S = 0.005


class ParsedCode:
    """The probe for one test run, started now."""

    def __init__(
        self,
        pristine: Path,
        scratch: Path,
        files: tuple[str, ...],
        folder: Path,
        *,
        memory_mb: int,
        timeout_s: float,
        turn: AbstractContextManager[object] | None = None,
    ) -> None:
        """``files`` (relative to the submission) are parsed from their ``pristine``
        copies under the names the run records for them in ``scratch``; the probe's
        files go to ``folder``; ``timeout_s`` must outlast the test run and what comes
        before it (installing the project, starting servers)."""
        self._lock = threading.Lock()
        self._state = "waiting" if files else "given up"
        self._stdin, self._request = os.pipe()
        self._ready = folder / "coverage-parsed"
        self._ready.unlink(missing_ok=True)  # a rerun's probe starts in the same folder
        # The run records each file under the scratch folder's real path; the files
        # themselves are not resolved, since the tests may be replacing them.
        measured = Path(os.path.realpath(scratch))
        request = folder / "coverage-probe.json"
        listed = [[f, str(measured / f), str(pristine / f)] for f in files]
        request.write_text(
            json.dumps(
                {
                    "rcfile": str(config_path("coveragerc")),
                    "files": listed,
                    "ready": str(self._ready),
                }
            ),
            encoding="utf-8",
        )
        limit = ["prlimit", f"--as={memory_mb * 1024 * 1024}", "--"]
        argv = [*limit, sys.executable, "-I", str(PROBE), str(request)]
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="coverage-probe")
        self._probe: Future[proc.ProcResult | None] = pool.submit(
            self._start, argv, folder, timeout_s, turn or contextlib.nullcontext()
        )
        pool.shutdown(wait=False)

    @classmethod
    def for_run(cls, ctx: ToolContext, scratch: Path, files: tuple[str, ...]) -> ParsedCode:
        """The probe for the test run in ``scratch`` about to start, on a core the suite
        leaves; it may wait for the project's install, the servers and the suite."""
        return cls(
            ctx.workspace.root,
            scratch,
            files,
            ctx.work_dir,
            memory_mb=ctx.limits.memory_mb,
            timeout_s=2 * ctx.limits.wall_s + ctx.static_timeout_s,
            turn=ctx.cores.analyser_turn() if ctx.cores is not None else None,
        )

    def _start(
        self, argv: list[str], folder: Path, timeout_s: float, turn: AbstractContextManager[object]
    ) -> proc.ProcResult | None:
        try:
            with ThreadPoolExecutor(max_workers=1) as runner:
                with turn:
                    with self._lock:
                        if self._state == "given up":
                            return None
                        self._state = "parsing"
                    running = runner.submit(
                        proc.run, argv, cwd=folder, timeout_s=timeout_s, stdin=self._stdin
                    )
                    # The core is the probe's while it parses, and free once it waits.
                    while not self._ready.exists() and not running.done():
                        time.sleep(READY_POLL_S)
                return running.result()
        finally:
            os.close(self._stdin)

    def counted(self, data_file: Path, report: Path) -> dict[str, Any] | None:
        """Coverage json's ``files`` for the run's ``data_file``, also written to ``report``
        in coverage json's shape; None when the probe never had its turn or failed (the
        report then parses the files itself)."""
        with self._lock:
            started = self._state == "parsing"
            self._state = "given up"
        if not started:
            self.close()
            return None
        with contextlib.suppress(OSError):
            asked = {"data_file": str(data_file), "out": str(report)}
            os.write(self._request, (json.dumps(asked) + "\n").encode())
        self.close()
        try:
            result = self._probe.result()
            if result is None or result.exit_code != 0 or not report.is_file():
                return None
            files: dict[str, Any] = json.loads(report.read_text(encoding="utf-8"))["files"]
        except Exception:  # the report parses the files itself
            return None
        return files

    def close(self) -> None:
        """Let the probe end, whether or not it was asked for figures. Only the first call
        counts."""
        with self._lock:
            self._state = "given up" if self._state == "waiting" else self._state
            request, self._request = self._request, -1
        if request >= 0:
            os.close(request)
