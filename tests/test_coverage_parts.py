"""The coverage report: every code file named, each at 0 % when no test ran it, and split
over processes with the same figures as one report, file by file."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from grader.acquire.workspace import inventory
from grader.tools.base import config_path
from grader.tools.coverage_data import (
    MIN_FILES_PER_PART,
    coverage_options,
    coverage_report,
    measured_files,
    report_parts,
    unmeasured_code,
)
from grader.tools.coverage_halves import ParsedCode

MODULE = """\
def classify(n):
    if n > {limit}:
        return "big"
    for _ in range(n):
        if n % 2:
            return "odd"
    return "small"
"""


def _run_under_coverage(scratch: Path, data: Path) -> None:
    """``run.py`` in ``scratch`` under grader's coverage settings, recorded to ``data``."""
    subprocess.run(
        [sys.executable, "-m", "coverage", "run", f"--rcfile={config_path('coveragerc')}",
         f"--data-file={data}", f"--source={scratch}", "run.py"],
        cwd=scratch, check=True,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("count", "parts", "expected"),
    [
        (MIN_FILES_PER_PART * 2, 1, 1),  # asked for one
        (MIN_FILES_PER_PART * 2 - 1, 2, 1),  # too few files to pay
        (MIN_FILES_PER_PART * 2, 2, 2),
        (MIN_FILES_PER_PART * 3, 8, 3),  # never fewer files per part
    ],
)
def test_report_parts(tmp_path: Path, count: int, parts: int, expected: int) -> None:
    files = (*(f"pkg/m{i}.py" for i in range(count - 1)), "pkg/a,b.py")  # commas are fine
    for relative in files:
        (tmp_path / relative).parent.mkdir(exist_ok=True)
        (tmp_path / relative).write_text("x = 1\n" * (1 + len(relative)), encoding="utf-8")
    groups = report_parts(tmp_path, files, parts)
    assert len(groups) == expected
    listed = [path for group in groups for path in group]
    assert sorted(listed) == sorted(str(tmp_path / f) for f in files)
    sizes = [sum(Path(p).stat().st_size for p in group) for group in groups]
    assert max(sizes) - min(sizes) <= max(Path(p).stat().st_size for p in listed)


def test_a_split_report_adds_up_to_the_whole(tmp_path: Path) -> None:
    scratch = tmp_path / "scratch"
    (scratch / "pkg").mkdir(parents=True)
    (scratch / "pkg" / "__init__.py").write_text("", encoding="utf-8")
    count = MIN_FILES_PER_PART * 2 + 3
    for i in range(count):
        (scratch / "pkg" / f"m{i}.py").write_text(MODULE.format(limit=i), encoding="utf-8")
    calls = "\n".join(f"from pkg import m{i}; m{i}.classify({i % 5})" for i in range(0, count, 2))
    (scratch / "run.py").write_text(calls + "\n", encoding="utf-8")
    data = tmp_path / ".coverage"
    _run_under_coverage(scratch, data)
    files = tuple(sorted(str(p.relative_to(scratch)) for p in scratch.rglob("*.py")))

    def report(parts: int) -> object:
        return coverage_report(
            data, scratch, tmp_path / f"report{parts}.json",
            memory_mb=2048, timeout_s=60, files=files, parts=parts,
        )  # fmt: skip

    whole, split = report(1), report(2)
    assert split == whole
    line, branch, per_file, note = whole  # type: ignore[misc]
    assert not note and 0 < line < 100 and 0 < branch < 100
    assert {f.path for f in per_file} == set(files)
    assert len(list(tmp_path.glob("report2-*.json"))) == 2  # it did split
    # and the shares are written back as one report, where mutation testing reads the
    # executed lines whichever way the figures came
    merged = json.loads((tmp_path / "report2.json").read_text(encoding="utf-8"))["files"]
    assert set(merged) == set(files) and all("executed_lines" in f for f in merged.values())


def test_code_in_a_folder_without_init_is_reported_when_nothing_runs_it(tmp_path: Path) -> None:
    # scripts/ has no __init__.py: coverage's default would leave it out, crediting 100 %.
    scratch = tmp_path / "scratch"
    (scratch / "scripts").mkdir(parents=True)
    (scratch / "scripts" / "parse_logs.py").write_text("def parse():\n    return 1\n")
    (scratch / "setup.py").write_text("print('configures the build')\n")
    (scratch / "manage.py").write_text("print('runs django')\n")
    (scratch / "shop" / "migrations").mkdir(parents=True)
    (scratch / "shop" / "migrations" / "0001_initial.py").write_text("operations = []\n")
    (scratch / "app.py").write_text("def run():\n    return 2\n\n\nrun()\n")
    data = tmp_path / ".coverage"
    ws = inventory(scratch)
    options = coverage_options(scratch, data, unmeasured_code(ws))
    subprocess.run(
        [sys.executable, "-m", "coverage", "run", *options, "app.py"], cwd=scratch, check=True
    )
    line, _, per_file, note = coverage_report(
        data, scratch, tmp_path / "report.json", memory_mb=2048, timeout_s=60,
        files=measured_files(ws),
    )  # fmt: skip
    assert not note
    covered = {f.path: f.line_coverage for f in per_file}
    # setup.py and manage.py configure tools; a migration is a tool's output
    assert covered == {"app.py": 100.0, "scripts/parse_logs.py": 0.0}
    assert line is not None and line < 100


BRANCHY = """\
def grade(score, *, strict=False):
    if score is None:  # pragma: no branch
        return None
    label = (
        "pass"
        if score >= 50
        else "fail"
    )
    while strict and score < 100:
        score += 10
        if score > 90:
            break
    with open(__file__, encoding="utf-8") as own:
        own.read(1)
    try:
        return label
    finally:
        score = 0


if __name__ == "__main__":
    grade(1)
"""


def test_the_report_parsed_while_the_tests_ran_has_the_same_figures(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pristine, scratch = tmp_path / "pristine", tmp_path / "scratch"
    for root in (pristine, scratch):
        (root / "pkg").mkdir(parents=True)
        (root / "pkg" / "__init__.py").write_text("", encoding="utf-8")
        for i in range(4):
            (root / "pkg" / f"m{i}.py").write_text(MODULE.format(limit=i), encoding="utf-8")
        (root / "pkg" / "branchy.py").write_text(BRANCHY, encoding="utf-8")
        (root / "pkg" / "broken.py").write_text("def (:\n", encoding="utf-8")
    (scratch / "run.py").write_text(
        "from pkg import m0, m2, branchy\nm0.classify(3); m2.classify(1)\n"
        "branchy.grade(60, strict=True); branchy.grade(None)\n",
        encoding="utf-8",
    )
    files = tuple(sorted(str(p.relative_to(scratch)) for p in (scratch / "pkg").rglob("*.py")))
    folder = tmp_path / "work"
    folder.mkdir()
    # Parsed from the pristine copies while the run goes on: what the tests leave in
    # scratch is never read.
    (scratch / "pkg" / "m1.py").write_text("x = 1\n", encoding="utf-8")
    parsed = ParsedCode(pristine, scratch, files, folder, memory_mb=2048, timeout_s=60)
    data = tmp_path / ".coverage"
    _run_under_coverage(scratch, data)
    (scratch / "pkg" / "m1.py").write_text(MODULE.format(limit=1), encoding="utf-8")

    def report(name: str, counted: dict[str, object] | None) -> object:
        return coverage_report(
            data, scratch, tmp_path / f"{name}.json", memory_mb=2048, timeout_s=60,
            files=files, counted=counted,
        )  # fmt: skip

    whole = report("whole", None)
    counted = parsed.counted(data, tmp_path / "halves.json")
    assert counted is not None
    halves = report("halves", counted)
    assert halves == whole
    line, branch, per_file, note = halves  # type: ignore[misc]
    assert not note and 0 < line < 100 and 0 < branch < 100
    assert "pkg/branchy.py" in {f.path for f in per_file}
    assert "pkg/broken.py" not in {f.path for f in per_file}  # unparsable, left out by both

    def executed(name: str) -> dict[str, list[int]]:  # what mutation testing reads
        files = json.loads((tmp_path / f"{name}.json").read_text(encoding="utf-8"))["files"]
        return {path: info["executed_lines"] for path, info in files.items()}

    assert executed("halves") == executed("whole")


def test_a_probe_that_never_had_its_turn_is_given_up_and_ends(tmp_path: Path) -> None:
    (tmp_path / "m0.py").write_text(MODULE.format(limit=0), encoding="utf-8")
    never = threading.Semaphore(0)

    class Turn:
        def __enter__(self) -> None:
            never.acquire()

        def __exit__(self, *exc: object) -> None:
            return None

    (tmp_path / "coverage-parsed").touch()  # a previous run's, in the same folder
    parsed = ParsedCode(
        tmp_path, tmp_path, ("m0.py",), tmp_path, memory_mb=2048, timeout_s=60, turn=Turn()
    )
    try:
        assert not (tmp_path / "coverage-parsed").exists()
        assert parsed.counted(tmp_path / ".coverage", tmp_path / "report.json") is None
    finally:
        never.release()  # the turn comes after all: the probe does not start
    assert parsed._probe.result(timeout=30) is None
    assert not (tmp_path / "coverage-parsed").exists()


def test_a_probe_closed_without_a_request_ends(tmp_path: Path) -> None:
    (tmp_path / "m0.py").write_text(MODULE.format(limit=0), encoding="utf-8")
    parsed = ParsedCode(tmp_path, tmp_path, ("m0.py",), tmp_path, memory_mb=2048, timeout_s=60)
    while parsed._probe.running() and not (tmp_path / "coverage-parsed").exists():
        time.sleep(0.01)
    parsed.close()
    result = parsed._probe.result(timeout=30)
    assert result is not None and result.exit_code == 0 and not result.timed_out
    assert not (tmp_path / "report.json").exists()


def test_a_failed_count_falls_back_to_coverage_json(tmp_path: Path) -> None:
    scratch = tmp_path / "scratch"
    (scratch / "pkg").mkdir(parents=True)
    (scratch / "pkg" / "m0.py").write_text(MODULE.format(limit=0), encoding="utf-8")
    (scratch / "run.py").write_text("from pkg import m0\nm0.classify(2)\n", encoding="utf-8")
    data = tmp_path / ".coverage"
    parsed = ParsedCode(scratch, scratch, ("pkg/m0.py",), tmp_path, memory_mb=2048, timeout_s=60)
    data.write_bytes(b"not a coverage data file")
    assert parsed.counted(data, tmp_path / "counted.json") is None
    _run_under_coverage(scratch, data)
    line, _, per_file, note = coverage_report(
        data, scratch, tmp_path / "report.json", memory_mb=2048, timeout_s=60,
        files=("pkg/m0.py",), counted=None,
    )  # fmt: skip
    assert not note and line is not None and 0 < line < 100
    assert [f.path for f in per_file] == ["pkg/m0.py"]
