"""The one exception hierarchy of grader and the exit codes it maps to.

Anything a user can fix (a bad path, a bad rubric, an unknown ref) is a ``UsageError`` and
exits 2 with one line; anything else that escapes is a bug and exits 3.
"""

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes, documented in the README."""

    GRADED = 0
    BELOW_FAIL_UNDER = 1
    USAGE = 2
    INTERNAL = 3
    NOT_ALL_GRADED = 4
    """grader batch: some rows could not be graded (each row's status says why)."""


class GraderError(Exception):
    """Base class of every error grader raises on purpose."""

    exit_code: ExitCode = ExitCode.INTERNAL


class UsageError(GraderError):
    """The user's input cannot be graded: bad arguments, source, rubric or output folder."""

    exit_code = ExitCode.USAGE


class AcquireError(UsageError):
    """The submission could not be fetched, unpacked or checked out."""


class RubricError(UsageError):
    """A rubric file is malformed; the message names the file and the key."""


class AssignmentError(UsageError):
    """An assignment file or option is malformed; the message names the file and the key."""


class OutputError(UsageError):
    """The report cannot be written where the user asked."""


class InterruptedByUserError(GraderError):
    """The user pressed Ctrl-C; nothing half-written is left behind."""

    exit_code = ExitCode.USAGE


class NoRoomError(GraderError):
    """The grading host lacks the disk space a test run's budget needs."""
