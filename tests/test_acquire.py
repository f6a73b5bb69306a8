"""Acquisition: sources are classified strictly and nothing in them runs on the host."""

from __future__ import annotations

import io
import stat
import tarfile
import zipfile
from pathlib import Path

import pytest
from conftest import git

from grader.acquire.source import _remote_url, acquire
from grader.acquire.workspace import excluded, inventory
from grader.core.errors import AcquireError


def _work(tmp_path: Path) -> Path:
    work = tmp_path / "work"
    work.mkdir()
    return work


@pytest.mark.parametrize(
    ("source", "url"),
    [
        ("https://example.invalid/a/b.git", "https://example.invalid/a/b.git"),
        ("ssh://git@example.invalid/a/b.git", "ssh://git@example.invalid/a/b.git"),
        ("git@example.invalid:a/b.git", "git@example.invalid:a/b.git"),
        ("file:///srv/repo", "file:///srv/repo"),
        ("owner/repo", "https://github.com/owner/repo.git"),
    ],
)
def test_accepted_sources(source: str, url: str) -> None:
    assert _remote_url(source) == url


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ("http://example.invalid/repo.git", "unsupported URL scheme"),
        ("ext::sh -c touch% /tmp/pwned", "no such file or folder"),
        ("--upload-pack=touch /tmp/pwned", "no such file or folder"),
        ("/definitely/missing", "no such file or folder"),
    ],
)
def test_refused_sources(source: str, problem: str) -> None:
    with pytest.raises(AcquireError, match=problem):
        _remote_url(source)


def test_local_repository_config_and_hooks_never_run(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "--quiet", "--initial-branch=main")
    (repo / "app.py").write_text("x = 1\n", encoding="utf-8")
    git(repo, "add", "-A")
    git(repo, "commit", "--quiet", "-m", "one")
    canary = tmp_path / "canary"
    for key, value in [
        ("core.fsmonitor", f"touch {canary}-fsmonitor"),
        ("core.sshCommand", f"touch {canary}-ssh"),
        ("uploadpack.packObjectsHook", f"touch {canary}-pack"),
        ("filter.evil.smudge", f"touch {canary}-smudge"),
    ]:
        git(repo, "config", key, value)
    (repo / ".gitattributes").write_text("*.py filter=evil\n", encoding="utf-8")
    for hook in ("post-checkout", "post-merge", "pre-upload", "reference-transaction"):
        path = repo / ".git" / "hooks" / hook
        path.write_text(f"#!/bin/sh\ntouch {canary}-{hook}\n", encoding="utf-8")
        path.chmod(0o755)
    acquired = acquire(str(repo), None, _work(tmp_path))
    assert (acquired.root / "app.py").read_text(encoding="utf-8") == "x = 1\n"
    assert not list(tmp_path.glob("canary*"))
    assert acquired.commit == git(repo, "rev-parse", "HEAD")


def _zip(path: Path, members: dict[str, bytes], link: str | None = None) -> Path:
    with zipfile.ZipFile(path, "w") as bundle:
        for name, data in members.items():
            bundle.writestr(name, data)
        if link:
            info = zipfile.ZipInfo(link)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            bundle.writestr(info, "/etc/passwd")
    return path


def _tar(path: Path, member: tarfile.TarInfo, data: bytes = b"") -> Path:
    with tarfile.open(path, "w:gz") as bundle:
        bundle.addfile(member, io.BytesIO(data) if data else None)
    return path


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda d: _zip(d / "a.zip", {"../escape.py": b"x"}), "escapes the target folder"),
        (lambda d: _zip(d / "a.zip", {"/abs.py": b"x"}), "escapes the target folder"),
        (lambda d: _zip(d / "a.zip", {"ok.py": b"x"}, link="link.py"), "it is a link"),
        (lambda d: _tar(d / "a.tar.gz", tarfile.TarInfo("../up.py")), "escapes the target folder"),
        (
            lambda d: _tar(d / "a.tar.gz", _special("dev", tarfile.CHRTYPE)),
            "device or special file",
        ),
        (lambda d: _tar(d / "a.tar.gz", _special("l", tarfile.SYMTYPE, "/etc")), "it is a link"),
        (
            lambda d: (d / "a.zip").write_bytes(b"not a zip") and d / "a.zip",
            "not a readable archive",
        ),
    ],
)
def test_hostile_archives_are_refused(tmp_path: Path, make: object, problem: str) -> None:
    archive = make(tmp_path)  # type: ignore[operator]
    with pytest.raises(AcquireError, match=problem):
        acquire(str(archive), None, _work(tmp_path))
    assert not (tmp_path / "escape.py").exists()


def _special(name: str, kind: bytes, target: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info


def test_archive_with_one_top_folder_is_unwrapped(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "a.zip", {"project/app.py": b"x = 1\n", "project/README.md": b"#"})
    acquired = acquire(str(archive), None, _work(tmp_path))
    assert sorted(p.name for p in acquired.root.iterdir()) == ["README.md", "app.py"]


def test_archive_whose_top_folder_holds_a_folder_of_the_same_name(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "a.zip", {"proj/proj/__init__.py": b"x = 1\n", "proj/setup.cfg": b""})
    acquired = acquire(str(archive), None, _work(tmp_path))
    assert sorted(p.name for p in acquired.root.iterdir()) == ["proj", "setup.cfg"]
    assert (acquired.root / "proj" / "__init__.py").is_file()


def test_corrupt_archive_data_is_a_clear_error(tmp_path: Path) -> None:
    archive = tmp_path / "a.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr("app.py", "x = 1\n" * 2000)
    data = bytearray(archive.read_bytes())
    data[60:90] = b"\xff" * 30  # inside the compressed stream
    archive.write_bytes(bytes(data))
    with pytest.raises(AcquireError, match="not a readable archive"):
        acquire(str(archive), None, _work(tmp_path))


def test_a_loop_of_symlinks_is_reported_not_followed(tmp_path: Path) -> None:
    root = tmp_path / "sub"
    root.mkdir()
    (root / "app.py").write_text("x = 1\n", encoding="utf-8")
    (root / "a").symlink_to("b")
    (root / "b").symlink_to("a")
    workspace = inventory(root)
    assert sorted(link for link, _ in workspace.outside_symlinks) == ["a", "b"]
    assert workspace.python_files == ("app.py",)


@pytest.mark.parametrize(
    ("pattern", "path", "is_dir", "left_out"),
    [
        ("vendor/", "vendor", True, True),
        ("vendor/", "src/pkg/vendor", True, True),  # a folder pattern matches at any depth
        ("vendor/", "src/pkg/vendor/lib.py", False, True),
        ("vendor/", "vendor.py", False, False),  # a trailing slash names folders only
        ("migrations", "app/migrations", True, True),
        ("migrations", "app/migrations/0001_initial.py", False, True),
        ("a/*.py", "a/b.py", False, True),
        ("a/*.py", "a/b/c.py", False, False),  # * never crosses a slash
        ("a/**/*.py", "a/b/c.py", False, True),
        ("src/legacy", "src/legacy/old.py", False, True),  # a slash anchors to the root
        ("src/legacy", "lib/src/legacy/old.py", False, False),
        ("*.ipynb", "notebooks/explore.ipynb", False, True),
        ("server.py", "server.py", False, True),
    ],
)
def test_exclude_patterns_read_as_gitignore_lines(
    pattern: str, path: str, is_dir: bool, left_out: bool
) -> None:
    assert excluded(path, (pattern,), is_dir=is_dir) is left_out


def test_exclude_leaves_out_a_nested_folder_named_by_a_folder_pattern(tmp_path: Path) -> None:
    (tmp_path / "src" / "pkg" / "vendor").mkdir(parents=True)
    (tmp_path / "src" / "pkg" / "vendor" / "lib.py").write_text("x = 1\n", encoding="utf-8")
    (tmp_path / "src" / "pkg" / "core.py").write_text("y = 2\n", encoding="utf-8")
    workspace = inventory(tmp_path, ("vendor/",))
    assert workspace.python_files == ("src/pkg/core.py",)
    assert "src/pkg/vendor" in workspace.excluded
