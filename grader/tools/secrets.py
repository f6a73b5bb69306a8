"""Credentials committed with the submission: found by detect-secrets, kept only when a
reviewer would call them credentials. Part of the facts tool.

detect-secrets (Yelp's detector, with a plugin per provider and filters for templated,
sequential and indirect values) reads every file a secret is usually committed in: code,
``.env`` files, YAML, JSON, TOML, ini files and notebooks (outputs included). Its keyword
plugin also fires on settings constants (``password_hash_scheme = "bcrypt"``), so what it
finds is judged once more before it costs points:

- a provider's token (AWS, GitHub, Slack, Stripe, OpenAI, a private key, a JWT, and the
  prefixes listed in PROVIDER_TOKENS) is a credential wherever it stands;
- a value under a secret-sounding name is one only when it could be a credential: not a
  word, an identifier, a dotted path, a URL path or a placeholder;
- a password in a URL is one unless it is a well-known development default;
- a value that says it is for development (``django-insecure-...``), and a keyword's
  value in a shell script (which sets up the candidate's own machine) or in a settings
  file named for the tests or a developer's machine (``test.env``, ``.env.local``,
  ``dev.env``), is charged lightly, never capped.

Test files are left out: they hold fake credentials on purpose. The value itself never
reaches the report.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from dotenv.parser import parse_stream

from grader.acquire.workspace import Workspace
from grader.core.models import Finding, Location, Severity
from grader.environment.per_grade import PerGrade
from grader.environment.run_settings import is_secret

if TYPE_CHECKING:
    from detect_secrets.core.potential_secret import PotentialSecret

CREDENTIAL_RULE = "hardcoded-secret"
DEVELOPMENT_RULE = "development-secret"
MAX_SCANNED_BYTES = 1_000_000
MAX_SCANNED_FILES = 2_000

SCANNED_SUFFIXES = frozenset(
    {".py", ".ipynb", ".yml", ".yaml", ".json", ".toml", ".ini", ".cfg", ".conf", ".sh"}
)
# .env, .env.local, .env-development, prod.env, .env.example (a real-looking key in an
# example still leaks)
_ENV_FILE = re.compile(r"(^|\.)env($|[.\-_])|\.env$", re.IGNORECASE)
# An env file named for the test run or a developer's machine (test.env, .env.test,
# local.env, .env.local, dev.env, .env-development): its keyword values are the settings a
# test or a local server starts with, not a deployment's credentials.
_DEVELOPMENT_ENV_FILE = re.compile(
    r"(^|[.\-_])(tests?|testing|local|dev|develop|development)([.\-_]|$)", re.IGNORECASE
)
# ...unless the name also says it is a deployment's (.env.production.local, prod.local.env).
_DEPLOYED_ENV_FILE = re.compile(r"(^|[.\-_])(prod|production|staging|live)([.\-_]|$)", re.I)

# Providers' token formats detect-secrets 1.5 does not know.
PROVIDER_TOKENS = (
    ("GitHub fine-grained token", re.compile(r"\bgithub_pat_[A-Za-z0-9_]{60,}")),
    ("Google API key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}")),
    ("Hugging Face token", re.compile(r"\bhf_[A-Za-z0-9]{30,}")),
    ("OpenAI or Anthropic key", re.compile(r"\bsk-(?:proj-|ant-|svcacct-)?[A-Za-z0-9_-]{32,}")),
)
# detect-secrets types that name a provider's credential: a credential wherever it stands.
_PROVIDER_TYPES = frozenset(
    {
        "Artifactory Credentials", "AWS Access Key", "Azure Storage Account access key",
        "Cloudant Credentials", "Discord Bot Token", "GitHub Token", "GitLab Token",
        "IBM Cloud IAM Key", "IBM COS HMAC Credentials", "JSON Web Token", "Mailchimp Access Key",
        "NPM tokens", "OpenAI Token", "Private Key", "PyPI Token", "SendGrid API Key",
        "Slack Token", "SoftLayer Credentials", "Square OAuth Secret", "Stripe Access Key",
        "Telegram Bot Token", "Twilio API Key",
    }
)  # fmt: skip
_KEYWORD = "Secret Keyword"
_BASIC_AUTH = "Basic Auth Credentials"

# What a settings constant looks like: words of letters joined by "_", "." or "-"
# (bearer, token_type, rest_framework.tokens.AccessToken), a URL path, a file path. A
# digit or a symbol among letters is what a password or key has and a name has not.
_NOT_A_CREDENTIAL = re.compile(r"[A-Za-z]+(?:[._-][A-Za-z]+)*|/[\w/.{}:-]*|[\w.-]+/[\w./-]+")
_PLACEHOLDER = re.compile(
    r"(?i)^(x+|\*+|\.+|-+|<.*>|\{\{.*\}\}|\$\{?\w+\}?|%\(.*\)s"
    r"|change[-_ ]?me|changeit|example|dummy|placeholder|secret|password|test|none|null|todo"
    r"|your[-_ ].*|replace[-_ ].*|insert[-_ ].*|put[-_ ].*)$"
)
_DEVELOPMENT = re.compile(r"(?i)insecure|^dev[-_]|[-_]dev$|not[-_]for[-_]prod|local[-_]only")
DEVELOPMENT_PASSWORDS = frozenset(
    {"postgres", "password", "pass", "admin", "root", "secret", "example", "changeme",
     "change_me", "change-me", "test", "user", "mysql", "guest", "redis", "dev", "local"}
)  # fmt: skip
MIN_CREDENTIAL_LENGTH = 6


@dataclass(frozen=True)
class Found:
    """One credential in one file, judged."""

    path: str
    line: int
    kind: str
    value_length: int
    development: bool


def scanned_files(ws: Workspace) -> list[str]:
    """Files that hold code or configuration, tests left out, within the scan's budget."""
    tests = set(ws.test_files)
    wanted = []
    for relative in ws.files:
        name = PurePosixPath(relative).name
        suffix = PurePosixPath(relative).suffix.lower()
        if relative in tests or not (suffix in SCANNED_SUFFIXES or _ENV_FILE.search(name)):
            continue
        path = ws.path(relative)
        try:
            if path.is_symlink() or path.stat().st_size > MAX_SCANNED_BYTES:
                continue
        except OSError:
            continue
        wanted.append(relative)
    return wanted[:MAX_SCANNED_FILES]


def _credential_value(value: str) -> bool:
    value = value.strip().strip("'\"")
    return (
        len(value) >= MIN_CREDENTIAL_LENGTH
        and not _NOT_A_CREDENTIAL.fullmatch(value)
        and not _PLACEHOLDER.match(value)
    )


def judge(kind: str, value: str) -> bool | None:
    """Whether a detect-secrets hit is a credential: True, a development value (False),
    or not a credential at all (None)."""
    if kind in _PROVIDER_TYPES:
        return True
    if kind == _BASIC_AUTH:
        return None if value.lower() in DEVELOPMENT_PASSWORDS else True
    if kind == _KEYWORD and _credential_value(value):
        return not _DEVELOPMENT.search(value)
    return None  # bare high-entropy strings: hashes, ids and fixtures far more often


# Where a password-shaped value is data or a local default, not a credential: a template
# of settings to fill in, a compose file or CI workflow defining throwaway local services,
# migrations, fixtures and seed scripts that create demo users. A provider's token is a
# leak even there; a keyword's value is not.
_TEMPLATE = re.compile(r"(?i)(example|sample|template|\.dist\b|defaults?\b)")
_SERVICE_DEFINITION = re.compile(
    r"(?i)(^|/)(docker-)?compose[\w.-]*\.ya?ml$|^\.github/workflows/|^\.gitlab-ci\.yml$"
)
_SEED_DATA = re.compile(r"(?i)(^|/)(fixtures?|seeds?|seeders?)(/|$)|seed|fixture")
# user:password@host in a URL; a host without a dot (a compose service) is a local default.
_URL_CREDENTIALS = re.compile(r"://[^\s:/@'\"]+:[^\s@/'\"]+@(?P<host>[^\s:/'\"?#]+)")
_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "0.0.0.0", "host.docker.internal"})  # noqa: S104 - names compared, nothing bound


# The variables the official database and broker images read their password from.
_CONTAINER_PASSWORD = re.compile(
    r"\s*(?:export\s+)?(?:POSTGRES_PASSWORD|MYSQL_(?:ROOT_)?PASSWORD|MARIADB_(?:ROOT_)?PASSWORD"
    r"|MONGO_INITDB_ROOT_PASSWORD|RABBITMQ_DEFAULT_PASS|REDIS_PASSWORD)\s*="
)


def holds_settings_data(ws: Workspace, relative: str) -> bool:
    """Whether a file's password-shaped values are data or local defaults by its role."""
    return bool(
        _TEMPLATE.search(PurePosixPath(relative).name)
        or _SERVICE_DEFINITION.search(relative)
        or _SEED_DATA.search(relative)
        or relative in ws.migrations
    )


def _local_url(line: str) -> bool:
    """Whether the line's URL credentials are for a local service (``@db:5432``)."""
    match = _URL_CREDENTIALS.search(line)
    if match is None:
        return False
    host = match.group("host").lower()
    return host in _LOCAL_HOSTS or "." not in host


def _provider_tokens(relative: str, lines: list[str]) -> Iterator[Found]:
    for number, line in enumerate(lines, start=1):
        for kind, pattern in PROVIDER_TOKENS:
            match = pattern.search(line)
            if match:
                yield Found(relative, number, kind, len(match.group(0)), development=False)


@dataclass(frozen=True)
class _Keyword:
    """A secret-named setting of a dotenv file, shaped like a detect-secrets hit."""

    line_number: int
    secret_value: str
    type: str = _KEYWORD


def _dotenv_keywords(lines: list[str]) -> Iterator[_Keyword]:
    text = "\n".join(lines)
    for binding in parse_stream(io.StringIO(text)):
        if binding.error or not binding.key or not binding.value:
            continue
        if is_secret(binding.key):
            yield _Keyword(binding.original.line, binding.value)


def _detected(ws: Workspace, relative: str, lines: list[str]) -> Iterator[Found]:
    data = holds_settings_data(ws, relative)
    # A shell script sets up the candidate's machine (a local database, a demo user): a
    # keyword's value there is a local default, charged lightly; a provider's token is not.
    script = PurePosixPath(relative).suffix.lower() == ".sh"
    # The password a compose file's database container is started with, kept in the .env
    # it reads: the local container's, charged lightly (the committed .env itself is
    # charged under Packaging).
    name = PurePosixPath(relative).name
    env_file = _ENV_FILE.search(name) is not None
    containers = env_file and any(_SERVICE_DEFINITION.search(f) for f in ws.files)
    local_settings = (
        env_file
        and _DEVELOPMENT_ENV_FILE.search(name) is not None
        and _DEPLOYED_ENV_FILE.search(name) is None
    )
    from detect_secrets.core.scan import scan_file  # noqa: PLC0415 (loaded in scan)

    hits: list[PotentialSecret | _Keyword] = list(scan_file(str(ws.path(relative))))
    if env_file:
        # detect-secrets' keyword plugin misses lines of a .env it reads as another format
        # (a duplicated key, a provider token on another line): the keywords of a dotenv
        # file are read with python-dotenv's own parser instead.
        hits = [hit for hit in hits if hit.type != _KEYWORD] + list(_dotenv_keywords(lines))
    for hit in hits:
        value = hit.secret_value or ""
        verdict = judge(hit.type, value)
        if verdict is None or (data and hit.type not in _PROVIDER_TYPES):
            continue
        number = (hit.line_number or 1) - 1
        line = lines[number] if 0 <= number < len(lines) else ""
        # A comment's password is an example ("# password: 'hunter2'"); a provider's
        # token in a comment still counts.
        example = line.lstrip().startswith("#") or (hit.type == _BASIC_AUTH and _local_url(line))
        if hit.type in {_BASIC_AUTH, _KEYWORD} and example:
            continue
        container = containers and bool(_CONTAINER_PASSWORD.match(line))
        # A settings file named for a laptop holds its keywords' local values; a URL's
        # password there may still be a remote database's.
        local = script or container or (local_settings and hit.type == _KEYWORD)
        development = not verdict or (local and hit.type not in _PROVIDER_TYPES)
        yield Found(relative, hit.line_number, hit.type, len(value), development)


_SCANS: PerGrade[tuple[Found, ...]] = PerGrade()


def scan_once(ws: Workspace) -> tuple[Found, ...]:
    """``scan``, once per grade: the facts tool charges what it finds, and bandit leaves
    out its own findings on the same lines."""
    return _SCANS.get(ws, None, lambda: tuple(scan(ws)))


def scan(ws: Workspace) -> list[Found]:
    """Every credential in the submission's code and configuration, one per line."""
    # Imported here, not at the top: detect-secrets and requests take 60 ms to import,
    # which the analysers can spend while the tests run rather than before they start.
    from detect_secrets.settings import default_settings  # noqa: PLC0415

    found: dict[tuple[str, int], Found] = {}
    with default_settings():
        for relative in scanned_files(ws):
            try:
                text = ws.path(relative).read_text(encoding="utf-8", errors="replace")
            except OSError:
                continue
            lines = text.splitlines()
            for item in (*_provider_tokens(relative, lines), *_detected(ws, relative, lines)):
                key = (item.path, item.line)
                if key not in found or found[key].development:
                    found[key] = item
    return sorted(found.values(), key=lambda f: (f.path, f.line))


def finding(item: Found) -> Finding:
    """The report's line for a credential: what kind, how long, never the value."""
    if item.development:
        return Finding(
            "facts",
            DEVELOPMENT_RULE,
            f"a development secret ({item.kind.lower()}, {item.value_length} characters) is "
            "committed: fine on a laptop, but the settings have no way to take a real one",
            Severity.LOW,
            Location(item.path, item.line),
        )
    return Finding(
        "facts",
        CREDENTIAL_RULE,
        f"what looks like a live credential ({item.kind}, {item.value_length} characters) is "
        "committed: read it from the environment or a secret store, and revoke it",
        Severity.HIGH,
        Location(item.path, item.line),
    )
