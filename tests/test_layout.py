"""The house: packages by stage, imports that only go down, modules of one concern.

The import direction is read from the real import graph (import-linter's layers contract
in pyproject.toml, built by grimp), not from a list kept by hand in this file.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from conftest import ROOT
from importlinter import api as importlinter_api
from importlinter.application import use_cases

GRADER = ROOT / "grader"
MAX_MODULE_LINES = 450
MAX_TOP_LEVEL_MODULES = 6


def _contract_layers() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    layered = [c for c in contracts if c["type"] == "layers"]
    assert len(layered) == 1
    layers: list[str] = layered[0]["layers"]
    return layers


def test_imports_between_packages_only_go_down() -> None:
    # Runs the contract from pyproject.toml on the checkout's real imports; a module
    # importing a package above it (or a sibling marked independent) breaks it.
    kept = use_cases.lint_imports(
        config_filename=str(ROOT / "pyproject.toml"), cache_dir=None, no_logo=True
    )
    assert kept, "run `.venv/bin/lint-imports` to see the import that goes up"


def test_the_contract_names_every_package_and_top_level_module() -> None:
    named = {name.strip() for layer in _contract_layers() for name in layer.split("|")}
    packages = {p.name for p in GRADER.iterdir() if (p / "__init__.py").is_file()}
    modules = {p.stem for p in GRADER.glob("*.py")} - {"__init__", "__main__"}
    assert packages | modules == named


def test_the_contract_is_read_as_written() -> None:
    # Guards the test above against a contract that stopped being read (a renamed key).
    configuration = importlinter_api.read_configuration(str(ROOT / "pyproject.toml"))
    contracts = configuration["contracts_options"]
    assert [c["type"] for c in contracts] == ["layers"]


def test_grader_holds_few_modules_beside_its_packages() -> None:
    modules = sorted(p.name for p in GRADER.glob("*.py"))
    assert len(modules) <= MAX_TOP_LEVEL_MODULES, modules


@pytest.mark.parametrize(
    "path",
    sorted(GRADER.rglob("*.py")),
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_no_module_is_over_the_size_of_one_concern(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_MODULE_LINES, f"{path.relative_to(ROOT)} has {lines} lines"


@pytest.mark.parametrize(
    "package",
    sorted(p.parent for p in GRADER.glob("*/__init__.py")),
    ids=lambda p: p.name,
)
def test_every_package_says_what_it_owns_and_may_import(package: Path) -> None:
    docstring = ast.get_docstring(ast.parse((package / "__init__.py").read_text("utf-8")))
    assert docstring, f"{package.name}/__init__.py has no docstring"
    assert "May import" in docstring, f"{package.name}: say what it may import"


def test_importing_the_command_line_loads_no_stage() -> None:
    # `grader --version` and `--help` must stay fast: a command imports its stages when
    # it runs, never when the command line is imported.
    probe = (
        "import sys, grader.cli\n"
        "print('\\n'.join(m for m in sys.modules if m == 'grader' or m.startswith('grader.')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT
    )
    loaded = set(result.stdout.split())
    allowed = {
        "grader",
        "grader.cli",
        "grader.cli.arguments",
        "grader.cli.commands",
        "grader.core",
        "grader.core.errors",
    }
    assert loaded <= allowed, sorted(loaded - allowed)
