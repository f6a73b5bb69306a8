"""Files a tool wrote are left out of every tool, and the report names them."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.acquire.generated import LONGEST_WRITTEN_LINE
from grader.acquire.workspace import inventory, screen

BLOB = 'DATA = b"' + "x" * (LONGEST_WRITTEN_LINE + 1) + '"\n'


@pytest.mark.parametrize(
    ("name", "text", "left_out"),
    [
        ("get-pip.py", "import sys\n", "a bootstrap script its project publishes"),
        ("tools/ez_setup.py", "import sys\n", "a bootstrap script its project publishes"),
        ("app/data_blob.py", BLOB, "a line of 20,0"),
        # long, but written by a person: analysed
        ("app/long.py", "X = 1\n" * 5000, ""),
        ("app/wide.py", "X = '" + "y" * 500 + "'\n", ""),
    ],
    ids=["get-pip", "ez_setup", "data-blob", "long-file", "wide-line"],
)
def test_generated_files_are_left_out_with_the_reason(
    tmp_path: Path, name: str, text: str, left_out: str
) -> None:
    for relative, content in {"app/core.py": "def f():\n    return 1\n", name: text}.items():
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text(content, encoding="utf-8")
    ws = screen(inventory(tmp_path))
    if left_out:
        ((path, why),) = ws.generated
        assert path == name and why.startswith(left_out)
        assert name in ws.excluded and name not in ws.python_files
        assert name not in ws.source_files and not ws.unparsable
    else:
        assert ws.generated == () and name in ws.source_files
    assert "app/core.py" in ws.source_files
