"""What building a test environment needs from the grade that asks for it."""

from __future__ import annotations

from typing import Protocol

from grader.acquire.workspace import Workspace
from grader.environment.cache import EnvironmentCache
from grader.sandbox.bubblewrap import Limits, Sandbox


class BuildContext(Protocol):
    """The submission, where untrusted builds run, and where environments are kept.

    A tool's context satisfies it, so the environment stage never imports the tools above it.
    """

    @property
    def workspace(self) -> Workspace:
        """The submission being graded."""
        ...

    @property
    def sandbox(self) -> Sandbox:
        """Where the candidate's build steps run."""
        ...

    @property
    def limits(self) -> Limits:
        """The resource limits of every sandboxed step."""
        ...

    @property
    def environments(self) -> EnvironmentCache | None:
        """Where environments are built; None runs tests with grader's own interpreter."""
        ...
