"""radon's block lengths, measured on a real run."""

from __future__ import annotations

from pathlib import Path

from grader.acquire.workspace import inventory
from grader.sandbox.bubblewrap import Limits, NotNeeded
from grader.tools.base import ToolContext
from grader.tools.radon import LONG_FUNCTION_LINES, Radon


def _lengths(root: Path, code: str) -> dict[str, float | None]:
    root.mkdir()
    (root / "app.py").write_text(code, encoding="utf-8")
    work = root.parent / f"{root.name}-work"
    work.mkdir()
    result = Radon().run(ToolContext(inventory(root), work, NotNeeded(), Limits()))
    return {m.name: m.value for m in result.metrics}


def test_a_long_docstring_does_not_make_a_function_long(tmp_path: Path) -> None:
    examples = "".join(f"    >>> first([{n}])\n    {n}\n" for n in range(LONG_FUNCTION_LINES))
    documented = (
        f'def first(items):\n    """The first item.\n\n{examples}    """\n    return items[0]\n'
    )
    metrics = _lengths(tmp_path / "doc", documented)
    assert metrics["design.long_function_share"] == 0
    assert metrics["design.mean_function_length"] == 2  # the def line and the return

    body = "".join(f"    x{n} = {n}\n" for n in range(LONG_FUNCTION_LINES))
    long = _lengths(tmp_path / "long", f"def first(items):\n{body}    return items[0]\n")
    assert long["design.long_function_share"] == 100
