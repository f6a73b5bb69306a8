"""Submissions whose tests need settings from the environment and real servers, graded
through the real command line: the tests run as their authors run them.

The PostgreSQL and Redis suites install their clients (psycopg2-binary, redis) from the
package registry; the servers are the host's own, started inside the sandbox.
"""

from __future__ import annotations

import shutil
import socket
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, run_grader

pytestmark = [pytest.mark.slow, pytest.mark.sandbox]

FIXTURES = ROOT / "tests" / "fixtures" / "services"


def _pytest(report: dict[str, Any]) -> dict[str, Any]:
    tool: dict[str, Any] = next(t for t in report["tools"] if t["name"] == "pytest")
    return tool


def _grade(tmp_path: Path, name: str, *args: str) -> dict[str, Any]:
    source = shutil.copytree(FIXTURES / name, tmp_path / name)
    run = run_grader(source, tmp_path / "out", "--no-cache", *args)
    assert run.exit_code == 0, run.stderr
    return run.report()


def _passed_all(report: dict[str, Any], count: int) -> None:
    tests = _pytest(report)
    assert tests["status"] == "ok", tests["reason"]
    assert tests["tests"]["passed"] == count, tests["tests"]["failures"]
    assert tests["metrics"]["tests.pass_rate"] == 100


def test_settings_documented_only_in_env_example_let_the_suite_run(tmp_path: Path) -> None:
    report = _grade(tmp_path, "settings_in_env_example")
    _passed_all(report, 2)
    notes = _pytest(report)["notes"]
    assert "settings: DJANGO_ALLOWED_HOSTS, GREETING, DEBUG from .env.example" in notes
    assert "settings: SECRET_KEY: made-up stand-ins for placeholders in .env.example" in notes


def _processes_mentioning(text: str) -> list[str]:
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            command = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in command:
            found.append(command)
    return found


def test_a_suite_that_needs_postgresql_in_docker_compose_gets_a_real_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # grader's temporary folders (the server's data among them) under a folder of this
    # test's own, so that any process left behind would be found by its command line.
    graders_tmp = tmp_path / "graders-tmp"
    graders_tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(graders_tmp))
    with socket.create_server(("127.0.0.1", 0)) as host_listener:
        source = FIXTURES / "postgres_in_compose"
        copy = shutil.copytree(source, tmp_path / "submission")
        port = host_listener.getsockname()[1]
        (copy / "tests" / "host_port.txt").write_text(str(port), encoding="utf-8")
        run = run_grader(copy, tmp_path / "out", "--no-cache")
        host_listener.setblocking(False)
        with pytest.raises(BlockingIOError):
            host_listener.accept()[0].close()
    assert run.exit_code == 0, run.stderr
    report = run.report()
    _passed_all(report, 3)
    notes = "\n".join(_pytest(report)["notes"])
    assert "services: PostgreSQL started in the sandbox on port 5432" in notes
    assert "roles notes; databases notes_test" in notes
    assert "docker-compose.yml (service db), image postgres:15-alpine" in notes
    assert "services: db, api resolve to the sandbox's loopback" in notes
    assert "POSTGRES_PASSWORD: made-up stand-ins for placeholders in docker-compose.yml" in notes
    # Nothing the run started outlives it.
    assert _processes_mentioning(str(graders_tmp)) == []


def test_a_suite_that_needs_redis_in_its_ci_services_gets_a_real_server(tmp_path: Path) -> None:
    report = _grade(tmp_path, "redis_in_ci")
    _passed_all(report, 2)
    notes = "\n".join(_pytest(report)["notes"])
    assert "settings: REDIS_URL from .github/workflows/tests.yml" in notes
    assert "services: Redis started in the sandbox on port 6379" in notes
    assert ".github/workflows/tests.yml (service cache), image redis:7" in notes
    # The deploy job's production address is not the tests' concern.
    assert "production.example" not in notes


def test_a_host_without_postgresql_leaves_testability_not_measured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GRADER_POSTGRES_BIN", str(tmp_path / "no-postgresql-here"))
    report = _grade(tmp_path, "postgres_in_compose")
    tests = _pytest(report)
    assert tests["status"] == "skipped"
    assert tests["reason"].startswith("the host has no PostgreSQL"), tests["reason"]
    assert "docker-compose.yml (service db), image postgres:15-alpine" in tests["reason"]
    testability = next(c for c in report["criteria"] if c["id"] == "testability")
    assert testability["score"] is None
    assert "the host has no PostgreSQL" in testability["reason"]


def test_hidden_tests_run_with_the_settings_the_repository_documents(tmp_path: Path) -> None:
    hidden = tmp_path / "hidden"
    hidden.mkdir()
    (hidden / "test_hidden.py").write_text(
        "from greeter.settings import SECRET_KEY\n\n\n"
        "def test_the_settings_load():\n    assert SECRET_KEY\n",
        encoding="utf-8",
    )
    report = _grade(tmp_path, "settings_in_env_example", "--hidden-tests", str(hidden))
    run = report["assignment"]["hidden_tests"]
    assert run["problem"] in (None, ""), run
    assert (run["passed"], run["total"]) == (1, 1)


def test_a_geodjango_style_suite_gets_postgis_and_gdal(tmp_path: Path) -> None:
    # A PostGIS image in compose, GDAL loaded by ctypes (as GeoDjango does), and the
    # database's host left as a template placeholder: the host's PostGIS extension and
    # GDAL (which finds libblas through Debian's /etc/alternatives) reach the sandbox.
    report = _grade(tmp_path, "postgis_with_gdal")
    _passed_all(report, 2)
    notes = "\n".join(_pytest(report)["notes"])
    assert "docker-compose.yml (service db), image postgis/postgis:15-3.4" in notes
    assert "DB_HOST: the sandbox's PostgreSQL (a placeholder in .env.example)" in notes


def test_code_that_reloads_dotenv_finds_the_file_a_reviewer_would_copy(tmp_path: Path) -> None:
    # A test deletes a variable; the code's load_dotenv() brings it back from .env, as on
    # the author's machine after cp .env.example .env. Quotes, $ and backslashes survive.
    report = _grade(tmp_path, "settings_reloaded_from_dotenv")
    _passed_all(report, 2)
    notes = _pytest(report)["notes"]
    assert any(n.startswith("settings: also written to .env for code that loads it") for n in notes)
