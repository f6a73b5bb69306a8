"""A submission whose declarations were saved by a Windows editor, graded from the
command line: what its requirements file declares is what its tests run with."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import run_grader, tool_report, write_files

pytestmark = [pytest.mark.slow, pytest.mark.sandbox]

# An older tabulate than the index's newest, so the test below tells the declared pin from
# grader's guess for an undeclared import (which would install the newest).
REQUIREMENTS = "# what the report needs\r\ntabulate==0.8.10\t# pinned: the table layout\r\n"
CODE = {
    "report.py": (
        "from tabulate import tabulate\n\n\n"
        "def table(rows: list[list[str]]) -> str:\n"
        '    return tabulate(rows, tablefmt="plain")\n'
    ),
    "tests/test_report.py": (
        "import tabulate\n\nfrom report import table\n\n\n"
        "def test_the_declared_tabulate_lays_out_the_rows() -> None:\n"
        '    assert tabulate.__version__ == "0.8.10"\n'
        '    assert table([["a", "b"]]) == "a  b"\n'
    ),
}


def test_a_utf16_requirements_file_is_installed_and_the_tests_run(tmp_path: Path) -> None:
    root = tmp_path / "submission"
    write_files(root, CODE)
    # Python's "utf-16" codec writes a byte-order mark, as Windows editors do.
    (root / "requirements.txt").write_bytes(REQUIREMENTS.encode("utf-16"))

    run = run_grader(root, tmp_path / "out")

    assert run.exit_code == 0, run.stderr
    report = run.report()
    tests = tool_report(report, "pytest")
    assert tests["status"] == "ok", tests["reason"]
    assert tests["tests"]["passed"] == 1, tests
    assert not any("grader added tabulate" in note for note in tests["notes"]), tests["notes"]
    deps = tool_report(report, "deps")
    assert deps["metrics"]["packaging.undeclared_imports"] == 0, deps
