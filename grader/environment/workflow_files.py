"""GitHub Actions workflows: the variables the CI runs the tests with, and its servers.

Only jobs that run the tests count (a step whose ``run:`` says pytest, tox, nox,
unittest, coverage, test or check): a deploy job's variables describe production. In a
job, the ``env:`` of the steps that run the tests comes first, then the job's own, its
container's, the workflow's, and last the environment of its ``services:`` containers
(POSTGRES_USER and the like). Expressions are evaluated only as far as ``${{ env.NAME }}``
goes; any other (``${{ secrets.X }}``, which no repository holds) makes the value unknown,
and inside a longer value it becomes ``dummy``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from grader.acquire.workspace import Workspace
from grader.environment.settings_declarations import (
    MAX_FILES,
    DeclaredService,
    Setting,
    environment,
    load_yaml,
    mapping,
    read_bounded,
    scalar,
    sequence,
)

WORKFLOW_FILE = re.compile(r"\.github/workflows/[^/]+\.ya?ml")
_RUNS_TESTS = re.compile(r"\b(?:pytest|py\.test|tox|nox|unittest|coverage|tests?|check)\b")
_EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
_ENV_REFERENCE = re.compile(r"env\.([A-Za-z_]\w*)")
UNKNOWN = "dummy"


@dataclass(frozen=True)
class Workflows:
    """What the workflows' test jobs declare, in order of precedence."""

    settings: tuple[Setting, ...] = ()
    services: tuple[DeclaredService, ...] = ()
    problems: tuple[str, ...] = ()


def _evaluated(setting: Setting, context: dict[str, str]) -> Setting:
    """A setting with its expressions evaluated where grader can."""
    value = setting.value
    if value is None or "${{" not in value:
        return setting
    unknown = False

    def evaluate(found: re.Match[str]) -> str:
        nonlocal unknown
        reference = _ENV_REFERENCE.fullmatch(found.group(1))
        if reference and reference.group(1) in context:
            return context[reference.group(1)]
        unknown = True
        return UNKNOWN

    evaluated = _EXPRESSION.sub(evaluate, value)
    whole = _EXPRESSION.fullmatch(value.strip()) is not None
    if unknown and whole:
        return Setting(setting.name, "", setting.source, unknown=True)
    return Setting(setting.name, evaluated, setting.source)


def _block(value: Any, source: str) -> list[Setting]:
    return environment(value, source, null_from_shell=False)


def _host_port(entry: Any) -> int | None:
    """The runner's side of a service's ``ports:`` entry ("5432:5432" or "5432")."""
    text = scalar(entry)
    port = text.split(":")[0].split("/")[0] if text else ""
    return int(port) if port.isdigit() and 0 < int(port) < 65536 else None


def _services(job: dict[str, Any], source: str) -> list[DeclaredService]:
    declared = []
    for name, raw in mapping(job.get("services")).items():
        service = mapping(raw)
        image = scalar(service.get("image"))
        if image:
            ports = [_host_port(p) for p in sequence(service.get("ports"))]
            declared.append(
                DeclaredService(
                    image=image,
                    names=(name,),
                    ports=tuple(p for p in ports if p),
                    settings=tuple(_block(service.get("env"), source)),
                    source=f"{source} (service {name})",
                )
            )
    return declared


def _runs_tests(step: Any) -> bool:
    run = scalar(mapping(step).get("run"))
    return bool(run and _RUNS_TESTS.search(run))


def _read_file(ws: Workspace, relative: str) -> Workflows:
    text = read_bounded(ws, relative)
    data = load_yaml(text) if text is not None else None
    if data is None:
        return Workflows(problems=(f"{relative}: not a workflow grader could read",))
    top = _block(data.get("env"), relative)
    settings: list[Setting] = []
    services: list[DeclaredService] = []
    for raw_job in mapping(data.get("jobs")).values():
        job = mapping(raw_job)
        steps = [mapping(step) for step in sequence(job.get("steps")) if _runs_tests(step)]
        if not steps:
            continue
        own = _block(job.get("env"), relative) + _block(
            mapping(job.get("container")).get("env"), relative
        )
        context = {s.name: s.value for s in [*top, *own] if s.value is not None}
        declared = _services(job, relative)
        step_settings = [s for step in steps for s in _block(step.get("env"), relative)]
        for setting in [*step_settings, *own, *top, *(s for d in declared for s in d.settings)]:
            settings.append(_evaluated(setting, context))
        services += [
            DeclaredService(
                d.image,
                d.names,
                d.ports,
                tuple(_evaluated(s, context) for s in d.settings),
                d.source,
            )
            for d in declared
        ]
    return Workflows(tuple(settings), tuple(services))


def read(ws: Workspace) -> Workflows:
    """The test jobs' settings and servers of every workflow, file by file."""
    found = sorted(f for f in ws.files if WORKFLOW_FILE.fullmatch(f))[:MAX_FILES]
    parts = [_read_file(ws, relative) for relative in found]
    return Workflows(
        tuple(s for part in parts for s in part.settings),
        tuple(s for part in parts for s in part.services),
        tuple(p for part in parts for p in part.problems),
    )
