"""The disk-limited scratch area: real mounts, real writes until the kernel says no."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from grader.core.errors import NoRoomError
from grader.sandbox import scratch
from grader.sandbox.scratch import Kind, disk_area, footprint, mounts_under

MB = 1024 * 1024
ROOT_ONLY = pytest.mark.skipif(
    os.geteuid() != 0,
    reason="mounting a disk-limited area needs root (without it grader notes that the "
    "budget is not enforced)",
)


def fill(folder: Path, limit_mb: int) -> int:
    """Write 1 MB chunks into one file until ENOSPC or ``limit_mb``; bytes written."""
    written = 0
    chunk = bytes(MB)
    with contextlib.suppress(OSError), (folder / "fill.bin").open("wb") as stream:
        for _ in range(limit_mb):
            stream.write(chunk)
            stream.flush()
            written += MB
    with contextlib.suppress(OSError):
        written = (folder / "fill.bin").stat().st_size
    return written


def loop_devices_backed_by(folder: Path) -> list[str]:
    """Loop devices whose backing file lies under ``folder``."""
    found = []
    for backing in Path("/sys/block").glob("loop*/loop/backing_file"):
        with contextlib.suppress(OSError):
            if backing.read_text(encoding="utf-8").strip().startswith(str(folder)):
                found.append(backing.parts[3])
    return found


@ROOT_ONLY
@pytest.mark.parametrize("kind", [Kind.EXT4_IMAGE, Kind.TMPFS])
def test_writes_stop_at_the_budget(tmp_path: Path, kind: Kind) -> None:
    with disk_area(tmp_path / "area", 8, (0, 0), kinds=(kind,)) as area:
        assert area.kind is kind, area.reason
        info = os.statvfs(area.root)
        assert info.f_bavail * info.f_frsize >= 8 * MB  # the whole budget is usable
        assert not area.full()
        written = fill(area.root, 100)
        assert 8 * MB <= written <= 10 * MB
        assert area.full()
        assert area.hit_budget("")
        with pytest.raises(OSError) as refused:
            (area.root / "more.bin").write_bytes(bytes(MB))
        assert refused.value.errno == errno.ENOSPC
        assert mounts_under(area.root) == [area.root]
    assert not (tmp_path / "area").exists()
    assert list(tmp_path.iterdir()) == []  # the image went too
    assert mounts_under(tmp_path) == []
    assert loop_devices_backed_by(tmp_path) == []


@ROOT_ONLY
@pytest.mark.parametrize("budget_mb", [8, 256, 1024, 4096])
def test_the_image_is_formatted_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, budget_mb: int
) -> None:
    """The first size fits ext4's own overhead: no second mkfs and mount per test run."""
    formatted = []
    original = scratch._format_and_mount

    def counted(root: Path, image: Path, size: int, inodes: int) -> str:
        formatted.append(size)
        return original(root, image, size, inodes)

    monkeypatch.setattr(scratch, "_format_and_mount", counted)
    with disk_area(tmp_path / "area", budget_mb, (3 * MB, 500), kinds=(Kind.EXT4_IMAGE,)) as area:
        info = os.statvfs(area.root)
        free = info.f_bavail * info.f_frsize
        assert budget_mb * MB + 3 * MB <= free <= (budget_mb + 5) * MB
    assert len(formatted) == 1


@ROOT_ONLY
def test_the_reserve_holds_the_copy_on_top_of_the_budget(tmp_path: Path) -> None:
    """A tree of 3000 small files (more inodes than 1 MB of budget gives) fits beside it."""
    tree = tmp_path / "tree"
    for index in range(30):
        folder = tree / f"package_{index}"
        folder.mkdir(parents=True)
        for number in range(100):
            (folder / f"module_{number}.py").write_text("x = 1\n" * number, encoding="utf-8")
    with disk_area(tmp_path / "area", 1, footprint(tree)) as area:
        shutil.copytree(tree, area.root / "copy")
        assert 1 * MB <= fill(area.root, 50) <= 3 * MB


@ROOT_ONLY
def test_a_host_without_room_for_the_budget_is_refused(tmp_path: Path) -> None:
    with disk_area(tmp_path / "small_host", 4, (0, 0), kinds=(Kind.TMPFS,)) as host:
        refused = pytest.raises(NoRoomError, match="less than the")
        with refused, disk_area(host.root / "area", 64, (0, 0)):
            pytest.fail("a 64 MB budget was granted on a 4 MB host")
        assert list(host.root.iterdir()) == []  # neither the image nor the folder is left
    assert mounts_under(tmp_path) == []


@ROOT_ONLY
def test_a_leftover_mount_is_released(tmp_path: Path) -> None:
    """What pipeline.grade does after a crash: no mount survives, the folder goes."""
    workdir = tmp_path / "grader-workdir"
    workdir.mkdir()
    stack = contextlib.ExitStack()
    area = stack.enter_context(disk_area(workdir / "disk", 4, (0, 0)))
    (area.root / "busy").mkdir()
    with (area.root / "busy" / "open.txt").open("w", encoding="utf-8"):
        scratch.release_all(workdir)  # a busy mount is detached lazily
        assert mounts_under(workdir) == []
    shutil.rmtree(workdir)
    stack.close()  # the area's own exit finds nothing left to do
    assert mounts_under(tmp_path) == []
    assert loop_devices_backed_by(tmp_path) == []


@ROOT_ONLY
def test_mount_points_with_odd_names_are_found(tmp_path: Path) -> None:
    odd = tmp_path / "a folder\twith\\odd names"
    with disk_area(odd, 1, (0, 0), kinds=(Kind.TMPFS,)) as area:
        assert mounts_under(tmp_path) == [area.root]
    assert mounts_under(tmp_path) == []


def as_nobody(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--", *argv],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(Path.cwd())},
    )


@ROOT_ONLY
def test_without_root_the_budget_is_noted_as_not_enforced() -> None:
    probe = as_nobody(sys.executable, "-c", "import grader.sandbox.scratch")
    if probe.returncode != 0:
        pytest.skip(f"nobody cannot import this checkout's grader: {probe.stderr[-200:]}")
    # Under /tmp itself: the session's private temporary folder is closed to nobody.
    shared = Path(tempfile.mkdtemp(prefix="grader-scratch-test-", dir="/tmp"))
    try:
        shared.chmod(0o777)
        code = (
            "import pathlib, sys\n"
            "from grader.sandbox.scratch import disk_area\n"
            "with disk_area(pathlib.Path(sys.argv[1]), 8, (0, 0)) as area:\n"
            "    print(area.enforced, *area.notes(), sep='|')\n"
        )
        result = as_nobody(sys.executable, "-c", code, str(shared / "area"))
    finally:
        shutil.rmtree(shared)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "False|disk budget of 8 MB not enforced: mounting a size-limited filesystem needs root"
    )
