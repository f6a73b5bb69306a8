"""Failures whose cause grader knows are labelled; those the host caused are excused. The
environment is prepared once per grade."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from grader.acquire.workspace import inventory
from grader.core.models import Metric, TestSummary
from grader.environment import test_environment
from grader.environment.installed import Distribution
from grader.environment.resolution import Dropped, Fault
from grader.environment.test_environment import (
    TestEnvironment,
    label_failures,
    needs_dropped,
    needs_library,
    needs_service,
)
from grader.sandbox.bubblewrap import Limits, NotNeeded
from grader.tools.base import ToolContext
from grader.tools.pytest_cov import PytestCoverage

POSTGRES = (
    'psycopg2.OperationalError: connection to server at "localhost" (127.0.0.1), '
    "port 5432 failed: Connection refused"
)


@pytest.mark.parametrize(
    ("message", "service"),
    [
        (POSTGRES, "PostgreSQL at port 5432"),
        (
            "redis.exceptions.ConnectionError: Error 111 connecting to localhost:6379.",
            "Redis at port 6379",
        ),
        ("ConnectionRefusedError: [Errno 111] Connection refused", "a live service"),
        ("AssertionError: assert 1 == 2", ""),
    ],
)
def test_a_refused_connection_names_the_service(message: str, service: str) -> None:
    assert needs_service(message) == service


def test_failures_are_labelled_and_only_the_hosts_are_excused() -> None:
    summary = TestSummary(
        passed=1,
        failed=3,
        errors=1,
        failures=(
            ("tests.test_db::test_query", POSTGRES),
            (
                "tests.test_web",
                "collection failure (E   ModuleNotFoundError: No module named 'django')",
            ),
            (
                "tests.test_api::test_live",
                "socket.gaierror: [Errno -3] Temporary failure in name resolution",
            ),
            ("tests.test_calc::test_add", "assert 3 == 4"),
            (
                "tests.test_typo",
                "collection failure (E   ModuleNotFoundError: No module named 'reqeusts')",
            ),
        ),
    )
    dropped = (
        Dropped("django==6.0", "needs a newer Python than this host has", Fault.HOST),
        Dropped("reqeusts==1.0", "does not exist on the package index", Fault.CANDIDATE),
    )
    labelled, excused = label_failures(summary, dropped)
    messages = [message for _, message in labelled.failures]
    assert messages[0].startswith("[needs PostgreSQL at port 5432, which the sandbox does not")
    assert messages[1].startswith("[caused by dropped requirement django==6.0]")
    assert messages[2].startswith("[needs the internet, which tests never get]")
    assert messages[3] == "assert 3 == 4"
    assert messages[4].startswith("[caused by dropped requirement reqeusts==1.0]")
    assert excused == 2  # the database and the host's missing django; never the candidate's


@pytest.mark.parametrize(
    ("message", "library"),
    [
        (
            "django.core.exceptions.ImproperlyConfigured: Could not find the GDAL library "
            '(tried "gdal"). Is GDAL installed?',
            "the system library GDAL",
        ),
        (
            "OSError: libcairo.so.2: cannot open shared object file: No such file or directory",
            "the system library libcairo",
        ),
        ("assert 1 == 2", ""),
    ],
)
def test_a_missing_system_library_is_named(message: str, library: str) -> None:
    assert needs_library(message) == library


def test_a_suite_that_cannot_start_without_a_dropped_requirement_names_it() -> None:
    host = (Dropped("graphene-django==3.0.0", "needs promise, which has no wheel", Fault.HOST),)
    said = "ModuleNotFoundError: No module named 'graphene_django'"
    assert needs_dropped(said, host) == "graphene-django==3.0.0 (needs promise, which has no wheel)"
    theirs = (Dropped("graphene-django==3.0.0", "does not exist", Fault.CANDIDATE),)
    assert needs_dropped(said, theirs) == ""  # their fault: charged, never excused


def test_a_failure_for_want_of_an_undeclared_import_is_labelled_and_charged() -> None:
    summary = TestSummary(
        passed=0,
        failed=2,
        failures=(
            (
                "tests.test_auth",
                "E   ModuleNotFoundError: No module named 'rest_framework_simplejwt'",
            ),
            ("tests.test_ldap", "E   ModuleNotFoundError: No module named 'ldap'"),
        ),
    )
    host = (Dropped("python-ldap==3.4", "has no wheel for this platform", Fault.HOST),)
    labelled, excused = label_failures(summary, host, ("rest_framework_simplejwt",))
    messages = [message for _, message in labelled.failures]
    assert messages[0].startswith(
        "[caused by undeclared import rest_framework_simplejwt, which grader did not install]"
    )
    # python-ldap provides ldap: the name is all a requirement never installed has.
    assert messages[1].startswith("[caused by dropped requirement python-ldap==3.4]")
    assert excused == 1  # the host's missing ldap only; the undeclared import is charged


def test_the_environment_is_prepared_once_per_grade(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    started = threading.Barrier(2)

    def slow(ctx: object) -> TestEnvironment:
        calls.append(1)
        time.sleep(0.2)
        return TestEnvironment(None, Metric("packaging.installable", None, "%", "pytest"))

    monkeypatch.setattr(test_environment, "_prepare", slow)
    (tmp_path / "app.py").write_text("x = 1\n", encoding="utf-8")
    ws = inventory(tmp_path)
    contexts = [
        ToolContext(ws, tmp_path / name, NotNeeded(), Limits()) for name in ("pytest", "deps")
    ]

    def ask(ctx: ToolContext) -> TestEnvironment:
        started.wait()
        return test_environment.prepare(ctx)

    with ThreadPoolExecutor(2) as pool:
        first, second = pool.map(ask, contexts)
    assert first is second and len(calls) == 1
    # Another grade (another workspace) prepares its own.
    test_environment.prepare(ToolContext(inventory(tmp_path), tmp_path, NotNeeded(), Limits()))
    assert len(calls) == 2


def test_the_tools_row_names_the_runners_the_tests_ran_with() -> None:
    """A candidate's pinned pytest 7 is what ran, not grader's own."""
    installed = (
        Distribution("pytest", "7.2.1", frozenset({"pytest"})),
        Distribution("coverage", "7.0.5", frozenset({"coverage"})),
    )
    metric = Metric("packaging.installable", 100.0, "%", "pytest")
    python = Path("/usr/bin/python3")
    prepared = test_environment.TestEnvironment(python, metric, installed=installed)
    assert PytestCoverage()._version_in(prepared).startswith("pytest 7.2.1, coverage 7.0.5; ")
    bare = test_environment.TestEnvironment(python, metric)
    assert PytestCoverage()._version_in(bare) == PytestCoverage().version()
