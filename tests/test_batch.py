"""grader batch and grader aggregate: one real batch of the sample submissions (plus an
unreachable URL, a hostile archive and a planted near-copy) graded once per module and
checked from every side; a tiny batch interrupted, resumed and re-run as two shards."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from browser import PHONE, axe_violations, browser, browser_problem, open_page
from conftest import ROOT, SAMPLES, STARTER, Run, git, make_candidate_repo, make_repo
from near_copy import make_near_copy

from grader.acquire.workspace import is_test_file
from grader.assignment import spec as assignment_module
from grader.assignment.spec import Assignment
from grader.batch import similarity, store
from grader.batch.submissions import read, select, shard_of
from grader.batch.worker import Job, Settings
from grader.cli import main
from grader.core.errors import UsageError
from grader.core.locks import exclusive
from grader.core.models import Audience
from grader.render.results import safe_cell
from grader.workflows.results_cache import assignment_identity

RESULTS_SCHEMA = json.loads(
    (ROOT / "grader" / "schema" / "results.schema.json").read_text(encoding="utf-8")
)
MARKER = "window.__pwned = 1"
MARKUP = f'<img src=x onerror="{MARKER}">'
SAMPLE_ASSIGNMENT = SAMPLES / "assignment" / "assignment.toml"
FORMULAS = ['=HYPERLINK("http://example.invalid")', "+1+1", "-2+3", "@SUM(A1)"]


def _write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _batch(*args: str | Path, env: dict[str, str] | None = None, timeout: float = 900) -> Run:
    result = subprocess.run(
        [sys.executable, "-m", "grader", "batch", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env=env,
    )
    out = Path(str(args[args.index("--out") + 1]))
    return Run(result.returncode, result.stdout, result.stderr, out)


def _aggregate(out: Path, *inputs: Path) -> Run:
    result = subprocess.run(
        [sys.executable, "-m", "grader", "aggregate", *map(str, inputs), "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return Run(result.returncode, result.stdout, result.stderr, out)


def _csv_rows(out: Path) -> list[dict[str, str]]:
    with (out / "results.csv").open(encoding="utf-8", newline="") as stream:
        return list(csv.DictReader(stream))


def _results(out: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((out / "results.json").read_text(encoding="utf-8"))
    return data


def _report(out: Path, candidate: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((out / candidate / "report.json").read_text(encoding="utf-8"))
    return data


def _zip_slip(tmp: Path) -> Path:
    archive = tmp / "zipslip.zip"
    folder = ROOT / "tests" / "hostile" / "zip_slip"
    with zipfile.ZipFile(archive, "w") as bundle:
        for path in sorted(folder.rglob("*.py")):
            bundle.write(path, path.relative_to(folder).as_posix())
        bundle.writestr("../../escaped.py", "print('written outside the target folder')\n")
    return archive


# --- fast checks: input validation, sharding, CSV safety, locks, similarity ---------------


@pytest.mark.parametrize(
    ("header", "rows", "fragment"),
    [
        (["name", "source"], [["a", "x"]], "missing candidate"),
        (["candidate", "source"], [["../etc", "x"]], "candidate id '../etc'"),
        (["candidate", "source"], [["a/b", "x"]], "candidate id 'a/b'"),
        (["candidate", "source"], [[".hidden", "x"]], "candidate id '.hidden'"),
        (["candidate", "source"], [["a", "x"], ["a", "y"]], "appears twice"),
        (["candidate", "source", "score"], [["a", "x", "1"]], "column 'score'"),
        (["candidate", "source", "security"], [["a", "x", "1"]], "column 'security'"),
        (["candidate", "source"], [], "no submissions"),
        (["candidate", "source"], [["a", "x", "extra"]], "3 cells"),
    ],
)
def test_bad_submissions_csv_is_a_usage_error(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    header: list[str],
    rows: list[list[str]],
    fragment: str,
) -> None:
    submissions = _write_csv(tmp_path / "subs.csv", header, rows)
    code = main(["batch", str(submissions), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and err.startswith("grader: error: ")
    assert fragment in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("shard", ["2/2", "1", "-1/3", "a/b", "0/0"])
def test_bad_shard_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], shard: str
) -> None:
    submissions = _write_csv(tmp_path / "subs.csv", ["candidate", "source"], [["a", "x"]])
    code = main(["batch", str(submissions), "--out", str(tmp_path / "o"), f"--shard={shard}"])
    assert code == 2
    assert "--shard" in capsys.readouterr().err


def test_shards_partition_the_rows_stably(tmp_path: Path) -> None:
    names = [f"candidate-{i}" for i in range(40)]
    submissions = read(
        _write_csv(tmp_path / "s.csv", ["candidate", "source"], [[n, "x"] for n in names])
    )
    shards = [{r.candidate for r in select(submissions, (i, 3)).rows} for i in range(3)]
    assert set().union(*shards) == set(names)
    assert sum(len(s) for s in shards) == len(names)
    assert all(shards)
    # The same id lands in the same shard on every machine (a hash, not Python's hash()).
    assert [shard_of(n, 3) for n in names[:6]] == [shard_of(n, 3) for n in names[:6]]
    assert (
        shard_of("alice", 4)
        == int.from_bytes(__import__("hashlib").sha256(b"alice").digest()[:8], "big") % 4
    )


def test_folder_of_submissions(tmp_path: Path) -> None:
    folder = tmp_path / "subs"
    (folder / "alice").mkdir(parents=True)
    (folder / ".cache").mkdir()
    (folder / "notes.txt").write_text("not a submission", encoding="utf-8")
    (folder / "bob.tar.gz").write_bytes(b"")
    (folder / "carol.zip").write_bytes(b"")
    rows = read(folder).rows
    assert [(r.candidate, Path(r.source).name) for r in rows] == [
        ("alice", "alice"),
        ("bob", "bob.tar.gz"),
        ("carol", "carol.zip"),
    ]
    (folder / "bad name").mkdir()
    with pytest.raises(UsageError, match="bad name"):
        read(folder)


def test_relative_sources_are_read_from_the_csv_folder(tmp_path: Path) -> None:
    (tmp_path / "subs" / "alice").mkdir(parents=True)
    csv_path = _write_csv(tmp_path / "subs.csv", ["candidate", "source"], [["alice", "subs/alice"]])
    assert read(csv_path).rows[0].source == str((tmp_path / "subs" / "alice").resolve())


@pytest.mark.parametrize("formula", FORMULAS)
def test_formula_cells_are_defused(formula: str) -> None:
    assert safe_cell(formula) == "'" + formula
    assert safe_cell("plain text") == "plain text"


def test_exclusive_lock_holds_across_processes(tmp_path: Path) -> None:
    lock = tmp_path / "env.lock"
    with subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys\nfrom pathlib import Path\nfrom grader.core.locks import exclusive\n"
            f"with exclusive(Path({str(lock)!r})):\n"
            "    print('held', flush=True)\n    sys.stdin.read()\n",
        ],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as holder:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with exclusive(lock, blocking=False) as held:
            assert held is False
        holder.kill()  # the kernel releases a dead holder's lock: never stale
    with exclusive(lock, blocking=False) as held:
        assert held is True


def _own_code(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): p.read_text(encoding="utf-8")
        for p in sorted(root.rglob("*.py"))
        if not is_test_file(p.relative_to(root).as_posix())
    }


def test_similarity_flags_a_renamed_reordered_copy_only(tmp_path: Path) -> None:
    copy = make_near_copy(SAMPLES / "average", tmp_path / "copy")
    assert _own_code(copy) != _own_code(SAMPLES / "average")
    sources = {name: _own_code(SAMPLES / name) for name in ("exemplary", "average", "poor")}
    sources["copycat"] = _own_code(copy)
    pairs = similarity.similar_pairs(sources, 0.5)
    assert [(p.first, p.second) for p in pairs] == [("average", "copycat")]
    pair = pairs[0]
    assert pair.first_share > 0.9 and pair.second_share > 0.9
    for regions, files in (
        (pair.first_regions, sources["average"]),
        (pair.second_regions, sources["copycat"]),
    ):
        assert regions
        for region in regions:
            lines = files[region.path].splitlines()[region.first_line - 1 : region.last_line]
            assert region.text.splitlines()[:5] == lines[:5]
    assert similarity.similar_pairs({"alone": sources["poor"]}, 0.5) == ()


TEXTKIT = (ROOT / "tests" / "fixtures" / "starter_textkit.py").read_text(encoding="utf-8")
"""A substantial starter module every candidate keeps unchanged."""
HONEST_THRESHOLD = 0.15
"""Below what two honest samples share through TEXTKIT (0.2), far above what they share
without it (0.03): the threshold at which leaving the starter out decides the verdict."""


def _on_starter(sample: Path, dest: Path) -> Path:
    """A candidate's work that keeps the starter's TEXTKIT module as given."""
    shutil.copytree(sample, dest, dirs_exist_ok=True)
    (dest / "docqa").mkdir(exist_ok=True)
    (dest / "docqa" / "textkit.py").write_text(TEXTKIT, encoding="utf-8")
    return dest


def test_similarity_leaves_code_shared_through_the_starter_out(tmp_path: Path) -> None:
    copy = make_near_copy(SAMPLES / "average", tmp_path / "copy")
    sources = {
        name: _own_code(_on_starter(root, tmp_path / name))
        for name, root in (
            ("poor", SAMPLES / "poor"),
            ("average", SAMPLES / "average"),
            ("copycat", copy),
        )
    }
    # Two of them added to the given module: the file is no longer the starter's, the
    # given code in it still is.
    sources["poor"]["docqa/textkit.py"] += (
        "\n\ndef shout(text: str) -> str:\n    return text.upper()\n"
    )
    sources["average"]["docqa/textkit.py"] += "\n\nLIMIT = 10\n"

    def flagged(starter: list[str]) -> list[tuple[str, str]]:
        pairs = similarity.similar_pairs(sources, HONEST_THRESHOLD, starter)
        return [(p.first, p.second) for p in pairs]

    assert ("average", "poor") in flagged([])  # the starter alone makes them look alike
    starter = [TEXTKIT, *(p.read_text(encoding="utf-8") for p in STARTER.rglob("*.py"))]
    assert flagged(starter) == [("average", "copycat")]


def test_a_job_carries_the_assignment_to_its_worker() -> None:
    settings = Settings(
        rubric="data-science",
        exclude=("vendor/",),
        assignment=assignment_module.load(SAMPLE_ASSIGNMENT),
        audience=Audience.CANDIDATE,
        python_downloads=True,
    )
    job = Job("alice", 0, "/x", None, (("email", "a@example.invalid"),), None, "r", "a", settings)
    assert Job.from_json(job.to_json()) == job
    options = job.settings.grade_options("/x", None, Path("/s"), Path("/t"))
    assert options.assignment == settings.assignment
    assert options.keep_starter == Path("/t")


def test_the_assignment_identity_follows_what_changes_a_grade(tmp_path: Path) -> None:
    team = tmp_path / "team"
    shutil.copytree(SAMPLE_ASSIGNMENT.parent, team)
    toml = team / SAMPLE_ASSIGNMENT.name
    loaded = assignment_module.load(toml)
    first = assignment_identity(loaded)
    assert first and assignment_identity(Assignment()) == ""
    cache = team / "hidden_tests" / "__pycache__"
    cache.mkdir(exist_ok=True)
    (cache / "test_robustness.cpython-311.pyc").write_bytes(b"\0")
    assert assignment_identity(loaded) == first  # running the tests changes nothing
    seen = {first}

    def differs(assignment: Assignment) -> bool:
        identity = assignment_identity(assignment)
        fresh = identity not in seen
        seen.add(identity)
        return fresh

    assert differs(assignment_module.override(loaded, deadline="2025-03-09T00:00:00Z"))
    (team / "hidden_tests" / "test_new.py").write_text("def test_x(): pass\n", encoding="utf-8")
    assert differs(loaded)
    (team / "starter" / "docqa" / "extra.py").write_text("X = 1\n", encoding="utf-8")
    assert differs(loaded)
    (team / "assignment.calibration.json").write_text("{}", encoding="utf-8")
    assert differs(loaded)
    old_row = json.loads(store.Record("a", 0, "x", None, (), 0, "", None, "r", "v").to_json())
    del old_row["assignment_sha256"]  # row.json written before assignments
    assert store.Record.from_json(json.dumps(old_row)).assignment_sha256 == ""


def test_a_missing_assignment_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    submissions = _write_csv(tmp_path / "subs.csv", ["candidate", "source"], [["a", "x"]])
    missing = tmp_path / "missing.toml"
    code = main(
        ["batch", str(submissions), "--out", str(tmp_path / "o"), "--assignment", str(missing)]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith(f"grader: error: {missing}: cannot read")
    assert not (tmp_path / "o").exists()


# --- one real batch ---------------------------------------------------------------------


@dataclass(frozen=True)
class BatchRun:
    run: Run
    seconds: float
    candidates: tuple[str, ...]
    graded: tuple[str, ...]
    failed: tuple[str, ...]


@pytest.fixture(scope="module")
def batch(sample_repos: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> BatchRun:
    base = tmp_path_factory.mktemp("batch")
    repos = {name: repo.as_uri() for name, repo in sample_repos.items()}
    for name in ("deps_requirements", "deps_lockfile", "deps_unresolvable"):
        repos[name.replace("_", "-")] = make_repo(SAMPLES / name, base / name).as_uri()
    copy = make_near_copy(SAMPLES / "average", base / "copy-work")
    repos["copycat"] = make_repo(copy, base / "copycat").as_uri()
    repos["unreachable"] = f"file://{base}/missing/{MARKUP}"
    repos["zipslip"] = str(_zip_slip(base))
    rows = [
        [name, source, f"{name}@example.invalid", FORMULAS[i % len(FORMULAS)]]
        for i, (name, source) in enumerate(repos.items())
    ]
    submissions = _write_csv(base / "subs.csv", ["candidate", "source", "email", "note"], rows)
    started = time.monotonic()
    run = _batch(submissions, "--out", base / "out", "--jobs", "2")
    return BatchRun(
        run,
        time.monotonic() - started,
        tuple(repos),
        tuple(n for n in repos if n not in {"unreachable", "zipslip"}),
        ("unreachable", "zipslip"),
    )


@pytest.mark.slow
@pytest.mark.sandbox
def test_batch_exits_4_when_a_row_cannot_be_graded(batch: BatchRun) -> None:
    run = batch.run
    assert run.exit_code == 4, run.stderr
    assert run.stdout.strip() == str(run.out / "index.html")
    assert "Traceback" not in run.stderr
    assert f"grader: {len(batch.graded)} graded, 2 not graded" in run.stderr
    assert not (run.out / ".grader-staging").exists()
    for name in batch.graded:
        assert {"row.json", "report.json", "report.html", "sources.json"} <= {
            p.name for p in (run.out / name).iterdir()
        }
    for name in batch.failed:
        assert [p.name for p in (run.out / name).iterdir()] == ["row.json"]


@pytest.mark.slow
@pytest.mark.sandbox
def test_results_csv_matches_the_individual_reports(batch: BatchRun) -> None:
    out = batch.run.out
    rows = {row["candidate"]: row for row in _csv_rows(out)}
    assert set(rows) == set(batch.candidates)
    header = next(csv.reader(io.StringIO((out / "results.csv").read_text(encoding="utf-8"))))
    criteria = [c["id"] for c in _report(out, "poor")["criteria"]]
    assert header == [
        "candidate", "score", "grade", "status", *criteria, "commit", "report", "reason",
        "email", "note",
    ]  # fmt: skip
    for name in batch.graded:
        report, row = _report(out, name), rows[name]
        assert row["status"] == "0"
        assert float(row["score"]) == report["score"]
        assert row["grade"] == report["grade"]
        assert row["commit"] == report["submission"]["commit"]
        assert row["report"] == f"{name}/report.html" and (out / row["report"]).is_file()
        for criterion in report["criteria"]:
            expected = "" if criterion["score"] is None else criterion["score"]
            assert (float(row[criterion["id"]]) if row[criterion["id"]] else "") == expected
    for name in batch.failed:
        assert rows[name]["status"] == "2"
        assert rows[name]["score"] == "" and rows[name]["grade"] == ""
        assert rows[name]["reason"]
    assert "escapes the target folder" in rows["zipslip"]["reason"]
    assert "cannot clone" in rows["unreachable"]["reason"]
    # Candidate-controlled cells never start a formula; plain ones are untouched.
    assert all(not row["note"].startswith(("=", "+", "-", "@")) for row in rows.values())
    assert {row["note"] for row in rows.values()} == {"'" + f for f in FORMULAS}
    assert rows["poor"]["email"] == "poor@example.invalid"
    scores = [float(r["score"]) for r in _csv_rows(out) if r["score"]]
    assert scores == sorted(scores, reverse=True)


@pytest.mark.slow
@pytest.mark.sandbox
def test_results_json_validates_and_agrees_with_the_csv(batch: BatchRun) -> None:
    out = batch.run.out
    results = _results(out)
    jsonschema.validate(results, RESULTS_SCHEMA)
    csv_rows = {row["candidate"]: row for row in _csv_rows(out)}
    for row in results["rows"]:
        flat = csv_rows[row["candidate"]]
        assert (row["score"] is None) == (flat["score"] == "")
        assert str(row["status"]) == flat["status"]
        assert row["extra"]["email"] == flat["email"]
        assert row["extra"]["note"] == flat["note"].removeprefix("'")
        if row["score"] is None:
            assert row["reason"] and row["status"] == 2
        else:
            assert row["criteria"] == {
                c["id"]: c["score"] for c in _report(out, row["candidate"])["criteria"]
            }


@pytest.mark.slow
@pytest.mark.sandbox
def test_batch_scores_equal_single_grades(batch: BatchRun, graded: dict[str, Any]) -> None:
    rows = {row["candidate"]: row for row in _results(batch.run.out)["rows"]}
    for name, report in graded.items():
        assert rows[name]["score"] == report["score"], name
        assert rows[name]["commit"] == report["submission"]["commit"]


@pytest.mark.slow
@pytest.mark.sandbox
def test_planted_copy_is_flagged_and_honest_pairs_are_not(batch: BatchRun) -> None:
    similar = _results(batch.run.out)["similarity"]
    assert similar["compared"] == len(batch.graded)
    assert [(p["first"], p["second"]) for p in similar["pairs"]] == [("average", "copycat")]
    assert similar["pairs"][0]["score"] > 0.9


@pytest.mark.slow
@pytest.mark.sandbox
def test_rerun_keeps_graded_rows_and_writes_the_same_outputs(batch: BatchRun) -> None:
    out = batch.run.out
    before = {name: (out / name / "row.json").stat().st_mtime_ns for name in batch.graded}
    outputs = {
        name: (out / name).read_bytes() for name in ("index.html", "results.csv", "results.json")
    }
    submissions = out.parent / "subs.csv"
    again = _batch(submissions, "--out", out, "--jobs", "2")
    assert again.exit_code == 4, again.stderr
    assert again.stderr.count("already graded, kept") == len(batch.graded)
    assert {n: (out / n / "row.json").stat().st_mtime_ns for n in batch.graded} == before
    for name, content in outputs.items():
        assert (out / name).read_bytes() == content, name


# --- a batch graded with the sample assignment ---------------------------------------------


@dataclass(frozen=True)
class AssignedBatch:
    assignment: Path
    repos: dict[str, Path]
    run: Run
    deadline: Run
    """poor again, in a copy of the output, with --deadline overriding the file's."""
    deadline_again: Run


def _grader(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "grader", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


@pytest.fixture(scope="module")
def assigned(tmp_path_factory: pytest.TempPathFactory) -> AssignedBatch:
    """The sample assignment (its starter given a module every candidate keeps) calibrated,
    then poor, average and a near-copy of average, each a history on that starter, graded
    as one batch; then poor regraded with a --deadline before its tests were committed."""
    base = tmp_path_factory.mktemp("assigned")
    team = base / "team"
    shutil.copytree(SAMPLE_ASSIGNMENT.parent, team, ignore=shutil.ignore_patterns("*.json"))
    (team / "starter" / "docqa" / "textkit.py").write_text(TEXTKIT, encoding="utf-8")
    toml = team / SAMPLE_ASSIGNMENT.name
    text = toml.read_text(encoding="utf-8")
    toml.write_text(text.replace('"../exemplary"', f'"{SAMPLES / "exemplary"}"'), encoding="utf-8")
    calibrated = _grader("calibrate", "--assignment", toml)
    assert calibrated.returncode == 0, calibrated.stderr
    work = {
        "poor": SAMPLES / "poor",
        "average": SAMPLES / "average",
        "copycat": make_near_copy(SAMPLES / "average", base / "copy"),
    }
    repos = {
        name: make_candidate_repo(
            _on_starter(sample, base / "work" / name), base / name, starter=team / "starter"
        )
        for name, sample in work.items()
    }
    header = ["candidate", "source"]
    subs = _write_csv(base / "subs.csv", header, [[n, r.as_uri()] for n, r in repos.items()])
    out = base / "out"
    common = ["--assignment", toml, "--similarity-threshold", str(HONEST_THRESHOLD)]
    run = _batch(subs, "--out", out, *common, "--jobs", "2")
    shutil.copytree(out, base / "later")
    one = _write_csv(base / "one.csv", header, [["poor", repos["poor"].as_uri()]])
    later = [one, "--out", base / "later", *common, "--deadline", "2025-03-08T12:00:00Z"]
    deadline = _batch(*later)
    return AssignedBatch(toml, repos, run, deadline, _batch(*later))


@pytest.mark.slow
@pytest.mark.sandbox
def test_every_row_is_graded_with_the_hidden_tests(assigned: AssignedBatch) -> None:
    run = assigned.run
    assert run.exit_code == 0, run.stderr
    results = _results(run.out)
    jsonschema.validate(results, RESULTS_SCHEMA)
    csv_rows = {row["candidate"]: row for row in _csv_rows(run.out)}
    assert {"correctness", "process"} <= {c["id"] for c in results["criteria"]}
    for row in results["rows"]:
        report = _report(run.out, row["candidate"])
        assert report["assignment"]["hidden_tests"]["total"] > 0
        correctness = next(c for c in report["criteria"] if c["id"] == "correctness")
        rate = next(m for m in correctness["metrics"] if m["name"] == "correctness.pass_rate")
        assert row["hidden_tests_pass_rate"] == rate["value"]
        assert float(csv_rows[row["candidate"]]["hidden_tests_pass_rate"]) == rate["value"]
        # Line-level starter exclusion: the kept starter module is never the candidate's.
        authorship = report["assignment"]["authorship"]
        assert authorship["base"] == str((assigned.assignment.parent / "starter").resolve())
        scored = {f["path"] for c in report["criteria"] for f in c["findings"]}
        assert "docqa/textkit.py" not in scored
    html = (run.out / "index.html").read_text(encoding="utf-8")
    assert "Hidden tests passed" in html


@pytest.mark.slow
@pytest.mark.sandbox
def test_the_leaderboard_places_each_candidate_between_floor_and_ceiling(
    assigned: AssignedBatch,
) -> None:
    out = assigned.run.out
    stored = json.loads(
        assigned.assignment.with_name("assignment.calibration.json").read_text(encoding="utf-8")
    )
    results = _results(out)
    assert results["calibration"]["floor"] == stored["floor"]
    assert results["calibration"]["ceiling"] == stored["ceiling"]
    csv_rows = {row["candidate"]: row for row in _csv_rows(out)}
    html = (out / "index.html").read_text(encoding="utf-8")
    assert f"bare starter ({stored['floor']:.1f}, 0%)" in html
    for row in results["rows"]:
        position = _report(out, row["candidate"])["assignment"]["calibration"]["position"]
        expected = 100 * (row["score"] - stored["floor"]) / (stored["ceiling"] - stored["floor"])
        assert row["calibration"] == position == pytest.approx(expected, abs=0.1)
        assert float(csv_rows[row["candidate"]]["calibration_position"]) == position
        assert f'data-value="{position:.1f}"' in html


@pytest.mark.slow
@pytest.mark.sandbox
def test_code_given_in_the_starter_never_makes_candidates_similar(
    assigned: AssignedBatch,
) -> None:
    out = assigned.run.out
    similar = _results(out)["similarity"]
    assert [(p["first"], p["second"]) for p in similar["pairs"]] == [("average", "copycat")]
    assert all(
        r["path"] != "docqa/textkit.py"
        for pair in similar["pairs"]
        for r in pair["first_regions"] + pair["second_regions"]
    )
    saved = {name: json.loads((out / name / "sources.json").read_text()) for name in assigned.repos}
    assert all(data["starter"]["docqa/textkit.py"] == TEXTKIT for data in saved.values())
    # Without the starter left out, the honest pair would be flagged at this threshold.
    code = {name: data["files"] for name, data in saved.items()}
    pairs = similarity.similar_pairs(code, HONEST_THRESHOLD)
    assert ("average", "poor") in [(p.first, p.second) for p in pairs]


@pytest.mark.slow
@pytest.mark.sandbox
def test_a_command_line_deadline_wins_and_regrades_a_kept_row(assigned: AssignedBatch) -> None:
    first, later = assigned.run, assigned.deadline
    poor = assigned.repos["poor"]
    assert _report(first.out, "poor")["submission"]["commit"] == git(poor, "rev-parse", "HEAD")
    assert later.exit_code == 0, later.stderr
    assert "already graded, kept" not in later.stderr  # another assignment: graded again
    report = _report(later.out, "poor")
    implemented = git(poor, "log", "-1", "--format=%H", "--grep=^Implement")
    assert report["submission"]["commit"] == implemented  # committed at 11:30
    history = report["assignment"]["history"]
    assert history["deadline"].startswith("2025-03-08T12:00:00")
    assert [c["sha"] for c in history["after_deadline"]] == [git(poor, "rev-parse", "HEAD")]
    again = assigned.deadline_again
    assert again.exit_code == 0, again.stderr
    assert "poor: already graded, kept" in again.stderr  # the same assignment: kept


# --- a tiny batch: Ctrl-C, resume, shards, aggregate -------------------------------------


def _worker_processes(marker: str) -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if marker in cmdline and "grader.batch.worker" in cmdline:
            found.append(cmdline)
    return found


@dataclass(frozen=True)
class Tiny:
    submissions: Path
    out: Path
    interrupted: Run
    after_interrupt: list[str]
    """What the output folder held right after Ctrl-C."""
    workers_after_interrupt: list[str]
    scratch_after_interrupt: list[str]
    resumed: Run
    scratch: Path


@pytest.fixture(scope="module")
def tiny(sample_repos: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Tiny:
    base = tmp_path_factory.mktemp("tiny")
    rows = [
        ["poor", sample_repos["poor"].as_uri()],
        ["alice", make_repo(SAMPLES / "deps_requirements", base / "alice").as_uri()],
        ["gone", f"file://{base}/gone"],
    ]
    submissions = _write_csv(base / "subs.csv", ["candidate", "source"], rows)
    out = base / "out"
    scratch = base / "scratch"
    scratch.mkdir()
    env = {**os.environ, "TMPDIR": str(scratch)}
    command = [sys.executable, "-m", "grader", "batch", str(submissions), "--out", str(out)]
    process = subprocess.Popen(
        [*command, "--jobs", "1"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 300
    while not (out / "poor" / "row.json").exists() and process.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    # The second row is being graded once its grade has a scratch folder (a fixed pause
    # could outlast a fast grade).
    while not list(scratch.glob("grader-*")) and process.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(0.5)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=120)
    interrupted = Run(process.returncode, stdout, stderr, out)
    left = sorted(p.name for p in out.iterdir())
    workers = _worker_processes(str(out))
    scratch_left = sorted(p.name for p in scratch.iterdir())
    resumed = _batch(submissions, "--out", out, "--jobs", "1", env=env)
    return Tiny(submissions, out, interrupted, left, workers, scratch_left, resumed, scratch)


@pytest.mark.slow
@pytest.mark.sandbox
def test_ctrl_c_stops_cleanly_and_keeps_finished_rows(tiny: Tiny) -> None:
    run = tiny.interrupted
    assert run.exit_code == 2, run.stderr
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith("grader: error: interrupted; 1 of 3 rows are kept"), run.stderr
    assert "Traceback" not in run.stderr
    assert run.stdout == ""
    # Only the finished row: no half-graded row, no staging, no leaderboard yet.
    assert tiny.after_interrupt == [".grader-batch.lock", "poor"]
    assert tiny.workers_after_interrupt == []
    # The grade that was running removed its scratch folders.
    assert tiny.scratch_after_interrupt == []


@pytest.mark.slow
@pytest.mark.sandbox
def test_resume_grades_only_what_is_missing(tiny: Tiny) -> None:
    run = tiny.resumed
    assert run.exit_code == 4, run.stderr
    assert "poor: already graded, kept" in run.stderr
    assert "alice: grading" in run.stderr and "poor: grading" not in run.stderr
    statuses = {row["candidate"]: row["status"] for row in _csv_rows(tiny.out)}
    assert statuses == {"poor": "0", "alice": "0", "gone": "2"}
    # Every grade removed its scratch folders, the interrupted one included.
    assert list(tiny.scratch.iterdir()) == []


@pytest.mark.slow
@pytest.mark.sandbox
def test_shards_aggregate_to_the_single_run_leaderboard(tiny: Tiny) -> None:
    base = tiny.out.parent
    shards = [base / "shard-0", base / "shard-1"]
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "grader",
                "batch",
                str(tiny.submissions),
                "--out",
                str(out),
                "--shard",
                f"{i}/2",
                "--jobs",
                "1",
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i, out in enumerate(shards)
    ]
    for process in processes:
        _, stderr = process.communicate(timeout=600)
        assert process.returncode in (0, 4), stderr
    graded = [sorted(p.name for p in shard.iterdir() if p.is_dir()) for shard in shards]
    assert graded == [["gone", "poor"], ["alice"]]
    merged = _aggregate(base / "merged", *shards)
    assert merged.exit_code == 4, merged.stderr
    for name in ("index.html", "results.csv", "results.json"):
        assert (merged.out / name).read_text(encoding="utf-8") == (tiny.out / name).read_text(
            encoding="utf-8"
        ), name
    assert (merged.out / "poor" / "report.html").is_file()


@pytest.mark.slow
@pytest.mark.sandbox
def test_aggregate_reports_graded_one_by_one(graded_runs: dict[str, Run], tmp_path: Path) -> None:
    inputs = [run.out / "report.json" for run in graded_runs.values()]
    merged = _aggregate(tmp_path / "board", *inputs)
    assert merged.exit_code == 0, merged.stderr
    results = _results(merged.out)
    jsonschema.validate(results, RESULTS_SCHEMA)
    scores = {row["candidate"]: row["score"] for row in results["rows"]}
    assert scores == {run.out.name: run.report()["score"] for run in graded_runs.values()}
    duplicate = _aggregate(tmp_path / "twice", inputs[0], inputs[0])
    assert duplicate.exit_code == 2 and "is in both" in duplicate.stderr


# --- the leaderboard in a real browser ------------------------------------------------------

browser_needed = pytest.mark.skipif(browser_problem() is not None, reason=str(browser_problem()))


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    if browser_problem() is not None:
        pytest.skip(str(browser_problem()))
    with browser() as instance:
        yield instance


@pytest.mark.slow
@pytest.mark.sandbox
@browser_needed
def test_leaderboard_loads_cleanly_offline_and_escapes(chromium: Any, batch: BatchRun) -> None:
    with open_page(chromium, batch.run.out / "index.html") as (page, visit):
        rows = page.locator("#leaderboard tbody tr")
        assert rows.count() == len(batch.candidates)
        assert page.locator("#leaderboard thead th").count() == 5 + 8 + 2
        assert page.locator("svg.dist").count() == len(batch.candidates) * 9
        assert page.evaluate("window.__pwned") is None
        assert page.locator("img").count() == 0
        assert MARKUP in page.locator("#leaderboard").inner_text()
        link = page.locator("#leaderboard a[href='poor/report.html']")
        assert link.count() == 1
        assert page.locator("section.pair").count() == 1
        assert "average and copycat" in page.locator("section.pair h3").inner_text()
        page.locator("section.pair summary").click()
        assert page.locator("section.pair figure").first.is_visible()
    assert visit.console_errors == []
    assert visit.page_errors == []
    assert visit.foreign_requests == []


@pytest.mark.slow
@pytest.mark.sandbox
@browser_needed
def test_leaderboard_sorts_and_filters(chromium: Any, batch: BatchRun) -> None:
    with open_page(chromium, batch.run.out / "index.html") as (page, _):

        def names() -> list[str]:
            return [
                row.locator("td").nth(1).inner_text()
                for row in page.locator("#leaderboard tbody tr").all()
                if row.is_visible()
            ]

        page.locator("#leaderboard th button[data-col='1']").click()
        assert names() == sorted(batch.candidates)
        page.select_option("#status-filter", "not-graded")
        assert sorted(names()) == sorted(batch.failed)
        page.select_option("#status-filter", "graded")
        assert sorted(names()) == sorted(batch.graded)
        page.select_option("#status-filter", "all")
        assert len(names()) == len(batch.candidates)


@pytest.mark.slow
@pytest.mark.sandbox
@browser_needed
def test_leaderboard_is_accessible_and_fits_a_phone(chromium: Any, batch: BatchRun) -> None:
    index = batch.run.out / "index.html"
    assert axe_violations(chromium, index) == []
    with open_page(chromium, index, viewport=PHONE) as (page, _):
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1
        assert page.locator("#counts").is_visible()
