"""Declared versus imported dependencies, read statically.

An imported third-party module that no packaging file declares breaks the first fresh
install; a declared dependency nothing imports is dead weight. Modules are matched to
distributions by canonical name and a table of the well-known mismatches
(``yaml`` is PyYAML, ``sklearn`` is scikit-learn).
"""

from __future__ import annotations

import ast
import sys
import time
from pathlib import PurePosixPath

from packaging.utils import canonicalize_name

from grader import __version__, requirements
from grader.models import Finding, Location, Metric, Severity, ToolResult, ToolStatus
from grader.tools.base import MetricSpec, ToolContext
from grader.workspace import Workspace

MODULE_TO_DISTRIBUTION = {
    "yaml": "pyyaml",
    "sklearn": "scikit-learn",
    "skimage": "scikit-image",
    "PIL": "pillow",
    "cv2": "opencv-python",
    "bs4": "beautifulsoup4",
    "dateutil": "python-dateutil",
    "dotenv": "python-dotenv",
    "jwt": "pyjwt",
    "jose": "python-jose",
    "multipart": "python-multipart",
    "attr": "attrs",
    "magic": "python-magic",
    "Crypto": "pycryptodome",
    "OpenSSL": "pyopenssl",
    "serial": "pyserial",
    "docx": "python-docx",
    "google": "google-api-core",
    "pkg_resources": "setuptools",
    "_pytest": "pytest",
    "psycopg2": "psycopg2-binary",
    "MySQLdb": "mysqlclient",
    "git": "gitpython",
    "fitz": "pymupdf",
    "Levenshtein": "python-levenshtein",
}
# Distributions imported under a different name that should still count as used.
DISTRIBUTION_ALIASES = {
    "opencv-python-headless": "opencv-python",
    "psycopg2": "psycopg2-binary",
    "psycopg": "psycopg2-binary",
    "python-jose[cryptography]": "python-jose",
}
# Provided by grader or used as commands rather than imports: never "undeclared" or "unused".
TOOLING = frozenset(
    {
        "pytest", "pytest-cov", "pytest-timeout", "pytest-mock", "pytest-asyncio",
        "pytest-xdist", "coverage", "mypy", "ruff", "black", "flake8", "pylint", "isort",
        "pre-commit", "tox", "nox", "setuptools", "wheel", "pip", "uv", "hatchling",
        "uvicorn", "gunicorn", "bandit", "radon", "ipython", "jupyter", "notebook",
    }
)  # fmt: skip


def _distribution(module: str) -> str:
    return canonicalize_name(MODULE_TO_DISTRIBUTION.get(module, module))


def _local_names(ws: Workspace) -> set[str]:
    names: set[str] = set()
    for path in map(PurePosixPath, ws.python_files):
        parts = path.parts[1:] if path.parts[0] == "src" else path.parts
        names.update(p.removesuffix(".py") for p in parts)
    return names


def _imports(ws: Workspace) -> dict[str, Location]:
    """Top-level module names imported anywhere, with their first location."""
    found: dict[str, Location] = {}
    for relative in ws.python_files:
        try:
            tree = ast.parse(ws.path(relative).read_bytes())
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue  # facts reports unparsable files
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                continue
            for module in modules:
                found.setdefault(module.split(".")[0], Location(relative, node.lineno))
    return found


def _direct(ws: Workspace, declared: requirements.Requirements) -> set[str]:
    """Directly declared distributions: a lock file lists transitive ones too."""
    if not declared.locked or "pyproject.toml" not in ws.files:
        return set(declared.names)
    return set(requirements.read_pyproject(ws).names)


def _third_party_imports(ws: Workspace) -> dict[str, Location]:
    local = _local_names(ws)
    return {
        module: where
        for module, where in _imports(ws).items()
        if module not in sys.stdlib_module_names and module not in local
    }


def _unused(direct: set[str], used: set[str]) -> list[str]:
    return sorted(
        name
        for name in direct
        if DISTRIBUTION_ALIASES.get(name, name) not in used and name not in TOOLING
    )


def _undeclared_finding(module: str, where: Location) -> Finding:
    return Finding(
        "deps",
        "undeclared-import",
        f"imports {module} but no packaging file declares it "
        f"(expected a requirement like {MODULE_TO_DISTRIBUTION.get(module, module)})",
        Severity.MEDIUM,
        where,
    )


def _unused_finding(name: str, source: str) -> Finding:
    where = source.split(", ", maxsplit=1)[0] if source else "."
    return Finding(
        "deps",
        "unused-dependency",
        f"{name} is declared in {source or 'the packaging files'} but never imported",
        Severity.LOW,
        Location(where),
    )


class Deps:
    """Undeclared imports and unused declarations."""

    name = "deps"
    metrics = (
        MetricSpec(
            "packaging.undeclared_imports",
            "modules",
            "Third-party modules imported but declared in no packaging file.",
        ),
        MetricSpec(
            "packaging.unused_dependencies",
            "packages",
            "Declared dependencies that no file imports.",
        ),
    )

    def version(self) -> str:
        """Part of grader."""
        return __version__

    def run(self, ctx: ToolContext) -> ToolResult:
        """Compare what the code imports with what the packaging files declare."""
        started = time.monotonic()
        ws = ctx.workspace
        declared = requirements.read(ws)
        imported = _third_party_imports(ws)
        undeclared = {
            module: where
            for module, where in imported.items()
            if _distribution(module) not in declared.names | TOOLING
        }
        unused = _unused(_direct(ws, declared), {_distribution(m) for m in imported})
        findings = [
            _undeclared_finding(module, where) for module, where in sorted(undeclared.items())
        ]
        findings += [_unused_finding(name, declared.source) for name in unused]
        return ToolResult(
            tool=self.name,
            version=self.version(),
            status=ToolStatus.OK,
            findings=tuple(findings),
            metrics=(
                Metric("packaging.undeclared_imports", len(undeclared), "modules", self.name),
                Metric("packaging.unused_dependencies", len(unused), "packages", self.name),
            ),
            duration_s=time.monotonic() - started,
            notes=(f"requirements read from {declared.source}",) if declared.source else (),
        )
