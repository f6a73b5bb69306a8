"""When the tests need the project installed: they read its metadata or run its script."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.acquire.workspace import inventory
from grader.environment.project_install import reason

PYPROJECT = (
    '[project]\nname = "docqa"\nversion = "1"\n[project.scripts]\ndocqa = "docqa.cli:main"\n'
    '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n'
)


@pytest.mark.parametrize(
    ("test", "why"),
    [
        ("subprocess.run(['docqa', 'ask'])", "runs its console script 'docqa'"),
        ("subprocess.check_output(('docqa',))", "runs its console script 'docqa'"),
        ("os.system('docqa --help')", "runs its console script 'docqa'"),
        ("shutil.which('docqa')", "runs its console script 'docqa'"),
        ("importlib.metadata.version('docqa')", "reads the installed distribution's metadata"),
        # the name as a logger, a label or a keyword is not running the script
        ("logging.getLogger('docqa')", ""),
        ("configure(logger='docqa')", ""),
        ("assert name == 'docqa'", ""),
    ],
)
def test_the_project_is_installed_only_when_the_tests_need_it(
    tmp_path: Path, test: str, why: str
) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    (tmp_path / "docqa.py").write_text("X = 1\n", encoding="utf-8")
    body = f"import logging, os, shutil, subprocess\n\n\ndef test_it():\n    {test}\n"
    (tmp_path / "tests" / "test_it.py").write_text(body, encoding="utf-8")
    said = reason(inventory(tmp_path))
    assert said == (f"tests/test_it.py {why}" if why else "")
