"""Which settings a submission's tests get, read from its repository files:
dotenv files, docker compose files and CI workflows, in their order of precedence."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.acquire.workspace import inventory
from grader.environment import dotenv_files, run_settings
from grader.environment.run_settings import RunSettings, stand_in
from grader.environment.settings_declarations import MAX_FILE_BYTES, interpolate
from grader.sandbox.services import Kind
from grader.tools import scratch_dotenv
from grader.tools.pytest_run import settings_for


def _read(root: Path, files: dict[str, str]) -> RunSettings:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return run_settings.read(inventory(root))


def _values(settings: RunSettings) -> dict[str, str]:
    return settings.environment()


def _sources(settings: RunSettings) -> dict[str, str]:
    return {v.name: v.source for v in settings.variables}


# ----------------------------------------------------------------- dotenv files


def test_dotenv_quotes_comments_and_export_prefixes() -> None:
    text = (
        "# a comment\n"
        "export SECRET_KEY=abc123\n"
        'GREETING="Hello there"   # trailing comment\n'
        "PATTERN='${NOT_EXPANDED}'\n"
        "BASE=https://example.org\n"
        "API=${BASE}/api\n"
        'ESCAPED="a \\"quoted\\" word"\n'
        "EMPTY=\n"
        "NAMED_ONLY\n"
        "this line is not a setting\n"
    )
    settings = {s.name: s.value for s in dotenv_files.parse(text, ".env.example")}
    assert settings == {
        "SECRET_KEY": "abc123",
        "GREETING": "Hello there",
        "PATTERN": "${NOT_EXPANDED}",
        "BASE": "https://example.org",
        "API": "https://example.org/api",
        "ESCAPED": 'a "quoted" word',
        "EMPTY": "",
        "NAMED_ONLY": None,
    }


def test_every_kind_of_dotenv_file_is_found(tmp_path: Path) -> None:
    templates = (".env.example", ".env.sample", ".env.template", "env.example", "example.env")
    for number, name in enumerate((*templates, "sample_env", ".env_example", "env-sample")):
        folder = tmp_path / f"repository-{number}"
        settings = _read(folder, {name: "GREETING=hi\n"})
        assert _sources(settings) == {"GREETING": name}, name
    nested = _read(tmp_path / "nested", {"site/.env.example": "GREETING=hi\n"})
    assert _sources(nested) == {"GREETING": "site/.env.example"}


# ----------------------------------------------------------------- compose files

COMPOSE = """\
services:
  web:
    build: .
    env_file:
      - ./config/web.env
      - path: missing.env
        required: false
    environment:
      DEBUG: "true"
      WORKERS: 2
      FEATURE_X: true
      FROM_SHELL:
  worker:
    build: .
    environment:
      - QUEUE=default
      - DJANGO_ALLOWED_HOSTS=localhost web
      - FROM_SHELL_TOO
  db:
    image: postgres:${PG_VERSION:-15}
    hostname: database
    networks:
      back:
        aliases: [pg]
    environment:
      POSTGRES_USER: shop
      POSTGRES_DB: shop_test
"""


def test_compose_environment_in_both_forms_and_env_files(tmp_path: Path) -> None:
    settings = _read(
        tmp_path,
        {"docker-compose.yml": COMPOSE, "config/web.env": "DEBUG=false\nTIMEZONE=UTC\n"},
    )
    values = _values(settings)
    # environment: wins over env_file, as in compose; list and mapping forms alike
    assert values["DEBUG"] == "true" and values["TIMEZONE"] == "UTC"
    assert values["WORKERS"] == "2" and values["FEATURE_X"] == "true"
    assert values["QUEUE"] == "default"
    assert values["DJANGO_ALLOWED_HOSTS"] == "localhost web"
    # named without a value: compose takes it from the shell, which grader never reads
    assert "FROM_SHELL" not in values and "FROM_SHELL_TOO" not in values
    assert _sources(settings)["TIMEZONE"] == "config/web.env"
    assert _sources(settings)["QUEUE"] == "docker-compose.yml"
    (postgres,) = settings.services
    assert postgres.kind is Kind.POSTGRES
    assert "docker-compose.yml (service db), image postgres:15" in postgres.declared_in
    assert set(settings.hosts) >= {"db", "database", "pg", "web", "worker"}


def test_an_env_file_kept_out_of_git_is_read_from_its_template(tmp_path: Path) -> None:
    # The README says `cp dev.env.template dev.env`; the settings module reads APP_MODE
    # from the environment compose gives it, and fails to import without it.
    compose = (
        "services:\n  db:\n    image: postgres:16\n    env_file: [db.env]\n"
        "  web:\n    build: .\n    env_file:\n      - dev.env\n      - db.env\n"
    )
    settings = _read(
        tmp_path,
        {
            "site/docker-compose.yml": compose,
            "site/dev.env.template": "APP_MODE=from-the-template\nDEBUG=true\n",
            "site/db.env.template": "POSTGRES_USER=shop\n",
            "site/db.env": "POSTGRES_USER=committed\n",  # committed: read, not its template
            "site/prod.env.template": "APP_MODE=production\nSECURE_SSL_REDIRECT=true\n",
            # a production file's templates hold production values, never the tests'
            "site/docker-compose.prod.yml": (
                "services:\n  web:\n    build: .\n    env_file: [prod.env]\n"
            ),
        },
    )
    values = _values(settings)
    assert values["APP_MODE"] == "from-the-template" and values["DEBUG"] == "true"
    assert values["POSTGRES_USER"] == "committed"
    assert _sources(settings)["APP_MODE"] == "site/dev.env.template"
    assert "SECURE_SSL_REDIRECT" not in values


CONTAINER_COMPOSE = """
services:
  api:
    build: .
    environment:
      - UPLOAD_DIR=/app/uploads/resumes
      - STATIC_ROOT=/srv/site/static
      - REPORTS=/app/reports
      - CACHE_DIR=/tmp/cache
      - LOG_FILE=/var/log/api.log
      - BASE_URL=/api/v1
    volumes:
      - ./uploads:/app/uploads
      - type: bind
        source: ./assets
        target: /srv/site
      - data:/var/lib/data
  worker:
    build:
      context: ./worker
      dockerfile: Dockerfile.worker
    environment:
      JOBS: /code/jobs
volumes:
  data:
"""


def test_a_path_inside_the_container_is_the_same_folder_of_the_repository(tmp_path: Path) -> None:
    """A compose value names the image's file system; the tests run from the repository,
    so a folder mounted or copied from it is named where it is there."""
    settings = _read(
        tmp_path,
        {
            "docker-compose.yml": CONTAINER_COMPOSE,
            "Dockerfile": "FROM python:3.12\nWORKDIR /app\nCOPY requirements.txt .\nCOPY . .\n",
            "worker/Dockerfile.worker": "FROM python:3.12\nWORKDIR /code\nCOPY --chown=app . ./\n",
        },
    )
    values = _values(settings)
    assert values["UPLOAD_DIR"] == "./uploads/resumes"  # the bind mount beats WORKDIR
    assert values["STATIC_ROOT"] == "./assets/static"
    assert values["REPORTS"] == "./reports"  # COPY . . into WORKDIR /app
    assert values["JOBS"] == "./worker/jobs"
    # Not the repository's: kept as written.
    assert values["CACHE_DIR"] == "/tmp/cache"
    assert values["LOG_FILE"] == "/var/log/api.log"
    assert values["BASE_URL"] == "/api/v1"
    notes = " ".join(settings.notes())
    assert (
        "UPLOAD_DIR=/app/uploads/resumes is the container's path: ./uploads/resumes here" in notes
    )


def test_a_template_value_for_local_runs_is_not_translated(tmp_path: Path) -> None:
    settings = _read(
        tmp_path,
        {
            ".env.example": "UPLOAD_DIR=/app/uploads\n",
            "docker-compose.yml": "services:\n  api:\n    build: .\n",
            "Dockerfile": "FROM python:3.12\nWORKDIR /app\nCOPY . .\n",
        },
    )
    assert _values(settings)["UPLOAD_DIR"] == "/app/uploads"


def test_compose_substitutes_from_the_repository_never_from_grader(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DB_PASSWORD", "grader-own-secret")
    monkeypatch.setenv("APP_NAME", "grader-own-name")
    compose = (
        "services:\n  app:\n    build: .\n    environment:\n"
        "      DATABASE_URL: postgres://app:${DB_PASSWORD}@db/app\n"
        "      TITLE: ${APP_NAME:-Shop}\n      PRICE: $$5\n"
    )
    settings = _read(tmp_path, {"compose.yaml": compose, ".env.example": "DB_PASSWORD=pw\n"})
    values = _values(settings)
    assert values["DATABASE_URL"] == "postgres://app:pw@db/app"
    assert values["TITLE"] == "Shop" and values["PRICE"] == "$5"
    assert "grader-own" not in repr(settings)


def test_interpolation_follows_compose() -> None:
    known = {"SET": "value", "EMPTY": ""}.get
    assert interpolate("${SET}-${UNSET}-$SET", known) == "value--value"
    assert interpolate("${UNSET:-fallback} ${EMPTY:-fallback}", known) == "fallback fallback"
    assert interpolate("${UNSET-default} [${EMPTY-default}]", known) == "default []"
    assert interpolate("${SET:+other} ${UNSET:+other} $$SET", known) == "other  $SET"
    assert interpolate("${UNSET:?must be set}", known) == ""


def test_the_original_compose_format_has_its_services_at_the_top(tmp_path: Path) -> None:
    compose = (
        'version: "2"\nx-common: &common\n  restart: always\n'
        "web:\n  build: .\n  environment:\n    - MODE=legacy\n"
        "cache:\n  image: redis:6\n"
    )
    settings = _read(tmp_path, {"docker-compose.yml": compose})
    assert _values(settings) == {"MODE": "legacy"}
    assert set(settings.hosts) == {"web", "cache"}
    assert [s.kind for s in settings.services] == [Kind.REDIS]


def test_compose_files_for_the_tests_come_before_the_main_one(tmp_path: Path) -> None:
    def compose(value: str) -> str:
        return f"services:\n  app:\n    build: .\n    environment:\n      MODE: {value}\n"

    settings = _read(
        tmp_path,
        {
            "docker-compose.yml": compose("main"),
            "docker-compose.test.yml": compose("test"),
            "docker-compose.prod.yml": compose("production"),
        },
    )
    assert _values(settings)["MODE"] == "test"


# ----------------------------------------------------------------- CI workflows

WORKFLOW = """\
name: ci
on: [push]
env:
  LEVEL: workflow
  ONLY_WORKFLOW: w
jobs:
  lint:
    runs-on: ubuntu-latest
    env:
      LINT_ONLY: yes
    steps:
      - run: ruff .
  test:
    runs-on: ubuntu-latest
    env:
      LEVEL: job
      ONLY_JOB: j
      API_TOKEN: ${{ secrets.API_TOKEN }}
      DATABASE_URL: postgres://ci:${{ secrets.PG_PASSWORD }}@localhost:5433/ci_db
    services:
      postgres:
        image: postgis/postgis:16-3.4
        env:
          POSTGRES_USER: ci
          POSTGRES_PASSWORD: postgres
        ports: ["5433:5432"]
      search:
        image: docker.elastic.co/elasticsearch/elasticsearch:8.13.0
    steps:
      - uses: actions/checkout@v4
      - run: pip install -r requirements.txt
        env:
          LEVEL: install-step
      - run: python -m pytest
        env:
          LEVEL: step
          COPIED: ${{ env.ONLY_JOB }}-copy
"""


def test_ci_env_of_the_test_step_job_and_workflow_in_that_order(tmp_path: Path) -> None:
    settings = _read(tmp_path, {".github/workflows/ci.yml": WORKFLOW})
    values = _values(settings)
    assert values["LEVEL"] == "step"
    assert values["ONLY_JOB"] == "j" and values["ONLY_WORKFLOW"] == "w"
    assert values["COPIED"] == "j-copy"
    assert values["POSTGRES_USER"] == "ci"
    # a job that does not run the tests describes another environment
    assert "LINT_ONLY" not in values
    # a CI secret no repository holds: a stand-in for a secret, 'dummy' inside a value
    assert values["API_TOKEN"] == stand_in("API_TOKEN")
    assert values["DATABASE_URL"] == "postgres://ci:dummy@localhost:5433/ci_db"


def test_ci_services_are_servers_and_unsupported_ones_are_named(tmp_path: Path) -> None:
    settings = _read(tmp_path, {".github/workflows/ci.yml": WORKFLOW})
    (postgres,) = settings.services
    assert postgres.kind is Kind.POSTGRES and postgres.port == 5433
    assert postgres.roles == ("ci",) and postgres.databases == ("ci_db", "ci")
    assert "postgres" in settings.hosts and "search" in settings.hosts
    (unsupported,) = settings.unsupported
    assert unsupported.startswith("Elasticsearch (.github/workflows/ci.yml (service search)")
    notes = "\n".join(settings.notes())
    assert "Elasticsearch" in notes and "grader starts PostgreSQL and Redis only" in notes


# ----------------------------------------------------------------- precedence


def test_precedence_ci_then_test_dotenv_then_compose_then_templates_then_env(
    tmp_path: Path,
) -> None:
    sources = {
        ".github/workflows/test.yml": "ci",
        ".env.test": "env_test",
        "docker-compose.yml": "compose",
        ".env.example": "template",
        ".env": "committed",
    }
    files = {}
    for index, (name, value) in enumerate(sources.items()):
        # source k sets FROM_0 to FROM_k: FROM_k is the first source's that sets it
        names = [f"FROM_{rank}" for rank in range(index + 1)]
        if name.endswith(".yml") and "workflows" in name:
            lines = "".join(f"      {n}: {value}\n" for n in names)
            files[name] = f"jobs:\n  t:\n    env:\n{lines}    steps:\n      - run: pytest\n"
        elif name == "docker-compose.yml":
            lines = "".join(f"      {n}: {value}\n" for n in names)
            files[name] = f"services:\n  app:\n    build: .\n    environment:\n{lines}"
        else:
            files[name] = "".join(f"{n}={value}\n" for n in names)
    values = _values(_read(tmp_path, files))
    assert values == {f"FROM_{rank}": value for rank, value in enumerate(sources.values())}


# ----------------------------------------------------------------- placeholders


@pytest.mark.parametrize(
    "value",
    ["", "changeme", "change-me", "CHANGE_ME_PLEASE", "your-secret-key", "<your token>",
     "xxxxxx", "********", "secret", "replace-with-a-real-key", "put_your_key_here", "TODO"],
)  # fmt: skip
def test_placeholder_secrets_get_a_stable_stand_in(tmp_path: Path, value: str) -> None:
    settings = _read(tmp_path, {".env.example": f"SECRET_KEY={value}\n"})
    assert _values(settings) == {"SECRET_KEY": stand_in("SECRET_KEY")}
    assert stand_in("SECRET_KEY") != stand_in("JWT_SECRET")
    assert len(stand_in("SECRET_KEY")) == 44  # a Fernet key's shape
    note = "settings: SECRET_KEY: made-up stand-ins for placeholders in .env.example"
    assert note in settings.notes()


def test_real_values_are_kept_and_beat_a_placeholder_found_first(tmp_path: Path) -> None:
    settings = _read(
        tmp_path,
        {
            ".env.example": (
                "SECRET_KEY=changeme\nJWT_SECRET=s3cr3t-for-tests\nDB_PASSWORD=\n"
                "SITE_URL=<your site>\nDEBUG=\n"
            ),
            ".env": "SECRET_KEY=django-insecure-abc123\n",
        },
    )
    values = _values(settings)
    assert values["SECRET_KEY"] == "django-insecure-abc123"  # noqa: S105 - a test value
    assert _sources(settings)["SECRET_KEY"] == ".env"  # noqa: S105 - a file name
    assert values["JWT_SECRET"] == "s3cr3t-for-tests"  # noqa: S105 - a test value
    # an empty password means none; placeholders of other settings stay as written
    assert values["DB_PASSWORD"] == ""
    assert values["SITE_URL"] == "<your site>" and values["DEBUG"] == ""


# ----------------------------------------------------------------- safety


def test_unsafe_names_and_values_are_left_out(tmp_path: Path) -> None:
    long_value = "a" * 5000
    settings = _read(
        tmp_path,
        {
            ".env.example": (
                "lower_case=1\nPATH=/evil\nLD_PRELOAD=/tmp/x.so\nPYTHONPATH=/tmp\n"
                "PYTEST_ADDOPTS=-k nothing\nCOVERAGE_RCFILE=/tmp/rc\nGRADER_CACHE_DIR=/tmp\n"
                f'MULTI="one\ntwo"\nLONG={long_value}\nGOOD=yes\n'
                # gettext's LANGUAGE is not one grader sets: apps read it as a setting
                'LANGUAGE="en-gb"\n'
            )
        },
    )
    assert _values(settings) == {"GOOD": "yes", "LANGUAGE": "en-gb"}
    left_out = ", ".join(settings.left_out)
    for name in ("PATH", "LD_PRELOAD", "PYTHONPATH", "PYTEST_ADDOPTS", "GRADER_CACHE_DIR"):
        assert f"{name} (grader sets it)" in left_out
    assert "lower_case (not a name of the form [A-Z_][A-Z0-9_]*)" in left_out
    assert "MULTI (not a single line" in left_out and "LONG (not a single line" in left_out


def test_hostile_files_are_reported_not_fatal(tmp_path: Path) -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
        for i in range(8)
    )
    settings = _read(
        tmp_path,
        {
            "docker-compose.yml": "services: [unclosed\n",
            "compose.yaml": "[" * 5000 + "]" * 5000,
            "docker-compose.dev.yml": bomb,
            ".github/workflows/ci.yml": "jobs: just a string\n",
            ".env.example": "A=1\n" + "#" * MAX_FILE_BYTES,
        },
    )
    assert settings.variables == ()
    assert any("docker-compose.yml: not a compose file" in p for p in settings.problems)


def test_the_django_settings_module_of_the_pytest_settings_wins(tmp_path: Path) -> None:
    (tmp_path / "pytest.ini").write_text(
        "[pytest]\nDJANGO_SETTINGS_MODULE = site.settings.test\n", encoding="utf-8"
    )
    (tmp_path / ".env.example").write_text(
        "DJANGO_SETTINGS_MODULE=site.settings.production\nGOOD=1\n", encoding="utf-8"
    )
    settings = settings_for(inventory(tmp_path))
    assert _values(settings) == {"GOOD": "1"}
    assert "DJANGO_SETTINGS_MODULE (grader's pytest settings name it)" in settings.left_out


def test_nothing_declared_means_nothing_set(tmp_path: Path) -> None:
    settings = _read(tmp_path, {"app.py": "print('hi')\n"})
    assert settings == RunSettings()
    assert settings.notes() == []


def test_notes_say_which_variables_came_from_where(tmp_path: Path) -> None:
    settings = _read(
        tmp_path,
        {
            ".env.example": "DATABASE_URL=postgres://u@db/app\nSECRET_KEY=\n",
            "docker-compose.yml": (
                "services:\n  web:\n    build: .\n    environment:\n"
                "      DJANGO_ALLOWED_HOSTS: localhost\n"
            ),
        },
    )
    notes = settings.notes()
    assert notes[0] == (
        "settings: DJANGO_ALLOWED_HOSTS from docker-compose.yml; DATABASE_URL from .env.example"
    )
    assert notes[1] == "settings: SECRET_KEY: made-up stand-ins for placeholders in .env.example"


def test_dotenv_copies_go_beside_templates_never_over_a_file_or_through_a_link(
    tmp_path: Path,
) -> None:
    root = tmp_path / "sub"
    (root / "backend").mkdir(parents=True)
    (root / "backend" / ".env.example").write_text("TOKEN=changeme\nNAME='a $b'\n")
    (root / ".env.sample").write_text("OWN=\n")
    (root / ".env").write_text("OWN=1\n")  # the candidate's own stays
    # the CI's other variables are not the template's: a settings class that forbids
    # unknown keys in its env file must not meet them
    (root / ".github" / "workflows").mkdir(parents=True)
    (root / ".github" / "workflows" / "ci.yml").write_text(
        "jobs:\n  test:\n    env:\n      REGISTRY: ghcr.io\n    steps:\n      - run: pytest\n"
    )
    ws = inventory(root)
    settings = run_settings.read(ws)
    assert "REGISTRY" in settings.environment()
    copies = run_settings.dotenv_copies(ws, settings)
    assert set(copies) == {"backend/.env"}
    assert copies["backend/.env"] == f"TOKEN='{stand_in('TOKEN')}'\nNAME='a $b'\n"
    scratch = tmp_path / "scratch"
    (scratch / "elsewhere").mkdir(parents=True)
    (scratch / "backend").symlink_to(scratch / "elsewhere")
    assert scratch_dotenv.write(scratch, {**copies, ".env": "X=1\n"}) == [".env"]
    assert not (scratch / "elsewhere" / ".env").exists()
    assert scratch_dotenv.write(scratch, {".env": "Y=2\n"}) == []  # never overwritten
    assert (scratch / ".env").read_text() == "X=1\n"


def test_a_lone_template_in_a_folder_of_its_own_is_copied_to_the_root_too(tmp_path: Path) -> None:
    root = tmp_path / "sub"
    (root / "env_templates").mkdir(parents=True)
    (root / "env_templates" / "template.env").write_text("GREETING=hi\n")
    ws = inventory(root)
    copies = run_settings.dotenv_copies(ws, run_settings.read(ws))
    assert copies == {".env": "GREETING='hi'\n", "env_templates/.env": "GREETING='hi'\n"}
    # in several folders, each stays beside its own code
    (root / "web").mkdir()
    (root / "web" / ".env.example").write_text("PORT=3000\n")
    ws = inventory(root)
    assert set(run_settings.dotenv_copies(ws, run_settings.read(ws))) == {
        "env_templates/.env",
        "web/.env",
    }
