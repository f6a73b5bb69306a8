"""grader installs only what a submission declared, and tells imports apart by what the
installed distributions' metadata says they provide.

Graded against a local package index of fixture wheels (``tests/wheels.py``) that is
the only index: it holds look-alike distributions named the way the imports suggest
(rest-framework-simplejwt, django-filters, Factory), which grader must never install,
beside what the submissions declare, and grader's runners, downloaded once.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from wheels import DECLARED, LOOK_ALIKES, download_runners, write_wheel

from grader.core.models import Finding, Report, ToolResult
from grader.environment.cache import EnvironmentCache
from grader.pipeline import GradeOptions, grade

pytestmark = [pytest.mark.slow, pytest.mark.sandbox]


@pytest.fixture(scope="module")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("wheelhouse")
    for wheel in (*LOOK_ALIKES, *DECLARED):
        write_wheel(folder, wheel)
    download_runners(folder, f"{sys.version_info.major}.{sys.version_info.minor}")
    return folder


def _grade(root: Path, files: dict[str, str], cache: EnvironmentCache) -> Report:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return grade(GradeOptions(source=str(root), environments=cache))


def _tool(report: Report, name: str) -> ToolResult:
    return next(tool for tool in report.tools if tool.tool == name)


def _metric(tool: ToolResult, name: str) -> float | None:
    return next(metric.value for metric in tool.metrics if metric.name == name)


def _findings(report: Report, rule: str) -> list[Finding]:
    return [f for f in _tool(report, "deps").findings if f.rule_id == rule]


def _site_packages(cache: EnvironmentCache) -> list[Path]:
    return sorted(cache.root.glob("envs/*/lib/*/site-packages"))


def test_a_look_alike_of_an_undeclared_import_is_never_installed(
    tmp_path: Path, wheelhouse: Path
) -> None:
    cache = EnvironmentCache(tmp_path / "cache", wheelhouse=wheelhouse)
    report = _grade(
        tmp_path / "sub",
        {
            "auth.py": '"""Tokens."""\nimport rest_framework_simplejwt\n',
            "tests/test_auth.py": "import auth\n\n\ndef test_auth():\n    assert auth\n",
        },
        cache,
    )
    (site_packages,) = _site_packages(cache)
    assert not list(site_packages.glob("rest_framework_simplejwt*"))
    assert not list(site_packages.glob("rest_framework_simplejwt*.dist-info"))
    tests = _tool(report, "pytest")
    notes = "\n".join(tests.notes)
    assert "grader did not install rest_framework_simplejwt: imported by the code" in notes
    assert "rest-framework-simplejwt" not in notes
    # The tests fail for want of it: the candidate's doing, charged and never excused.
    assert _metric(tests, "tests.pass_rate") == 0
    (undeclared,) = _findings(report, "undeclared-import")
    assert (undeclared.location.path, undeclared.location.line) == ("auth.py", 2)
    assert "imports rest_framework_simplejwt but no packaging file declares it" in (
        undeclared.message
    )
    assert _metric(_tool(report, "deps"), "packaging.undeclared_imports") == 1


def test_declared_distributions_are_found_by_their_metadata(
    tmp_path: Path, wheelhouse: Path
) -> None:
    cache = EnvironmentCache(tmp_path / "cache", wheelhouse=wheelhouse)
    report = _grade(
        tmp_path / "sub",
        {
            "requirements.txt": "django-filter\nfactory-boy\ngoogle-cloud-storage\npsycopg\n",
            "app.py": (
                '"""App."""\nimport django_filters\nimport factory\n'
                "from google.cloud import storage\nimport psycopg\n"
            ),
            "jobs.py": '"""Jobs."""\nfrom google.api_core import retry\n\nimport psycopg2\n',
            "tests/test_app.py": (
                "from importlib import metadata\n\nimport app\n\n\n"
                "def test_declared_and_never_their_look_alikes():\n"
                "    assert app.django_filters and app.factory and app.storage\n"
                "    names = {d.metadata['Name'] for d in metadata.distributions()}\n"
                "    assert {'django-filter', 'factory-boy', 'psycopg'} <= names\n"
                "    assert not names & {'django-filters', 'Factory', 'psycopg2'}\n"
            ),
        },
        cache,
    )
    tests = _tool(report, "pytest")
    assert _metric(tests, "tests.pass_rate") == 100, tests.tests
    # Declared under other names than their modules: neither undeclared nor unused.
    assert not _findings(report, "unused-dependency")
    undeclared = {f.message.split()[1]: f for f in _findings(report, "undeclared-import")}
    assert sorted(undeclared) == ["psycopg2"]
    (transitive,) = _findings(report, "transitive-import")
    assert transitive.message.startswith(
        "imports google.api_core, which only google-cloud-storage's own requirements install"
    )
    assert "declare google-api-core directly" in transitive.message
    assert undeclared["psycopg2"].location.path == "jobs.py"
    assert "by the metadata of the" in "\n".join(_tool(report, "deps").notes)
    notes = "\n".join(tests.notes)
    assert (
        "installed: django-filter 1.0 (requirements.txt), factory-boy 1.0 (requirements.txt), "
        "google-cloud-storage 1.0 (requirements.txt), psycopg 3.0 (requirements.txt); "
        "grader's runners: pytest "
    ) in notes
    assert "as dependencies: google-api-core 1.0" in notes
    assert "grader did not install psycopg2" in notes
