"""Declared versus imported dependencies, read statically.

An imported third-party module that no packaging file declares breaks the first fresh
install; a declared dependency nothing imports is dead weight. Modules are matched to
distributions by canonical name and a table of the well-known mismatches
(``yaml`` is PyYAML, ``sklearn`` is scikit-learn).
"""

from __future__ import annotations

import time

from grader import __version__
from grader.acquire.workspace import Workspace
from grader.core.models import (
    Finding,
    Location,
    Metric,
    MetricSpec,
    Severity,
    ToolResult,
    ToolStatus,
)
from grader.environment import requirements
from grader.environment.imports import MODULE_TO_DISTRIBUTION, distribution, provided, third_party
from grader.tools.base import ToolContext

# Provided by grader or used as commands rather than imports: never "undeclared" or "unused".
TOOLING = frozenset(
    {
        "pytest", "pytest-cov", "pytest-timeout", "pytest-mock", "pytest-asyncio",
        "pytest-xdist", "coverage", "mypy", "ruff", "black", "flake8", "pylint", "isort",
        "pre-commit", "tox", "nox", "setuptools", "wheel", "pip", "uv", "hatchling",
        "uvicorn", "gunicorn", "bandit", "radon", "ipython", "jupyter", "notebook",
    }
)  # fmt: skip


def _direct(ws: Workspace, declared: requirements.Requirements) -> set[str]:
    """Directly declared distributions: a lock file lists transitive ones too."""
    if not declared.locked or "pyproject.toml" not in ws.files:
        return set(declared.names)
    return set(requirements.read_pyproject(ws).names)


def _unused(direct: set[str], used: set[str]) -> list[str]:
    return sorted(name for name in direct if not provided([name]) & used and name not in TOOLING)


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
        imported = third_party(ws)
        undeclared = {
            module: where
            for module, where in imported.items()
            if distribution(module) not in provided(declared.names) | TOOLING
        }
        unused = _unused(_direct(ws, declared), {distribution(m) for m in imported})
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
