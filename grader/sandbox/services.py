"""Throwaway PostgreSQL and Redis servers for one test run, inside its sandbox.

A suite that needs a database gets a real one: the host's own server binaries, started
by ``service_launcher`` in the same sandbox invocation as the tests, so they share its
network namespace (the loopback and nothing else), its user, its limits and its end.
Their data lives in the run's disk-limited area and goes with it. PostgreSQL trusts
every connection (any password the settings name is accepted) and has every role the
settings name, as a superuser (a test creating its own database needs that), and every
database; Redis accepts the passwords the settings name. Nothing listens beyond the
sandbox, and nothing outlives the run: the servers die with its pid namespace.

Which servers a run needs is the environment stage's decision (run_settings); this
module only finds the host's binaries and writes what the launcher does.
"""

from __future__ import annotations

import enum
import json
import os
import re
import secrets
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from grader.core.errors import GraderError
from grader.sandbox import service_launcher

# $GRADER_POSTGRES_BIN (a folder holding initdb, postgres, pg_isready and psql) and
# $GRADER_REDIS_SERVER pin the binaries or, pointed at nothing, rule them out.
POSTGRES_VARIABLE = "GRADER_POSTGRES_BIN"
REDIS_VARIABLE = "GRADER_REDIS_SERVER"
_POSTGRES_PROGRAMS = ("initdb", "postgres", "pg_isready", "psql")
_DEBIAN_POSTGRES = Path("/usr/lib/postgresql")
_DEBIAN_POSTGRES_SHARE = Path("/usr/share/postgresql")
# Role and database names are quoted in SQL; this keeps them to what settings use.
SAFE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.@-]{0,62}")
SAFE_PASSWORD = re.compile(r"[\x21-\x7e]{1,200}")
START_TIMEOUT_S = 60.0
MAX_OBJECTS = 20  # roles, databases: a suite names a few


class Kind(enum.Enum):
    """A server grader can start."""

    POSTGRES = "PostgreSQL"
    REDIS = "Redis"


DEFAULT_PORTS = {Kind.POSTGRES: 5432, Kind.REDIS: 6379}


@dataclass(frozen=True)
class Service:
    """One server a test run needs, as the candidate's settings describe it."""

    kind: Kind
    port: int
    declared_in: str
    """Where the need was found ('docker-compose.yml (service db, image postgres:15)')."""
    roles: tuple[str, ...] = ()
    """PostgreSQL roles to create (postgres always exists)."""
    databases: tuple[str, ...] = ()
    """PostgreSQL databases to create (postgres always exists)."""
    passwords: tuple[str, ...] = ()
    """Passwords Redis accepts; none leaves it open, as the image runs by default."""
    spatial: bool = False
    """PostgreSQL with PostGIS (a postgis image, GeoDjango's engine)."""


def _version_key(folder: Path) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", folder.parent.name))


def postgres_bin() -> Path | None:
    """The folder of the host's PostgreSQL server programs, the newest version first."""
    configured = os.environ.get(POSTGRES_VARIABLE)
    if configured is not None:
        folder = Path(configured)
        return folder if all((folder / p).is_file() for p in _POSTGRES_PROGRAMS) else None
    found = [f for f in _DEBIAN_POSTGRES.glob("*/bin") if (f / "postgres").is_file()]
    on_path = shutil.which("postgres")
    if on_path:  # other distributions put the server on PATH
        found.append(Path(on_path).parent)
    usable = [f for f in found if all((f / p).is_file() for p in _POSTGRES_PROGRAMS)]
    return max(usable, key=_version_key) if usable else None


def redis_server() -> Path | None:
    """The host's redis-server."""
    configured = os.environ.get(REDIS_VARIABLE)
    if configured is not None:
        return Path(configured) if Path(configured).is_file() else None
    found = shutil.which("redis-server") or shutil.which("redis-server", path="/usr/bin")
    return Path(found) if found else None


def _without_postgis(server: Path) -> str:
    """Why a Debian PostgreSQL has no PostGIS, or '' (found, or not Debian's layout)."""
    if not server.is_relative_to(_DEBIAN_POSTGRES):
        return ""
    major = server.parent.name
    control = _DEBIAN_POSTGRES_SHARE / major / "extension" / "postgis.control"
    if control.is_file():
        return ""
    return f"the host has no PostGIS for PostgreSQL {major} (no {control})"


def missing(kind: Kind, spatial: bool = False) -> str:
    """Why this host cannot start ``kind`` ('the host has no PostgreSQL ...'), or ''."""
    server = postgres_bin() if kind is Kind.POSTGRES else None
    if kind is Kind.POSTGRES and server is None:
        where = f"${POSTGRES_VARIABLE}" if POSTGRES_VARIABLE in os.environ else _DEBIAN_POSTGRES
        return f"the host has no PostgreSQL (no initdb, postgres, pg_isready and psql in {where})"
    if server is not None and spatial:
        return _without_postgis(server)
    if kind is Kind.REDIS and redis_server() is None:
        where = f"${REDIS_VARIABLE}" if REDIS_VARIABLE in os.environ else "PATH"
        return f"the host has no Redis (no redis-server on {where})"
    return ""


def available() -> str:
    """The servers this host can start ('PostgreSQL 15, Redis'), for the pytest tool's
    version: a results cache keyed by it grades again once the host gains one."""
    found = []
    binaries = postgres_bin()
    if binaries is not None:
        version = binaries.parent.name if binaries.parent.parent == _DEBIAN_POSTGRES else ""
        found.append(f"PostgreSQL {version}".strip())
    if redis_server() is not None:
        found.append("Redis")
    return ", ".join(found) or "none"


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _creatable(names: Sequence[str], existing: set[str]) -> list[str]:
    # pg_ names are reserved for PostgreSQL's own roles.
    return [
        name
        for name in dict.fromkeys(names)
        if SAFE_NAME.fullmatch(name) and name not in existing and not name.startswith("pg_")
    ][:MAX_OBJECTS]


def postgres_setup_sql(service: Service) -> str:
    """The roles and databases the settings name; every role may create databases.

    psql runs it without stopping at an error, so that no name the candidate's settings
    hold can keep the server from serving the tests; the error goes to the server's log.
    """
    roles = _creatable(service.roles, {"postgres"})
    owner = roles[0] if roles else "postgres"
    lines = [f"CREATE ROLE {_identifier(role)} LOGIN SUPERUSER;" for role in roles]
    databases = _creatable(service.databases, {"postgres", "template0", "template1"})
    lines += [f"CREATE DATABASE {_identifier(d)} OWNER {_identifier(owner)};" for d in databases]
    return "".join(f"{line}\n" for line in lines)


def _postgres(service: Service, binaries: Path, state: Path, config: Path) -> dict[str, object]:
    data, port = state / "postgres", str(service.port)
    setup = config / "postgres-setup.sql"
    setup.write_text(postgres_setup_sql(service), encoding="utf-8")
    setup.chmod(0o644)
    initdb = [str(binaries / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust"]
    return {
        "name": "PostgreSQL",
        "log": str(state / "postgres.log"),
        # No fsync: nothing here needs to survive a crash, and the run's time is the grade's.
        "prepare": [[*initdb, "-E", "UTF8", "--locale=C", "--no-sync"]],
        "start": [
            str(binaries / "postgres"),
            "-D",
            str(data),
            "-p",
            port,
            *("-c", "listen_addresses=127.0.0.1,::1"),
            # TCP only: a socket path in the run's area can exceed the kernel's 107 bytes.
            *("-c", "unix_socket_directories="),
            *("-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"),
            *("-c", "shared_buffers=32MB", "-c", "dynamic_shared_memory_type=mmap"),
        ],
        "ready": {
            "kind": "command",
            "argv": [
                str(binaries / "pg_isready"),
                "-q",
                "-U",
                "postgres",
                "-h",
                "127.0.0.1",
                "-p",
                port,
            ],
        },
        "setup": [
            [
                *(str(binaries / "psql"), "-X", "-q"),
                *("-h", "127.0.0.1", "-p", port, "-U", "postgres", "-d", "postgres"),
                *("-f", str(setup)),
            ]
        ],
    }


def redis_arguments(service: Service) -> list[str]:
    """redis-server's options: the sandbox's loopback, no persistence, the passwords."""
    passwords = [p for p in dict.fromkeys(service.passwords) if SAFE_PASSWORD.fullmatch(p)]
    passwords = passwords[:MAX_OBJECTS]
    # ACL rules, so that every password the settings name is accepted (requirepass takes one).
    user = ["--user", "default", "on", *(f">{p}" for p in passwords), "~*", "&*", "+@all"]
    return [
        *("--port", str(service.port), "--bind", "127.0.0.1", "-::1"),
        *("--save", "", "--appendonly", "no", "--protected-mode", "no", "--daemonize", "no"),
        *(user if passwords else []),
    ]


def _redis(service: Service, server: Path, state: Path) -> dict[str, object]:
    folder = state / "redis"
    folder.mkdir(exist_ok=True)
    return {
        "name": "Redis",
        "log": str(state / "redis.log"),
        "prepare": [],
        "start": [str(server), *redis_arguments(service), "--dir", str(folder)],
        "ready": {"kind": "tcp", "port": service.port},
        "setup": [],
    }


@dataclass(frozen=True)
class Launch:
    """How a sandboxed command starts its services first, and how their failure shows."""

    prefix: tuple[str, ...]
    token: str
    readable: tuple[Path, ...]
    """Folders the launcher needs to read beyond the system's (binaries elsewhere)."""

    def wrap(self, argv: Sequence[str]) -> list[str]:
        """``argv`` run after the services are up."""
        return [*self.prefix, *argv] if self.prefix else list(argv)

    def env(self) -> dict[str, str]:
        """What the launcher needs in its environment (it removes it before the tests)."""
        return {service_launcher.TOKEN_VARIABLE: self.token} if self.token else {}

    def failure(self, output: str) -> str:
        """Why the services did not start, from the run's output, or ''."""
        if not self.token:
            return ""
        marker = f"grader-services {self.token}: "
        for line in output.splitlines():
            if line.startswith(marker):
                return line[len(marker) :]
        return ""


NO_SERVICES = Launch((), "", ())


def prepare(
    services: Sequence[Service], python: Path, state: Path, config: Path, timeout_s: float
) -> Launch:
    """Write the launcher and its spec into ``config`` (read-only to the run); the servers'
    data goes to ``state`` (writable, in the run's disk area). Every service must be
    available (see ``missing``)."""
    if not services:
        return NO_SERVICES
    specs: list[dict[str, object]] = []
    readable: list[Path] = []
    for service in services:
        binaries = postgres_bin() if service.kind is Kind.POSTGRES else redis_server()
        if binaries is None:
            raise GraderError(missing(service.kind, service.spatial))
        if service.kind is Kind.POSTGRES:
            specs.append(_postgres(service, binaries, state, config))
            readable.append(binaries)
        else:
            specs.append(_redis(service, binaries, state))
            readable.append(binaries.parent)
    spec = config / "services.json"
    spec.write_text(json.dumps({"timeout_s": timeout_s, "services": specs}), encoding="utf-8")
    launcher = config / "service_launcher.py"
    shutil.copyfile(service_launcher.__file__, launcher)
    for written in (spec, launcher):
        written.chmod(0o644)
    prefix = (str(python), "-I", "-S", str(launcher), str(spec), "--")
    outside_usr = tuple(p for p in readable if not p.is_relative_to("/usr"))
    return Launch(prefix, secrets.token_hex(16), outside_usr)
