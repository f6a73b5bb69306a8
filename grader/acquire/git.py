"""grader's one way to run git on a submission's repository, locked down.

Every git call goes through ``proc.run`` (GitPython would run git without a timeout or
an output cap). Git runs with a locked-down configuration: only https, ssh and file
transports, no submodules, no LFS smudge, no prompts, no system or global config, no
hooks. Cloning (clone), reading the history (history) and comparing against a starter
(grader.assignment.authorship) all run git through ``run_git``.
"""

from __future__ import annotations

import os
from pathlib import Path

from grader.core import proc

GIT_TIMEOUT_S = 300.0


def _git_env() -> dict[str, str]:
    return proc.scrubbed_env(
        {
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_LFS_SKIP_SMUDGE": "1",
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_ASKPASS": "/bin/false",
            "SSH_ASKPASS": "/bin/false",
            "GIT_SSH_COMMAND": "ssh -o BatchMode=yes -o StrictHostKeyChecking=accept-new",
            "HOME": "/nonexistent",
        }
    )


_GIT_SAFETY = [
    "-c", "protocol.allow=never",
    "-c", "protocol.https.allow=always",
    "-c", "protocol.ssh.allow=always",
    "-c", "protocol.file.allow=always",
    "-c", "core.hooksPath=/dev/null",
    "-c", "core.fsmonitor=false",
    "-c", "submodule.recurse=false",
    "-c", "filter.lfs.smudge=",
    "-c", "filter.lfs.process=",
    "-c", "filter.lfs.required=false",
]  # fmt: skip


def run_git(
    args: list[str],
    cwd: Path,
    extra_env: dict[str, str] | None = None,
    timeout_s: float = GIT_TIMEOUT_S,
) -> proc.ProcResult:
    """git with grader's locked-down settings (for every module that reads repositories)."""
    env = {**_git_env(), **(extra_env or {})}
    return proc.run(["git", *_GIT_SAFETY, *args], cwd=cwd, timeout_s=timeout_s, env=env)


def git_error(stderr: str) -> str:
    """The line of git's output that says what went wrong (its ``fatal:`` line first)."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    fatal = [line for line in lines if line.startswith("fatal:")]
    return (fatal or lines or ["git failed"])[0].removeprefix("fatal: ")
