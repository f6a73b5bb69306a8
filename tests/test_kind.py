"""The kind of submission decides what applies to it: read from the repository, or named."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.acquire.workspace import inventory, screen
from grader.assignment.spec import parse
from grader.core.errors import AssignmentError, RubricError
from grader.core.models import SubmissionKind
from grader.pipeline import load_rubric
from grader.scoring import kind

MAIN = 'if __name__ == "__main__":\n    main()\n'


@pytest.mark.parametrize(
    ("files", "expected", "evidence"),
    [
        ({"app/main.py": "from fastapi import FastAPI\napp = FastAPI()\n"}, "service", "fastapi"),
        ({"manage.py": "import os\n", "shop/models.py": "x = 1\n"}, "service", "manage.py"),
        ({"server.py": "from http.server import HTTPServer\n"}, "service", "http.server"),
        # an application built through a framework's extensions, or run under a server
        ({"app.py": "from flask_openapi3 import OpenAPI\n\napp = OpenAPI(__name__)\n"},
         "service", "flask_openapi3"),
        ({"run.py": "import uvicorn\n\nuvicorn.run('api:app')\n"}, "service", "uvicorn"),
        ({"etl.py": "import pandas as pd\n\ndef load(p):\n    return pd.read_csv(p)\n"},
         "pipeline", "pandas"),
        ({"tool.py": f"import argparse\n\ndef main():\n    argparse.ArgumentParser()\n\n{MAIN}"},
         "cli", "argparse"),
        ({"pyproject.toml": '[project]\nname = "t"\n[project.scripts]\nt = "t:main"\n',
          "t.py": "def main():\n    pass\n"}, "cli", "console script 't'"),
        ({"pyproject.toml": '[project]\nname = "lib"\n', "lib/__init__.py": "def f():\n    pass\n"},
         "library", "no web framework"),
        ({"log_parser.py": f"import sys\n\ndef main():\n    print(sys.argv[1])\n\n{MAIN}"},
         "cli", "sys.argv"),
        ({"main.py": f"import matplotlib.pyplot as plt\n\ndef main():\n    plt.show()\n\n{MAIN}"},
         "pipeline", "runs as a program on matplotlib"),
        # a library of numeric functions is no job; sys used for other things is no command line
        ({"stats.py": "import numpy as np\n\ndef mean(xs):\n    return np.mean(xs)\n"},
         "library", "no web framework"),
        ({"run.py": f"import sys\n\ndef main():\n    sys.exit(0)\n\n{MAIN}"},
         "library", "no web framework"),
        # argparse without a __main__ guard is not a program
        ({"args.py": "import argparse\n\nPARSER = argparse.ArgumentParser()\n"},
         "library", "no web framework"),
        # a test's imports say nothing about the kind
        ({"calc.py": "def add(a, b):\n    return a + b\n",
          "tests/test_calc.py": "import pandas\nfrom fastapi import FastAPI\n"},
         "library", "no web framework"),
    ],
)  # fmt: skip
def test_the_kind_is_read_from_what_the_code_imports_and_declares(
    tmp_path: Path, files: dict[str, str], expected: str, evidence: str
) -> None:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    found = kind.detect(screen(inventory(tmp_path)))
    assert found.kind == SubmissionKind(expected)
    assert any(evidence in line for line in found.evidence), found.evidence


@pytest.mark.parametrize("rubric_name", ["default", "data-science"])
def test_what_does_not_apply_is_left_out_and_named(rubric_name: str) -> None:
    rubric = load_rubric(rubric_name)
    library, left_out = rubric.for_kind(SubmissionKind.LIBRARY)
    observability = next(c for c in library.criteria if c.id == "observability")
    # a library is still charged for printing, never for having no logs of its own
    assert {m.metric for m in observability.metrics} == {"observability.prints_per_kloc"}
    assert "Observability: observability.logging" in left_out
    packaging = next(c for c in library.criteria if c.id == "packaging")
    assert "deploy.container" not in {m.metric for m in packaging.metrics}
    assert "packaging.metadata" in {m.metric for m in packaging.metrics}
    # a command's output is read by whoever ran it; a service's logs are all there is
    _, left_out = rubric.for_kind(SubmissionKind.CLI)
    assert "Observability: observability.logging" in left_out
    service, left_out = rubric.for_kind(SubmissionKind.SERVICE)
    assert "observability" in {c.id for c in service.criteria}
    assert left_out == ("Packaging & deployment: packaging.metadata",)


def test_an_unknown_kind_in_a_rubric_is_refused(tmp_path: Path) -> None:
    text = (Path(__file__).parent.parent / "rubrics" / "default.toml").read_text("utf-8")
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace('applies_to = ["service"]', 'applies_to = ["microservice"]'))
    with pytest.raises(RubricError, match="applies_to"):
        load_rubric(str(bad))


def test_an_assignment_names_the_kind_and_an_unknown_one_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "assignment.toml"
    assignment = parse(path, b'name = "shop"\nkind = "service"\n')
    assert assignment.kind is SubmissionKind.SERVICE
    assert kind.chosen(screen(inventory(tmp_path)), assignment.kind).from_assignment
    with pytest.raises(AssignmentError, match="kind"):
        parse(path, b'kind = "website"\n')
