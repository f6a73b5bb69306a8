"""Which servers a submission's tests need, from the containers its repository runs and
the URLs its settings hold, and what each must look like for the code to connect."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.acquire.workspace import inventory
from grader.environment import run_settings, service_needs
from grader.environment.run_settings import RunSettings
from grader.sandbox.services import Kind


def _read(root: Path, files: dict[str, str]) -> RunSettings:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return run_settings.read(inventory(root))


def test_servers_from_images() -> None:
    kinds = {
        image: service_needs.image_kind(image)
        for image in (
            "postgres:15",
            "postgres",
            "postgis/postgis:15-3.4",
            "bitnami/postgresql:16",
            "timescale/timescaledb:latest-pg16",
            "pgvector/pgvector:pg16",
            "redis:7-alpine",
            "valkey/valkey:8",
            "registry.example:5000/team/redis:7@sha256:abc",
            "mysql:8",
            "mariadb:11",
            "mongo:7",
            "rabbitmq:3-management",
            "nginx:1.27",
            "python:3.12-slim",
        )
    }
    assert kinds == {
        "postgres:15": Kind.POSTGRES,
        "postgres": Kind.POSTGRES,
        "postgis/postgis:15-3.4": Kind.POSTGRES,
        "bitnami/postgresql:16": Kind.POSTGRES,
        "timescale/timescaledb:latest-pg16": Kind.POSTGRES,
        "pgvector/pgvector:pg16": Kind.POSTGRES,
        "redis:7-alpine": Kind.REDIS,
        "valkey/valkey:8": Kind.REDIS,
        "registry.example:5000/team/redis:7@sha256:abc": Kind.REDIS,
        "mysql:8": "MySQL",
        "mariadb:11": "MySQL",
        "mongo:7": "MongoDB",
        "rabbitmq:3-management": "RabbitMQ",
        "nginx:1.27": None,
        "python:3.12-slim": None,
    }


def test_servers_from_urls_alone(tmp_path: Path) -> None:
    settings = _read(
        tmp_path,
        {
            ".env.example": (
                "DATABASE_URL=postgresql+asyncpg://shop:pw@pg.internal:6543/shop\n"
                "TEST_POSTGRES_DB=shop_test\nPOSTGRES_HOST=pg.internal\n"
                "TEST_DATABASE=shop_check\n"
                "CACHE_URL=redis://:cache-pw@cache:6380/1\n"
                "ANALYTICS_URL=mysql://user:pw@analytics:3306/events\n"
                "API_URL=https://api.example.com\n"
            )
        },
    )
    postgres, redis = settings.services
    assert (postgres.kind, postgres.port) == (Kind.POSTGRES, 6543)
    assert postgres.roles == ("shop",) and postgres.databases == ("shop", "shop_test", "shop_check")
    assert postgres.declared_in == "DATABASE_URL in .env.example"
    assert (redis.kind, redis.port, redis.passwords) == (Kind.REDIS, 6380, ("cache-pw",))
    assert settings.unsupported == ("MySQL (ANALYTICS_URL in .env.example)",)
    # the servers' host names resolve to the sandbox; the internet's never do
    assert set(settings.hosts) == {"pg.internal", "cache", "analytics"}


def test_redis_passwords_come_from_its_url_else_from_its_variable(tmp_path: Path) -> None:
    compose = "services:\n  redis:\n    image: redis:7\n"
    by_url = _read(
        tmp_path / "url",
        {
            "compose.yml": compose,
            ".env.example": "REDIS_URL=redis://redis:6379/0\nREDIS_PASSWORD=x\n",
        },
    )
    assert by_url.services[0].passwords == ()
    by_variable = _read(
        tmp_path / "variable", {"compose.yml": compose, ".env.example": "REDIS_PASSWORD=hunter2\n"}
    )
    assert by_variable.services[0].passwords == ("hunter2",)


def test_two_servers_asking_for_one_port_get_ports_of_their_own(tmp_path: Path) -> None:
    settings = _read(
        tmp_path,
        {".env.example": "DATABASE_URL=postgres://a@db:6379/a\nREDIS_URL=redis://cache:6379\n"},
    )
    postgres, redis = settings.services
    assert (postgres.port, redis.port) == (6379, 6380)
    low = _read(tmp_path / "low", {".env.example": "DATABASE_URL=postgres://a@db:80/a\n"})
    assert low.services[0].port == 5432  # the sandbox's user cannot listen below 1024


def test_an_empty_database_url_points_at_the_sandbox_server(tmp_path: Path) -> None:
    settings = _read(
        tmp_path,
        {
            "docker-compose.yml": (
                "services:\n  db:\n    image: postgres:16\n    environment:\n"
                "      POSTGRES_USER: app\n"
            ),
            ".env.example": "DATABASE_URL=\nREDIS_URL=\n",
        },
    )
    values = settings.environment()
    assert values["DATABASE_URL"] == "postgresql://app@localhost:5432/app"
    assert values["REDIS_URL"] == ""  # no Redis is declared: left as written
    assert any("DATABASE_URL: the sandbox's PostgreSQL" in note for note in settings.notes())


def test_a_django_engine_setting_asks_for_its_server_and_blank_parts_are_filled(
    tmp_path: Path,
) -> None:
    # A Django template names its database by engine and leaves the rest for the reader.
    template = (
        "SECRET_KEY=\nDB_ENGINE=django.db.backends.postgresql\n"
        "DB_NAME=\nDB_USER=\nDB_PASSWORD=\nDB_HOST=127.0.0.1\nDB_PORT=5432\n"
    )
    settings = _read(tmp_path / "postgres", {"sample.env": template})
    (postgres,) = settings.services
    assert (postgres.kind, postgres.port) == (Kind.POSTGRES, 5432)
    assert postgres.declared_in == "DB_ENGINE in sample.env"
    values = settings.environment()
    assert (values["DB_NAME"], values["DB_USER"], values["DB_PASSWORD"]) == (
        "postgres",
        "postgres",
        "",
    )
    assert "settings: DB_NAME, DB_USER: the sandbox's PostgreSQL (empty in sample.env)" in (
        settings.notes()
    )
    mysql = _read(tmp_path / "mysql", {".env.example": "DB_ENGINE=django.db.backends.mysql\n"})
    assert mysql.services == () and mysql.unsupported == ("MySQL (DB_ENGINE in .env.example)",)


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        # a template's placeholders for the server's parts name the sandbox's server
        (
            "DB_ENGINE=django.db.backends.postgresql\nDB_HOST=<your_db_host>\n"
            "DB_PORT=<port>\nDB_NAME=shop\nDB_USER=your_db_user\n",
            {"DB_HOST": "localhost", "DB_PORT": "5432", "DB_NAME": "shop"},
        ),
        # a real host name is kept (it resolves to the sandbox's loopback)
        (
            "DATABASE_URL=postgres://app@db:5433/app\nPOSTGRES_HOST=db\nPOSTGRES_PORT=5433\n",
            {"POSTGRES_HOST": "db", "POSTGRES_PORT": "5433"},
        ),
        # Redis: an empty host and a placeholder port
        (
            "REDIS_URL=redis://cache:6379/0\nREDIS_HOST=\nREDIS_PORT=xxxx\n",
            {"REDIS_HOST": "localhost", "REDIS_PORT": "6379"},
        ),
    ],
)
def test_placeholder_server_parts_name_the_sandbox_server(
    tmp_path: Path, template: str, expected: dict[str, str]
) -> None:
    settings = _read(tmp_path, {".env.example": template})
    values = settings.environment()
    assert {name: values.get(name) for name in expected} == expected
    # a placeholder role is a role like any other: the server creates it, the code uses it
    if "DB_USER" in values:
        assert values["DB_USER"] in settings.services[0].roles


@pytest.mark.parametrize(
    ("files", "spatial"),
    [
        ({"docker-compose.yml": "services:\n  db:\n    image: postgis/postgis:15-3.4\n"}, True),
        ({".env.example": "DB_ENGINE=django.contrib.gis.db.backends.postgis\n"}, True),
        ({".env.example": "DATABASE_URL=postgis://app@db:5432/app\n"}, True),
        ({"docker-compose.yml": "services:\n  db:\n    image: postgres:15\n"}, False),
        ({".env.example": "DB_ENGINE=django.db.backends.postgresql\n"}, False),
    ],
)
def test_geodjango_and_postgis_images_ask_for_a_spatial_database(
    tmp_path: Path, files: dict[str, str], spatial: bool
) -> None:
    (postgres,) = _read(tmp_path, files).services
    assert postgres.spatial is spatial
