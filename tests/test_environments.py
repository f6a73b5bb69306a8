"""Submissions with dependencies, installed from the package registry into cached envs."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import SAMPLES, run_grader

pytestmark = [pytest.mark.slow, pytest.mark.sandbox]


def _pytest(report: dict[str, Any]) -> dict[str, Any]:
    tool: dict[str, Any] = next(t for t in report["tools"] if t["name"] == "pytest")
    return tool


def _criterion(report: dict[str, Any], criterion: str) -> dict[str, Any]:
    found: dict[str, Any] = next(c for c in report["criteria"] if c["id"] == criterion)
    return found


@pytest.mark.parametrize(("name", "count"), [("deps_requirements", 5), ("deps_lockfile", 5)])
def test_dependency_samples_pass_all_their_tests(tmp_path: Path, name: str, count: int) -> None:
    first = run_grader(SAMPLES / name, tmp_path / "first")
    assert first.exit_code == 0, first.stderr
    tests = _pytest(first.report())
    assert tests["status"] == "ok", tests["reason"]
    assert tests["tests"]["passed"] == count and tests["metrics"]["tests.pass_rate"] == 100
    second = run_grader(SAMPLES / name, tmp_path / "second", "--no-cache")
    assert any("reused from the cache" in note for note in _pytest(second.report())["notes"])
    assert second.report()["score"] == first.report()["score"]
    if name == "deps_requirements":  # each traced to its file, -r includes followed
        assert (
            "installed: pytest 9.0.3 (requirements.txt), python-dateutil 2.9.0.post0 "
            "(requirements-base.txt), tabulate 0.9.0 (requirements-base.txt); grader's "
            "runners: pytest-timeout "
        ) in "\n".join(tests["notes"])


def _metric(report: dict[str, Any], criterion: str, name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(
        m for m in _criterion(report, criterion)["metrics"] if m["name"] == name
    )
    return found


def test_requirements_broken_by_the_candidate_are_charged_and_never_pay(tmp_path: Path) -> None:
    broken = run_grader(SAMPLES / "deps_unresolvable", tmp_path / "broken")
    assert broken.exit_code == 0, broken.stderr
    report = broken.report()
    tests = _pytest(report)
    # The tests still ran on what did install ...
    assert tests["tests"]["passed"] == 2, tests
    assert any("dropped grader-sample-no-such-package" in note for note in tests["notes"])
    assert any("test environment partial" in w for w in report["submission"]["warnings"])
    # ... and, since nothing imports the package that does not exist, they are scored as
    # they ran; the broken file is charged on Packaging.
    assert _metric(report, "testability", "tests.pass_rate")["value"] == 100
    installable = _metric(report, "packaging", "packaging.installable")
    assert installable["value"] == 0

    fixed_root = tmp_path / "fixed"
    shutil.copytree(SAMPLES / "deps_unresolvable", fixed_root)
    (fixed_root / "requirements.txt").write_text("tabulate==0.9.0\n", encoding="utf-8")
    fixed = run_grader(fixed_root, tmp_path / "fixed-out").report()
    assert _metric(fixed, "testability", "tests.pass_rate")["value"] == 100
    assert fixed["score"] > report["score"]
    assert _criterion(fixed, "packaging")["score"] > _criterion(report, "packaging")["score"]

    # When the code needs what does not install, a fresh checkout cannot run the tests:
    # measured, and the pass rate charged.
    needed_root = tmp_path / "needed"
    shutil.copytree(SAMPLES / "deps_unresolvable", needed_root)
    (needed_root / "tests" / "test_extra.py").write_text(
        "import grader_sample_no_such_package\n\n\ndef test_extra():\n"
        "    assert grader_sample_no_such_package\n",
        encoding="utf-8",
    )
    needed = run_grader(needed_root, tmp_path / "needed-out").report()
    pass_rate = _metric(needed, "testability", "tests.pass_rate")
    assert pass_rate["value"] == 0
    assert "does not exist on the package index" in pass_rate["explanation"]
    assert _criterion(needed, "testability")["score"] is not None
    for criterion in ("testability", "packaging"):
        assert _criterion(fixed, criterion)["score"] > _criterion(needed, criterion)["score"]
    assert fixed["score"] > report["score"] > needed["score"]


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


def test_undeclared_import_is_flagged_and_grader_packages_do_not_leak(tmp_path: Path) -> None:
    root = _write(
        tmp_path / "sub",
        {
            "requirements.txt": "tabulate==0.9.0\n",
            "client.py": '"""Client."""\nimport requests\nimport tabulate\n',
            "tests/test_isolation.py": (
                "import importlib.util\n\n"
                "def test_only_declared_packages_are_installed():\n"
                "    assert importlib.util.find_spec('tabulate') is not None\n"
                "    assert importlib.util.find_spec('jinja2') is None\n"
                "    assert importlib.util.find_spec('grader') is None\n"
            ),
        },
    )
    run = run_grader(root, tmp_path / "out")
    report = run.report()
    assert _pytest(report)["metrics"]["tests.pass_rate"] == 100, _pytest(report)["tests"]
    packaging = _criterion(report, "packaging")
    undeclared = [f for f in packaging["findings"] if f["rule"] == "undeclared-import"]
    assert [(f["path"], f["line"]) for f in undeclared] == [("client.py", 2)]
    assert "requests" in undeclared[0]["message"]


def test_offline_without_a_cached_environment_is_not_measured(tmp_path: Path) -> None:
    root = _write(
        tmp_path / "sub",
        {
            "requirements.txt": "tabulate==0.9.0\n",
            "app.py": "x = 1\n",
            "tests/test_a.py": "def test_a():\n    assert True\n",
        },
    )
    run = run_grader(root, tmp_path / "out", "--offline", "--cache-dir", str(tmp_path / "empty"))
    testability = _criterion(run.report(), "testability")
    assert testability["score"] is None
    assert "dependencies could not be installed" in testability["reason"]
    packaging = _criterion(run.report(), "packaging")["metrics"]
    assert next(m for m in packaging if m["name"] == "packaging.installable")["value"] is None


CALC = {
    "calc.py": "def add(a, b):\n    return a + b\n",
    "tests/test_calc.py": "from calc import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n",
}


def _grade_files(tmp_path: Path, files: dict[str, str], *args: str) -> dict[str, Any]:
    root = _write(tmp_path / "sub", {**CALC, **files})
    run = run_grader(root, tmp_path / "out", *args)
    assert run.exit_code == 0, run.stderr
    return run.report()


def _notes(report: dict[str, Any]) -> str:
    return "\n".join(_pytest(report)["notes"])


def _ran_and_passed(report: dict[str, Any]) -> None:
    tests = _pytest(report)
    assert tests["status"] == "ok", tests["reason"]
    assert tests["tests"]["passed"] >= 1 and tests["metrics"]["tests.pass_rate"] == 100, tests


def test_cause_1_a_pip_freeze_pinning_old_pytest_and_pluggy(tmp_path: Path) -> None:
    report = _grade_files(
        tmp_path,
        {"requirements.txt": "iniconfig==1.1.1\npluggy==0.13.1\npytest==6.2.5\ntomli==2.0.1\n"},
    )
    _ran_and_passed(report)
    notes = _notes(report)
    assert "resolved your iniconfig==1.1.1, pluggy==0.13.1, pytest==6.2.5" in notes
    assert "overrode your pytest==6.2.5" in notes  # below pytest 7, which grader needs
    assert _metric(report, "packaging", "packaging.installable")["value"] == 100


def test_cause_2_requirement_files_in_auxiliary_folders(tmp_path: Path) -> None:
    report = _grade_files(
        tmp_path,
        {
            "requirements.txt": "tabulate==0.9.0\n",
            "fuzzer/requirements.txt": "grader-sample-no-such-fuzzer==1.0\n",
            "docs/requirements.txt": "grader-sample-no-such-theme==1.0\n",
        },
    )
    _ran_and_passed(report)
    notes = _notes(report)
    assert "left out: docs/requirements.txt (auxiliary folder" in notes
    assert "fuzzer/requirements.txt (auxiliary folder" in notes
    assert "environment partial" not in notes


def test_cause_3_a_lock_file_with_a_release_group_for_a_newer_python(tmp_path: Path) -> None:
    root = _write(
        tmp_path / "sub",
        {
            **CALC,
            "pyproject.toml": (
                '[project]\nname = "calc"\nversion = "0.1.0"\nrequires-python = ">=3.11"\n'
                'dependencies = ["tabulate==0.9.0"]\n\n'
                '[dependency-groups]\ntest = ["pytest>=8"]\nrelease = ["twine>=6"]\n\n'
                "[tool.uv.dependency-groups]\n"
                'release = {requires-python = ">=3.12"}\n'
            ),
        },
    )
    uv = str(Path(sys.executable).parent / "uv")
    subprocess.run([uv, "lock", "--no-config", "--quiet"], cwd=root, check=True)
    run = run_grader(root, tmp_path / "out")
    report = run.report()
    _ran_and_passed(report)
    notes = _notes(report)
    assert "uv.lock (exported with uv: runtime dependencies, group test)" in notes
    assert "twine" not in notes


def test_cause_4_a_dependency_without_wheels_gets_its_binary_twin(tmp_path: Path) -> None:
    report = _grade_files(
        tmp_path,
        {
            "requirements.txt": "psycopg2==2.9.9\n",
            "tests/test_db.py": (
                "import psycopg2\n\ndef test_driver():\n    assert psycopg2.apilevel\n"
            ),
        },
    )
    _ran_and_passed(report)
    assert "installed psycopg2-binary==2.9.9 in place of psycopg2==2.9.9" in _notes(report)
    assert _metric(report, "packaging", "packaging.installable")["value"] == 100


def test_cause_5_requires_python_newer_than_the_host(tmp_path: Path) -> None:
    report = _grade_files(
        tmp_path,
        {
            "pyproject.toml": (
                '[project]\nname = "calc"\nversion = "0.1"\nrequires-python = ">=3.99"\n'
            )
        },
    )
    _ran_and_passed(report)
    warnings = report["submission"]["warnings"]
    assert any("asks for Python >=3.99" in w and "graded on 3." in w for w in warnings), warnings


def test_cause_6_an_old_pin_that_crashes_on_this_python_is_raised_and_the_tests_run(
    tmp_path: Path,
) -> None:
    # importlib-metadata 0.18 (2019) dies at import on Python 3.10+: every test module that
    # imports it errors at collection. A reviewer raises that one pin; so does grader.
    report = _grade_files(
        tmp_path,
        {
            "requirements.txt": "importlib-metadata==0.18\n",
            "tests/test_versions.py": (
                "import importlib_metadata\n\nfrom calc import add\n\n\n"
                "def test_add_and_read_a_version():\n"
                "    assert add(2, 3) == 5\n"
                '    assert importlib_metadata.version("importlib-metadata")\n'
            ),
        },
    )
    _ran_and_passed(report)
    notes = _notes(report)
    assert "grader raised your importlib-metadata==0.18 to importlib-metadata" in notes, notes


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="venv seeds no setuptools from 3.12")
def test_code_of_the_pkg_resources_era_gets_the_setuptools_venv_seeded_and_the_tests_run(
    tmp_path: Path,
) -> None:
    # Before Python 3.12 every `python -m venv` held setuptools, so code and packages of
    # that era import pkg_resources without declaring it; setuptools 82 removed it.
    report = _grade_files(
        tmp_path,
        {
            "requirements.txt": "tabulate==0.9.0\n",
            "tests/test_versions.py": (
                "import pkg_resources\n\nfrom calc import add\n\n\n"
                "def test_add_and_read_a_version():\n"
                "    assert add(2, 3) == 5\n"
                '    assert pkg_resources.get_distribution("tabulate").version == "0.9.0"\n'
            ),
        },
    )
    _ran_and_passed(report)
    notes = _notes(report)
    assert "grader added setuptools<82, which `python -m venv` puts in every" in notes, notes


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="django 6 installs on this Python")
def test_a_dependency_the_host_cannot_install_is_dropped_and_its_failures_excused(
    tmp_path: Path,
) -> None:
    report = _grade_files(
        tmp_path,
        {
            "requirements.txt": "tabulate==0.9.0\ndjango==6.0\n",
            "tests/test_web.py": "import django\n\ndef test_django():\n    assert django.VERSION\n",
        },
    )
    tests = _pytest(report)
    assert "dropped django==6.0: needs a newer Python" in _notes(report)
    assert "(the grading host is at fault)" in _notes(report)
    failures = tests["tests"]["failures"]
    assert failures
    assert all("[caused by dropped requirement django==6.0]" in f["message"] for f in failures)
    assert tests["metrics"]["tests.pass_rate"] == 100  # the one test it could run passed
    assert _metric(report, "packaging", "packaging.installable")["value"] is None


DJANGO_PROJECT = {
    "site/requirements.txt": "django==5.2.8\n",
    "site/manage.py": (
        "import os\nimport sys\n\n"
        "if __name__ == '__main__':\n"
        "    os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'mysite.settings')\n"
        "    from django.core.management import execute_from_command_line\n"
        "    execute_from_command_line(sys.argv)\n"
    ),
    "site/mysite/__init__.py": "",
    "site/mysite/settings.py": (
        'SECRET_KEY = "test-only"\n'
        'INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "polls"]\n'
        'DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}\n'
    ),
    "site/polls/__init__.py": "",
    "site/polls/models.py": (
        "from django.db import models\n\n\n"
        "class Question(models.Model):\n"
        "    text = models.CharField(max_length=200)\n\n"
        "    def shout(self) -> str:\n"
        "        return self.text.upper()\n"
    ),
    "site/polls/tests.py": (
        "from django.test import TestCase\n\nfrom polls.models import Question\n\n\n"
        "class QuestionTests(TestCase):\n"
        "    def test_shout(self):\n"
        "        question = Question.objects.create(text='why')\n"
        "        self.assertEqual(question.shout(), 'WHY')\n\n"
        "    def test_seed_data(self):\n"
        "        # opened from manage.py's folder, where `python manage.py test` runs\n"
        "        with open('polls/seed.csv', encoding='utf-8') as seed:\n"
        "            self.assertEqual(seed.read().split(','), ['why', 'how'])\n"
    ),
    "site/polls/seed.csv": "why,how",
}


def test_a_django_project_one_folder_down_runs_its_tests_py(tmp_path: Path) -> None:
    root = _write(tmp_path / "sub", DJANGO_PROJECT)
    report = run_grader(root, tmp_path / "out").report()
    _ran_and_passed(report)
    notes = _notes(report)
    assert "site/requirements.txt (beside the tests)" in notes
    assert "added pytest-django" in notes and "mysite.settings" in notes
    assert _pytest(report)["metrics"]["coverage.line"] == 100


def test_a_suite_that_needs_a_live_database_says_so(tmp_path: Path) -> None:
    report = _grade_files(
        tmp_path,
        {
            "tests/conftest.py": (
                "import socket\n\nsocket.create_connection(('localhost', 5432), timeout=2)\n"
            )
        },
    )
    testability = _criterion(report, "testability")
    assert testability["score"] is None
    assert "the suite needs PostgreSQL at port 5432" in testability["reason"]
    assert "Connection refused" in testability["reason"]


def test_the_project_is_built_and_installed_in_the_sandbox_when_its_tests_need_it(
    tmp_path: Path,
) -> None:
    report = _grade_files(
        tmp_path,
        {
            "pyproject.toml": (
                '[project]\nname = "hello-cli"\nversion = "1.2.3"\n'
                '[project.scripts]\nhello = "hello.cli:main"\n'
                '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n'
                '[tool.hatch.build.targets.wheel]\npackages = ["src/hello"]\n'
            ),
            "src/hello/__init__.py": "",
            "src/hello/cli.py": "def main():\n    print('hi')\n",
            "tests/test_cli.py": (
                "import subprocess\nfrom importlib.metadata import version\n\n\n"
                "def test_version():\n    assert version('hello-cli') == '1.2.3'\n\n\n"
                "def test_script():\n"
                "    out = subprocess.run(['hello'], capture_output=True, text=True).stdout\n"
                "    assert out == 'hi\\n'\n"
            ),
        },
    )
    _ran_and_passed(report)
    notes = _notes(report)
    assert "added the build backend hatchling" in notes
    assert "the project was built and installed in the sandbox" in notes
    assert "tests/test_cli.py reads the installed distribution's metadata" in notes


def test_a_pure_python_dependency_without_wheels_is_built_in_the_sandbox(tmp_path: Path) -> None:
    # promise (needed by graphene-django 2 and 3) was only ever published as a source
    # distribution: grader fetches it, builds it in the sandbox and installs the wheel.
    report = _grade_files(
        tmp_path,
        {
            "requirements.txt": "promise==2.3\n",
            "tests/test_promise.py": (
                "from promise import Promise\n\n\n"
                "def test_resolved():\n    assert Promise.resolve(2).get() == 2\n"
            ),
        },
    )
    _ran_and_passed(report)
    notes = _notes(report)
    assert "installed promise-2.3-py3-none-any.whl, built in the sandbox" in notes
    assert "environment partial" not in notes
    assert _metric(report, "packaging", "packaging.installable")["value"] == 100


FASTAPI_APP = {
    "app.py": (
        "from fastapi import FastAPI\n\napp = FastAPI()\n\n\n"
        "@app.get('/')\ndef home() -> dict[str, str]:\n    return {'ok': 'yes'}\n"
    ),
    "tests/test_app.py": (
        "from fastapi.testclient import TestClient\n\nfrom app import app\n\n\n"
        "def test_home():\n    assert TestClient(app).get('/').json() == {'ok': 'yes'}\n"
    ),
}


@pytest.mark.parametrize("declared", ["fastapi==0.115.6\n", "fastapi==0.115.6\nhttpx\n"])
def test_a_test_clients_companion_is_installed_only_when_declared(
    tmp_path: Path, declared: str
) -> None:
    # starlette's TestClient needs httpx, which neither starlette nor FastAPI requires:
    # the candidate must declare it, like anything else their tests need.
    report = _grade_files(tmp_path, {"requirements.txt": declared, **FASTAPI_APP})
    notes = _notes(report)
    assert "grader added httpx" not in notes
    if "httpx" in declared:
        _ran_and_passed(report)
        assert "httpx 0." in notes.split("; grader's runners")[0]
        return
    assert "httpx" not in notes.split("; grader's runners")[0]
    # test_home fails for want of httpx, beside CALC's passing test: the candidate's
    # omission, charged and never excused.
    assert _pytest(report)["metrics"]["tests.pass_rate"] == 50


POETRY_WITHOUT_GROUPS = Path(__file__).parent / "fixtures" / "poetry_lock_without_groups"


def test_a_poetry_lock_is_exported_by_poetry_with_only_the_test_groups(tmp_path: Path) -> None:
    # Written the way poetry 1.x wrote locks: no package records its groups, so only
    # poetry, reading the groups of pyproject.toml, knows docutils is for the docs alone.
    files = {p.name: p.read_text(encoding="utf-8") for p in POETRY_WITHOUT_GROUPS.iterdir()}
    report = _grade_files(
        tmp_path,
        {
            **files,
            "tests/test_groups.py": (
                "import importlib.util\n\nimport tabulate\nimport tomli\n\n\n"
                "def test_main_and_test_groups_only():\n"
                "    assert tabulate.tabulate([[1]]) and tomli.loads('a = 1') == {'a': 1}\n"
                "    assert importlib.util.find_spec('docutils') is None\n"
            ),
        },
    )
    _ran_and_passed(report)
    assert "poetry.lock (exported with poetry: main, group test)" in _notes(report)


def test_a_stale_poetry_lock_falls_back_to_its_records_and_says_why(tmp_path: Path) -> None:
    files = {p.name: p.read_text(encoding="utf-8") for p in POETRY_WITHOUT_GROUPS.iterdir()}
    files["pyproject.toml"] += '\n[tool.poetry.group.lint.dependencies]\nruff = "*"\n'
    notes = _notes(_grade_files(tmp_path, files))
    assert "poetry.lock: poetry export failed (pyproject.toml changed significantly" in notes
    assert "poetry.lock (every package (the lock records no groups))" in notes


def test_the_tests_that_run_are_the_ones_the_authors_testpaths_select(tmp_path: Path) -> None:
    """A benchmark outside testpaths that only passes on the author's lab machine is not
    the suite (the author's own pytest never runs it); the report names it."""
    fixture = Path(__file__).parent / "fixtures" / "selection" / "testpaths"
    graded = run_grader(fixture, tmp_path / "out", "--mutants", "0")
    assert graded.exit_code == 0, graded.stderr
    tests = _pytest(graded.report())
    assert (tests["tests"]["passed"], tests["tests"]["failed"]) == (2, 0), tests
    assert any(
        "not run: 1 test module(s)" in note and "benchmarks/test_throughput.py" in note
        for note in tests["notes"]
    ), tests["notes"]
