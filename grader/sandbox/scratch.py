"""A disk-limited scratch area: everything a test run writes, under one budget the kernel keeps.

The scratch copy of the submission, the run's results, its home and its /tmp all live in
one filesystem mounted for the run, so a suite that writes gigabytes gets "No space left
on device" at the budget instead of filling the host disk. The filesystem is an ext4
image on a loop device: its page cache can be written back and reclaimed, so writing
counts against the disk budget, not against the run's memory control group. A tmpfs is
the fallback where no loop device can be had (its pages do count against the memory
limit). Mounting needs root; without it the area is a plain folder and only the per-file
limit applies, which the report says.

The image is allocated in full before it is formatted: the host's disk space for the
budget is claimed up front (or the run is refused), so a crowded host cannot turn a full
budget into I/O errors halfway through.
"""

from __future__ import annotations

import contextlib
import enum
import errno
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from grader.acquire.workspace import walk_tree
from grader.core import proc
from grader.core.errors import NoRoomError

MB = 1024 * 1024
BLOCK = 4096
# One inode per 16 KB of budget, like mkfs.ext4's default; a file smaller than a block
# still takes a block, so a suite runs out of space long before it runs out of inodes.
BYTES_PER_INODE = 16 * 1024
INODE_BYTES = 256
DIRENT_BYTES = 8 + 256  # an ext4 directory entry with the longest name
# ext4 keeps 2% of its blocks, at most 4096 of them, out of every user's reach (the
# kernel's reserved clusters, whatever mkfs -m says): left out of the first guess, every
# image fell short, was unmounted and formatted again, doubling a test run's set-up.
RESERVED_FRACTION = 50
RESERVED_MAX_BYTES = 4096 * BLOCK
# Group descriptors and bitmaps: under 1 MB up to an 8 GB image. The image is enlarged
# when a guess still falls short.
METADATA_BYTES = 2 * MB
# Mounting tools live in sbin, which the scrubbed PATH leaves out.
_SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_MOUNT_TIMEOUT_S = 60.0
NO_SPACE = os.strerror(errno.ENOSPC)  # "No space left on device"


class Kind(enum.Enum):
    """How the budget is kept."""

    EXT4_IMAGE = "ext4 image"
    TMPFS = "tmpfs"
    NONE = "not enforced"


@dataclass(frozen=True)
class DiskArea:
    """A folder whose contents the kernel keeps under ``budget_mb`` (when ``enforced``)."""

    root: Path
    budget_mb: int
    kind: Kind
    reason: str = ""
    """Why the budget is not enforced, or what its enforcement costs."""

    @property
    def enforced(self) -> bool:
        """True when writing beyond the budget fails with ENOSPC."""
        return self.kind is not Kind.NONE

    def full(self) -> bool:
        """Whether the run left the area without room for one more block or file."""
        if not self.enforced:
            return False
        try:
            info = os.statvfs(self.root)
        except OSError:
            return False
        return info.f_bavail * info.f_frsize < MB or info.f_favail == 0

    def hit_budget(self, output: str) -> bool:
        """Whether the run ran out of room: the area is full, or a write said so."""
        return self.enforced and (self.full() or NO_SPACE in output)

    def hit_reason(self) -> str:
        """One line a reviewer reads when the budget stopped the run."""
        return (
            f"the test run hit its disk budget of {self.budget_mb} MB "
            f"(writes beyond it failed with '{NO_SPACE}')"
        )

    def notes(self) -> tuple[str, ...]:
        """What a report must say about how (or whether) the budget was kept."""
        if self.kind is Kind.NONE:
            return (f"disk budget of {self.budget_mb} MB not enforced: {self.reason}",)
        if self.kind is Kind.TMPFS:
            return (f"disk budget of {self.budget_mb} MB kept by a tmpfs: {self.reason}",)
        return ()


def footprint(root: Path) -> tuple[int, int]:
    """Bytes and inodes a copy of ``root`` takes: whole blocks per file, a block per
    folder plus room for its entries, and a block for any link too long to be inlined."""
    blocks, entries = 0, 1
    for _, listed in walk_tree(root):
        blocks += 1 + -(-len(listed) * DIRENT_BYTES // BLOCK)
        for entry in listed:
            entries += 1
            if entry.is_file(follow_symlinks=False):
                blocks += -(-entry.stat(follow_symlinks=False).st_size // BLOCK)
            elif entry.is_symlink():
                blocks += 1
    return blocks * BLOCK, entries


def _run(argv: list[str]) -> proc.ProcResult:
    return proc.run(
        argv,
        cwd=Path("/"),
        timeout_s=_MOUNT_TIMEOUT_S,
        env=proc.scrubbed_env({"PATH": _SYSTEM_PATH}),
    )


def _problem(result: proc.ProcResult) -> str:
    if result.missing_executable:
        return f"{result.argv[0]} is not installed"
    return proc.tail(result.stderr or result.stdout, 1) or f"{result.argv[0]} failed"


def _claim(image: Path, size: int) -> str:
    """Allocate the whole image now, so the host cannot run out of room under it;
    '' or why the image cannot be had here."""
    with image.open("wb") as stream:
        try:
            os.posix_fallocate(stream.fileno(), 0, size)
        except OSError as exc:
            if exc.errno != errno.ENOSPC:
                return f"cannot allocate {image}: {exc.strerror}"
            raise NoRoomError(
                f"the grading host has {_available(image.parent) // MB} MB free next to "
                f"{image.parent}, less than the {size // MB} MB the test run's disk budget needs"
            ) from None
    return ""


def _format_and_mount(root: Path, image: Path, size: int, inodes: int) -> str:
    if problem := _claim(image, size):
        return problem
    mkfs = _run(
        [
            "mkfs.ext4",
            "-q",
            "-F",
            "-b",
            str(BLOCK),  # small images would get 1 KB blocks; the footprint assumes 4 KB
            "-m",
            "0",  # no blocks reserved for root: the budget is the candidate's
            "-N",
            str(inodes),
            "-O",
            "^has_journal,^resize_inode",  # throwaway data needs neither
            "-E",
            "nodiscard,lazy_itable_init=1",
            "--",
            str(image),
        ]
    )
    if mkfs.exit_code != 0:
        return _problem(mkfs)
    # nodelalloc: blocks are taken as they are written, so an area a run filled stays
    # full; delayed allocation hands back over-reserved blocks later, at random.
    options = "loop,nosuid,nodev,noatime,noinit_itable,nodelalloc"
    mount = _run(["mount", "-t", "ext4", "-o", options, "--", str(image), str(root)])
    return "" if mount.exit_code == 0 else _problem(mount)


def _available(root: Path) -> int:
    info = os.statvfs(root)
    return info.f_bavail * info.f_frsize


def _mount_ext4(root: Path, image: Path, data: int, inodes: int) -> str:
    """Format and loop-mount an ext4 image at ``root`` with ``data`` bytes free.

    mkfs rounds its metadata to whole block groups, so the first guess at the image
    size can fall a little short; the image is then made again, that much larger.
    """
    tables = inodes * INODE_BYTES
    reserved = min((data + tables) // (RESERVED_FRACTION - 1), RESERVED_MAX_BYTES)
    size = data + tables + reserved + METADATA_BYTES
    for _ in range(2):
        problem = _format_and_mount(root, image, size, inodes)
        if problem or (short := data - _available(root)) <= 0:
            return problem
        release_all(root)
        size += short + MB
    return ""


def _mount_tmpfs(root: Path, size: int, inodes: int) -> str:
    options = f"size={size},nr_inodes={inodes},mode=0755,nosuid,nodev"
    mount = _run(["mount", "-t", "tmpfs", "-o", options, "--", "tmpfs", str(root)])
    return "" if mount.exit_code == 0 else _problem(mount)


def _mount(
    root: Path, image: Path, budget_mb: int, reserve: tuple[int, int], kinds: Sequence[Kind]
) -> DiskArea:
    if os.geteuid() != 0:
        reason = "mounting a size-limited filesystem needs root"
        return DiskArea(root, budget_mb, Kind.NONE, reason)
    data = budget_mb * MB + reserve[0]
    inodes = budget_mb * MB // BYTES_PER_INODE + reserve[1] + 64
    problems: list[str] = []
    for kind in kinds:
        if kind is Kind.EXT4_IMAGE:
            problem = _mount_ext4(root, image, data, inodes)
            if not problem:
                return DiskArea(root, budget_mb, kind)
            image.unlink(missing_ok=True)
        elif kind is Kind.TMPFS:
            problem = _mount_tmpfs(root, data, inodes)
            if not problem:
                reason = "its pages count against the memory limit"
                if problems:
                    reason = f"no ext4 image ({problems[0]}), so {reason}"
                return DiskArea(root, budget_mb, kind, reason)
        else:
            continue
        problems.append(problem)
    return DiskArea(root, budget_mb, Kind.NONE, "; ".join(problems) or "nothing to mount")


@contextlib.contextmanager
def disk_area(
    root: Path,
    budget_mb: int,
    reserve: tuple[int, int],
    kinds: Sequence[Kind] = (Kind.EXT4_IMAGE, Kind.TMPFS),
) -> Iterator[DiskArea]:
    """A fresh folder at ``root`` holding at most ``budget_mb`` beyond ``reserve``.

    ``reserve`` (bytes, inodes; see ``footprint``) is room for grader's own copy of the
    submission, so the candidate's writes get the whole budget. ``kinds`` are the
    filesystems to try, in order. On the way out, whatever happened inside, the
    filesystem is unmounted, its image deleted and the folder removed when empty.
    """
    image = root.with_name(root.name + ".img")
    root.mkdir()
    try:
        yield _mount(root, image, budget_mb, reserve, kinds)
    finally:
        release_all(root)
        image.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            root.rmdir()


def _unescape(field: str) -> str:
    # mountinfo escapes space, tab, newline and backslash as octal.
    for code in ("\\040", "\\011", "\\012", "\\134"):
        field = field.replace(code, chr(int(code[1:], 8)))
    return field


def mounts_under(root: Path) -> list[Path]:
    """Mount points at or below ``root`` in this process's view, deepest first."""
    try:
        lines = Path("/proc/self/mountinfo").read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    top = root.resolve()
    found = {
        point
        for line in lines
        if len(fields := line.split(" ")) > 4
        and (point := Path(_unescape(fields[4]))).is_relative_to(top)
    }
    return sorted(found, key=lambda path: len(path.parts), reverse=True)


def release_all(root: Path) -> None:
    """Unmount everything mounted at or below ``root``.

    Called when an area is done and again before grader deletes its temporary folder, so
    a crash or Ctrl-C in between leaves no mount behind. A mount still busy is detached
    lazily: it disappears as soon as the last process using it is gone.
    """
    for point in mounts_under(root):
        if _run(["umount", "--", str(point)]).exit_code != 0:
            _run(["umount", "--lazy", "--", str(point)])
