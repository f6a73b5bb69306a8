"""mypy's shared cache of the standard library: built from grader's own file, read-only,
and never written by a run, so one submission cannot change what mypy tells another."""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import stat
import tempfile
from pathlib import Path

import pytest

from grader.acquire.workspace import inventory
from grader.core import locks
from grader.core.models import ToolResult
from grader.environment.cache import EnvironmentCache
from grader.sandbox.bubblewrap import Limits, NotNeeded
from grader.tools import mypy_cache
from grader.tools.base import ToolContext
from grader.tools.mypy import Mypy

# A stub named like a standard module, lying about it: csv.reader returns an int.
HOSTILE_STUB = "def reader(csvfile: object) -> int: ...\n"
HOSTILE_CODE = "import csv\n\n\ndef rows() -> int:\n    return csv.reader([])\n"
# Uses the real csv: assigning its rows to an int is a type error mypy must report.
HONEST_CODE = (
    "import csv\n\n\ndef first(lines: list[str]) -> int:\n"
    "    value: int = next(csv.reader(lines))\n    return value\n"
)


def _digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(path.relative_to(folder).as_posix().encode() + path.read_bytes())
    return digest.hexdigest()


def _check(root: Path, work: Path, cache: EnvironmentCache | None) -> ToolResult:
    work.mkdir(parents=True)
    ctx = ToolContext(inventory(root), work, NotNeeded(), Limits(), cache)
    return Mypy().run(ctx)


def _submission(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def shared_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache folder whose shared mypy cache is built once for this module."""
    root = tmp_path_factory.mktemp("mypy-shared")
    assert mypy_cache.shared(root) is not None
    return root


def test_the_shared_cache_is_built_from_grader_s_file_and_is_read_only(shared_root: Path) -> None:
    shared = mypy_cache.shared(shared_root)
    assert shared is not None
    assert mypy_cache.shared(shared_root) == shared  # built once, then found
    files = [p for p in shared.rglob("*") if p.is_file()]
    assert files
    assert all(not p.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH) for p in files)
    assert "import csv\n" in mypy_cache.seed_source()
    assert "import pytest\n" in mypy_cache.seed_source()


def test_a_hostile_stub_never_reaches_the_next_submission(
    shared_root: Path, tmp_path: Path
) -> None:
    shared = mypy_cache.shared(shared_root)
    assert shared is not None
    before = _digest(shared)
    cache = EnvironmentCache(shared_root)
    hostile = _submission(tmp_path / "hostile", {"csv.pyi": HOSTILE_STUB, "app.py": HOSTILE_CODE})
    _check(hostile, tmp_path / "work-hostile", cache)
    # mypy did write to the run's own copy ...
    assert _digest(tmp_path / "work-hostile" / "cache") != before
    # ... and nothing of it to the shared cache.
    assert _digest(shared) == before
    honest = _submission(tmp_path / "honest", {"app.py": HONEST_CODE})
    after_hostile = _check(honest, tmp_path / "work-honest", cache)
    alone = _check(honest, tmp_path / "work-alone", None)  # no shared cache at all
    assert after_hostile.findings == alone.findings
    assert [f.rule_id for f in alone.findings] == ["assignment"]


def test_the_shared_cache_gives_the_same_findings_as_a_cold_run(
    shared_root: Path, tmp_path: Path
) -> None:
    sample = Path(__file__).resolve().parent.parent / "sample_submissions" / "poor"
    warm = _check(sample, tmp_path / "warm", EnvironmentCache(shared_root))
    cold = _check(sample, tmp_path / "cold", None)
    assert warm.findings == cold.findings
    assert warm.findings


def test_caches_of_other_versions_are_removed_unless_in_use(shared_root: Path) -> None:
    base = shared_root / "mypy"
    stale, copying = base / ("0" * 24), base / ("1" * 24)
    for folder in (stale, copying):
        (folder / "3.11").mkdir(parents=True)
        (folder / "3.11" / "os.data.json").write_text("{}", encoding="utf-8")
        (folder / "3.11").chmod(0o555)  # published caches are read-only
    with locks.shared(base / f"{copying.name}.lock"):  # another grader copies it now
        current = mypy_cache.shared(shared_root)
    assert current is not None and current.is_dir()
    assert not stale.exists()
    assert copying.is_dir()


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to become another user")
def test_the_cache_is_published_by_a_user_without_root() -> None:
    # Root may move a read-only folder anywhere; the user a GitHub runner is may not.
    # (In /tmp itself: the session's own temporary folder is closed to other users.)
    with tempfile.TemporaryDirectory(dir="/tmp") as folder:
        _publish_as_nobody(Path(folder))


def _publish_as(uid: int, built: Path, folder: Path) -> None:
    os.setgid(uid)
    os.setuid(uid)
    mypy_cache.publish(built, folder)


def _publish_as_nobody(tmp_path: Path) -> None:
    tmp_path.chmod(0o777)
    built = tmp_path / "build" / "cache"
    (built / "3.11").mkdir(parents=True)
    (built / "3.11" / "os.data.json").write_text("{}", encoding="utf-8")
    (tmp_path / "mypy").mkdir()
    for folder in (tmp_path / "build", tmp_path / "mypy"):
        folder.chmod(0o777)
    nobody = 65534
    for path in (built, built / "3.11", built / "3.11" / "os.data.json"):
        os.chown(path, nobody, nobody)
    # A forked child becomes nobody and publishes; its exit code says how it went.
    child = multiprocessing.get_context("fork").Process(
        target=_publish_as, args=(nobody, built, tmp_path / "mypy" / "key")
    )
    child.start()
    child.join(60)
    assert child.exitcode == 0
    published = tmp_path / "mypy" / "key"
    assert stat.S_IMODE(published.stat().st_mode) == 0o555
    assert stat.S_IMODE((published / "3.11" / "os.data.json").stat().st_mode) == 0o444
