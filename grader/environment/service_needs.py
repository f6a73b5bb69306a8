"""Which servers a suite needs, from the containers a repository declares and the URLs
its settings hold, and what each must look like for the code to connect.

A PostgreSQL or Redis server is needed when compose or a CI job runs one (by image
name: ``postgres:15``, ``postgis/postgis``, ``redis:7-alpine``, ``valkey/valkey``) or a
setting points at one (``DATABASE_URL=postgres://...``, ``REDIS_URL=redis://...``). Its
port, roles, databases and passwords come from those URLs, from the variables the
images read (POSTGRES_USER, POSTGRES_DB: the database defaults to the user's name, as
in the image) and from variables named like them (DB_USER, TEST_POSTGRES_DB). Any other
server (MySQL, MongoDB, Elasticsearch) is named, so the report can say the host does
not provide it. Host names the code reaches them by resolve to the sandbox's loopback.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import unquote, urlsplit

from grader.environment.settings_declarations import DeclaredService
from grader.sandbox.services import DEFAULT_PORTS, SAFE_NAME, Kind, Service

_POSTGRES_IMAGE = re.compile(r"postgres|postgis|timescaledb|pgvector")
_REDIS_IMAGE = re.compile(r"redis|valkey|keydb")
UNSUPPORTED_IMAGES = (
    (re.compile(r"mysql|mariadb"), "MySQL"),
    (re.compile(r"mongo"), "MongoDB"),
    (re.compile(r"elasticsearch|opensearch"), "Elasticsearch"),
    (re.compile(r"rabbitmq"), "RabbitMQ"),
    (re.compile(r"memcached"), "Memcached"),
    (re.compile(r"kafka|redpanda"), "Kafka"),
    (re.compile(r"mssql|sqlserver"), "SQL Server"),
    (re.compile(r"cassandra|scylla"), "Cassandra"),
    (re.compile(r"neo4j"), "Neo4j"),
    (re.compile(r"clickhouse"), "ClickHouse"),
    (re.compile(r"minio"), "MinIO"),
    (re.compile(r"localstack"), "LocalStack"),
)
_SCHEMES = {
    "postgres": Kind.POSTGRES,
    "postgresql": Kind.POSTGRES,
    "pgsql": Kind.POSTGRES,
    "postgis": Kind.POSTGRES,
    "timescale": Kind.POSTGRES,
    "redis": Kind.REDIS,
    "rediss": Kind.REDIS,
}
# Django names its database server by engine, not URL (DB_ENGINE=django.db.backends.mysql).
_ENGINES: dict[str, Kind | str] = {
    "django.db.backends.postgresql": Kind.POSTGRES,
    "django.db.backends.postgresql_psycopg2": Kind.POSTGRES,
    "django.contrib.gis.db.backends.postgis": Kind.POSTGRES,
    "django.db.backends.mysql": "MySQL",
    "django.contrib.gis.db.backends.mysql": "MySQL",
}
UNSUPPORTED_SCHEMES = {
    "mysql": "MySQL",
    "mariadb": "MySQL",
    "mongodb": "MongoDB",
    "amqp": "RabbitMQ",
    "amqps": "RabbitMQ",
}
_DB = r"(?:^|_)(?:POSTGRES(?:QL)?|PG|DB|DATABASE|SQL|PSQL)_?"
ROLE_VARIABLE = re.compile(_DB + r"(?:USER|USERNAME)$")
# DB_NAME, POSTGRES_DB, TEST_POSTGRES_DB, and a bare DATABASE or TEST_DATABASE.
DATABASE_VARIABLE = re.compile(_DB + r"(?:DB|NAME|DATABASE|DBNAME)$|(?:^|_)DATABASE$")
POSTGRES_PORT_VARIABLE = re.compile(_DB + r"PORT$")
POSTGRES_HOST_VARIABLE = re.compile(_DB + r"HOST(?:NAME)?$")
REDIS_PORT_VARIABLE = re.compile(r"(?:^|_)REDIS_?PORT$")
REDIS_HOST_VARIABLE = re.compile(r"(?:^|_)REDIS_?HOST(?:NAME)?$")
_REDIS_PASSWORD_VARIABLE = re.compile(r"(?:^|_)REDIS_?(?:PASSWORD|PASS)$")
# A variable naming a server's host: its value then resolves to the sandbox's loopback.
_HOST_VARIABLE = re.compile(
    r"(?:POSTGRES|PG|DB|DATABASE|SQL|REDIS|CACHE|MYSQL|MARIADB|MONGO|RABBIT|AMQP|BROKER|ELASTIC)"
    r"\w*_?HOST(?:NAME)?$"
)
HOST_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,62}(?:\.[A-Za-z0-9_-]{1,63}){0,4}")
MAX_HOSTS = 50
LOWEST_PORT = 1024  # the sandbox's user cannot listen below it


@dataclass(frozen=True)
class Needs:
    """The servers to start, the names to resolve to them, and what cannot be provided."""

    services: tuple[Service, ...] = ()
    hosts: tuple[str, ...] = ()
    unsupported: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Url:
    kind: Kind | str
    host: str
    port: int | None
    user: str
    password: str
    database: str
    source: str
    spatial: bool = False
    """PostGIS asked for: a postgis:// URL or GeoDjango's engine."""


def image_kind(image: str) -> Kind | str | None:
    """What an image runs: a server grader starts, the name of one it cannot, or None."""
    # registry:5000/owner/name:tag@digest -> name
    without_digest = image.split("@", maxsplit=1)[0]
    repository = without_digest.rsplit(":", 1)[0] if "/" in image else image.split(":", 1)[0]
    name = PurePosixPath(repository.lower()).name
    if _POSTGRES_IMAGE.search(name):
        return Kind.POSTGRES
    if _REDIS_IMAGE.search(name):
        return Kind.REDIS
    return next((label for pattern, label in UNSUPPORTED_IMAGES if pattern.search(name)), None)


def _url(value: str, source: str) -> _Url | None:
    engine = _ENGINES.get(value.strip())
    if engine is not None:
        return _Url(engine, "", None, "", "", "", source, spatial=".gis." in value)
    scheme = value.split("://", 1)[0].lower().split("+")[0] if "://" in value else ""
    kind = _SCHEMES.get(scheme) or UNSUPPORTED_SCHEMES.get(scheme)
    if kind is None:
        return None
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:  # a placeholder port ('host:port')
        return _Url(kind, "", None, "", "", "", source)
    database = unquote(parts.path.lstrip("/").split("/")[0]) if kind is Kind.POSTGRES else ""
    return _Url(
        kind,
        parts.hostname or "",
        port,
        unquote(parts.username or ""),
        unquote(parts.password or ""),
        database,
        source,
        spatial=scheme == "postgis",
    )


def _first_port(candidates: Sequence[int | None], kind: Kind) -> int:
    usable = [p for p in candidates if p is not None and LOWEST_PORT <= p < 65536]
    return usable[0] if usable else DEFAULT_PORTS[kind]


def _numbers(values: Sequence[str]) -> list[int | None]:
    return [int(v) if v.isdigit() else None for v in values]


def _postgres(
    urls: list[_Url], declared: list[DeclaredService], variables: dict[str, str]
) -> Service:
    def matching(pattern: re.Pattern[str]) -> list[str]:
        return [value for name, value in variables.items() if pattern.search(name) and value]

    roles = [u.user for u in urls if u.user]
    databases = [u.database for u in urls if u.database]
    for service in declared:
        own = {s.name: s.value for s in service.settings if s.value}
        user = own.get("POSTGRES_USER", "postgres")
        roles.append(user)
        databases.append(own.get("POSTGRES_DB", user))
    roles += matching(ROLE_VARIABLE)
    databases += matching(DATABASE_VARIABLE)
    ports = [u.port for u in urls] + _numbers(matching(POSTGRES_PORT_VARIABLE))
    ports += [p for service in declared for p in service.ports]
    return Service(
        Kind.POSTGRES,
        _first_port(ports, Kind.POSTGRES),
        _where(urls, declared),
        roles=tuple(r for r in dict.fromkeys(roles) if SAFE_NAME.fullmatch(r)),
        databases=tuple(d for d in dict.fromkeys(databases) if SAFE_NAME.fullmatch(d)),
        spatial=any(u.spatial for u in urls) or any("postgis" in d.image for d in declared),
    )


def _redis(urls: list[_Url], declared: list[DeclaredService], variables: dict[str, str]) -> Service:
    # A URL says what its clients send; only without one do separate variables say it.
    passwords = [u.password for u in urls if u.password]
    if not urls:
        passwords = [v for n, v in variables.items() if _REDIS_PASSWORD_VARIABLE.search(n) and v]
    ports = [u.port for u in urls]
    ports += _numbers([v for n, v in variables.items() if REDIS_PORT_VARIABLE.search(n)])
    ports += [p for service in declared for p in service.ports]
    return Service(
        Kind.REDIS,
        _first_port(ports, Kind.REDIS),
        _where(urls, declared),
        passwords=tuple(dict.fromkeys(passwords)),
    )


def _where(urls: list[_Url], declared: list[DeclaredService]) -> str:
    places = [f"{d.source}, image {d.image}" for d in declared[:2]]
    places += [u.source for u in urls[: 2 - len(places)]]
    return "; ".join(places)


def _hosts(
    urls: list[_Url], declared: Sequence[DeclaredService], variables: dict[str, str]
) -> tuple[str, ...]:
    names = [u.host for u in urls] + [n for d in declared for n in d.names]
    names += [value for name, value in variables.items() if _HOST_VARIABLE.search(name)]
    usable = [
        n
        for n in dict.fromkeys(names)
        if HOST_NAME.fullmatch(n) and n != "localhost" and not n.replace(".", "").isdigit()
    ]
    return tuple(usable[:MAX_HOSTS])


def _apart(services: list[Service]) -> list[Service]:
    """The servers on ports of their own: two cannot listen on one port, and settings
    that ask for that must not keep the tests from running at all."""
    taken: set[int] = set()
    placed = []
    for service in services:
        port = service.port if service.port not in taken else DEFAULT_PORTS[service.kind]
        while port in taken:
            port += 1
        taken.add(port)
        placed.append(dataclasses.replace(service, port=port))
    return placed


def needs(
    declared: Sequence[DeclaredService],
    variables: dict[str, str],
    sources: dict[str, str],
    extra_hosts: Sequence[str] = (),
) -> Needs:
    """The servers the declared containers and the settings' URLs call for.

    ``variables`` are the values the run gets, in order of precedence; ``sources`` says
    where each came from; ``extra_hosts`` are other names to resolve (compose services)."""
    urls = [
        url
        for name, value in variables.items()
        if (url := _url(value, f"{name} in {sources.get(name, 'the settings')}"))
    ]
    by_kind: dict[Kind | str, list[DeclaredService]] = {}
    for service in declared:
        kind = image_kind(service.image)
        if kind is not None:
            by_kind.setdefault(kind, []).append(service)
    for url in urls:
        by_kind.setdefault(url.kind, [])
    services: list[Service] = []
    unsupported: list[str] = []
    for kind, containers in by_kind.items():
        wanted = [u for u in urls if u.kind == kind]
        if kind is Kind.POSTGRES:
            services.append(_postgres(wanted, containers, variables))
        elif kind is Kind.REDIS:
            services.append(_redis(wanted, containers, variables))
        else:
            unsupported.append(f"{kind} ({_where(wanted, containers)})")
    hosts = _hosts(urls, declared, variables) + tuple(extra_hosts)
    services = _apart(services)
    usable = [h for h in dict.fromkeys(hosts) if HOST_NAME.fullmatch(h) and h != "localhost"]
    return Needs(tuple(services), tuple(usable[:MAX_HOSTS]), tuple(unsupported))
