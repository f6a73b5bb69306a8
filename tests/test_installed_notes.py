"""What the report says was installed, from which declaration, and what was not."""

from __future__ import annotations

from pathlib import Path

from grader.acquire.workspace import inventory
from grader.core.models import Location
from grader.environment import requirements
from grader.environment.installed import Distribution
from grader.environment.installed_notes import installed_note, not_installed
from grader.environment.origins import origins


def _dist(name: str, version: str, *modules: str) -> Distribution:
    return Distribution(name, version, frozenset(modules))


HELD = (
    _dist("asgiref", "3.8.1", "asgiref"),
    _dist("coverage", "7.6.0", "coverage"),
    _dist("django", "5.0.6", "django"),
    _dist("djangorestframework-simplejwt", "5.3.1", "rest_framework_simplejwt"),
    _dist("psycopg2-binary", "2.9.9", "psycopg2"),
    _dist("pytest", "8.3.2", "pytest", "_pytest"),
    _dist("pytest-django", "4.9.0", "pytest_django"),
    _dist("pytest-timeout", "2.3.1", "pytest_timeout"),
)


def test_the_note_lists_each_declaration_then_graders_runners_then_dependencies() -> None:
    origin = {
        "django": "requirements.txt",
        "djangorestframework-simplejwt": "requirements.txt",
        "psycopg2": "requirements/base.txt",
    }
    assert installed_note(HELD, origin, ["pytest-django"]) == (
        "installed: django 5.0.6 (requirements.txt), djangorestframework-simplejwt 5.3.1 "
        "(requirements.txt), psycopg2-binary 2.9.9 (requirements/base.txt); "
        "grader's runners: pytest 8.3.2, pytest-timeout 2.3.1, coverage 7.6.0, "
        "pytest-django 4.9.0; as dependencies: asgiref 3.8.1"
    )


def test_only_imports_nothing_installed_provides_nor_declares_are_not_installed() -> None:
    here = Location("app.py", 1)
    imported = dict.fromkeys(
        ["django.db", "rest_framework_simplejwt.tokens", "httpx", "ldap", "factory"], here
    )
    # python-ldap was declared (and left out): its own note says why it is missing.
    missing = not_installed(imported, {"django", "python-ldap"}, HELD)
    assert missing == ("factory", "httpx")
    assert not_installed(imported, set(), ()) == ()  # nothing read: nothing to say


def test_an_installed_declaration_is_judged_by_its_metadata_never_its_name() -> None:
    held = (*HELD, _dist("psycopg", "3.2.1", "psycopg"))
    psycopg2 = {"psycopg2": Location("db.py", 3)}
    assert not_installed(psycopg2, {"psycopg"}, held) == ()  # psycopg2-binary is there
    without_twin = tuple(d for d in held if d.name != "psycopg2-binary")
    assert not_installed(psycopg2, {"psycopg"}, without_twin) == ("psycopg2",)


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


def test_each_requirement_is_traced_to_the_file_declaring_it(tmp_path: Path) -> None:
    root = _write(
        tmp_path,
        {
            "requirements.txt": "-r requirements-base.txt\npytest-mock\n",
            "requirements-base.txt": "django==5.0.6\n",
            "pyproject.toml": '[project]\nname = "app"\ndependencies = ["attrs", "django"]\n',
            "app.py": "import django\n",
            "tests/test_app.py": "def test_a():\n    assert True\n",
        },
    )
    ws = inventory(root)
    declared = requirements.read(ws)
    assert origins(ws, declared) == {
        "django": "requirements-base.txt",
        "pytest-mock": "requirements.txt",
        "attrs": "pyproject.toml",
    }
