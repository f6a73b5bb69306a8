"""Unpacking a submission archive (.zip, .tar.gz, .tgz) safely.

Archives are unpacked member by member with every path, type and size checked before
anything is written: no member may escape the target folder, be a link or a special
file, and the bytes really inflated (not the sizes the headers claim) are counted against
the limits of grader.acquire.limits.
"""

from __future__ import annotations

import stat
import tarfile
import uuid
import zipfile
import zlib
from pathlib import Path
from typing import IO

from grader.acquire.limits import MAX_BYTES, MAX_MEMBERS, safe_member_path
from grader.core.errors import AcquireError

ARCHIVE_SUFFIXES = (".zip", ".tar.gz", ".tgz")


class _Budget:
    """Bytes and members an archive may still unpack; counts what is really inflated."""

    def __init__(self, archive: str) -> None:
        self.archive = archive
        self.written = 0
        self.members = 0

    def member(self) -> None:
        self.members += 1
        if self.members > MAX_MEMBERS:
            raise AcquireError(f"{self.archive}: more than {MAX_MEMBERS} members")

    def copy(self, source: IO[bytes], target: Path) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        # Header sizes can lie: count the bytes as they come out.
        with source, target.open("wb") as sink:
            while chunk := source.read(65536):
                self.written += len(chunk)
                if self.written > MAX_BYTES:
                    raise AcquireError(
                        f"{self.archive}: expands beyond {MAX_BYTES // 2**20} MB; refusing it"
                    )
                sink.write(chunk)


def _refuse(archive: Path, name: str, why: str) -> AcquireError:
    return AcquireError(f"{archive.name}: refusing member {name!r}: {why}")


def _unpack_zip(archive: Path, dest: Path) -> None:
    budget = _Budget(archive.name)
    with zipfile.ZipFile(archive) as bundle:
        for member in bundle.infolist():
            budget.member()
            target = dest / safe_member_path(member.filename, archive.name)
            if stat.S_ISLNK(member.external_attr >> 16):
                raise _refuse(archive, member.filename, "it is a link")
            if member.is_dir():
                target.mkdir(parents=True, exist_ok=True)
            else:
                budget.copy(bundle.open(member), target)


def _check_tar_member(archive: Path, member: tarfile.TarInfo) -> None:
    if member.issym() or member.islnk():
        raise _refuse(archive, member.name, "it is a link")
    if not (member.isfile() or member.isdir()):
        raise _refuse(archive, member.name, "it is a device or special file")


def _unpack_tar(archive: Path, dest: Path) -> None:
    budget = _Budget(archive.name)
    with tarfile.open(archive, "r:gz") as bundle:
        for member in bundle:
            budget.member()
            target = dest / safe_member_path(member.name, archive.name)
            _check_tar_member(archive, member)
            source = bundle.extractfile(member)
            if member.isdir() or source is None:
                target.mkdir(parents=True, exist_ok=True)
            else:
                budget.copy(source, target)


def unpack(archive: Path, dest: Path) -> None:
    """Unpack ``archive`` into the new folder ``dest``, lifting a single top-level folder."""
    dest.mkdir()
    try:
        if archive.name.endswith(".zip"):
            _unpack_zip(archive, dest)
        else:
            _unpack_tar(archive, dest)
    except (
        zipfile.BadZipFile,
        tarfile.TarError,
        EOFError,
        OSError,
        RuntimeError,  # an encrypted zip member
        NotImplementedError,  # a compression method zipfile lacks
        zlib.error,  # corrupt deflate data
        ValueError,
    ) as exc:
        raise AcquireError(f"{archive.name}: not a readable archive: {exc}") from None
    _unwrap(dest)


def _unwrap(dest: Path) -> None:
    """An archive often wraps everything in one top-level folder: lift its contents."""
    entries = list(dest.iterdir())
    if len(entries) != 1 or not entries[0].is_dir() or entries[0].is_symlink():
        return
    # Move it aside first: it may hold a folder of its own name (proj/proj/__init__.py).
    inner = entries[0].rename(dest / f".grader-unwrap-{uuid.uuid4().hex}")
    for child in inner.iterdir():
        child.rename(dest / child.name)
    inner.rmdir()
