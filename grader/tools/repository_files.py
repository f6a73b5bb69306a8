"""What the repository's other files say about delivery: package metadata, pinned
dependencies, a container image, infrastructure as code and a CI workflow.

Read from file names, the packaging files (through grader.environment) and the first
20,000 characters of YAML and JSON files that may describe infrastructure.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from grader.acquire.workspace import Workspace
from grader.environment import requirements
from grader.environment.packaging_declarations import pyproject
from grader.tools.base import percent

# Python files that configure the project's tools rather than make up its product: the
# build script, nox and fabric task files, Django's manage.py, Sphinx's configuration. No
# test is meant to run them, so coverage does not measure them (a reviewer does not ask for
# tests of setup.py) and design does not ask for them in a package.
_TOOLING_AT_ROOT = frozenset({"setup.py", "noxfile.py", "fabfile.py", "dodo.py"})
_TOOLING_ANYWHERE = frozenset({"manage.py"})
_DOCS_FOLDERS = frozenset({"docs", "doc", "sphinx"})


def tooling_files(files: tuple[str, ...]) -> tuple[str, ...]:
    """The files among ``files`` that configure tools (see _TOOLING_AT_ROOT)."""
    return tuple(
        f
        for f in files
        if f in _TOOLING_AT_ROOT
        or PurePosixPath(f).name in _TOOLING_ANYWHERE
        or (PurePosixPath(f).name == "conf.py" and _DOCS_FOLDERS & set(PurePosixPath(f).parts))
    )


CI_PATTERNS = (
    re.compile(r"^\.github/workflows/[^/]+\.ya?ml$"),
    re.compile(r"^\.gitlab-ci\.yml$"),
    re.compile(r"^\.circleci/config\.yml$"),
    re.compile(r"^(?:Jenkinsfile|azure-pipelines\.yml|bitbucket-pipelines\.yml|\.travis\.yml)$"),
)
CONTAINER = re.compile(r"(?:^|/)(?:Dockerfile|Containerfile)(?:\.[\w-]+)?$|\.dockerfile$")
IAC_NAMES = re.compile(
    r"(?:\.tf|\.tf\.json|(?:^|/)cdk\.json|(?:^|/)Pulumi\.ya?ml|(?:^|/)serverless\.ya?ml"
    r"|(?:^|/)Chart\.yaml|(?:^|/)samconfig\.toml|(?:^|/)kustomization\.ya?ml)$"
)
IAC_CONTENT = re.compile(
    r"AWSTemplateFormatVersion|Transform:\s*AWS::Serverless|^kind:\s*\w+", re.M
)
PIN = re.compile(r"==\s*[\w.*+!-]+")


def has_packaging(ws: Workspace) -> bool:
    """setup.py, setup.cfg, or a pyproject.toml with a [project] or Poetry table."""
    if "setup.py" in ws.files or "setup.cfg" in ws.files:
        return True
    declared = pyproject(ws)
    tool = declared.get("tool")
    return "project" in declared or (isinstance(tool, dict) and "poetry" in tool)


def has_iac(ws: Workspace) -> bool:
    """Terraform, CDK, Pulumi, Serverless, Helm, SAM, Kustomize, CloudFormation or
    Kubernetes manifests (the last two recognised by their content)."""
    for name in ws.files:
        if IAC_NAMES.search(name):
            return True
        if name.endswith((".yaml", ".yml", ".json")) and not name.startswith(".github/"):
            head = ws.path(name).read_text(encoding="utf-8", errors="replace")[:20_000]
            if IAC_CONTENT.search(head) and ("apiVersion" in head or "AWS" in head):
                return True
    return False


def has_container(ws: Workspace) -> bool:
    """A Dockerfile or Containerfile anywhere in the repository."""
    return any(CONTAINER.search(f) for f in ws.files)


def has_ci(ws: Workspace) -> bool:
    """A CI workflow (GitHub Actions, GitLab, CircleCI, Jenkins, Azure, Bitbucket, Travis)."""
    return any(p.search(f) for p in CI_PATTERNS for f in ws.files)


def pinned_share(ws: Workspace) -> float | None:
    """Declared dependencies pinned with ``==`` (100 when locked); None when none."""
    declared = requirements.read(ws)
    if declared.locked:
        return 100.0
    pinned = sum(bool(PIN.search(item)) for item in declared.items)
    return percent(pinned, len(declared.items))
