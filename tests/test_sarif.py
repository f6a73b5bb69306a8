"""report.sarif: valid SARIF 2.1.0 (the OASIS schema), within GitHub code scanning's limits,
stable fingerprints, no credential, nothing from excluded files.

The schema is tests/fixtures/schemas/sarif-schema-2.1.0.json (see the README beside it).
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import shutil
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from conftest import SAMPLES

from grader.cli import main
from grader.core.models import (
    CriterionScore,
    Finding,
    Location,
    Report,
    RubricInfo,
    Severity,
    Submission,
    ToolResult,
    ToolStatus,
)
from grader.render import sarif
from grader.scoring.fingerprints import fingerprints, normalized
from grader.tools.bandit import redacted_message
from grader.tools.mypy import help_url

SCHEMA = json.loads(
    (Path(__file__).parent / "fixtures" / "schemas" / "sarif-schema-2.1.0.json").read_text(
        encoding="utf-8"
    )
)
POOR_SECRETS = ("sk-live-51HdF3k2J8sKx9QzP0aL7mN4", "hunter2")


def validate(log: dict[str, Any]) -> None:
    """Raise unless ``log`` is valid against the official SARIF 2.1.0 schema."""
    validator = jsonschema.Draft4Validator(
        SCHEMA, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER
    )
    validator.validate(log)


def _grade(source: Path, out: Path, *args: str) -> tuple[dict[str, Any], dict[str, Any], str]:
    code = main(["grade", str(source), "--out", str(out), "--format", "json,sarif", *args])
    assert code == 0
    text = (out / "report.sarif").read_text(encoding="utf-8")
    return json.loads((out / "report.json").read_text(encoding="utf-8")), json.loads(text), text


@pytest.fixture(scope="session")
def poor(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], dict[str, Any], str]:
    """The poor sample (no tests of its own, so no sandbox) graded once: JSON, SARIF, text."""
    return _grade(SAMPLES / "poor", tmp_path_factory.mktemp("sarif-poor"))


def _rule_of(run: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
    ref = result["rule"]
    component = run["tool"]["extensions"][ref["toolComponent"]["index"]]
    rule: dict[str, Any] = component["rules"][ref["index"]]
    return rule


def test_sarif_of_a_graded_submission_is_valid_and_complete(
    poor: tuple[dict[str, Any], dict[str, Any], str],
) -> None:
    report, log, _ = poor
    validate(log)
    assert log["version"] == "2.1.0" and len(log["runs"]) == 1
    run = log["runs"][0]
    assert run["tool"]["driver"]["name"] == "grader"
    assert [e["name"] for e in run["tool"]["extensions"]] == [t["name"] for t in report["tools"]]
    located = {
        (f["tool"], f["rule"], f["path"], f["line"], f["message"])
        for c in report["criteria"]
        for f in c["findings"]
        if f["path"] not in ("", ".")
    }
    results = run["results"]
    emitted = {
        (
            *r["ruleId"].split("/"),
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            r["locations"][0]["physicalLocation"].get("region", {}).get("startLine"),
            r["message"]["text"],
        )
        for r in results
    }
    assert len(emitted) == len(results)
    assert located <= emitted  # report.json lists 50 per criterion, SARIF all of them
    levels = {"high": "error", "medium": "warning", "low": "note", "info": "note"}
    for result in results:
        rule = _rule_of(run, result)
        assert rule["id"] == result["ruleId"] == result["rule"]["id"]
        assert rule["shortDescription"]["text"] and rule["fullDescription"]["text"]
        assert result["level"] == levels[result["properties"]["severity"]]
        location = result["locations"][0]["physicalLocation"]["artifactLocation"]
        assert location["uriBaseId"] == "%SRCROOT%"
        assert not location["uri"].startswith("/") and ".." not in location["uri"].split("/")
    fingerprints = [r["partialFingerprints"]["graderFingerprint/v1"] for r in results]
    assert len(set(fingerprints)) == len(fingerprints)
    documented: dict[str, set[str]] = {}
    for result in results:
        tool, rule_id = result["ruleId"].split("/")
        help_uri = _rule_of(run, result).get("helpUri", "")
        documented.setdefault(tool, set()).add(f"{rule_id} {help_uri}")
    assert all(" https://docs.astral.sh/ruff/rules/" in text for text in documented["ruff"])
    assert all(text.split()[0].lower() in text.split()[1] for text in documented["bandit"])
    assert all(f"#code-{text.split()[0]}" in text for text in documented["mypy"])
    # Most severe first: the order GitHub's 5,000-result cut must not reshuffle.
    ranks = [list(levels).index(r["properties"]["severity"]) for r in results]
    assert ranks == sorted(ranks)


def test_no_credential_reaches_the_sarif_or_json(
    poor: tuple[dict[str, Any], dict[str, Any], str],
) -> None:
    report, log, text = poor
    assert all(secret not in text for secret in POOR_SECRETS)
    assert all(secret not in json.dumps(report) for secret in POOR_SECRETS)
    credentials = [r for r in log["runs"][0]["results"] if r["ruleId"] == "facts/hardcoded-secret"]
    assert len(credentials) == 2
    assert "snippet" not in text


@pytest.mark.slow
def test_fingerprints_survive_moved_lines_and_excluded_files_stay_out(
    poor: tuple[dict[str, Any], dict[str, Any], str], tmp_path: Path
) -> None:
    moved = tmp_path / "poor"
    shutil.copytree(SAMPLES / "poor", moved)
    utils = moved / "utils.py"
    utils.write_text("# moved down\n\n\n" + utils.read_text(encoding="utf-8"), encoding="utf-8")
    _, log, _ = _grade(moved, tmp_path / "out", "--exclude", "server.py")

    def by_finding(run_log: dict[str, Any], shift: int) -> dict[tuple[Any, ...], str]:
        found = {}
        for r in run_log["runs"][0]["results"]:
            where = r["locations"][0]["physicalLocation"]
            uri = where["artifactLocation"]["uri"]
            line = where.get("region", {}).get("startLine")
            if line and uri == "utils.py":
                line += shift
            key = (r["ruleId"], uri, line, r["message"]["text"])
            found[key] = r["partialFingerprints"]["graderFingerprint/v1"]
        return found

    before, after = by_finding(poor[1], 3), by_finding(log, 0)
    assert not [key for key in after if key[1] == "server.py"]
    same = before.keys() & after.keys()
    assert len([key for key in same if key[1] == "utils.py"]) > 20
    assert {key: before[key] for key in same} == {key: after[key] for key in same}


# Hand-built reports for the limits: no tools run.


def _finding(i: int, severity: Severity, path: str = "app.py") -> Finding:
    return Finding(
        "ruff", f"E{i % 7}", f"problem {i}", severity, Location(path, i + 1), fingerprint=f"f{i}"
    )


def _report(findings: list[Finding]) -> Report:
    criterion = CriterionScore("maintainability", "Maintainability", 1, 50.0, "r", "why", (), ())
    return Report(
        grader_version="0.1.0",
        submission=Submission(source="s", commit="a" * 40, ref=None, root_label="s"),
        rubric=RubricInfo("default", "Default", "hiring team", "b" * 64),
        score=50.0,
        grade="D",
        score_reason="r",
        criteria=(dataclasses.replace(criterion, findings=tuple(findings)),),
        tools=(ToolResult("ruff", "0.17.6", ToolStatus.OK),),
        generated_at="2026-11-27T00:00:00+00:00",
        tests_isolated=True,
    )


def _many(count: int) -> list[Finding]:
    severities = list(Severity)
    return [_finding(i, severities[i % len(severities)]) for i in range(count)]


def test_results_over_the_limit_are_cut_most_severe_first_and_said() -> None:
    findings = _many(40)
    limits = sarif.Limits(results_per_run=10)
    text = sarif.render_within(_report(findings), limits)
    assert sarif.render_within(_report(findings[::-1]), limits) == text  # deterministic
    log = json.loads(text)
    validate(log)
    run = log["runs"][0]
    assert [r["level"] for r in run["results"]] == ["error"] * 10  # 10 of the 10 high ones
    assert run["properties"]["omittedResults"] == 30
    notes = run["invocations"][0]["toolExecutionNotifications"]
    assert "30 findings left out" in notes[0]["message"]["text"]
    referenced = {r["ruleId"] for r in run["results"]}
    assert {rule["id"] for rule in run["tool"]["extensions"][0]["rules"]} == referenced


def test_the_compressed_size_limit_is_enforced() -> None:
    findings = _many(400)
    whole = sarif.render_within(_report(findings), sarif.Limits())
    budget = len(gzip.compress(whole.encode("utf-8"))) // 3
    cut = sarif.render_within(_report(findings), sarif.Limits(gzip_bytes=budget))
    assert len(gzip.compress(cut.encode("utf-8"))) <= budget
    run = json.loads(cut)["runs"][0]
    assert 0 < len(run["results"]) < 400
    assert run["properties"]["omittedResults"] == 400 - len(run["results"])


def test_paths_become_relative_uris_or_are_left_out() -> None:
    assert sarif.artifact_uri("pkg/my file.py") == "pkg/my%20file.py"
    assert sarif.artifact_uri("caf\udcc3.py") == "caf%C3.py"  # undecodable bytes kept as bytes
    for bad in ("", ".", "/etc/passwd", "../outside.py", "a/../../b.py"):
        assert sarif.artifact_uri(bad) is None
    log = json.loads(
        sarif.render(_report([_finding(1, Severity.LOW, "."), _finding(2, Severity.LOW)]))
    )
    validate(log)
    run = log["runs"][0]
    assert len(run["results"]) == 1
    assert "as a whole" in run["invocations"][0]["toolExecutionNotifications"][0]["message"]["text"]


def test_fingerprints_ignore_line_numbers_and_string_contents(tmp_path: Path) -> None:
    assert normalized('  KEY =   "sk-live-abc"  ') == 'KEY = ""'
    assert normalized("x = '''first line of a secret") == "x = ''''"
    (tmp_path / "a.py").write_text('print("a")\nprint("b")\nx = 1\n', encoding="utf-8")
    first = Finding("facts", "print-call", "m", Severity.LOW, Location("a.py", 1))
    second = Finding("facts", "print-call", "m", Severity.LOW, Location("a.py", 2))
    prints = fingerprints(tmp_path, [second, first])
    (tmp_path / "a.py").write_text('\n\nprint("a")\nprint("b")\nx = 1\n', encoding="utf-8")
    moved = fingerprints(
        tmp_path,
        [
            Finding("facts", "print-call", "m", Severity.LOW, Location("a.py", 3)),
            Finding("facts", "print-call", "m", Severity.LOW, Location("a.py", 4)),
        ],
    )
    assert sorted(prints.values()) == sorted(moved.values())
    assert prints[first].endswith(":1") and prints[second].endswith(":2")


def test_bandit_password_messages_drop_the_value() -> None:
    item = {"test_id": "B105", "issue_text": "Possible hardcoded password: 'hunter2'"}
    assert redacted_message(item) == "Possible hardcoded password: (value redacted)"
    assert redacted_message({"test_id": "B602", "issue_text": "shell=True"}) == "shell=True"


def test_mypy_codes_link_to_their_documented_page() -> None:
    assert help_url("arg-type") == (
        "https://mypy.readthedocs.io/en/stable/error_code_list.html#code-arg-type"
    )
    assert help_url("unused-ignore").endswith("error_code_list2.html#code-unused-ignore")
    assert help_url("not-a-code") is None
