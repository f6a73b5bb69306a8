"""Declared requirements are read statically from every supported packaging file."""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import time
import tomllib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from packaging.version import Version

from grader.acquire.workspace import inventory
from grader.environment import interpreters, lock_export, requirements
from grader.environment.cache import COMPLETE, IN_USE_GRACE_S, EnvironmentCache
from grader.environment.poetry_declarations import poetry_test_groups
from grader.environment.requirements import Requirements


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
        ({"uv.lock": UV_LOCK, "requirements.txt": "flask\n"}, ["attrs==25.1.0", "flask"], True),
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


def test_a_python_no_host_has_falls_back_to_graders_own_with_a_warning(tmp_path: Path) -> None:
    choice = interpreters.choose(">=3.99", tmp_path)
    assert choice.interpreter == interpreters.host()
    assert "asks for Python >=3.99" in choice.warning
    assert f"graded on {platform.python_version()}" in choice.warning


def test_an_installed_interpreter_that_satisfies_requires_python_is_chosen(
    tmp_path: Path,
) -> None:
    here = Version(platform.python_version()).release[:2]
    newer = [i for i in interpreters.installed(tmp_path) if Version(i.version).release[:2] > here]
    if not newer:
        pytest.skip("this host has no interpreter newer than grader's own")
    wanted = ".".join(map(str, Version(newer[0].version).release[:2]))
    choice = interpreters.choose(f">={wanted}", tmp_path)
    assert choice.warning == ""
    assert choice.interpreter.version.startswith(wanted)
    assert choice.interpreter.path.is_file()


@pytest.mark.skipif(os.geteuid() == 0, reason="root enters any folder")
def test_a_path_folder_this_user_cannot_enter_is_passed_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    locked = tmp_path / "locked"
    (locked / "bin").mkdir(parents=True)
    locked.chmod(0)
    monkeypatch.setenv("PATH", f"{locked / 'bin'}{os.pathsep}{os.environ['PATH']}")
    try:
        found = interpreters.installed(tmp_path / "cache")
    finally:
        locked.chmod(0o700)
    assert interpreters.host().version in {i.version for i in found}


def _environments(envs: Path, ages_s: dict[str, float]) -> None:
    for name, age in ages_s.items():
        folder = envs / name
        folder.mkdir(parents=True)
        (folder / "blob").write_bytes(b"x" * 1000)
        (folder / COMPLETE).write_text("{}", encoding="utf-8")
        stamp = time.time() - age
        os.utime(folder / COMPLETE, (stamp, stamp))


def test_least_recently_used_environments_are_evicted(tmp_path: Path) -> None:
    envs = tmp_path / "cache" / "envs"
    hours = {"newest": 2 * 3600.0, "middle": 3 * 3600.0, "oldest": 4 * 3600.0}
    _environments(envs, hours)
    removed = EnvironmentCache(tmp_path / "cache", limit_bytes=2100).evict(keep=envs / "oldest")
    assert [p.name for p in removed] == ["middle"]
    assert sorted(p.name for p in envs.iterdir()) == ["newest", "oldest"]


def test_a_relative_cache_folder_is_made_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert EnvironmentCache(Path("cache")).root == tmp_path / "cache"


def test_an_environment_loaded_within_the_grace_period_is_kept_beyond_the_limit(
    tmp_path: Path,
) -> None:
    """Another grader on the same cache may have loaded it and not started its tests."""
    envs = tmp_path / "cache" / "envs"
    _environments(envs, {"just-used": 60.0, "long-unused": IN_USE_GRACE_S + 60, "mine": 0.0})
    removed = EnvironmentCache(tmp_path / "cache", limit_bytes=0).evict(keep=envs / "mine")
    assert [p.name for p in removed] == ["long-unused"]
    assert sorted(p.name for p in envs.iterdir()) == ["just-used", "mine"]


def test_graders_sharing_a_cache_never_load_an_environment_while_it_is_evicted(
    tmp_path: Path,
) -> None:
    """One grader loads an old environment while others evict: it gets it whole, or is
    told to build it again, never a half-removed folder or an error."""
    root = tmp_path / "cache"
    python = interpreters.host()
    cache = EnvironmentCache(root, limit_bytes=0)
    key = cache.key(Requirements(items=("attrs==23.1.0",)), python)
    for round_ in range(40):
        _environments(root / "envs", {key: IN_USE_GRACE_S + 60, f"other-{round_}": 0.0})
        (root / "envs" / key / "bin").mkdir()
        (root / "envs" / key / "bin" / "python").write_text("", encoding="utf-8")
        with ThreadPoolExecutor(max_workers=3) as pool:
            evictions = [pool.submit(cache.evict, root / "envs" / "none") for _ in range(2)]
            loaded = pool.submit(cache.cached, key).result()
            for eviction in evictions:
                eviction.result()
        if loaded is not None:
            assert loaded.python is not None and loaded.python.is_file()
        else:
            assert not (root / "envs" / key).exists()
        shutil.rmtree(root / "envs")


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


def _sources(found: Requirements) -> dict[str, bool]:
    return {source.path: source.used for source in found.sources}


def test_auxiliary_requirement_files_are_left_out_unless_the_code_needs_them(
    tmp_path: Path,
) -> None:
    found = _read(
        tmp_path,
        {
            "requirements.txt": "attrs\n",
            "fuzzer/requirements.txt": "atheris==2.3.0\n",
            "benchmark/requirements.txt": "pyperf\n",
            "scripts/requirements.txt": "tabulate==0.9.0\n",
            "scripts/report.py": "import tabulate\n",
            "docs/requirements.txt": "sphinx\n",
            "app/api.py": "import pyperf\n",
        },
    )
    assert found.items == ("attrs", "pyperf")
    assert _sources(found) == {
        "requirements.txt": True,
        "benchmark/requirements.txt": True,  # app/api.py imports what only it declares
        "docs/requirements.txt": False,
        "fuzzer/requirements.txt": False,
        "scripts/requirements.txt": False,  # only its own folder imports tabulate
    }
    left = {s.path: s.detail for s in found.left_out}
    assert "auxiliary" in left["fuzzer/requirements.txt"]


def test_files_named_for_tests_or_installed_by_ci_tox_nox_or_make_are_used(
    tmp_path: Path,
) -> None:
    found = _read(
        tmp_path,
        {
            "requirements/base.txt": "attrs\n",
            "requirements/test.txt": "-r base.txt\nhypothesis\n",
            "requirements/docs.txt": "sphinx\n",
            "requirements/prod.txt": "gunicorn\n",
            "ci/deps/lint.txt": "ruff\n",
            "tools/extra-requirements.txt": "tabulate\n",
            ".github/workflows/test.yml": "steps:\n  - run: pip install -r ci/deps/lint.txt\n",
            "noxfile.py": 'session.install("-r", "tools/extra-requirements.txt")\n',
        },
    )
    assert found.items == ("attrs", "hypothesis", "ruff", "tabulate")
    details = {s.path: s.detail for s in found.sources}
    assert details["ci/deps/lint.txt"] == "installed by .github/workflows/test.yml"
    assert details["tools/extra-requirements.txt"] == "installed by noxfile.py"
    assert details["requirements/test.txt"] == "named for the tests"
    assert not _sources(found)["requirements/docs.txt"]
    assert not _sources(found)["requirements/prod.txt"]


PYPROJECT_GROUPS = """
[project]
name = "Shapes"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = ["attrs"]
[project.optional-dependencies]
test = ["shapes[plots]", "hypothesis"]
plots = ["matplotlib"]
docs = ["sphinx"]
[dependency-groups]
dev = ["ruff", {include-group = "testing"}]
testing = ["pytest-mock"]
release = ["twine"]
"""


def test_test_extras_and_included_groups_are_read_and_self_references_expanded(
    tmp_path: Path,
) -> None:
    found = _read(tmp_path, {"pyproject.toml": PYPROJECT_GROUPS})
    assert found.items == ("attrs", "hypothesis", "matplotlib", "pytest-mock", "ruff")


@pytest.mark.sandbox  # resolves from the package registry, as the sandboxed tests do
def test_a_uv_lock_is_exported_by_uv_for_the_test_groups_only(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text(PYPROJECT_GROUPS, encoding="utf-8")
    (project / "app.py").write_text("x = 1\n", encoding="utf-8")
    locked = subprocess.run(
        [str(Path(sys.executable).parent / "uv"), "lock", "--no-config", "--quiet"],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    assert locked.returncode == 0, locked.stderr
    found = requirements.read(inventory(project))
    names = found.names
    assert {"attrs", "hypothesis", "matplotlib", "pytest-mock", "ruff"} <= names
    assert "twine" not in names and "sphinx" not in names
    assert all("==" in item for item in found.items if "attrs" in item or "ruff" in item)
    assert _sources(found)["uv.lock"]
    uv_lock = next(s for s in found.sources if s.path == "uv.lock")
    assert uv_lock.detail.startswith("exported with uv")


POETRY_LOCK_GROUPS = """
[[package]]
name = "attrs"
version = "25.1.0"
groups = ["main"]
[[package]]
name = "hypothesis"
version = "6.100.0"
groups = ["test"]
[[package]]
name = "twine"
version = "6.0.0"
groups = ["release"]
[[package]]
name = "colorama"
version = "0.4.6"
groups = ["main"]
markers = "sys_platform == \\"win32\\""
"""


def test_a_poetry_lock_keeps_the_main_and_test_groups(tmp_path: Path) -> None:
    found = _read(tmp_path, {"poetry.lock": POETRY_LOCK_GROUPS})
    assert found.items == (
        "attrs==25.1.0",
        'colorama==0.4.6; sys_platform == "win32"',
        "hypothesis==6.100.0",
    )


@pytest.mark.parametrize(
    ("pyproject_text", "groups", "extras"),
    [
        # poetry's own groups: only those meant for testing, as poetry names them.
        (
            "[tool.poetry.group.test.dependencies]\npytest = '*'\n"
            "[tool.poetry.group.docs.dependencies]\nsphinx = '*'\n",
            ["test"],
            [],
        ),
        # poetry 1.0's dev-dependencies are its group "dev".
        ("[tool.poetry.dev-dependencies]\npytest = '*'\n", ["dev"], []),
        # PEP 735 groups and test extras, which poetry 2 reads too.
        (
            "[dependency-groups]\ntesting = ['pytest']\nlint = ['ruff']\n"
            "[tool.poetry.extras]\ntests = ['pytest']\n",
            ["testing"],
            ["tests"],
        ),
        ("[tool.poetry]\nname = 'x'\n", [], []),
    ],
)
def test_the_poetry_groups_meant_for_testing(
    pyproject_text: str, groups: list[str], extras: list[str]
) -> None:
    data = tomllib.loads(pyproject_text)
    assert poetry_test_groups(data) == (groups, extras)


def test_poetry_is_not_installed_offline(tmp_path: Path) -> None:
    found = lock_export._tool_environment(tmp_path, Path(sys.executable), offline=True)
    assert found == "poetry is not in grader's cache yet, and --offline forbids installing it"
    assert not (tmp_path / "tools").exists()
