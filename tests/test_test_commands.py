"""The author's test command, read from CI, the Makefile and the README: where it imports
from (test_commands)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import run_grader

from grader.acquire.workspace import inventory
from grader.environment import pytest_settings, test_commands

CODE = {"app/database.py": "X = 1\n", "src/pkg/__init__.py": "", "app/tests/test_db.py": ""}


def _ws(root: Path, files: dict[str, str]):  # type: ignore[no-untyped-def]
    for name, text in {**CODE, **files}.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return inventory(root)


@pytest.mark.parametrize(
    ("files", "folders"),
    [
        ({"README.md": "## Tests\n\n```bash\ncd app && pytest\n```\n"}, ["app"]),
        ({"README.md": "```\n$ cd app\n$ python -m pytest -q\n```\n"}, ["app"]),
        ({"README.md": "```sh\nPYTHONPATH=src pytest tests\n```\n"}, ["src"]),
        ({"README.md": "```sh\nexport PYTHONPATH=$PWD/src\npytest\n```\n"}, ["src"]),
        # a Python block, or a command that does not run the tests, says nothing
        ({"README.md": "```python\nimport os; os.chdir('app')  # pytest\n```\n"}, []),
        ({"README.md": "```sh\ncd app && flask run\n```\n"}, []),
        # outside the submission, or not a folder of code: ignored
        ({"README.md": "```sh\ncd ../elsewhere && pytest\nPYTHONPATH=/opt pytest\n```\n"}, []),
        (
            {"Makefile": "test:\n\tcd app && $(PYTHON) -m pytest\nrun:\n\tcd src && python x.py\n"},
            ["app"],
        ),
        (
            {
                ".github/workflows/ci.yml": (
                    "jobs:\n  test:\n    defaults:\n      run:\n        working-directory: app\n"
                    "    steps:\n      - run: pip install -r requirements.txt\n"
                    "      - run: python -m pytest\n"
                )
            },
            ["app"],
        ),
    ],
)
def test_where_the_test_command_imports_from(
    tmp_path: Path, files: dict[str, str], folders: list[str]
) -> None:
    ws = _ws(tmp_path / "s", files)
    assert test_commands.import_folders(ws, test_commands.read(ws)) == folders


def test_the_folders_join_pytests_import_paths_and_say_where_they_came_from(
    tmp_path: Path,
) -> None:
    ws = _ws(tmp_path / "s", {"README.md": "```bash\ncd app && pytest\n```\n"})
    settings = pytest_settings.read(ws)
    assert "app" in settings.pythonpath
    assert settings.commanded == ("app (README.md)",)


@pytest.mark.slow
@pytest.mark.sandbox
def test_a_suite_written_to_run_from_its_folder_runs(tmp_path: Path) -> None:
    # `cd app && pytest` in the README: the tests import `database` as the folder's own
    # module, which resolves only from app/.
    root = tmp_path / "sub"
    (root / "app" / "tests").mkdir(parents=True)
    (root / "README.md").write_text("# Shop\n\n## Tests\n\n```bash\ncd app && pytest\n```\n")
    (root / "app" / "database.py").write_text("def total(prices):\n    return sum(prices)\n")
    (root / "app" / "tests" / "test_database.py").write_text(
        "from database import total\n\n\ndef test_total():\n    assert total([1, 2]) == 3\n"
    )
    report = run_grader(root, tmp_path / "out").report()
    tool = next(t for t in report["tools"] if t["name"] == "pytest")
    assert tool["tests"]["passed"] == 1, tool["tests"]["failures"]
    assert any("test command runs them from: app (README.md)" in n for n in tool["notes"])
