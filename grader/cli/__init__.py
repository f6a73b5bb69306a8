"""Command line: ``grader grade|preview|explain|rubrics|batch|aggregate|calibrate``, and
the one top-level error handler.

``arguments`` holds the options, ``commands`` what each command does. Start-up must stay
fast (``--version`` and ``--help`` in well under 0.3 s), so this package imports only the
standard library and grader's errors at import time; each command imports what it needs
(the pipeline, rich, the renderers) when it runs.

May import every package below it; nothing in grader imports it but ``__main__`` and ``ci``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from typing import NoReturn

from grader.cli.arguments import build_parser
from grader.cli.commands import COMMANDS, flag
from grader.core.errors import ExitCode, GraderError, InterruptedByUserError

__all__ = ["build_parser", "main", "run"]

log = logging.getLogger("grader")


def run() -> NoReturn:
    """The console command: ``main()``, then out without tearing the interpreter down.

    A grade leaves about 1,100 modules and 300,000 objects (every file's parsed tree)
    behind; freeing them one by one took 0.6 s after the report was written, 10% of a
    small grade. By then every command grader started has ended, every report is
    written and closed, and grader registers no exit handler: what is left is logging's
    buffers and the standard streams, flushed here (mypy leaves the same way).
    """
    code = main()
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)


def _closed_pipe() -> int:
    """A reader that stopped reading (``| head``) is a normal end: exit 0, print nothing more."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return int(ExitCode.GRADED)


def _terminated(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: every error becomes one line on stderr and a documented exit code."""
    # A scheduler stops a job with SIGTERM (a cancelled Action, a Kubernetes Job): it is
    # handled as Ctrl-C is, so every command grader started is killed and its folders go;
    # by default the interpreter would die at once and leave the tools running.
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _terminated)
    try:
        args = build_parser().parse_args(argv)
        logging.basicConfig(
            level=logging.DEBUG if flag(args, "verbose") else logging.WARNING,
            format="grader: %(relativeCreated)6.0f ms %(message)s",
        )
        code = int(COMMANDS[args.command](args))
        sys.stdout.flush()  # a closed pipe shows here, inside the handler, not at exit
        return code
    except BrokenPipeError:
        return _closed_pipe()
    except KeyboardInterrupt:
        sys.stderr.write("grader: error: interrupted; no report was written\n")
        return int(InterruptedByUserError.exit_code)
    except GraderError as exc:
        sys.stderr.write(f"grader: error: {exc}\n")
        return int(exc.exit_code)
    except Exception as exc:
        log.debug("internal error", exc_info=True)
        sys.stderr.write(
            f"grader: internal error: {type(exc).__name__}: {exc} (rerun with -v for details)\n"
        )
        return int(ExitCode.INTERNAL)
