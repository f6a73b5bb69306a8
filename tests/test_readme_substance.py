"""The README's substance: sections with content, and commands that run what the
repository has, on small repositories written by each test."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.acquire.workspace import inventory
from grader.tools import readme_substance

FULL = """\
# shop

A shop.

## Installation

```bash
pip install -r requirements.txt
```

## Usage

```
$ uvicorn app.main:app --reload
```

## Running the tests

```
make test && pytest tests/
```

## Configuration

Set `DATABASE_URL`.

## Design decisions

Routes call services, services call the repository.

## Next steps

Pagination.
"""


def _review(root: Path, files: dict[str, str]) -> readme_substance.ReadmeReview:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
    return readme_substance.review(inventory(root))


def _messages(result: readme_substance.ReadmeReview) -> list[str]:
    return [f"{f.rule_id} {f.location} {f.message}" for f in readme_substance.findings(result)]


APP = {
    "app/__init__.py": "",
    "app/main.py": "app = object()\n",
    "tests/test_main.py": "def test_x():\n    assert True\n",
    "requirements.txt": "fastapi==0.1\n",
    "Makefile": "test:\n\tpytest\n",
}


def test_every_section_with_content_and_working_commands(tmp_path: Path) -> None:
    result = _review(tmp_path, {**APP, "README.md": FULL})
    assert result.substance == 100.0
    assert result.command_score == 100.0
    assert _messages(result) == []


def test_a_heading_with_nothing_under_it_does_not_count(tmp_path: Path) -> None:
    readme = FULL.replace("Set `DATABASE_URL`.\n", "").replace("Pagination.\n", "")
    result = _review(tmp_path, {**APP, "README.md": readme})
    assert result.present == ["installation", "usage", "testing", "design"]
    assert "readme-empty-section README.md:23 README's 'Configuration' heading " in "\n".join(
        _messages(result)
    )


def test_a_subsection_gives_its_parent_content(tmp_path: Path) -> None:
    readme = "# x\n\n## Usage\n\n### From the shell\n\nRun it.\n\n## Tests\n\n## Design\n\nx\n"
    result = _review(tmp_path, {"README.md": readme})
    assert "usage" in result.present
    assert [section for section, _ in result.empty] == ["testing"]


@pytest.mark.parametrize(
    ("command", "problem"),
    [
        ("uvicorn api.server:app", "no module api.server in the repository"),
        ("python app.py", "app.py is not in the repository"),
        ("python -m shop", "no module shop to run in the repository"),
        ("python -m app", "no module app to run in the repository"),  # no app/__main__.py
        ("make run", "the Makefile has no target run"),
        ("docker compose up", "no compose file in the repository"),
        ("docker compose -f compose.dev.yml up", "no compose.dev.yml in the repository"),
        ("pip install -r requirements-dev.txt", "requirements-dev.txt is not in the repository"),
        ("pytest tests/unit", "tests/unit is not in the repository"),
        ("python app/main.py", "app/main.py only defines things: running it does nothing"),
        ("./deploy.sh", "./deploy.sh is not in the repository"),
    ],
)
def test_a_command_naming_what_the_repository_lacks_points_nowhere(
    tmp_path: Path, command: str, problem: str
) -> None:
    readme = FULL.replace("$ uvicorn app.main:app --reload", command)
    result = _review(tmp_path, {**APP, "README.md": readme})
    assert any(f"`{command}` points nowhere: {problem}" in m for m in _messages(result))


@pytest.mark.parametrize(
    ("command", "files"),
    [
        ("python -m app", {"app/__main__.py": ""}),
        ("python app/cli.py", {"app/cli.py": "if __name__ == '__main__':\n    print(1)\n"}),
        ("python cli.py", {"app/cli.py": "print(1)\n"}),  # the one cli.py, in app/
        ("./manage.py runserver", {"manage.py": "import sys\nsys.exit(0)\n"}),
        ("flask --app app.main run", {}),
        ("cd web && flask run", {"web/app.py": "app = object()\n"}),
        ("docker compose up --build", {"compose.yaml": "services: {}\n"}),
        (
            "shop serve",
            {"pyproject.toml": "[project]\nname='s'\n[project.scripts]\nshop='app.main:x'\n"},
        ),
        ("streamlit run app/main.py", {}),
        ("uv run uvicorn app.main:app", {}),
    ],
)
def test_a_command_naming_what_the_repository_has_runs_it(
    tmp_path: Path, command: str, files: dict[str, str]
) -> None:
    readme = f"# x\n\n## Usage\n\n```\n{command}\n```\n"
    result = _review(tmp_path, {**APP, **files, "README.md": readme})
    assert result.works("run"), result.commands


def test_a_reader_who_changed_folder_runs_commands_from_there(tmp_path: Path) -> None:
    readme = "# x\n\n- `cd src/` to go to the code\n- `flask run` to start\n- `cd ..`\n\n"
    readme += "```\npytest tests\ncd my-clone\npython app.py\n```\n"
    files = {"src/app.py": "app = object()\n", "tests/test_a.py": "", "app.py": "print(1)\n"}
    result = _review(tmp_path, {**files, "README.md": readme})
    assert result.works("run") and result.works("test"), result.commands
    assert all(verdict.ok for _, _, verdict in result.commands), result.commands


def test_flask_run_needs_an_application_flask_finds_by_itself(tmp_path: Path) -> None:
    readme = "# x\n\n## Usage\n\n```\nflask run\n```\n"
    result = _review(tmp_path, {"service/main.py": "app = object()\n", "README.md": readme})
    problem = "flask run finds no app.py or wsgi.py in that folder"
    assert any(f"`flask run` points nowhere: {problem}" in m for m in _messages(result))


def test_a_script_the_readme_runs_is_judged_by_its_commands(tmp_path: Path) -> None:
    script = "#!/bin/sh\necho start\npython main.py\npython -m unittest tests/test_a.py\n"
    readme = "# x\n\n## Usage\n\n```\nchmod +x run.sh\n./run.sh\n```\n"
    files = {"run.sh": script, "main.py": "print(1)\n", "tests/test_a.py": ""}
    result = _review(tmp_path, {**files, "README.md": readme})
    assert result.works("run") and result.works("test"), result.commands
    broken = _review(
        tmp_path / "b", {**files, "run.sh": "python missing.py\n", "README.md": readme}
    )
    assert not broken.works("run")


@pytest.mark.parametrize(
    "command",
    [
        "docker exec -it backend pytest",
        "docker compose exec app pytest tests/ -v",
        "docker-compose exec -e DEBUG=1 app python -m pytest",
        "docker compose run --rm web python manage.py test",
        "docker-compose -f docker-compose.dev.yml run --rm api python manage.py test",
        "docker compose --file=docker-compose.dev.yml -p shop exec app pytest",
    ],
)
def test_a_test_command_run_inside_the_container_runs_the_tests(
    tmp_path: Path, command: str
) -> None:
    compose = "docker-compose.dev.yml" if "dev.yml" in command else "compose.yaml"
    files = {
        compose: "services: {}\n",
        "tests/test_a.py": "",
        "manage.py": "import sys\nsys.exit(0)\n",
    }
    readme = f"# x\n\n## Tests\n\n```\n{command}\n```\n"
    result = _review(tmp_path, {**files, "README.md": readme})
    assert result.works("test"), result.commands


@pytest.mark.parametrize("block", ["    `{c}`\n", "```\n`{c}`\n```\n"])
def test_a_code_blocks_command_in_inline_code_marks_is_still_the_command(
    tmp_path: Path, block: str
) -> None:
    files = {"Dockerfile": "FROM python:3.12\n", "tests/test_a.py": ""}
    commands = block.format(c="docker build -t shop .") + "\n" + block.format(c="pytest -q")
    readme = f"# x\n\n## Running\n\n{commands}"
    result = _review(tmp_path, {**files, "README.md": readme})
    assert result.works("run"), result.commands
    assert result.works("test"), result.commands


LIBRARY = {
    "src/signer/__init__.py": "def sign(value):\n    return value\n",
    "tests/test_a.py": "",
    "pyproject.toml": "[project]\nname = 'signer'\n",
}


@pytest.mark.parametrize(
    ("example", "runs"),
    [
        ("```python\nfrom signer import sign\nprint(sign(1))\n```\n", True),
        ("```pycon\n>>> import signer\n>>> signer.sign(1)\n1\n```\n", True),
        ("```python\nimport json\nprint(json.dumps({}))\n```\n", False),  # not its code
        ("```python\nfrom signer import (\n```\n", False),  # does not parse
        ("```\nfrom signer import sign\n```\n", False),  # not marked as Python
        ("```python\nfrom signer import sign\n```\n", False),  # an import alone
    ],
)
def test_a_python_example_using_the_package_is_how_a_library_readme_runs_it(
    tmp_path: Path, example: str, runs: bool
) -> None:
    readme = f"# signer\n\n## Usage\n\n{example}"
    result = _review(tmp_path / "lib", {**LIBRARY, "README.md": readme})
    assert result.works("run") is runs, result.commands
    # An application that is no installable package is run by a command, not a snippet.
    app = {k: v for k, v in LIBRARY.items() if k != "pyproject.toml"}
    assert not _review(tmp_path / "app", {**app, "README.md": readme}).works("run")


@pytest.mark.parametrize(
    ("command", "manifest", "works"),
    [
        ("poetry install", "pyproject.toml", True),
        ("uv sync", "pyproject.toml", True),
        ("pipenv install --dev", "Pipfile", True),
        ("uv pip install -r requirements.txt", "requirements.txt", True),
        ("poetry install", "requirements.txt", False),  # nothing for poetry to read
        ("pipenv install", "pyproject.toml", False),
        ("pipenv install -r requirements.txt", "requirements.txt", True),
    ],
)
def test_a_project_managers_install_gives_the_installation_section(
    tmp_path: Path, command: str, manifest: str, works: bool
) -> None:
    readme = f"# shop\n\n## Poetry\n\n```\n{command}\n```\n"
    result = _review(tmp_path, {manifest: "", "README.md": readme})
    assert ("installation" in result.present) is works, result.commands


def test_a_one_line_readme_has_no_sections_and_no_commands(tmp_path: Path) -> None:
    result = _review(tmp_path, {**APP, "README.md": "shop - run python main.py\n"})
    assert (result.substance, result.command_score) == (0.0, 0.0)
    messages = _messages(result)
    assert any("no section on: installation, usage, testing, configuration" in m for m in messages)
    assert any("no working command that runs the tests" in m for m in messages)


def test_headings_in_other_languages(tmp_path: Path) -> None:
    readme = (
        "# tienda\n\n## Instalación\n\nPython 3.11.\n\n## Ejecución\n\n```\npytest\n```\n\n"
        "## Pruebas\n\nTodas.\n\n## Arquitectura\n\nCapas.\n\n## Konfiguration\n\nEnv.\n\n"
        "## Улучшения\n\nБольше.\n"  # noqa: RUF001 (a Russian heading, on purpose)
    )
    result = _review(tmp_path, {**APP, "README.md": readme})
    assert result.substance == 100.0


def test_the_title_is_not_a_section(tmp_path: Path) -> None:
    result = _review(tmp_path, {"README.md": "# todo\n\nA to-do list.\n"})
    assert result.present == []


def test_a_section_a_reader_gets_without_a_heading_naming_it_counts(tmp_path: Path) -> None:
    """`poetry install` under "## Poetry" is the installation; a linked architecture
    document is the design; an empty linked file or a link elsewhere is not."""
    readme = (
        "# shop\n\nA shop. See [how it is built](docs/architecture.md) and the "
        "[roadmap](https://example.com/roadmap) or [notes](NEXT_STEPS.md).\n\n"
        "## Poetry\n\n```\npoetry install\npip install -r requirements.txt\n```\n"
    )
    files = {
        "README.md": readme,
        "requirements.txt": "fastapi\n",
        "docs/architecture.md": "# Architecture\n\nRoutes call services.\n",
        "NEXT_STEPS.md": "",
    }
    result = _review(tmp_path, files)
    assert "installation" in result.present and "design" in result.present
    assert "next steps" in result.missing


@pytest.mark.parametrize(
    "heading",
    ["With more time", "Further work", "Possible enhancements", "Nice to have", "Out of scope"],
)
def test_what_the_author_left_for_later_is_a_next_steps_section(
    tmp_path: Path, heading: str
) -> None:
    readme = f"# shop\n\n## {heading}\n\n- cache the rates\n- paginate the listing\n"
    assert "next steps" in _review(tmp_path, {"README.md": readme}).present


@pytest.mark.parametrize(
    ("heading", "section"),
    [
        ("Implementation details", "design"),
        ("How it works", "design"),
        ("Notes", "design"),
        ("Considerations", "design"),
        ("Solution", "design"),
        ("Why SQLite?", "design"),
        ("API Documentation", "usage"),
        ("Endpoints", "usage"),
    ],
)
def test_what_a_take_home_readme_calls_its_design_and_usage_counts(
    tmp_path: Path, heading: str, section: str
) -> None:
    readme = f"# shop\n\n## {heading}\n\n- the cart is kept in memory\n- `GET /cart`\n"
    assert section in _review(tmp_path, {"README.md": readme}).present


def test_a_notebook_heading_is_not_a_design_note(tmp_path: Path) -> None:
    readme = "# shop\n\n## Notebooks\n\n- `analysis.ipynb` explores the rates\n"
    assert "design" not in _review(tmp_path, {"README.md": readme}).present


def test_the_documentation_folder_gives_the_sections_its_pages_cover(tmp_path: Path) -> None:
    """A library's README links its published site, not its sources; a reviewer opens
    docs/ all the same. A page gives a section by its file name or one of its headings,
    when it holds text; an empty page, a pinned requirements file or a page buried deeper
    in the tree gives nothing."""
    files = {
        "README.rst": "ranges\n======\n\nSee https://ranges.example.org for the documentation.\n",
        "ranges/__init__.py": "def span(a, b):\n    return range(a, b)\n",
        "docs/conf.py": "project = 'ranges'\n",
        "docs/index.rst": "ranges\n======\n\nInstallation\n------------\n\npip install ranges\n",
        "docs/testing.rst": "Run the tests with ``python -m unittest``.\n",
        "docs/architecture.md": "",
        "docs/requirements.txt": "sphinx==8.0\n",
        "docs/api/reference/deep/configuration.md": "# Configuration\n\nNone needed.\n",
    }
    result = _review(tmp_path, files)
    assert sorted(result.present) == ["installation", "testing"]
    assert {"design", "configuration"} <= set(result.missing)


def _running(tmp_path: Path, command: str, files: dict[str, str]) -> readme_substance.ReadmeReview:
    """The review of an app with tests whose README gives ``command`` and nothing else."""
    readme = f"# x\n\n## Commands\n\n```\n{command}\n```\n"
    return _review(
        tmp_path, {"app.py": "x = 1\n", "tests/test_a.py": "", **files, "README.md": readme}
    )


@pytest.mark.parametrize(
    ("command", "pyproject", "kind"),
    [
        ("poetry run tests", "[tool.poetry.scripts]\ntests = 'scripts:run_tests'\n", "test"),
        ("poetry run start", "[tool.poetry.scripts]\nstart = 'scripts:start'\n", "run"),
        ("pdm run test", "[tool.pdm.scripts]\ntest = 'pytest -q'\n", "test"),
        ("pdm start", "[tool.pdm.scripts]\nstart = 'uvicorn app:app'\n", "run"),
        ("pdm test", "[tool.pdm.scripts]\ntest = 'pytest'\n", "test"),
        ("hatch run test", "[tool.hatch.envs.default.scripts]\ntest = 'pytest'\n", "test"),
        ("hatch run dev:cov", "[tool.hatch.envs.dev.scripts]\ncov = 'pytest --cov'\n", "run"),
        ("poe test", "[tool.poe.tasks]\ntest = 'pytest'\n", "test"),
        ("task coverage", "[tool.taskipy.tasks]\ncoverage = 'pytest --cov'\n", "test"),
    ],
)
def test_a_task_the_project_declares_is_judged_by_its_name(
    tmp_path: Path, command: str, pyproject: str, kind: str
) -> None:
    result = _running(tmp_path, command, {"pyproject.toml": f"[project]\nname = 's'\n{pyproject}"})
    assert result.works(kind), result.commands


@pytest.mark.parametrize(
    ("command", "kind"),
    [
        ("docker compose up tests --exit-code-from tests", "test"),
        ("docker compose up --exit-code-from test test", "test"),
        ("docker-compose run --rm tests", "test"),
        ("docker compose up -d db", "run"),
        ("docker compose up --build", "run"),
    ],
)
def test_a_compose_service_named_for_the_tests_runs_them(
    tmp_path: Path, command: str, kind: str
) -> None:
    result = _running(tmp_path, command, {"compose.yaml": "services: {}\n"})
    assert result.works(kind), result.commands
    assert not result.works("test") or kind == "test"
