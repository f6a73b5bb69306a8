"""Declared requirements are read statically from every supported packaging file."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from grader import requirements
from grader.environment import COMPLETE, EnvironmentCache, EnvStatus
from grader.requirements import Requirements
from grader.workspace import inventory


def _read(root: Path, files: dict[str, str]) -> Requirements:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    (root / "app.py").write_text("x = 1\n", encoding="utf-8")
    return requirements.read(inventory(root))


UV_LOCK = """
version = 1
[[package]]
name = "attrs"
version = "25.1.0"
source = { registry = "https://pypi.org/simple" }
[[package]]
name = "shapes"
version = "0.1.0"
source = { editable = "." }
"""
POETRY_LOCK = '[[package]]\nname = "Requests"\nversion = "2.32.3"\n'
SETUP_PY = (
    "from setuptools import setup\n"
    "setup(name='x', install_requires=['click>=8', 'rich'],\n"
    "      extras_require={'test': ['pytest'], 'docs': ['sphinx']})\n"
)
SETUP_CFG = (
    "[options]\ninstall_requires =\n    click>=8\n    rich\n"
    "[options.extras_require]\ntest = pytest\n"
)
PIPFILE_LOCK = json.dumps(
    {"default": {"flask": {"version": "==3.0.0"}}, "develop": {"pytest": {"version": "==8.0.0"}}}
)
PYPROJECT = """
[project]
name = "x"
requires-python = ">=3.10"
dependencies = ["fastapi>=0.110", "pydantic==2.*"]
[project.optional-dependencies]
test = ["httpx"]
docs = ["sphinx"]
[dependency-groups]
dev = ["pytest>=8"]
"""


@pytest.mark.parametrize(
    ("files", "expected", "locked"),
    [
        ({"uv.lock": UV_LOCK, "requirements.txt": "flask\n"}, ["attrs==25.1.0"], True),
        ({"poetry.lock": POETRY_LOCK}, ["Requests==2.32.3"], True),
        (
            {"requirements.txt": "-r base.txt\npytest==8.0\n", "base.txt": "flask==3.0.0 # web\n"},
            ["flask==3.0.0", "pytest==8.0"],
            True,
        ),
        (
            {"pyproject.toml": PYPROJECT},
            ["fastapi>=0.110", "httpx", "pydantic==2.*", "pytest>=8"],
            False,
        ),
        ({"setup.py": SETUP_PY}, ["click>=8", "pytest", "rich"], False),
        ({"setup.cfg": SETUP_CFG}, ["click>=8", "pytest", "rich"], False),
        ({"Pipfile.lock": PIPFILE_LOCK}, ["flask==3.0.0", "pytest==8.0.0"], True),
        (
            {"Pipfile": '[packages]\nflask = "*"\n[dev-packages]\npytest = "==8.0"\n'},
            ["flask", "pytest==8.0"],
            False,
        ),
    ],
)
def test_sources_in_order_of_preference(
    tmp_path: Path, files: dict[str, str], expected: list[str], locked: bool
) -> None:
    found = _read(tmp_path, files)
    assert list(found.items) == expected
    assert found.locked is locked


def test_options_urls_and_garbage_never_reach_the_installer(tmp_path: Path) -> None:
    found = _read(
        tmp_path,
        {
            "requirements.txt": (
                "--index-url https://evil.invalid/simple\n"
                "-e git+https://evil.invalid/x.git#egg=x\n"
                "pkg @ https://evil.invalid/pkg.whl\n"
                "not a requirement !!\n"
                "requests==2.32.3\n"
            )
        },
    )
    assert found.items == ("requests==2.32.3",)
    assert len(found.problems) == 4


def test_requires_python_is_read(tmp_path: Path) -> None:
    assert _read(tmp_path, {"pyproject.toml": PYPROJECT}).requires_python == ">=3.10"


def test_unsupported_python_is_reported_without_building(tmp_path: Path) -> None:
    cache = EnvironmentCache(tmp_path / "cache")
    env = cache.prepare(Requirements(requires_python=">=4.0"), Path("/usr/bin/python3"))
    assert env.status is EnvStatus.UNSUPPORTED_PYTHON
    assert "requires Python >=4.0" in env.reason and "does not download" in env.reason
    assert not (tmp_path / "cache").exists()


def test_least_recently_used_environments_are_evicted(tmp_path: Path) -> None:
    envs = tmp_path / "cache" / "envs"
    for age, name in enumerate(["newest", "middle", "oldest"]):
        folder = envs / name
        folder.mkdir(parents=True)
        (folder / "blob").write_bytes(b"x" * 1000)
        (folder / COMPLETE).write_text("[]", encoding="utf-8")
        stamp = time.time() - 100 * age
        os.utime(folder / COMPLETE, (stamp, stamp))
    removed = EnvironmentCache(tmp_path / "cache", limit_bytes=2100).evict(keep=envs / "oldest")
    assert [p.name for p in removed] == ["middle"]
    assert sorted(p.name for p in envs.iterdir()) == ["newest", "oldest"]


@pytest.mark.parametrize(
    "files",
    [
        {"pyproject.toml": 'project = "x"\n'},
        {"pyproject.toml": "[project]\ndependencies = 5\n"},
        {"setup.cfg": "[options]\ninstall_requires = %(x)s\n"},
        {"uv.lock": "[package]\nname = 'x'\n"},
        {"setup.py": "setup(extras_require={'test': 5}, install_requires=[[1]])\n"},
        {"pyproject.toml": "[tool.poetry.dependencies]\nrequests = {version = 2}\n"},
        {"Pipfile": "packages = 3\n"},
    ],
)
def test_malformed_packaging_files_never_raise(tmp_path: Path, files: dict[str, str]) -> None:
    found = _read(tmp_path, files)
    assert all(isinstance(item, str) for item in found.items)
