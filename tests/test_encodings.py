"""Python sources in a legacy encoding their coding line declares (PEP 263)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import run_grader

from grader.acquire.encodings import to_utf8
from grader.acquire.workspace import inventory

LATIN_1 = (
    b'# -*- coding: latin-1 -*-\n"""Gr\xfc\xdfe."""\n\n\n'
    b"def greet(name: str) -> str:\n"
    b'    """Say hello in German."""\n'
    b'    return "Gr\xfc\xdf " + name\n'
)
TEST = (
    b"from greet import greet\n\n\n"
    b'def test_greet():\n    assert greet("Anna") == "Gr\xc3\xbc\xc3\x9f Anna"\n'
)


def _submission(root: Path, greet: bytes) -> Path:
    (root / "tests").mkdir(parents=True)
    (root / "greet.py").write_bytes(greet)
    (root / "tests" / "test_greet.py").write_bytes(TEST)
    return root


@pytest.mark.parametrize(
    ("source", "rewritten"),
    [
        (LATIN_1, True),
        (LATIN_1.replace(b"latin-1", b"cp1252"), True),
        # a second-line declaration, after a shebang
        (b"#!/usr/bin/env python\n" + LATIN_1.replace(b"-*- ", b""), True),
        (LATIN_1.replace(b"latin-1", b"utf-8").replace(b"\xfc\xdf", b"\xc3\xbc"), False),
        # bytes the declared encoding cannot decode: left for the parser to report
        (LATIN_1.replace(b"latin-1", b"ascii"), False),
        (b'"""No declaration."""\n', False),
    ],
    ids=["latin-1", "cp1252", "second-line", "utf-8", "undecodable", "none"],
)
def test_only_legacy_encodings_are_rewritten_line_for_line(
    tmp_path: Path, source: bytes, rewritten: bool
) -> None:
    root = _submission(tmp_path, source)
    done = to_utf8(inventory(root))
    assert bool(done) is rewritten
    after = (root / "greet.py").read_bytes()
    if rewritten:
        text = after.decode("utf-8")
        assert "Grüß" in text and "coding" not in text
        assert text.count("\n") == source.count(b"\n")
    else:
        assert after == source


@pytest.mark.slow
@pytest.mark.sandbox
def test_a_latin_1_module_is_analysed_by_every_tool_and_its_tests_run(tmp_path: Path) -> None:
    root = _submission(tmp_path / "sub", LATIN_1)
    report: dict[str, Any] = run_grader(root, tmp_path / "out").report()
    findings = [f for c in report["criteria"] for f in c["findings"]]
    rules = {f["rule"] for f in findings}
    # ruff read it (no "not valid UTF-8" I/O error), radon measured it, the test passed
    assert "E902" not in rules and "UP009" not in rules, rules
    assert report["files"][0]["sloc"] == 2
    pytest_result = next(t for t in report["tools"] if t["name"] == "pytest")
    assert pytest_result["tests"]["passed"] == 1
    legacy = next(f for f in findings if f["rule"] == "legacy-encoding")
    assert legacy["path"] == "greet.py" and "iso-8859-1" in legacy["message"]
