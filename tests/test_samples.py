"""The whole pipeline with every real tool on the sample submissions."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from conftest import ROOT, SAMPLES, git, make_repo, run_grader, tool_report

from grader.acquire.workspace import inventory
from grader.tools.base import config_path
from grader.tools.coverage_data import coverage_options

pytestmark = [pytest.mark.slow, pytest.mark.sandbox]
SCHEMA = json.loads((ROOT / "grader" / "schema" / "report.schema.json").read_text(encoding="utf-8"))


def _criterion(report: dict[str, Any], criterion: str) -> float:
    score = next(c["score"] for c in report["criteria"] if c["id"] == criterion)
    assert score is not None
    return float(score)


@pytest.mark.parametrize("criterion", ["overall", "maintainability", "testability", "security"])
def test_exemplary_beats_average_beats_poor(
    graded: dict[str, dict[str, Any]], criterion: str
) -> None:
    def score(name: str) -> float:
        report = graded[name]
        return float(report["score"]) if criterion == "overall" else _criterion(report, criterion)

    assert score("exemplary") > score("average") > score("poor")


def test_exemplary_earns_an_a_and_poor_fails(graded: dict[str, dict[str, Any]]) -> None:
    assert graded["exemplary"]["grade"] == "A"
    assert graded["poor"]["grade"] == "F"


@pytest.mark.parametrize("name", ["exemplary", "average", "poor"])
def test_report_validates_against_schema_and_identifies_everything(
    graded: dict[str, dict[str, Any]], sample_repos: dict[str, Path], name: str
) -> None:
    report = graded[name]
    jsonschema.validate(report, SCHEMA)
    assert report["submission"]["commit"] == git(sample_repos[name], "rev-parse", "HEAD")
    assert len(report["rubric"]["sha256"]) == 64
    assert {t["name"] for t in report["tools"]} == {
        "ruff",
        "mypy",
        "pytest",
        "bandit",
        "radon",
        "facts",
        "deps",
        "design",
        "notebooks",
        "notebook-run",
    }
    assert all(t["version"] for t in report["tools"])
    assert report["submission"]["tests_isolated"] is True


def test_every_point_lost_is_explained(graded: dict[str, dict[str, Any]]) -> None:
    for criterion in graded["poor"]["criteria"]:
        if criterion["score"] < 100:
            assert "cost" in criterion["reason"] or "capped" in criterion["reason"]
    security = next(c for c in graded["poor"]["criteria"] if c["id"] == "security")
    assert any(
        f["rule"] == "B307" and f["path"].endswith(".py") and f["line"]
        for f in security["findings"]
    )


def test_poor_security_is_capped_by_its_worst_finding(graded: dict[str, dict[str, Any]]) -> None:
    security = next(c for c in graded["poor"]["criteria"] if c["id"] == "security")
    assert tool_report(graded["poor"], "bandit")["metrics"]["security.reject_on_sight"] >= 1
    assert security["score"] <= 40


def test_a_weak_hash_as_a_signature_digest_is_charged_but_not_capped(
    grade_cli: Callable[..., Any], tmp_path: Path
) -> None:
    """The corpus calibration: itsdangerous's sha1 HMAC digest is no reason to cap."""
    root = tmp_path / "signer"
    root.mkdir()
    (root / "signer.py").write_text(
        '"""Signs values."""\n\nimport hashlib\nimport hmac\n\n\n'
        "def sign(key: bytes, value: bytes) -> str:\n"
        '    """An HMAC of value, as a hex digest."""\n'
        "    digest = hmac.new(key, value, hashlib.sha1).hexdigest()\n"
        "    return digest + hashlib.sha1(value).hexdigest()\n",
        encoding="utf-8",
    )
    report = grade_cli(root).report()
    bandit = tool_report(report, "bandit")["metrics"]
    security = next(c for c in report["criteria"] if c["id"] == "security")
    weak_hash = [f for f in security["findings"] if f["rule"] == "B324"]
    assert weak_hash and all(f["severity"] == "low" for f in weak_hash)
    assert "fine as a checksum" in weak_hash[0]["message"]
    assert bandit["security.reject_on_sight"] == 0
    assert security["caps_applied"] == []
    assert security["score"] < 100  # charged all the same


def _checkout(repo: Path, dest: Path) -> Path:
    subprocess.run(
        ["git", "clone", "--quiet", repo.as_uri(), str(dest)], check=True, capture_output=True
    )
    shutil.rmtree(dest / ".git")
    return dest


def _by_hand(argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False, env=env)
    return result.stdout


@pytest.mark.parametrize("name", ["exemplary", "average", "poor"])
def test_tool_values_equal_running_the_tools_by_hand(
    graded: dict[str, dict[str, Any]], sample_repos: dict[str, Path], tmp_path: Path, name: str
) -> None:
    checkout = _checkout(sample_repos[name], tmp_path / "checkout")
    ws = inventory(checkout)
    py = sys.executable
    report = graded[name]

    ruff = json.loads(
        _by_hand(
            [
                py,
                "-m",
                "ruff",
                "check",
                "--config",
                str(config_path("ruff.toml")),
                "--output-format",
                "json",
                "--no-cache",
                *ws.python_files,
            ],
            checkout,
        )
    )
    assert tool_report(report, "ruff")["metrics"]["lint.issues"] == len(ruff)

    bandit = json.loads(
        _by_hand(
            [
                py,
                "-m",
                "bandit",
                "-c",
                str(config_path("bandit.yaml")),
                "-f",
                "json",
                "-q",
                "--ignore-nosec",
                *ws.source_files,
            ],
            checkout,
        )
    )
    # bandit's password findings the secrets scan charges, or that quote a word, a name or
    # a placeholder, are left out, and the report says how many.
    left_out = sum(
        int(note.split(" ", 1)[0])
        for note in tool_report(report, "bandit").get("notes", [])
        if "hard-coded password finding(s) left out" in note
    )
    passwords = [r for r in bandit["results"] if r["test_id"] in {"B105", "B106", "B107"}]
    assert left_out <= len(passwords)
    assert tool_report(report, "bandit")["metrics"]["security.issues"] + left_out == len(
        bandit["results"]
    )

    env = {"PATH": "/usr/bin:/bin", "MYPYPATH": str(checkout / "src")}
    mypy_out = _by_hand(
        [
            py,
            "-m",
            "mypy",
            "--config-file",
            str(config_path("mypy.ini")),
            "--cache-dir",
            str(tmp_path / "mypy-cache"),
            "--output",
            "json",
            *ws.python_files,
        ],
        checkout,
        env,
    )
    errors = [json.loads(line) for line in mypy_out.splitlines() if line.startswith("{")]
    # mypy's "need type annotation" inside a function with no annotation is left out
    # (annotation coverage charges the function), and the report says how many.
    unannotated = sum(
        int(note.split(" ", 1)[0])
        for note in tool_report(report, "mypy").get("notes", [])
        if "'need type annotation' error(s)" in note
    )
    asked = [e for e in errors if e["severity"] == "error" and e["code"] == "var-annotated"]
    assert unannotated <= len(asked)
    assert tool_report(report, "mypy")["metrics"]["types.errors"] + unannotated == len(
        [e for e in errors if e["severity"] == "error"]
    )

    if ws.test_files:
        env = {
            "PATH": "/usr/bin:/bin",
            "PYTHONPATH": f"{checkout / 'src'}:{checkout}",
            "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
            "COVERAGE_FILE": str(tmp_path / ".coverage"),
        }
        options = coverage_options(
            checkout, tmp_path / ".coverage", ws.test_files
        )  # nothing excluded
        _by_hand(
            [
                py,
                "-m",
                "coverage",
                "run",
                *options,
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                "-c",
                "/dev/null",
                f"--rootdir={checkout}",
                str(checkout),
            ],
            checkout,
            env,
        )
        _by_hand(
            [py, "-m", "coverage", "json", *options[:2], "-o", str(tmp_path / "cov.json")],
            checkout,
            env,
        )
        totals = json.loads((tmp_path / "cov.json").read_text(encoding="utf-8"))["totals"]
        line = round(100 * totals["covered_lines"] / totals["num_statements"], 2)
        assert tool_report(report, "pytest")["metrics"]["coverage.line"] == pytest.approx(
            line, abs=0.01
        )


def test_candidate_settings_do_not_change_the_score(
    graded: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    repo = make_repo(SAMPLES / "average", tmp_path / "gaming")
    (repo / "ruff.toml").write_text('[lint]\nignore = ["ALL"]\nexclude = ["*"]\n', encoding="utf-8")
    (repo / ".coveragerc").write_text(
        "[run]\nomit = *\n[report]\nfail_under = 0\n", encoding="utf-8"
    )
    (repo / "mypy.ini").write_text("[mypy]\nignore_errors = True\n", encoding="utf-8")
    (repo / "pytest.ini").write_text("[pytest]\naddopts = -k nothing_matches\n", encoding="utf-8")
    git(repo, "add", "-A")
    git(repo, "commit", "--quiet", "-m", "Tune the tools")
    run = run_grader(repo, tmp_path / "out")
    assert run.exit_code == 0, run.stderr
    gamed = run.report()
    assert gamed["score"] == graded["average"]["score"]
    assert [c["score"] for c in gamed["criteria"]] == [
        c["score"] for c in graded["average"]["criteria"]
    ]
    assert {"ruff.toml", ".coveragerc", "mypy.ini", "pytest.ini"} <= set(
        gamed["submission"]["candidate_configs"]
    )


def test_ref_and_folder_sources_grade_the_right_commit(
    graded: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    repo = make_repo(SAMPLES / "exemplary", tmp_path / "repo")
    first = git(repo, "rev-parse", "HEAD")
    git(repo, "tag", "submitted")
    shutil.rmtree(repo / "tests")
    git(repo, "add", "-A")
    git(repo, "commit", "--quiet", "-m", "Remove the tests")

    at_tag = run_grader(repo.as_uri(), tmp_path / "tag", "--ref", "submitted")
    assert at_tag.exit_code == 0, at_tag.stderr
    assert at_tag.report()["submission"]["commit"] == first
    assert at_tag.report()["score"] == graded["exemplary"]["score"]

    at_sha = run_grader(repo, tmp_path / "sha", "--ref", first[:10])
    assert at_sha.report()["submission"]["commit"] == first

    head = run_grader(repo, tmp_path / "head")
    assert head.report()["submission"]["commit"] == git(repo, "rev-parse", "HEAD")
    assert _criterion(head.report(), "testability") < _criterion(at_tag.report(), "testability")


def test_plain_folder_and_archive_grade_like_the_repository(
    graded: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    folder = run_grader(SAMPLES / "poor", tmp_path / "folder")
    assert folder.exit_code == 0, folder.stderr
    assert folder.report()["submission"]["commit"] is None
    assert folder.report()["score"] == graded["poor"]["score"]
    archive = shutil.make_archive(
        str(tmp_path / "poor"), "gztar", root_dir=SAMPLES, base_dir="poor"
    )
    packed = run_grader(archive, tmp_path / "archive")
    assert packed.exit_code == 0, packed.stderr
    assert packed.report()["score"] == graded["poor"]["score"]


def test_a_credential_never_reaches_any_report(graded_runs: dict[str, Any]) -> None:
    planted = ("sk-live-51HdF3k2J8sKx9QzP0aL7mN4", "hunter2")
    sources = "".join(p.read_text(encoding="utf-8") for p in (SAMPLES / "poor").glob("*.py"))
    assert all(value in sources for value in planted)
    out = graded_runs["poor"].out
    for name in ("report.html", "report.json", "report.md"):
        text = (out / name).read_text(encoding="utf-8")
        assert not any(value in text for value in planted), name
    assert "«redacted»" in (out / "report.html").read_text(encoding="utf-8")
