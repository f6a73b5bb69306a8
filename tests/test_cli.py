"""Bad input gets one line on stderr, exit code 2, and no report files."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import ROOT, SAMPLES, Run, git, make_repo, run_grader

from grader.cli import main


def _assert_usage_error(run: Run, fragment: str) -> None:
    assert run.exit_code == 2, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith("grader: error: ")
    assert fragment in lines[0]
    assert "Traceback" not in run.stderr
    assert not run.out.exists(), f"the error left {run.out} behind"


@pytest.fixture
def plain_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "plain"
    folder.mkdir()
    (folder / "README.md").write_text("# nothing to grade\n", encoding="utf-8")
    return folder


def test_missing_path(grade_cli: Callable[..., Run], tmp_path: Path) -> None:
    _assert_usage_error(grade_cli(tmp_path / "missing"), "no such file or folder")


def test_not_a_git_repository_at_url(grade_cli: Callable[..., Run], plain_folder: Path) -> None:
    _assert_usage_error(grade_cli(plain_folder.as_uri()), "cannot clone")


def test_unsupported_url_scheme(grade_cli: Callable[..., Run]) -> None:
    _assert_usage_error(grade_cli("ftp://example.invalid/repo.git"), "unsupported URL scheme")


def test_unknown_ref(grade_cli: Callable[..., Run], tmp_path: Path) -> None:
    repo = make_repo(SAMPLES / "poor", tmp_path / "repo")
    _assert_usage_error(
        grade_cli(repo.as_uri(), "--ref", "no-such-branch"), "unknown ref 'no-such-branch'"
    )


def test_empty_repository(grade_cli: Callable[..., Run], tmp_path: Path) -> None:
    repo = tmp_path / "empty"
    repo.mkdir()
    git(repo, "init", "--quiet")
    _assert_usage_error(grade_cli(repo.as_uri()), "empty repository")


def test_no_python_files(grade_cli: Callable[..., Run], plain_folder: Path) -> None:
    _assert_usage_error(grade_cli(plain_folder), "no Python files")


def test_bad_rubric(grade_cli: Callable[..., Run], tmp_path: Path) -> None:
    rubric = tmp_path / "bad.toml"
    rubric.write_text("name = [", encoding="utf-8")
    _assert_usage_error(grade_cli(SAMPLES / "poor", "--rubric", str(rubric)), "not valid TOML")


def test_output_path_is_a_file(grade_cli: Callable[..., Run], tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    _assert_usage_error(grade_cli(SAMPLES / "poor", "--out", str(blocker)), "is not a folder")


def test_output_folder_cannot_be_created(grade_cli: Callable[..., Run], tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    _assert_usage_error(
        grade_cli(SAMPLES / "poor", "--out", str(blocker / "sub")), "cannot create output folder"
    )


# A normal user (GitHub's runner, a developer) meets paths it may not read; root never does.
NOT_ROOT = pytest.mark.skipif(os.geteuid() == 0, reason="root reads and enters any folder")


@pytest.fixture
def locked(tmp_path: Path) -> Iterator[Path]:
    """A folder this user may not enter (mode 0), opened again for the clean-up."""
    folder = tmp_path / "locked"
    folder.mkdir()
    (folder / "app.py").write_text("x = 1\n", encoding="utf-8")
    folder.chmod(0)
    yield folder
    folder.chmod(0o700)


@NOT_ROOT
@pytest.mark.parametrize("inside", [False, True], ids=["the-folder", "a-path-inside"])
def test_a_submission_this_user_cannot_enter(
    grade_cli: Callable[..., Run], locked: Path, inside: bool
) -> None:
    source = locked / "app.py" if inside else locked
    _assert_usage_error(grade_cli(source), "permission denied")


@NOT_ROOT
def test_a_submission_holding_a_file_this_user_cannot_read(
    grade_cli: Callable[..., Run], plain_folder: Path
) -> None:
    (plain_folder / "app.py").write_text("x = 1\n", encoding="utf-8")
    secret = plain_folder / ".env"
    secret.write_text("TOKEN=1\n", encoding="utf-8")
    secret.chmod(0)
    _assert_usage_error(grade_cli(plain_folder), str(secret))


@NOT_ROOT
def test_an_output_folder_inside_a_folder_this_user_cannot_enter(
    grade_cli: Callable[..., Run], locked: Path
) -> None:
    _assert_usage_error(
        grade_cli(SAMPLES / "poor", "--out", str(locked / "out")), "cannot create output folder"
    )


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--format", "pdf"], "unknown format"),
        (["--fail-under", "101"], "not between 0 and 100"),
        (["--fail-under", "abc"], "is not a number"),
        (["--test-timeout", "0"], "must be above 0"),
        (["--disk-mb", "0"], "must be above 0"),
        (["--no-such-flag"], "unrecognized arguments"),
    ],
)
def test_bad_arguments(grade_cli: Callable[..., Run], args: list[str], fragment: str) -> None:
    _assert_usage_error(grade_cli(SAMPLES / "poor", *args), fragment)


def test_archive_with_ref_is_refused(grade_cli: Callable[..., Run], tmp_path: Path) -> None:
    archive = tmp_path / "sub.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("app.py", "x = 1\n")
    _assert_usage_error(grade_cli(archive, "--ref", "main"), "--ref applies to git sources")


@pytest.mark.slow
def test_fail_under_exits_1_after_writing_the_report(tmp_path: Path) -> None:
    run = run_grader(SAMPLES / "poor", tmp_path / "out", "--fail-under", "90")
    assert run.exit_code == 1, run.stderr
    assert run.report()["score"] < 90
    assert (run.out / "report.html").is_file()
    assert run.stdout.strip() == str(run.out / "report.html")


def test_grades_a_submission_without_tests_in_process(grade_cli: Callable[..., Run]) -> None:
    run = grade_cli(SAMPLES / "poor", "--format", "json,md")
    assert run.exit_code == 0, run.stderr
    report = run.report()
    assert report["grade"] == "F"
    assert sorted(p.name for p in run.out.iterdir()) == ["report.json", "report.md"]
    assert run.stdout.strip() == str(run.out / "report.json")


def test_excluded_paths_are_not_analysed(grade_cli: Callable[..., Run]) -> None:
    run = grade_cli(SAMPLES / "poor", "--exclude", "server.py", "--format", "json")
    report = run.report()
    paths = {f["path"] for c in report["criteria"] for f in c["findings"]}
    assert "server.py" not in paths and "main.py" in paths
    assert any("excluded from grading: server.py" in w for w in report["submission"]["warnings"])


def test_unreachable_url(grade_cli: Callable[..., Run]) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    _assert_usage_error(grade_cli(f"https://127.0.0.1:{port}/repo.git"), "cannot clone")


@pytest.mark.slow
@pytest.mark.sandbox
@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_or_sigterm_leaves_no_report_no_temporary_folder_and_no_process(
    tmp_path: Path, stop: signal.Signals
) -> None:
    # A temporary folder of its own, so other graders running on this host do not count.
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    out = tmp_path / "out"
    child = subprocess.Popen(
        # --no-cache: the sample may have been graded already this session.
        [
            *[sys.executable, "-m", "grader", "grade", str(SAMPLES / "exemplary")],
            *["--out", str(out), "--no-cache"],
        ],
        cwd=ROOT,
        env={**os.environ, "TMPDIR": str(scratch)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while not list(scratch.glob("grader-*")):
        assert time.monotonic() < deadline and child.poll() is None, "grading never started"
        time.sleep(0.05)
    time.sleep(0.5)
    child.send_signal(stop)
    stdout, stderr = child.communicate(timeout=120)
    assert child.returncode == 2, stderr
    assert stderr.strip().splitlines() == ["grader: error: interrupted; no report was written"]
    assert stdout == ""
    assert not list(out.glob("report.*"))
    assert list(scratch.iterdir()) == []
    # no tool grader started outlives it (each runs on files under its temporary folder)
    left = subprocess.run(["pgrep", "-f", str(scratch)], capture_output=True, check=False)
    assert left.returncode == 1, left.stdout


@pytest.mark.slow
@pytest.mark.sandbox  # installs the sample's test environment from the package registry
def test_without_bubblewrap_candidate_code_runs_only_when_the_user_accepts_it(
    tmp_path: Path,
) -> None:
    env = {**os.environ, "GRADER_BWRAP": str(tmp_path / "no-bwrap")}

    def grade(*args: str) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-m", "grader", "grade", str(SAMPLES / "average"), *args]
        return subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, check=False)

    refused = grade("--out", str(tmp_path / "refused"))
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines() == [
        "grader: error: bubblewrap (bwrap) is not installed; refusing to run candidate code "
        "without isolation (install bubblewrap, or pass --allow-unsandboxed to accept the risk)"
    ]
    accepted = grade("--out", str(tmp_path / "accepted"), "--allow-unsandboxed")
    assert accepted.returncode == 0, accepted.stderr
    report = json.loads((tmp_path / "accepted" / "report.json").read_text(encoding="utf-8"))
    assert report["submission"]["tests_isolated"] is False
    assert (
        report["submission"]["warnings"][0] == "tests ran WITHOUT isolation (--allow-unsandboxed)"
    )
    tests = next(t for t in report["tools"] if t["name"] == "pytest")
    assert tests["tests"]["passed"] == 12
    html = (tmp_path / "accepted" / "report.html").read_text(encoding="utf-8")
    assert "tests ran WITHOUT isolation" in html


def test_a_submission_of_tests_only_is_refused(
    grade_cli: Callable[..., Run], tmp_path: Path
) -> None:
    root = tmp_path / "only-tests"
    (root / "tests").mkdir(parents=True)
    (root / "tests" / "test_a.py").write_text("def test_a():\n    assert True\n", encoding="utf-8")
    _assert_usage_error(grade_cli(root), "no Python code besides tests")


def test_an_archive_that_is_not_one_leaves_no_output_folder(
    grade_cli: Callable[..., Run], tmp_path: Path
) -> None:
    fake = tmp_path / "submission.zip"
    fake.write_text("not a zip archive", encoding="utf-8")
    run = grade_cli(fake)
    assert run.exit_code == 2, run.stderr
    assert not run.out.exists()


def test_an_error_keeps_an_output_folder_that_was_there_before(
    grade_cli: Callable[..., Run], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "earlier.txt").write_text("kept", encoding="utf-8")
    run = grade_cli(tmp_path / "missing")
    assert run.exit_code == 2
    assert (out / "earlier.txt").read_text(encoding="utf-8") == "kept"


def test_an_error_removes_only_the_folders_this_run_made(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "new" / "deeper" / "out"
    code = main(["grade", str(tmp_path / "missing"), "--out", str(out)])
    capsys.readouterr()
    assert code == 2
    assert not (tmp_path / "new").exists()
    assert tmp_path.is_dir()


def test_preview_error_leaves_no_output_folder(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    out = tmp_path / "out"
    code = main(["preview", str(empty), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("grader: error: ")
    assert not out.exists()


@pytest.mark.parametrize("value", ["hiring-team", "bogus", "Reviewer"])
def test_audience_accepts_only_its_documented_values(
    grade_cli: Callable[..., Run], value: str
) -> None:
    _assert_usage_error(grade_cli(SAMPLES / "poor", "--audience", value), "is not an audience")


def test_every_audience_value_is_documented_everywhere() -> None:
    from grader.core.models import Audience  # noqa: PLC0415

    values = {a.value for a in Audience}
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"--audience {'|'.join(sorted(values, reverse=True))}" in readme
    action = (ROOT / "action.yml").read_text(encoding="utf-8")
    workflows = [p.read_text(encoding="utf-8") for p in (ROOT / "docs" / "workflows").glob("*")]
    for text in (readme, action, *workflows):
        for line in text.splitlines():
            if line.strip().startswith("audience: "):  # a workflow's `with: audience: X`
                assert line.split(":", 1)[1].strip() in values, line
    assert "hiring-team)" not in action and "or hiring-team" not in action


def test_a_closed_pipe_is_a_normal_end() -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before grader writes a line, as after `| head`
    try:
        result = subprocess.run(
            [sys.executable, "-m", "grader", "-v", "explain"],
            cwd=ROOT,
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        os.close(write_end)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "error" not in result.stderr.lower()
