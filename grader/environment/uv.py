"""Running uv, the installer and resolver grader drives for every environment question."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

from grader.core import proc
from grader.sandbox.bubblewrap import SANDBOX_TMP

NETWORK_VARIABLES = frozenset(
    {"SSL_CERT_FILE", "SSL_CERT_DIR"}
    | {f"{name}_PROXY" for name in ("HTTP", "HTTPS", "ALL", "NO")}
    | {f"{name}_proxy" for name in ("http", "https", "all", "no")}
)
# uv's decorations around its messages: tree branches, arrows and the cross.
_DECORATION = " \u00d7\u2570\u2500\u25b6\u2502"


def executable() -> str:
    """The uv installed beside grader's interpreter, else the one on PATH."""
    found = Path(sys.executable).parent / "uv"
    return str(found) if found.exists() else (shutil.which("uv") or "uv")


def environment(cache_dir: Path, *, python_downloads: bool = False) -> dict[str, str]:
    """A scrubbed environment for uv: the host's trust store and proxies, grader's cache.

    uv reaches the package registry, so it gets the host's network settings (the
    candidate's code, which runs in the sandbox, never does). It never reads the user's
    or the system's uv configuration.
    """
    network = {k: v for k, v in os.environ.items() if k in NETWORK_VARIABLES}
    return proc.scrubbed_env(
        {
            **network,
            "UV_CACHE_DIR": str(cache_dir / "uv"),
            "UV_PYTHON_DOWNLOADS": "automatic" if python_downloads else "never",
            "UV_PYTHON_INSTALL_DIR": str(cache_dir / "pythons"),
            "UV_NATIVE_TLS": "1",
            "UV_NO_PROGRESS": "1",
            "UV_NO_CONFIG": "1",
            "HOME": str(cache_dir),
        }
    )


def wheels_environment(
    folder: Path, python: Path, requirements: Sequence[str], env: dict[str, str], timeout_s: float
) -> str:
    """Create a virtual environment at ``folder`` holding ``requirements``, installed from
    wheels only (so nothing of theirs runs on this host); '' or uv's reason it failed."""
    venv = [executable(), "venv", "--no-config", "--quiet", "--python", str(python), str(folder)]
    install = [
        executable(), "pip", "install", "--no-config", "--quiet", "--only-binary", ":all:",
        "--python", str(folder / "bin" / "python"), *requirements,
    ]  # fmt: skip
    for argv in (venv, install):
        result = proc.run(argv, cwd=folder.parent, timeout_s=timeout_s, env=env)
        if result.exit_code != 0:
            return message(result.stderr, 300)
    return ""


def sandboxed_environment(python: Path) -> dict[str, str]:
    """The environment of uv run inside the sandbox (building a project or a dependency
    there): offline by the sandbox's design, its cache in the sandbox's private /tmp."""
    return {
        "PATH": f"{python.parent}:/usr/local/bin:/usr/bin:/bin",
        "HOME": SANDBOX_TMP,
        "TMPDIR": SANDBOX_TMP,
        "UV_CACHE_DIR": f"{SANDBOX_TMP}/uv",
        "UV_PYTHON_DOWNLOADS": "never",
        "UV_NO_PROGRESS": "1",
        "LANG": "C.UTF-8",
    }


def message(stderr: str, limit: int = 600) -> str:
    """uv's error message on one line, without progress chatter or tree decorations."""
    lines = [line.strip(_DECORATION) for line in stderr.splitlines()]
    useful = [
        line
        for line in lines
        if line and not line.startswith(("Using ", "Resolved", "warning", "Creating", "hint:"))
    ]
    text = " ".join(useful)
    return text[:limit] or "uv failed without a message"
