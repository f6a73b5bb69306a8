"""mypy's analysis of the standard library and pytest, built once and shared safely.

A cold mypy run spends most of its time on typeshed's standard library (and on pytest,
which every test module imports), the same work for every submission. grader does that
work once per mypy version, configuration and Python into its cache folder: it checks a
file grader writes itself, importing every standard module and pytest, so nothing of a
candidate's is ever read while the shared cache is built. The finished cache is published
by an atomic rename and made read-only.

mypy writes to its cache as it checks, so a submission never gets the shared cache
itself: each run gets a private copy (a few MB, copied in milliseconds). Whatever mypy
writes while checking a submission, a module named like a standard one included, lands
in that copy and is deleted with the run, so no submission can change what another sees.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import stat
import sys
import tempfile
from pathlib import Path

from grader.acquire.workspace import remove_tree, walk_tree
from grader.core import locks, proc
from grader.tools.base import config_path, package_version, python_module

# Standard modules that are platform-specific, private, or not importable here.
_LEFT_OUT = frozenset(
    {
        "antigravity", "this", "idlelib", "tkinter", "turtle", "turtledemo", "lib2to3",
        "msilib", "winreg", "winsound", "msvcrt", "nt", "ensurepip", "pydoc_data",
    }
)  # fmt: skip
SEED_TIMEOUT_S = 300.0
log = logging.getLogger("grader")


def seed_source() -> str:
    """The file whose check fills the shared cache: grader's own, never a candidate's."""
    modules = sorted(
        name
        for name in sys.stdlib_module_names
        if not name.startswith("_") and name not in _LEFT_OUT
    )
    return "".join(f"import {name}\n" for name in [*modules, "pytest"])


def _key() -> str:
    digest = hashlib.sha256()
    for part in (
        package_version("mypy"),
        package_version("pytest"),
        sys.version,
        config_path("mypy.ini").read_text(encoding="utf-8"),
        seed_source(),
    ):
        digest.update(part.encode("utf-8") + b"\0")
    return digest.hexdigest()[:24]


def _read_only(folder: Path) -> None:
    # Permissions guard against slips by other users' processes; root ignores them, which
    # is why no run is ever pointed at the shared folder itself (see private_copy).
    folders = []
    for parent, entries in walk_tree(folder):
        folders.append(parent)
        for entry in entries:
            if not entry.is_dir(follow_symlinks=False):
                os.chmod(entry.path, 0o444)  # noqa: PTH101 - a DirEntry's path
    for directory in folders:
        directory.chmod(0o555)


def publish(built: Path, folder: Path) -> None:
    """Make the cache ``built`` read-only and move it to ``folder`` in one rename."""
    _read_only(built)
    # Moving a folder to another parent rewrites its "..": without root, that needs
    # write permission on the folder itself, so its own mode is set last.
    built.chmod(0o755)
    built.rename(folder)
    folder.chmod(0o555)


def shared(cache_root: Path) -> Path | None:
    """The shared, read-only cache, built on first use; None when it cannot be built
    (mypy then checks from a cold cache: slower, same findings)."""
    try:
        return _shared(cache_root)
    except OSError as error:
        log.warning("mypy's shared cache is not used: %s", error)
        return None


def _shared(cache_root: Path) -> Path | None:
    base = cache_root / "mypy"
    folder = base / _key()
    if folder.is_dir():
        _remove_stale(base, keep=folder.name)
        return folder
    with locks.exclusive(base / f"{folder.name}.lock"):
        if folder.is_dir():  # another grader built it while this one waited
            return folder
        build = Path(tempfile.mkdtemp(prefix=".build-", dir=base))
        try:
            (build / "seed.py").write_text(seed_source(), encoding="utf-8")
            argv = python_module(
                "mypy",
                "--config-file",
                str(config_path("mypy.ini")),
                "--cache-dir",
                str(build / "cache"),
                "--",
                "seed.py",
            )
            result = proc.run(argv, cwd=build, timeout_s=SEED_TIMEOUT_S)
            if result.exit_code not in (0, 1) or not (build / "cache").is_dir():
                return None
            publish(build / "cache", folder)
        finally:
            remove_tree(build)
    _remove_stale(base, keep=folder.name)
    return folder


def _remove_stale(base: Path, keep: str) -> None:
    """Remove the caches of other mypy, pytest or Python versions, which no run of this
    grader asks for again; one another grader is copying right now stays."""
    for stale in base.iterdir():
        if stale.name == keep or stale.name.startswith(".") or not stale.is_dir():
            continue
        with locks.exclusive(base / f"{stale.name}.lock", blocking=False) as free:
            if not free:
                continue
            for parent, _ in walk_tree(stale):
                parent.chmod(0o755)  # published read-only; its folders must be emptied
            remove_tree(stale)


def private_copy(shared_cache: Path | None, dest: Path) -> Path:
    """A writable copy of the shared cache (an empty folder when there is none) for one run."""
    if shared_cache is None:
        dest.mkdir(parents=True, exist_ok=True)
        return dest
    # Held while copying, so that a grader of another version never removes it mid-copy.
    with locks.shared(shared_cache.parent / f"{shared_cache.name}.lock"):
        shutil.copytree(shared_cache, dest, copy_function=shutil.copyfile)
    for parent, _ in walk_tree(dest):
        parent.chmod(parent.stat().st_mode | stat.S_IWUSR)
    return dest
