"""Facts read from code and repository, on small submissions written by each test."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import run_grader

from grader.acquire.workspace import inventory, screen
from grader.core.models import ToolResult, ToolStatus
from grader.sandbox.bubblewrap import Limits, NotNeeded
from grader.tools.base import ToolContext
from grader.tools.facts import Facts
from grader.tools.readme import README_SECTIONS


def _facts(root: Path, files: dict[str, str | bytes]) -> ToolResult:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    work = root.parent / "work"
    work.mkdir(exist_ok=True)
    return Facts().run(ToolContext(inventory(root), work, NotNeeded(), Limits()))


def _metrics(result: ToolResult) -> dict[str, Any]:
    return {m.name: m.value for m in result.metrics}


def _rules(result: ToolResult) -> list[str]:
    return [f.rule_id for f in result.findings]


def test_docstrings_and_annotations_are_counted_on_public_code(tmp_path: Path) -> None:
    code = (
        '"""Module."""\n'
        "def documented(a: int, b) -> int:\n"
        '    """Yes."""\n'
        "    return a\n"
        "def undocumented(a):\n"
        "    return a\n"
        "def _private(a):\n"
        "    return a\n"
        "class Thing:\n"
        '    """Yes."""\n'
        "    def method(self, x: int) -> None:\n"
        "        pass\n"
    )
    metrics = _metrics(_facts(tmp_path / "s", {"app.py": code}))
    # module, documented, undocumented, Thing, method: 3 of 5 documented
    assert metrics["docs.docstring_coverage"] == 60.0
    # slots: documented a,b,return; undocumented a,return; _private a,return; method x,return
    assert metrics["types.annotation_coverage"] == pytest.approx(100 * 4 / 9, abs=0.01)


def test_a_module_typed_in_a_stub_beside_it_counts_the_stubs_annotations(
    tmp_path: Path,
) -> None:
    code = '"""Module."""\ndef first(items, default=None):\n    return items[0]\n'
    untyped = _metrics(_facts(tmp_path / "a", {"more.py": code}))
    assert untyped["types.annotation_coverage"] == 0.0
    stub = "def first(items: list[int], default: int | None = ...) -> int: ...\n"
    typed = _metrics(_facts(tmp_path / "b", {"more.py": code, "more.pyi": stub}))
    assert typed["types.annotation_coverage"] == 100.0


def test_suppressions_prints_and_logging(tmp_path: Path) -> None:
    code = (
        "import logging\n"
        "x = 1  # noqa: E501\n"
        "y = 2  # type: ignore[assignment]\n"
        "z = eval('1')  # nosec B307\n"
        "if x:  # pragma: no cover\n"
        "    print(x)\n"
    )
    result = _facts(tmp_path / "s", {"app.py": code})
    metrics = _metrics(result)
    assert metrics["suppressions.count"] == 4
    assert metrics["observability.prints"] == 1
    # An imported logging module writes nothing.
    assert metrics["observability.logging"] == 0.0
    assert _rules(result).count("print-call") == 1
    assert "suppression comments: no-cover 1, noqa 1, nosec 1, type-ignore 1" in result.notes


@pytest.mark.parametrize(
    ("code", "logs"),
    [
        ("import logging\n\nlogger = logging.getLogger(__name__)\n", False),
        ("import logging\n\nlogging.basicConfig(level=logging.INFO)\n", True),
        ("from logging.config import dictConfig\n\ndictConfig({})\n", True),
        ("from loguru import logger\n\nlogger.add('x.log')\n", True),
        ("def f(logger):\n    logger.opt(depth=2).log(20, 'x')\n", True),
        ("import logging\n\nlog = logging.getLogger('x')\nitems = []\nitems.add(1)\n", False),
        ("import math\n\ndef f(x):\n    return math.log(x)\n", False),
        ("import logging\n\ndef f():\n    logging.warning('low')\n", True),
        ("import logging\n\nlog = logging.getLogger()\n\ndef f():\n    log.info('x')\n", True),
        ("from loguru import logger\n\ndef f():\n    logger.exception('x')\n", True),
        ("class A:\n    def f(self):\n        self._logger.error('x')\n", True),
        ("def f(app):\n    app.logger.debug('x')\n", True),
        ("from opentelemetry import trace\n\ntracer = trace.get_tracer(__name__)\n", True),
        # Django's LOGGING setting, in dictConfig's schema, is where its log lines go
        ('LOGGING = {"version": 1, "handlers": {"console": {"class": "x"}}}\n', True),
        ('CONFIG = {"version": 2, "name": "shop"}\n', False),  # a version is not a schema
    ],
)
def test_logging_is_credited_for_log_lines_written_not_a_logger_imported(
    tmp_path: Path, code: str, logs: bool
) -> None:
    metrics = _metrics(_facts(tmp_path / "s", {"app.py": code}))
    assert metrics["observability.logging"] == (100.0 if logs else 0.0)


def test_logging_set_up_by_a_generated_migration_environment_is_not_the_candidates(
    tmp_path: Path,
) -> None:
    files = {
        "alembic.ini": "[alembic]\nscript_location = alembic\n",
        "alembic/env.py": "from logging.config import fileConfig\n\nfileConfig('alembic.ini')\n",
        "alembic/versions/001_init.py": "revision = '1'\n",
        "app.py": "x = 1\n",
    }
    metrics = _metrics(_facts(tmp_path / "s", files))
    assert metrics["observability.logging"] == 0.0


@pytest.mark.parametrize(
    ("code", "lines"),
    [
        (
            "from fastapi import HTTPException\n\n\nasync def read(item):\n"
            "    if item is None:\n        return HTTPException(status_code=404)\n"
            "    return item\n",
            [6],
        ),
        ("def parse(x):\n    if not x:\n        return ValueError('empty')\n    return x\n", [3]),
        # made on purpose: the name or the annotation says so
        ("def _error(message):\n    return ValueError(message)\n", []),
        ("def check(x) -> ValueError | None:\n    return ValueError(x) if x else None\n", []),
        ("def read(x):\n    raise KeyError(x)\n", []),
        ("def read(x):\n    return Response(x)\n", []),
    ],
)
def test_an_exception_returned_instead_of_raised_is_a_likely_bug(
    tmp_path: Path, code: str, lines: list[int]
) -> None:
    result = _facts(tmp_path / "s", {"app.py": code})
    found = [f.location.line for f in result.findings if f.rule_id == "returned-exception"]
    assert found == lines
    assert _metrics(result)["code.returned_exceptions"] == len(lines)


@pytest.mark.parametrize(
    ("files", "counted"),
    [
        ({"app/service.py": "def run():\n    print('done')\n"}, 1),
        ({"scripts/list_files.py": "import os\nprint(os.listdir('.'))\n"}, 0),
        ({"app/cli.py": "import argparse\n\ndef main():\n    print('total: 3')\n"}, 0),
        # a command line read by hand, in a module run as a program: print is its output
        (
            {
                "parse_log.py": "import sys\n\ndef main():\n    print(sys.argv[1])\n\n"
                "if __name__ == '__main__':\n    main()\n"
            },
            0,
        ),
        (
            {
                "app/job.py": "def run():\n    print('x')\n\n"
                "if __name__ == '__main__':\n    print(run())\n"
            },
            1,
        ),
    ],
)
def test_a_command_line_programs_output_is_not_a_missing_log_line(
    tmp_path: Path, files: dict[str, str], counted: int
) -> None:
    result = _facts(tmp_path / "s", files)
    assert _metrics(result)["observability.prints"] == counted
    assert _rules(result).count("print-call") == counted


def test_tests_without_assertions(tmp_path: Path) -> None:
    tests = (
        "import pytest\n"
        "def _assert_ok(x):\n"
        "    assert x\n"
        "def test_checks():\n"
        "    assert 1 == 1\n"
        "def test_helper():\n"
        "    _assert_ok(True)\n"
        "def test_raises():\n"
        "    with pytest.raises(ValueError):\n"
        "        int('x')\n"
        "def test_nothing():\n"
        "    int('1')\n"
    )
    result = _facts(tmp_path / "s", {"app.py": "x = 1\n", "tests/test_app.py": tests})
    assert _metrics(result)["tests.without_assert_share"] == 25.0
    assert _rules(result).count("test-without-assert") == 1


def test_only_what_pytest_collects_is_judged_as_a_test(tmp_path: Path) -> None:
    conftest = "import pytest\n@pytest.fixture\ndef test_client():\n    return 1\n"
    tests = (
        "import unittest\n\nimport pytest\n\n\n"
        "@pytest.fixture()\ndef test_data():\n    return [1]\n\n\n"
        "def test_sum(test_data):\n    def test_inner():\n        pass\n"
        "    assert sum(test_data) == 1\n\n\n"
        "class Helper:\n    def test_like(self):\n        pass\n\n\n"
        "class TestThing:\n    def test_nothing(self):\n        int('1')\n\n\n"
        "class Case(unittest.TestCase):\n    def test_equal(self):\n"
        "        self.assertEqual(1, 1)\n"
    )
    result = _facts(
        tmp_path / "s",
        {"app.py": "x = 1\n", "tests/conftest.py": conftest, "tests/test_app.py": tests},
    )
    # test_sum, TestThing.test_nothing and Case.test_equal: fixtures, a helper class's
    # method and a function nested in a test are not tests.
    assert _metrics(result)["tests.without_assert_share"] == pytest.approx(100 / 3, abs=0.01)
    assert [f.location.line for f in result.findings if f.rule_id == "test-without-assert"] == [23]


def test_outcome_tampering_is_detected(tmp_path: Path) -> None:
    conftest = (
        "import pytest\n"
        "@pytest.hookimpl(hookwrapper=True)\n"
        "def pytest_runtest_makereport(item, call):\n"
        "    outcome = yield\n"
        "    outcome.get_result().outcome = 'passed'\n"
        "def pytest_collection_modifyitems(items):\n"
        "    items.clear()\n"
    )
    tests = "import os\ndef test_exit():\n    os._exit(0)\n"
    result = _facts(
        tmp_path / "s",
        {"app.py": "x = 1\n", "tests/conftest.py": conftest, "tests/test_app.py": tests},
    )
    tampering = [f for f in result.findings if f.rule_id == "test-tampering"]
    assert len(tampering) == 3
    assert _metrics(result)["tests.outcome_tampering"] == 2


@pytest.mark.parametrize(
    ("name", "readme", "found"),
    [
        # reStructuredText titles: text over (and under) a line of one punctuation mark
        ("README.rst", "=====\nTitle\n=====\n\nInstallation\n------------\n\nUsage\n~~~~~\n", 40.0),
        # Markdown setext headings count; a comment in a code block is not a heading
        ("README.md", "Design\n======\n\n```sh\n# deploy with docker\n```\n", 20.0),
    ],
)
def test_readme_headings_in_restructuredtext_and_markdown(
    tmp_path: Path, name: str, readme: str, found: float
) -> None:
    metrics = _metrics(_facts(tmp_path / "s", {"app.py": "x = 1\n", name: readme}))
    assert metrics["docs.readme_sections"] == found


_NO_DEPLOY = ["deployment"]
_LAST_THREE = ["testing", "design", "deployment"]
_ENGLISH = "# Shop\n\n## Installation\n\n## Running the app\n\n## Tests\n\n## Design\n"


@pytest.mark.parametrize(
    ("readme", "missing"),
    [
        (_ENGLISH, ["deployment"]),
        # the same sections in other languages score like the English README
        ("# Tienda\n\n## Instalación\n\n## Ejecución\n\n## Pruebas\n\n## Diseño\n", ["deployment"]),
        ("# Loja\n\n## Instalação\n\n## Execução\n\n## Testes\n\n## Arquitetura\n", ["deployment"]),
        ("# Магазин\n\n## Установка\n\n## Запуск\n\n## Тесты\n\n## Архитектура\n", ["deployment"]),
        (
            "# Shop\n\n## Installation\n\n## Verwendung\n\n## Tests\n\n## Architektur\n",
            ["deployment"],
        ),
        # CommonMark's headings, not a line starting with #
        (
            "#1 priority: install it\n\n   ## Usage\n",
            ["installation", "testing", "design", "deployment"],
        ),
        (
            "<h2>Installation</h2>\n\n<h3 align='left'>Tests</h3>\n",
            ["usage", "design", "deployment"],
        ),
        ("<!--\n## Installation\n## Tests\n-->\n# Shop\n", list(README_SECTIONS)),
        ("````md\n```\n## Installation\n```\n````\n# Shop\n", list(README_SECTIONS)),
        # whole words: "Latest" is not "test", "Infrastructure" is not "structure"
        ("## Latest changes\n\n## Infrastructure\n", list(README_SECTIONS)),
    ],
)
def test_readme_sections_are_read_from_commonmark_headings_in_several_languages(
    tmp_path: Path, readme: str, missing: list[str]
) -> None:
    result = _facts(tmp_path / "s", {"app.py": "x = 1\n", "README.md": readme})
    expected = 100.0 * (len(README_SECTIONS) - len(missing)) / len(README_SECTIONS)
    assert _metrics(result)["docs.readme_sections"] == expected
    found = [f.message for f in result.findings if f.rule_id == "readme-missing-sections"]
    assert found == ([f"README lacks a section on: {', '.join(missing)}"] if missing else [])


def test_repository_facts(tmp_path: Path) -> None:
    files: dict[str, str | bytes] = {
        "app.py": "x = 1\n",
        "README.md": "# App\n## Installation\n## Usage\n## Running the tests\n",
        "requirements.txt": "requests==2.32.3\nflask>=3\n# comment\n-r other.txt\n",
        "Dockerfile": "FROM python:3.11-slim\n",
        "deploy/main.tf": 'resource "aws_s3_bucket" "b" {}\n',
        ".github/workflows/ci.yml": "on: push\n",
    }
    result = _facts(tmp_path / "s", files)
    metrics = _metrics(result)
    assert metrics["docs.readme_sections"] == 60.0
    assert metrics["packaging.pinned_share"] == 50.0
    assert metrics["packaging.metadata"] == 0.0
    assert (metrics["deploy.container"], metrics["deploy.iac"], metrics["deploy.ci"]) == (
        100,
        100,
        100,
    )
    assert "readme-missing-sections" in _rules(result)


def test_lock_file_counts_as_pinned_and_missing_deployment_is_zero(tmp_path: Path) -> None:
    files: dict[str, str | bytes] = {
        "app.py": "x = 1\n",
        "pyproject.toml": '[project]\nname = "x"\ndependencies = ["requests"]\n',
        "uv.lock": (
            'version = 1\n[[package]]\nname = "requests"\nversion = "2.32.3"\n'
            'source = { registry = "https://pypi.org/simple" }\n'
        ),
    }
    metrics = _metrics(_facts(tmp_path / "s", files))
    assert metrics["packaging.metadata"] == 100.0
    assert metrics["packaging.pinned_share"] == 100.0
    assert (metrics["deploy.container"], metrics["deploy.iac"], metrics["deploy.ci"]) == (0, 0, 0)


@pytest.mark.parametrize(
    "content",
    [
        b"\xff\xfe not utf-8 \x00\x01",
        b"def f(:\n",
        ("x = " + "(" * 300 + "1" + ")" * 300 + "\n").encode(),
    ],
)
def test_unparsable_files_become_findings(tmp_path: Path, content: bytes) -> None:
    result = _facts(tmp_path / "s", {"bad.py": content, "good.py": '"""Doc."""\n'})
    assert "unparsable-file" in _rules(result)
    assert _metrics(result)["docs.docstring_coverage"] == 100.0


def test_symlink_outside_is_a_finding_and_not_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret", encoding="utf-8")
    root = tmp_path / "s"
    root.mkdir()
    (root / "leak.py").symlink_to(secret)
    result = _facts(root, {"app.py": "x = 1\n"})
    assert "symlink-outside" in _rules(result)
    assert _metrics(result)["safety.outside_symlinks"] == 1
    assert all("top secret" not in f.message for f in result.findings)


@pytest.mark.parametrize(
    ("call", "flagged"),
    [
        ("os.kill(os.getppid(), 9)", True),
        ("os.kill(os.getpid(), signal.SIGTERM)", True),
        ("os.kill(0, 9)", True),
        ("os.killpg(os.getpgrp(), 9)", True),
        ("sys.exit(0)", True),
        ("os.kill(child.pid, signal.SIGINT)", False),
        ("os.killpg(worker, 9)", False),
    ],
)
def test_only_signals_to_the_test_process_itself_count_as_tampering(
    tmp_path: Path, call: str, flagged: bool
) -> None:
    tests = f"import os, signal, sys\ndef test_x(child=None, worker=1):\n    {call}\n"
    result = _facts(tmp_path / "s", {"app.py": "x = 1\n", "tests/test_app.py": tests})
    assert (_metrics(result)["tests.outcome_tampering"] == 1) is flagged


@pytest.mark.parametrize(
    ("line", "flagged"),
    [
        ('API_KEY = "sk-live-51HdF3k2J8sKx9QzP0aL7mN4"', True),
        ('config = {"password": "hunter22"}', True),
        ('connect(token="ghp_abcdefghijklmnopqrstuvwxyz0123456789")', True),
        ('aws = "AKIAIOSFODNN7EXAMPLE"', True),
        # found by their providers' formats, wherever they stand
        (
            'GH = "github_pat_11ABCDEFG0123456789_'
            'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUV12"',
            True,
        ),
        ('maps = "AIzaSyA1234567890abcdefghijklmnopqrstuv"', True),
        ('HF = "hf_abcdefghijklmnopqrstuvwxyzABCDEFGH"', True),
        ('client = Client("sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefghij")', True),
        (
            'HOOK = "https://hooks.slack.com/services/T0ABCDEFG/B0ABCDEFG/abcdefghijklmnopqrstuvwx"',
            True,
        ),
        ('DB = "postgresql://admin:S3cr3t@db.example.com:5432/prod"', True),
        (
            'headers = {"Authorization": "Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.'
            'eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"}',
            True,
        ),
        # settings constants and placeholders are not credentials
        ('API_KEY = os.environ["API_KEY"]', False),
        ('PASSWORD = ""', False),
        ('token = "${TOKEN}"', False),
        ('password_field = "changeme"', False),
        ('greeting = "hello world, nothing secret"', False),
        ('TOKEN_TYPE_CLAIM = "token_type"', False),
        ('AUTH_TOKEN_CLASSES = ("rest_framework_simplejwt.tokens.AccessToken",)', False),
        ('data = {"access_token": token, "token_type": "bearer"}', False),
        ('oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/auth/token")', False),
        ('password_hash_scheme = "bcrypt"', False),
        ('DEV_DB = "postgresql://postgres:postgres@localhost:5432/test"', False),
        ('SECRET_KEY_FALLBACK_SETTING = "SECRET_KEY"', False),
    ],
)
def test_hardcoded_secrets_are_found_and_never_repeated(
    tmp_path: Path, line: str, flagged: bool
) -> None:
    result = _facts(tmp_path / "s", {"app.py": f"import os\n{line}\n", "tests/test_x.py": line})
    secrets = [f for f in result.findings if f.rule_id == "hardcoded-secret"]
    assert len(secrets) == int(flagged)  # the test file's copy is never counted
    assert _metrics(result)["security.hardcoded_secrets"] == int(flagged)
    for finding in secrets:
        assert "51HdF3k2" not in finding.message and "hunter22" not in finding.message


def test_a_development_secret_key_is_charged_lightly_not_as_a_credential(
    tmp_path: Path,
) -> None:
    line = 'SECRET_KEY = "django-insecure-3x!q9v@k#2m$w8z&r5t^y1u*i0o(p)l-a+s=d"'
    result = _facts(tmp_path / "s", {"settings.py": line + "\n"})
    metrics = _metrics(result)
    assert metrics["security.hardcoded_secrets"] == 0
    assert metrics["security.development_secrets"] == 1
    assert [f.rule_id for f in result.findings if "secret" in f.rule_id] == ["development-secret"]


@pytest.mark.parametrize(
    ("name", "text"),
    [
        (".env", "DEBUG=1\nDB_PASSWORD=Xk82!pq_Lm04zR\n"),
        (".env-production", "DEBUG=1\nDB_PASSWORD=Xk82!pq_Lm04zR\n"),
        ("config/settings.yaml", "database:\n  password: Xk82!pq_Lm04zR\n"),
        ("appsettings.json", '{"api_key": "Xk82pqLm04zRt7Yv", "debug": true}\n'),
        (
            "analysis.ipynb",
            '{"cells": [{"cell_type": "code", "source": ["print(key)"], "outputs": [{"text": '
            '["sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefghij"]}]}]}\n',
        ),
    ],
)
def test_secrets_are_found_in_configuration_and_notebook_outputs(
    tmp_path: Path, name: str, text: str
) -> None:
    result = _facts(tmp_path / "s", {"app.py": "x = 1\n", name: text})
    found = [f for f in result.findings if f.rule_id == "hardcoded-secret"]
    assert [f.location.path for f in found] == [name]
    assert "Xk82" not in found[0].message


def test_a_shell_scripts_password_is_a_local_default_but_a_providers_token_is_a_leak(
    tmp_path: Path,
) -> None:
    script = (
        "#!/bin/sh\nexport POSTGRES_PASSWORD=Xk82!pq_Lm04zR\n"
        "export OPENAI_API_KEY=sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefghij\n"
    )
    result = _facts(tmp_path / "s", {"app.py": "x = 1\n", "scripts/bootstrap.sh": script})
    rules = {f.location.line: f.rule_id for f in result.findings if "secret" in f.rule_id}
    assert rules == {2: "development-secret", 3: "hardcoded-secret"}


def test_a_compose_database_password_in_its_env_file_is_a_local_default(tmp_path: Path) -> None:
    env = "POSTGRES_PASSWORD=Xk82!pq_Lm04zR\nSTRIPE_KEY=sk_live_51HdF3k2J8sKx9QzP0aL7mN4xY\n"
    compose = "services:\n  db:\n    image: postgres:16\n    env_file: .env\n"
    with_compose = _facts(
        tmp_path / "c", {"app.py": "x = 1\n", ".env": env, "docker-compose.yml": compose}
    )
    rules = {f.location.line: f.rule_id for f in with_compose.findings if "secret" in f.rule_id}
    assert rules == {1: "development-secret", 2: "hardcoded-secret"}
    # without a container to start, the same password is a credential
    alone = _facts(tmp_path / "a", {"app.py": "x = 1\n", ".env": env})
    rules = {f.location.line: f.rule_id for f in alone.findings if "secret" in f.rule_id}
    assert rules == {1: "hardcoded-secret", 2: "hardcoded-secret"}


@pytest.mark.parametrize(
    "name", ["app/config/test.env", ".env.test", "local.env", ".env.local", "dev.env"]
)
def test_an_env_file_named_for_the_tests_or_a_laptop_holds_development_secrets(
    tmp_path: Path, name: str
) -> None:
    env = (
        'JWT_SECRET_KEY="*cn2hlia^$&dm)1&w%ovloh578u78*p13%2g5"\n'
        "STRIPE_KEY=sk_live_51HdF3k2J8sKx9QzP0aL7mN4xY\n"
    )
    result = _facts(tmp_path / "s", {"app.py": "x = 1\n", name: env})
    rules = {f.location.line: f.rule_id for f in result.findings if "secret" in f.rule_id}
    # the signing key a test or a local server starts with; a provider's key is a leak anywhere
    assert rules == {1: "development-secret", 2: "hardcoded-secret"}


@pytest.mark.parametrize(
    ("name", "text"),
    [
        # a remote database's password in a URL
        (".env.local", "DATABASE_URL=postgres://app:Xk82pqLm04zR@db.example.com/app\n"),
        # a deployment's settings, whatever else the name says
        (".env.production.local", 'JWT_SECRET_KEY="*cn2hlia^$&dm)1&w%ovloh578u78"\n'),
        ("prod.local.env", 'JWT_SECRET_KEY="*cn2hlia^$&dm)1&w%ovloh578u78"\n'),
    ],
)
def test_a_laptops_env_file_still_leaks_a_remote_password_or_a_deployments_key(
    tmp_path: Path, name: str, text: str
) -> None:
    result = _facts(tmp_path / "s", {"app.py": "x = 1\n", name: text})
    rules = [f.rule_id for f in result.findings if "secret" in f.rule_id]
    assert rules == ["hardcoded-secret"]


def test_an_example_settings_file_of_placeholders_holds_no_secret(tmp_path: Path) -> None:
    example = "SECRET_KEY=change-me\nDB_PASSWORD=\nAPI_KEY=your-api-key\nTOKEN=<token>\n"
    result = _facts(tmp_path / "s", {"app.py": "x = 1\n", ".env.example": example})
    assert _metrics(result)["security.hardcoded_secrets"] == 0


def test_results_rewritten_after_pytest_are_flagged(tmp_path: Path) -> None:
    conftest = (
        "import atexit, pytest\n"
        "def _rewrite(item, call):\n    yield\n"
        "pytest_runtest_makereport = pytest.hookimpl(hookwrapper=True)(_rewrite)\n"
    )
    tests = "import atexit\natexit.register(print)\ndef test_a():\n    assert True\n"
    result = _facts(
        tmp_path / "s",
        {"app.py": "x = 1\n", "tests/conftest.py": conftest, "tests/test_a.py": tests},
    )
    assert _metrics(result)["tests.outcome_tampering"] == 2


def test_malformed_pyproject_does_not_stop_the_facts(tmp_path: Path) -> None:
    result = _facts(
        tmp_path / "s", {"app.py": "x = 1\n", "pyproject.toml": "[project]\ndependencies = 5\n"}
    )
    assert result.status.value == "ok"
    assert _metrics(result)["packaging.metadata"] == 100.0


NEWER = "type Pair = tuple[int, int]\n\n\ndef first[T](items: list[T]) -> T:\n    return items[0]\n"
BROKEN = "def broken(:\n    pass\n"


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="this Python parses 3.12 syntax")
@pytest.mark.parametrize(
    ("requires", "charged", "excused"),
    [
        (">=3.12", 1, 1),  # 3.12 syntax is the host's limit; broken code is still charged
        (">=3.10", 2, 0),  # the host's Python is accepted: its parser is the judge
        ("", 2, 0),
    ],
)
def test_syntax_of_a_newer_python_the_submission_asks_for_is_not_charged(
    tmp_path: Path, requires: str, charged: int, excused: int
) -> None:
    project = f'[project]\nname = "x"\nversion = "1"\nrequires-python = "{requires}"\n'
    root = tmp_path / "sub"
    files = {"generic.py": NEWER, "broken.py": BROKEN, "ok.py": "X = 1\n"}
    if requires:
        files["pyproject.toml"] = project
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    work = tmp_path / "work"
    work.mkdir()
    result = Facts().run(ToolContext(screen(inventory(root)), work, NotNeeded(), Limits()))
    assert _metrics(result)["code.unparsable_files"] == charged
    assert _rules(result).count("newer-python-syntax") == excused
    assert bool(result.warnings) == bool(excused)
    if excused:
        assert "use Python 3.12 syntax" in result.warnings[0]


@pytest.mark.parametrize(
    ("files", "artifacts"),
    [
        (  # 65 byte-code files in three caches are three findings, not 65
            {
                **{f"app/__pycache__/m{i}.cpython-311.pyc": b"\0" for i in range(30)},
                **{f"app/api/__pycache__/m{i}.cpython-311.pyc": b"\0" for i in range(30)},
                **{f"tests/__pycache__/t{i}.pyc": b"\0" for i in range(5)},
            },
            ["app/__pycache__", "app/api/__pycache__", "tests/__pycache__"],
        ),
        (
            {"venv/pyvenv.cfg": "home = /usr/bin\n", "venv/lib/python3.11/site.py": "x = 1\n"},
            ["venv"],
        ),
        ({"pyenv/pyvenv.cfg": "home = /usr/bin\n"}, ["pyenv"]),  # found by its pyvenv.cfg
        ({"db.sqlite3": b"SQLite format 3\0", ".DS_Store": b"\0"}, [".DS_Store", "db.sqlite3"]),
        ({".env": "DEBUG=1\nDB_PASSWORD=Xk82!pq_Lm04zR\n"}, [".env"]),
        ({"deploy/.env-development": "DB_PASSWORD=Xk82!pq_Lm04zR\n"}, ["deploy/.env-development"]),
        # what belongs in a repository
        ({".env.example": "DB_PASSWORD=\n", ".env": "# fill me in\n"}, []),
        ({"env/settings.toml": "debug = true\n", "docs/index.md": "# Docs\n"}, []),
    ],
)
def test_committed_artifacts_are_charged_once_per_folder_with_their_paths(
    tmp_path: Path, files: dict[str, str | bytes], artifacts: list[str]
) -> None:
    result = _facts(tmp_path / "s", {"app.py": "x = 1\n", **files})
    found = sorted(f.location.path for f in result.findings if f.rule_id == "committed-artifact")
    assert found == sorted(artifacts)
    assert _metrics(result)["repository.committed_artifacts"] == len(artifacts)


@pytest.mark.parametrize(
    ("name", "text", "flagged"),
    [
        # templates of settings to fill in: placeholders by intent
        (".env.example", "DATABASE_URL=postgresql://myuser:Zq82x_pw1@db.example.com/app\n", 0),
        ("env.example", "JWT_SECRET_KEY=nh328b32yf384yfbu3b94uhf3\n", 0),
        # ... but a provider's token pasted into one is a leak
        (".env.example", "HF_TOKEN=hf_abcdefghijklmnopqrstuvwxyzABCDEFGH\n", 1),
        # compose files and CI workflows define throwaway local services
        (
            "docker-compose.yml",
            "services:\n  db:\n    environment:\n      POSTGRES_PASSWORD: r00t66\n",
            0,
        ),
        # seed data: fixtures, seed scripts, migrations that create demo users
        ("accounts/fixtures/users.json", '[{"password": "password1234!"}]\n', 0),
        ("scripts/seed_db.py", 'DEFAULT_PASSWORD = "Admin123!SecurePassword"\n', 0),
        # a password in a URL is a local default when the host is a compose service
        ("app/db.py", 'URI = "postgresql://postgres:default_pw@users_db:5432/users"\n', 0),
        ("app/db.py", 'URI = "postgresql://admin:S3cr3t@db.example.com:5432/prod"\n', 1),
        # a committed .env holds what the author runs with
        (".env", "POSTGRES_PASSWORD=test123\n", 1),
        # an example in a comment is not a credential; a provider's token there still is
        ("app/bandit.py", "# bandit quotes it: (\"password: 'hunter2'\")\nX = 1\n", 0),
        ("app/keys.py", "# old key: hf_abcdefghijklmnopqrstuvwxyzABCDEFGH\nX = 1\n", 1),
    ],
)
def test_password_shaped_values_that_are_data_or_local_defaults_are_not_credentials(
    tmp_path: Path, name: str, text: str, flagged: int
) -> None:
    result = _facts(tmp_path / "s", {"app.py": "x = 1\n", name: text})
    assert _metrics(result)["security.hardcoded_secrets"] == flagged


@pytest.mark.slow
@pytest.mark.sandbox
@pytest.mark.skipif(sys.version_info >= (3, 12), reason="this Python parses 3.12 syntax")
def test_code_only_a_newer_python_parses_never_earns_marks_nobody_measured(
    tmp_path: Path,
) -> None:
    # Every code file is 3.12 syntax: the host's mypy and coverage cannot read it, so
    # Type safety and coverage are not measured (never full marks, never zero); ruff,
    # which parses any Python, still lints it; importing it is importing the candidate's
    # own code, not an undeclared package.
    root = tmp_path / "sub"
    (root / "tests").mkdir(parents=True)
    (root / "pyproject.toml").write_text(
        '[project]\nname = "calc"\nversion = "0.1"\nrequires-python = ">=3.12"\n',
        encoding="utf-8",
    )
    (root / "calc.py").write_text(
        "type Number = int | float\n\n\ndef add[T: (int, float)](a: T, b: T) -> T:\n"
        '    unused = "left over"\n    return a + b\n',
        encoding="utf-8",
    )
    (root / "tests" / "test_calc.py").write_text(
        "from calc import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n",
        encoding="utf-8",
    )
    report = run_grader(root, tmp_path / "out").report()
    criteria = {c["id"]: c for c in report["criteria"]}
    assert criteria["type_safety"]["score"] is None
    coverage = next(m for m in criteria["testability"]["metrics"] if m["name"] == "coverage.line")
    assert coverage["value"] is None
    lint = {(f["rule"], f["path"]) for f in criteria["maintainability"]["findings"]}
    assert ("F841", "calc.py") in lint
    assert criteria["maintainability"]["score"] < 100
    packaging = {f["rule"] for f in criteria["packaging"]["findings"]}
    assert "undeclared-import" not in packaging


@pytest.mark.parametrize(
    ("test_source", "edits"),
    [
        ("import sys\nsys.path.append('..')\n\ndef test_x():\n    assert 1\n", 1),
        ("import sys, os\nsys.path.insert(0, os.getcwd())\n", 1),
        ("import os\nos.chdir('app')\n", 1),
        ("import sys\nsys.path += ['src']\n", 1),
        # reading the path, or editing it in the code under test, is not the tests' hack
        ("import sys\n\ndef test_x():\n    assert sys.path\n", 0),
        ("def test_x(monkeypatch):\n    monkeypatch.syspath_prepend('x')\n", 0),
    ],
)
def test_tests_that_edit_sys_path_to_find_the_code_are_counted(
    tmp_path: Path, test_source: str, edits: int
) -> None:
    result = _facts(
        tmp_path / "s",
        {
            "app.py": "X = 1\n",
            "tests/test_app.py": test_source,
            "tools.py": "import sys\nsys.path.append('x')\n",
        },
    )
    assert _metrics(result)["tests.path_edits"] == edits
    assert _rules(result).count("test-path-edit") == edits


DJANGO_SETTINGS = 'INSTALLED_APPS = ["django.contrib.auth"]\nROOT_URLCONF = "site.urls"\n'


@pytest.mark.parametrize(
    ("name", "text", "charged"),
    [
        ("site/settings.py", DJANGO_SETTINGS + "DEBUG = True\n", [3]),
        ("site/settings/base.py", "DEBUG = True\n" + DJANGO_SETTINGS, [1]),
        # read from the environment, off by default
        ("site/settings.py", DJANGO_SETTINGS + 'DEBUG = env.bool("DEBUG", False)\n', []),
        ("site/settings.py", DJANGO_SETTINGS + "DEBUG = False\n", []),
        # a settings file for a developer's machine, importing the rest
        ("site/settings/dev.py", "from .base import *\nDEBUG = True\n", []),
        ("site/local_settings.py", DJANGO_SETTINGS + "DEBUG = True\n", []),
        # not Django's settings: a constant of some other module
        ("app/config.py", "DEBUG = True\nPORT = 8000\n", []),
    ],
)
def test_django_settings_that_switch_debug_on_for_every_deployment_are_charged(
    tmp_path: Path, name: str, text: str, charged: list[int]
) -> None:
    result = _facts(tmp_path / "s", {name: text})
    found = [f for f in result.findings if f.rule_id == "debug-in-settings"]
    assert [f.location.line for f in found] == charged
    assert all(f.location.path == name for f in found)
    assert _metrics(result)["security.debug_in_settings"] == len(charged)


@pytest.mark.parametrize(
    ("files", "charged"),
    [
        # the base's True is a default the production module replaces
        (
            {
                "site/settings/base.py": DJANGO_SETTINGS + "DEBUG = True\n",
                "site/settings/production.py": "from .base import *\nDEBUG = False\n",
            },
            [],
        ),
        # the production module built on the base keeps the base's True
        (
            {
                "site/settings/base.py": DJANGO_SETTINGS + "DEBUG = False\n",
                "site/settings/production.py": "from .base import *\nDEBUG = True\n",
            },
            ["site/settings/production.py"],
        ),
        # turned off at run time
        (
            {"site/settings.py": DJANGO_SETTINGS + 'DEBUG = True\nif ENV == "prod":\n'
             "    DEBUG = False\n"},
            [],
        ),
    ],
)  # fmt: skip
def test_split_django_settings_are_judged_as_a_whole(
    tmp_path: Path, files: dict[str, str | bytes], charged: list[str]
) -> None:
    result = _facts(tmp_path / "s", files)
    found = [f.location.path for f in result.findings if f.rule_id == "debug-in-settings"]
    assert found == charged


def test_settings_that_do_not_parse_are_left_to_the_unparsable_count(tmp_path: Path) -> None:
    deep = "DEBUG = True\nINSTALLED_APPS = []\nx = " + "not " * 20_000 + "y\n"
    result = _facts(tmp_path / "s", {"site/settings.py": deep, "app.py": "x = 1\n"})
    assert result.status is ToolStatus.OK, result.reason
    assert not [f for f in result.findings if f.rule_id == "debug-in-settings"]
    bom = "\ufeff" + DJANGO_SETTINGS + "DEBUG = True\n"
    result = _facts(tmp_path / "b", {"site/settings.py": bom.encode("utf-8")})
    assert [f.location.line for f in result.findings if f.rule_id == "debug-in-settings"] == [3]
