"""Throwaway servers for a test run: what grader asks of them, the launcher that starts
them before the tests, and the sandbox's account and host names they rely on."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from grader.sandbox import bubblewrap, service_launcher, services
from grader.sandbox.services import Kind, Service


def test_postgres_setup_creates_only_safe_new_names() -> None:
    service = Service(
        Kind.POSTGRES,
        5432,
        "test",
        roles=("app", "postgres", 'bad"name', "pg_monitor", "x; DROP", "app", "reader.v2"),
        databases=("app_test", "postgres", "template1", "app_test", "db-2"),
    )
    assert services.postgres_setup_sql(service) == (
        'CREATE ROLE "app" LOGIN SUPERUSER;\n'
        'CREATE ROLE "reader.v2" LOGIN SUPERUSER;\n'
        'CREATE DATABASE "app_test" OWNER "app";\n'
        'CREATE DATABASE "db-2" OWNER "app";\n'
    )
    assert services.postgres_setup_sql(Service(Kind.POSTGRES, 5432, "test")) == ""


def test_redis_listens_on_loopback_keeps_nothing_and_accepts_each_password() -> None:
    open_server = services.redis_arguments(Service(Kind.REDIS, 6380, "test"))
    assert open_server[:6] == ["--port", "6380", "--bind", "127.0.0.1", "-::1", "--save"]
    assert "--user" not in open_server
    guarded = services.redis_arguments(
        Service(Kind.REDIS, 6379, "test", passwords=("one", "two words", "two"))
    )
    # a password with a space is left out: it cannot be one ACL rule
    assert guarded[guarded.index("--user") :] == [
        *("--user", "default", "on", ">one", ">two"),
        *("~*", "&*", "+@all"),
    ]


def test_a_services_failure_is_recognised_only_with_its_token() -> None:
    launch = services.Launch(("python",), "abc123", ())
    assert launch.failure("grader-services abc123: PostgreSQL exited with code 1: ...") == (
        "PostgreSQL exited with code 1: ..."
    )
    # a line the candidate's tests print cannot pass for it
    assert launch.failure("grader-services forged: PostgreSQL did not start") == ""
    assert services.NO_SERVICES.failure("grader-services : x") == ""
    assert services.NO_SERVICES.wrap(["pytest"]) == ["pytest"]


def test_missing_servers_are_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(services.POSTGRES_VARIABLE, str(tmp_path / "none"))
    monkeypatch.setenv(services.REDIS_VARIABLE, str(tmp_path / "none"))
    assert services.missing(Kind.POSTGRES).startswith("the host has no PostgreSQL")
    assert services.missing(Kind.REDIS).startswith("the host has no Redis")
    assert services.available() == "none"


def test_a_spatial_database_needs_postgis_beside_the_server(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Debian's layout: the server under lib/postgresql/MAJOR, extensions under share.
    server = tmp_path / "lib" / "15" / "bin"
    server.mkdir(parents=True)
    for program in ("initdb", "postgres", "pg_isready", "psql"):
        (server / program).write_text("")
    monkeypatch.setattr(services, "_DEBIAN_POSTGRES", tmp_path / "lib")
    monkeypatch.setattr(services, "_DEBIAN_POSTGRES_SHARE", tmp_path / "share")
    monkeypatch.delenv(services.POSTGRES_VARIABLE, raising=False)
    monkeypatch.setattr(services.shutil, "which", lambda *_a, **_k: None)
    assert services.missing(Kind.POSTGRES) == ""
    assert services.missing(Kind.POSTGRES, spatial=True).startswith(
        "the host has no PostGIS for PostgreSQL 15"
    )
    control = tmp_path / "share" / "15" / "extension" / "postgis.control"
    control.parent.mkdir(parents=True)
    control.write_text("")
    assert services.missing(Kind.POSTGRES, spatial=True) == ""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _launch(spec: dict[str, object], command: list[str], tmp_path: Path) -> subprocess.Popen[str]:
    spec_file = tmp_path / "spec.json"
    spec_file.write_text(json.dumps(spec), encoding="utf-8")
    env = {"PATH": os.environ["PATH"], service_launcher.TOKEN_VARIABLE: "t0k3n"}
    return subprocess.Popen(
        [sys.executable, "-I", "-S", service_launcher.__file__, str(spec_file), "--", *command],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # the launcher and its servers: one group to end
    )


def _finish(launched: subprocess.Popen[str]) -> tuple[str, str]:
    try:
        return launched.communicate(timeout=60)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(launched.pid, signal.SIGKILL)


@pytest.mark.skipif(services.redis_server() is None, reason="needs redis-server (make setup)")
def test_the_launcher_starts_a_real_server_then_becomes_the_command(tmp_path: Path) -> None:
    server = services.redis_server()
    assert server is not None
    port = _free_port()
    service = Service(Kind.REDIS, port, "test", passwords=("pw1", "pw2"))
    spec = {
        "timeout_s": 30,
        "services": [
            {
                "name": "Redis",
                "log": str(tmp_path / "redis.log"),
                "prepare": [],
                "start": [str(server), *services.redis_arguments(service), "--dir", str(tmp_path)],
                "ready": {"kind": "tcp", "port": port},
                "setup": [],
            }
        ],
    }
    client = (
        "import os, socket\n"
        "def call(s, *words):\n"
        "    s.sendall(b'*%d\\r\\n' % len(words) + b''.join(b'$%d\\r\\n%s\\r\\n' % (len(w), w)"
        " for w in words))\n"
        "    return s.recv(100)\n"
        f"s = socket.create_connection(('127.0.0.1', {port}))\n"
        "print(call(s, b'PING'), call(s, b'AUTH', b'pw2'), call(s, b'PING'))\n"
        f"print('{service_launcher.TOKEN_VARIABLE}' in os.environ)\n"
        f"call(s, b'SHUTDOWN', b'NOSAVE')\n"
    )
    launched = _launch(spec, [sys.executable, "-c", client], tmp_path)
    stdout, stderr = _finish(launched)
    assert launched.returncode == 0, stderr
    assert stdout.splitlines() == [
        "b'-NOAUTH Authentication required.\\r\\n' b'+OK\\r\\n' b'+PONG\\r\\n'",
        "False",  # the token never reaches the tests
    ]


def test_a_server_that_does_not_start_is_reported_with_the_token(tmp_path: Path) -> None:
    spec = {
        "timeout_s": 30,
        "services": [
            {
                "name": "PostgreSQL",
                "log": str(tmp_path / "postgres.log"),
                "prepare": [
                    [sys.executable, "-c", "print('initdb: disk full'); raise SystemExit(1)"]
                ],
                "start": ["/bin/true"],
                "ready": {"kind": "tcp", "port": _free_port()},
                "setup": [],
            }
        ],
    }
    launched = _launch(spec, ["/bin/echo", "the tests ran"], tmp_path)
    stdout, stderr = _finish(launched)
    assert launched.returncode == service_launcher.FAILED_EXIT
    assert stdout == ""
    assert stderr.startswith("grader-services t0k3n: PostgreSQL: ")
    assert "initdb: disk full" in stderr


def test_a_server_that_exits_is_reported(tmp_path: Path) -> None:
    spec = {
        "timeout_s": 30,
        "services": [
            {
                "name": "Redis",
                "log": str(tmp_path / "redis.log"),
                "prepare": [],
                "start": [sys.executable, "-c", "print('bind: address in use')"],
                "ready": {"kind": "tcp", "port": _free_port()},
                "setup": [],
            }
        ],
    }
    launched = _launch(spec, ["/bin/true"], tmp_path)
    _, stderr = _finish(launched)
    assert launched.returncode == service_launcher.FAILED_EXIT
    assert "Redis exited with code 0: bind: address in use" in stderr


@pytest.mark.sandbox
def test_the_sandbox_user_has_an_account_and_service_hosts_are_its_loopback(
    tmp_path: Path,
) -> None:
    executable = bubblewrap.bubblewrap_executable()
    assert executable is not None
    result = bubblewrap.Bubblewrap(executable).run(
        ["/bin/sh", "-c", "id -un; getent hosts db cache.internal localhost"],
        cwd=Path("/"),
        writable=[],
        readable=[],
        env={"PATH": "/usr/bin:/bin"},
        limits=bubblewrap.Limits(wall_s=30),
        hosts=["db", "cache.internal"],
    )
    assert result.exit_code == 0, result.stderr
    user, *hosts = result.stdout.split("\n")
    assert user  # initdb, getpass.getuser() and the like find a name
    addresses = {line.split()[0] for line in hosts if line}
    assert addresses <= {"127.0.0.1", "::1"}
    assert any("db" in line.split()[1:] for line in hosts if line)
