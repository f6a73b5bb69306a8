"""The settings a submission's tests run with: the variables its repository documents
or sets, and the servers it runs beside its code.

Code that reads its settings from the environment (a pydantic ``BaseSettings`` with
required fields, Django settings reading ``SECRET_KEY`` at import) cannot even be
collected without them, so the tests get what the repository says, in this order of
precedence (the first value found for a name wins):

1. the CI workflows' test jobs (workflow_files): how the tests are run automatically;
2. dotenv files written for the tests: ``.env.test``, ``.env.testing``, ``.env.ci``;
3. docker compose services' ``environment:`` and ``env_file:`` (compose_files);
4. documented templates: ``.env.example``, ``.env.sample``, ``.env.template``,
   ``env.example`` and the like;
5. a committed ``.env`` (``.env.local``, ``.env.development``): what one developer ran
   with, possibly stale or meant for production, so trusted least.

A secret-like name (``SECRET_KEY``, ``API_TOKEN``, ``DB_PASSWORD``) whose value is a
placeholder (``changeme``, ``your-secret-key``, ``<token>``, or a CI secret no repository
holds) gets a generated stand-in, the same for the same name on every run, so settings
load; an empty one does too, except a password, for which empty means none. Placeholders
of other settings are kept as written, as ``cp .env.example .env`` would. Grader's own
environment is never read. Names must be ``[A-Z_][A-Z0-9_]*`` and not one grader sets
itself (PATH, HOME, PYTHON*, PYTEST_*, COVERAGE_*, LD_*, GRADER_*); values a single
line of at most ``MAX_VALUE_CHARS``; at most ``MAX_VARIABLES`` of them.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath

from grader.acquire.workspace import Workspace
from grader.environment import compose_files, dotenv_files, service_needs, workflow_files
from grader.environment.settings_declarations import Setting
from grader.sandbox.services import Kind, Service

SAFE_NAME = re.compile(r"[A-Z_][A-Z0-9_]{0,127}")
_SET_BY_GRADER = re.compile(
    r"PATH|HOME|TMPDIR|TMP|TEMP|LANG|SHELL|USER|LOGNAME|PWD|OLDPWD|IFS|ENV|BASH_ENV"
    r"|(?:PYTHON|PYTEST_|COV_CORE_|COVERAGE_|LD_|LC_|GRADER_|VIRTUAL_ENV|UV_|PIP_|GCONV_).*"
)
_SINGLE_LINE = re.compile(r"[^\x00-\x08\x0a-\x1f\x7f]*")
MAX_VALUE_CHARS = 4096
MAX_VARIABLES = 200
_SECRET = re.compile(
    r"(?:^|_)(?:SECRET|SECRETKEY|PASSWORD|PASSWD|PASS|PWD|TOKEN|KEY|APIKEY|SALT|CREDENTIALS?"
    r"|PRIVATE|SIGNING)(?:_|$)"
)
_PASSWORD = re.compile(r"(?:^|_)(?:PASSWORD|PASSWD|PASS|PWD)(?:_|$)")
_PLACEHOLDER = re.compile(
    r"<.*>|\[.*\]|\{\{.*\}\}|x{3,}|\*{3,}|\.{3}|(?:none|null|todo|fixme|dummy|example)"
    r"|(?:secret|password|token|key|api[-_]?key|secret[-_]?key)"
    r"|.*(?:change[-_ ]?me|changeit|replace[-_ ]?(?:me|this|with)|placeholder).*"
    r"|(?:your|my|some|super|insert|enter|put|add|fill|set|generate)[-_ ].*|.*[-_ ]here",
    re.IGNORECASE,
)
_SERVER_URL = {
    Kind.POSTGRES: re.compile(r"(?:^|_)(?:DATABASE|DB|POSTGRES(?:QL)?|PG)_(?:URL|URI|DSN)$"),
    Kind.REDIS: re.compile(r"(?:^|_)REDIS_(?:URL|URI|DSN)$"),
}


@dataclass(frozen=True)
class Variable:
    """One variable the test run gets, and where it came from."""

    name: str
    value: str
    source: str
    stand_in: str = ""
    """Why grader made up the value ('a placeholder', 'the sandbox's PostgreSQL'), if it did."""


@dataclass(frozen=True)
class RunSettings:
    """What the tests run with beyond grader's own: variables, servers, host names."""

    variables: tuple[Variable, ...] = ()
    services: tuple[Service, ...] = ()
    hosts: tuple[str, ...] = ()
    unsupported: tuple[str, ...] = ()
    """Servers the repository runs that grader cannot start ('MySQL (docker-compose.yml ...)')."""
    left_out: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()

    def environment(self) -> dict[str, str]:
        """The variables as an environment."""
        return {v.name: v.value for v in self.variables}

    def without(self, names: Iterable[str]) -> RunSettings:
        """These settings less some variables (ones grader's pytest settings decide)."""
        dropped = set(names)
        kept = tuple(v for v in self.variables if v.name not in dropped)
        gone = [v.name for v in self.variables if v.name in dropped]
        left_out = (*self.left_out, *(f"{n} (grader's pytest settings name it)" for n in gone))
        return dataclasses.replace(self, variables=kept, left_out=left_out)

    def notes(self) -> list[str]:
        """What the report says about them: which variables came from where, what was made up."""
        by_source: dict[str, list[str]] = {}
        for variable in self.variables:
            if not variable.stand_in:
                by_source.setdefault(variable.source, []).append(variable.name)
        notes: list[str] = []
        if by_source:
            places = "; ".join(f"{', '.join(n)} from {s}" for s, n in by_source.items())
            notes.append(f"settings: {places}")
        made_up: dict[str, list[str]] = {}
        for variable in self.variables:
            if variable.stand_in:
                made_up.setdefault(variable.stand_in, []).append(variable.name)
        notes += [f"settings: {', '.join(n)}: {why}" for why, n in made_up.items()]
        if self.left_out:
            notes.append(f"settings left out: {', '.join(self.left_out)}")
        notes += [f"settings: {problem}" for problem in self.problems]
        return notes + self._service_notes()

    def _service_notes(self) -> list[str]:
        notes = []
        for service in self.services:
            what = [f"{service.kind.value} started in the sandbox on port {service.port}"]
            if service.roles:
                what.append(f"roles {', '.join(service.roles)}")
            if service.databases:
                what.append(f"databases {', '.join(service.databases)}")
            notes.append(f"services: {'; '.join(what)} (declared in {service.declared_in})")
        if self.hosts:
            verb = "resolves" if len(self.hosts) == 1 else "resolve"
            notes.append(f"services: {', '.join(self.hosts)} {verb} to the sandbox's loopback")
        notes += [
            f"services: {server} is not provided: grader starts PostgreSQL and Redis only "
            "(a limit of the grading host)"
            for server in self.unsupported
        ]
        return notes


def _dotenv_line(variable: Variable) -> str:
    # Single quotes: python-dotenv (and so pydantic-settings) expands ${NAME} in any other
    # form, and takes \\ and \' as the only escapes inside them.
    value = variable.value.replace("\\", "\\\\").replace("'", "\\'")
    return f"{variable.name}='{value}'"


def dotenv_copies(ws: Workspace, settings: RunSettings) -> dict[str, str]:
    """The ``.env`` files a reviewer makes with ``cp .env.example .env``: beside each
    template that has none, the template's own variables with the values the tests get.
    Code that calls ``load_dotenv()`` (or reads ``env_file=".env"``) reads the file again
    after a test deletes a variable from ``os.environ``, as on the author's machine; only
    the template's names, as a settings class that forbids unknown keys in its env file
    (pydantic-settings' default) must not see the CI's or compose's other variables."""
    values = {v.name: v for v in settings.variables}
    names_by_folder: dict[str, list[str]] = {}
    for template in dotenv_files.files(ws, dotenv_files.Kind.TEMPLATE):
        folder = str(PurePosixPath(template).parent)
        names = names_by_folder.setdefault(folder, [])
        names += [s.name for s in dotenv_files.read(ws, template) if s.name not in names]
    # One template kept in a folder of its own (env_templates/template.env) is copied to
    # the root too, where the README says the .env goes and where load_dotenv() finds it
    # from any module; with templates in several folders, each stays beside its code.
    if len(names_by_folder) == 1 and "." not in names_by_folder:
        names_by_folder["."] = next(iter(names_by_folder.values()))
    present = set(ws.files)
    copies = {}
    for folder, names in sorted(names_by_folder.items()):
        target = str(PurePosixPath(folder) / ".env")
        lines = [_dotenv_line(values[name]) + "\n" for name in names if name in values]
        if target not in present and lines:
            copies[target] = "".join(lines)
    return copies


def stand_in(name: str) -> str:
    """A made-up value for a secret: the same for a name on every run, and 32 bytes in
    url-safe base64, which a Fernet key, a JWT secret and Django's SECRET_KEY all accept."""
    digest = hashlib.sha256(f"grader stand-in for {name}".encode()).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii")


def is_secret(name: str) -> bool:
    """Whether a variable's name says it holds a secret."""
    return bool(_SECRET.search(name))


def needs_stand_in(setting: Setting) -> bool:
    """A secret-like setting whose value is a placeholder, unknown, or empty (except an
    empty password, which means no password)."""
    if not is_secret(setting.name):
        return False
    value = (setting.value or "").strip()
    if setting.unknown or (not value and not _PASSWORD.search(setting.name)):
        return True
    return bool(value) and bool(_PLACEHOLDER.fullmatch(value))


def _why_refused(setting: Setting) -> str:
    if not SAFE_NAME.fullmatch(setting.name):
        return "not a name of the form [A-Z_][A-Z0-9_]*"
    if _SET_BY_GRADER.fullmatch(setting.name):
        return "grader sets it"
    value = setting.value or ""
    if len(value) > MAX_VALUE_CHARS or not _SINGLE_LINE.fullmatch(value):
        return "not a single line of at most 4096 characters"
    return ""


_UNKNOWN = "unknown"


def _chosen(settings: list[Setting]) -> tuple[dict[str, Variable], list[str]]:
    """The first usable value for each name; a placeholder secret only when nothing
    better follows; a value grader cannot know kept empty for now (see _server_urls)."""
    by_name: dict[str, list[Setting]] = {}
    for setting in settings:
        by_name.setdefault(setting.name, []).append(setting)
    chosen: dict[str, Variable] = {}
    refused: dict[str, str] = {}
    for name, candidates in by_name.items():
        why = _why_refused(candidates[0])
        if why:
            refused[name] = why
            continue
        known = [s for s in candidates if s.value is not None and not s.unknown]
        real = [s for s in known if not needs_stand_in(s) and not _why_refused(s)]
        if real:
            chosen[name] = Variable(name, real[0].value or "", real[0].source)
        elif any(needs_stand_in(s) for s in candidates):
            reason = f"made-up stand-ins for placeholders in {candidates[0].source}"
            chosen[name] = Variable(name, stand_in(name), candidates[0].source, reason)
        elif any(s.unknown for s in candidates):
            chosen[name] = Variable(name, "", candidates[0].source, _UNKNOWN)
    left_out = [f"{name} ({why})" for name, why in refused.items()]
    if len(chosen) > MAX_VARIABLES:
        left_out.append(f"{len(chosen) - MAX_VARIABLES} variables beyond the first {MAX_VARIABLES}")
        chosen = dict(list(chosen.items())[:MAX_VARIABLES])
    return chosen, left_out


def _server_urls(chosen: dict[str, Variable], services: tuple[Service, ...]) -> None:
    """Point an empty or unknown database URL at the server grader starts; drop the
    other values grader cannot know."""
    for service in services:
        pattern = _SERVER_URL[service.kind]
        for name, variable in chosen.items():
            if pattern.search(name) and not variable.value.strip():
                if service.kind is Kind.POSTGRES:
                    role = service.roles[0] if service.roles else "postgres"
                    database = service.databases[0] if service.databases else role
                    url = f"postgresql://{role}@localhost:{service.port}/{database}"
                else:
                    url = f"redis://localhost:{service.port}/0"
                why = f"the sandbox's {service.kind.value} (empty in {variable.source})"
                chosen[name] = Variable(name, url, variable.source, why)
        _server_parts(chosen, service)
    for name in [n for n, v in chosen.items() if v.stand_in == _UNKNOWN]:
        del chosen[name]


def _parts(service: Service) -> tuple[tuple[re.Pattern[str], str], ...]:
    """Each setting that names a part of the server, with the sandbox server's value."""
    port = str(service.port)
    if service.kind is Kind.REDIS:
        return (
            (service_needs.REDIS_HOST_VARIABLE, "localhost"),
            (service_needs.REDIS_PORT_VARIABLE, port),
        )
    role = service.roles[0] if service.roles else "postgres"
    return (
        (service_needs.POSTGRES_HOST_VARIABLE, "localhost"),
        (service_needs.POSTGRES_PORT_VARIABLE, port),
        (service_needs.ROLE_VARIABLE, role),
        (service_needs.DATABASE_VARIABLE, service.databases[0] if service.databases else role),
    )


def _server_parts(chosen: dict[str, Variable], service: Service) -> None:
    """Name the sandbox server's host, port, role and database in settings that leave them
    empty (DB_USER=) or hold a template's placeholder (DB_HOST=<your_db_host>), as a
    reviewer filling in the template would."""
    for name, variable in list(chosen.items()):
        value = variable.value.strip()
        if value and not _PLACEHOLDER.fullmatch(value):
            continue
        for pattern, part in _parts(service):
            if pattern.search(name):
                how = "a placeholder" if value else "empty"
                why = f"the sandbox's {service.kind.value} ({how} in {variable.source})"
                chosen[name] = Variable(name, part, variable.source, why)
                break


def read(ws: Workspace) -> RunSettings:
    """The variables, servers and host names the submission's tests should run with."""
    test_files, templates, local = (
        [s for f in dotenv_files.files(ws, kind) for s in dotenv_files.read(ws, f)]
        for kind in dotenv_files.Kind
    )
    # compose substitutes ${NAME} from .env, which a developer copies from the template.
    context: dict[str, str] = {}
    for setting in [*local, *templates]:
        if setting.value is not None:
            context.setdefault(setting.name, setting.value)
    compose = compose_files.read(ws, context.get)
    workflows = workflow_files.read(ws)
    ordered = [*workflows.settings, *test_files, *compose.settings, *templates, *local]
    chosen, left_out = _chosen(ordered)
    values = {name: v.value for name, v in chosen.items()}
    sources = {name: v.source for name, v in chosen.items()}
    found = service_needs.needs(
        [*workflows.services, *compose.services], values, sources, compose.hosts
    )
    _server_urls(chosen, found.services)
    return RunSettings(
        variables=tuple(chosen.values()),
        services=found.services,
        hosts=found.hosts,
        unsupported=found.unsupported,
        left_out=tuple(left_out),
        problems=(*workflows.problems, *compose.problems),
    )
