# ruff: noqa
"""Hostile: write 5 GB in 250 MB files, spread over home, /tmp and the scratch copy.

Each file stays under the 256 MB per-file limit, so only a limit on the total can stop
it. When CLEAN_UP is set the files are deleted when the test ends (its failure is then
reported with the reason); otherwise they stay and leave no room for pytest's results.
"""

import tempfile
from pathlib import Path

import pytest

from app import add

MARKER = "@@MARKER@@"
CLEAN_UP = @@CLEAN_UP@@
FILE_MB = 250
FILES = 20  # 5 GB in all
CHUNK = bytes(1024 * 1024)


def test_add():
    assert add(1, 2) == 3


@pytest.fixture
def written():
    paths = []
    yield paths
    if CLEAN_UP:
        for path in paths:
            path.unlink(missing_ok=True)


def test_write_5_gb_in_250_mb_files(written):
    folders = [Path.home(), Path(tempfile.gettempdir()), Path.cwd()]
    total = 0
    try:
        for index in range(FILES):
            path = folders[index % len(folders)] / f"{MARKER}-{index}.bin"
            written.append(path)
            with path.open("wb") as stream:
                for _ in range(FILE_MB):
                    stream.write(CHUNK)
                    total += len(CHUNK)
    except OSError as exc:
        _take_the_last_blocks(written)
        raise AssertionError(f"{MARKER} wrote {total} bytes, then: {exc}") from None


def _take_the_last_blocks(written):
    """What a 1 MB write could not use, a block at a time."""
    path = Path.cwd() / f"{MARKER}-last-blocks.bin"
    written.append(path)
    with path.open("wb", buffering=0) as stream:
        try:
            while True:
                stream.write(CHUNK[:4096])
        except OSError:
            pass
