"""Poetry's constraints, Pipfile's markers and direct references are declared as the
tool that owns each format means them: the exact requirement strings grader installs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from grader.acquire.workspace import inventory
from grader.environment import requirements
from grader.environment.requirements import Requirements


def _read(root: Path, files: dict[str, str]) -> Requirements:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    (root / "app.py").write_text("x = 1\n", encoding="utf-8")
    return requirements.read(inventory(root))


def _poetry(dependency: str, extra: str = "") -> dict[str, str]:
    return {
        "pyproject.toml": (
            '[tool.poetry]\nname = "calc"\n[tool.poetry.dependencies]\n'
            f'python = "^3.11"\n{dependency}\n{extra}'
        )
    }


@pytest.mark.parametrize(
    ("dependency", "expected"),
    [
        ('attrs = "^0.2.3"', ["attrs<0.3.0,>=0.2.3"]),
        ('attrs = "^1.2"', ["attrs<2.0,>=1.2"]),
        ('attrs = "^0.0.3"', ["attrs<0.0.4,>=0.0.3"]),
        ('attrs = "~1.2.3"', ["attrs<1.3.0,>=1.2.3"]),
        ('attrs = "~1.2"', ["attrs<1.3,>=1.2"]),
        ('attrs = "~=1.2"', ["attrs<2.0,>=1.2"]),
        ('attrs = ">=1.2 <2.0"', ["attrs<2.0,>=1.2"]),
        ('attrs = ">=1.2,<2.0"', ["attrs<2.0,>=1.2"]),
        ('attrs = "^1.2 || ^2.0"', ["attrs<3.0,>=1.2"]),
        ('attrs = "*"', ["attrs"]),
        ('attrs = "==1.2.3"', ["attrs==1.2.3"]),
        ('attrs = "1.2.3"', ["attrs==1.2.3"]),
        ('attrs = "1.2.*"', ["attrs==1.2.*"]),
        ('attrs = "!=1.5"', ["attrs!=1.5"]),
        ('requests = { version = "^2.31", extras = ["socks"] }', ["requests[socks]<3.0,>=2.31"]),
        (
            'attrs = { version = "^23.1", python = "<3.12" }',
            ['attrs<24.0,>=23.1; python_version < "3.12"'],
        ),
        (
            'attrs = { version = "^23.1", python = "^3.8" }',
            ['attrs<24.0,>=23.1; python_version >= "3.8" and python_version < "4.0"'],
        ),
        ('pywin32 = { version = "*", platform = "win32" }', ['pywin32; sys_platform == "win32"']),
        (
            'pywin32 = { version = "^306", markers = "sys_platform == \'win32\'" }',
            ['pywin32<307,>=306; sys_platform == "win32"'],
        ),
        (
            'attrs = [{ version = "^22.1", python = "<3.12" }, '
            '{ version = "^23.1", python = ">=3.12" }]',
            [
                'attrs<23.0,>=22.1; python_version < "3.12"',
                'attrs<24.0,>=23.1; python_version >= "3.12"',
            ],
        ),
        ('attrs = { version = "^23.1", optional = true }', []),
    ],
)
def test_poetry_constraints_are_read_by_poetrys_own_parser(
    tmp_path: Path, dependency: str, expected: list[str]
) -> None:
    found = _read(tmp_path, _poetry(dependency))
    assert list(found.items) == expected
    assert found.problems == ()


def test_an_optional_poetry_dependency_is_read_when_a_test_extra_names_it(tmp_path: Path) -> None:
    found = _read(
        tmp_path,
        _poetry(
            'hypothesis = { version = "^6.100", optional = true }\n'
            'sphinx = { version = "^7", optional = true }',
            '[tool.poetry.extras]\ntest = ["hypothesis"]\ndocs = ["sphinx"]\n',
        ),
    )
    assert found.items == ("hypothesis<7.0,>=6.100",)


@pytest.mark.parametrize(
    ("dependency", "kind"),
    [
        ('shapes = { git = "https://github.com/acme/shapes.git", tag = "v1" }', "git repository"),
        ('shapes = { git = "git@github.com:acme/shapes.git" }', "git repository"),
        ('shapes = { path = "../shapes", develop = true }', "path"),
        ('shapes = { url = "https://example.com/shapes-1.0.tar.gz" }', "URL"),
    ],
)
def test_a_poetry_git_path_or_url_dependency_never_becomes_the_index_package(
    tmp_path: Path, dependency: str, kind: str
) -> None:
    found = _read(tmp_path, _poetry(dependency))
    assert found.items == ()
    assert "shapes" in found.names
    assert found.problems == (
        f"pyproject.toml: shapes comes from a {kind}, not the package index: not installed "
        "(grader installs only from the index, and never an index package in its place)",
    )


def test_poetry_2_enriching_a_pep_621_dependency_with_git_never_installs_the_index_one(
    tmp_path: Path,
) -> None:
    found = _read(
        tmp_path,
        {
            "pyproject.toml": (
                '[project]\nname = "calc"\ndependencies = ["shapes", "attrs>=23"]\n'
                "[tool.poetry.dependencies]\n"
                'shapes = { git = "https://github.com/acme/shapes.git" }\n'
            )
        },
    )
    assert found.items == ("attrs>=23",)


def test_uv_sources_from_git_paths_or_the_workspace_are_not_index_packages(
    tmp_path: Path,
) -> None:
    found = _read(
        tmp_path,
        {
            "pyproject.toml": (
                '[project]\nname = "calc"\n'
                'dependencies = ["shapes", "lines", "attrs>=23", "torch"]\n'
                "[tool.uv.sources]\n"
                'shapes = { git = "https://github.com/acme/shapes" }\n'
                "lines = { workspace = true }\n"
                'torch = { index = "pytorch" }\n'
            )
        },
    )
    assert found.items == ("attrs>=23", "torch")
    assert {"shapes", "lines"} <= found.names


@pytest.mark.parametrize(
    ("pyproject", "expected"),
    [
        ('[project]\nrequires-python = "~=3.10"\n', "~=3.10"),
        ('[project]\nrequires-python = ">=3.10,<3.13"\n', ">=3.10,<3.13"),
        ('[project]\nrequires-python = ">=3.9, !=3.9.1"\n', ">=3.9, !=3.9.1"),
        ('[tool.poetry.dependencies]\npython = "^3.10"\n', ">=3.10,<4.0"),
        ('[tool.poetry.dependencies]\npython = "~3.11"\n', ">=3.11,<3.12"),
        ('[tool.poetry.dependencies]\npython = ">=3.9 <3.13"\n', ">=3.9,<3.13"),
        ('[tool.poetry.dependencies]\npython = "*"\n', None),
        (
            '[project]\nrequires-python = "~=3.10"\n[tool.poetry.dependencies]\npython = "^3.8"\n',
            "~=3.10",
        ),
    ],
)
def test_requires_python_pep_621_is_passed_through_and_poetrys_is_translated(
    tmp_path: Path, pyproject: str, expected: str | None
) -> None:
    assert _read(tmp_path, {"pyproject.toml": pyproject}).requires_python == expected


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        (
            'pywin32 = {version = "*", sys_platform = "== \'win32\'"}',
            ['pywin32; sys_platform == "win32"'],
        ),
        (
            'pywin32 = {version = ">=306", markers = "sys_platform == \'win32\'"}',
            ['pywin32>=306; sys_platform == "win32"'],
        ),
        (
            'uvloop = {version = "*", os_name = "!= \'nt\'", platform_machine = "== \'x86_64\'"}',
            ['uvloop; os_name != "nt" and platform_machine == "x86_64"'],
        ),
        (
            'tomli = {version = "==2.0.1", python_version = "< \'3.11\'"}',
            ['tomli==2.0.1; python_version < "3.11"'],
        ),
        (
            'requests = {version = "==2.31.0", extras = ["socks"], '
            "markers = \"python_version >= '3.8'\", sys_platform = \"!= 'win32'\"}",
            ['requests[socks]==2.31.0; python_version >= "3.8" and sys_platform != "win32"'],
        ),
        ('shapes = {git = "https://github.com/acme/shapes.git", ref = "main"}', []),
    ],
)
def test_pipfile_entries_keep_their_markers(
    tmp_path: Path, entry: str, expected: list[str]
) -> None:
    found = _read(tmp_path, {"Pipfile": f"[packages]\n{entry}\n"})
    assert list(found.items) == expected


def test_pipfile_lock_entries_keep_their_markers_and_extras(tmp_path: Path) -> None:
    lock = {
        "default": {
            "pywin32": {"version": "==306", "markers": "sys_platform == 'win32'"},
            "requests": {"version": "==2.31.0", "extras": ["socks"]},
            "shapes": {"git": "https://github.com/acme/shapes.git", "ref": "abc"},
        },
        "develop": {},
    }
    found = _read(
        tmp_path,
        {"Pipfile.lock": json.dumps(lock), "requirements-dev.txt": "shapes\n"},
    )
    assert found.items == ('pywin32==306; sys_platform == "win32"', "requests[socks]==2.31.0")


def test_a_poetry_lock_git_package_is_not_installed_from_the_index(tmp_path: Path) -> None:
    lock = (
        '[[package]]\nname = "shapes"\nversion = "1.0"\ngroups = ["main"]\n'
        '[package.source]\ntype = "git"\nurl = "https://github.com/acme/shapes.git"\n'
        '[[package]]\nname = "attrs"\nversion = "25.1.0"\ngroups = ["main"]\n'
    )
    found = _read(
        tmp_path,
        {"poetry.lock": lock, "pyproject.toml": _poetry('shapes = "^1.0"')["pyproject.toml"]},
    )
    assert found.items == ("attrs==25.1.0",)


def test_grader_keeps_its_own_packaging_when_poetry_core_is_imported() -> None:
    """poetry-core puts its vendored copy of packaging first on sys.path when imported."""
    probe = (
        "import grader.environment.poetry_declarations, packaging, packaging.version; "
        "print(packaging.__file__)"
    )
    found = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert "_vendor" not in found
