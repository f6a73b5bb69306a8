"""A hard-coded credential is charged once, by the secrets scan, which judges it: bandit's
password tests, which fire on any string under a password-sounding name, are left out
where the scan charges the line or the name describes a secret (its type, field, URL)
rather than holding one. A weak word under a secret's own name is still charged."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.acquire.workspace import inventory
from grader.sandbox.bubblewrap import Limits, NotNeeded
from grader.tools import secrets
from grader.tools.bandit import Bandit
from grader.tools.base import ToolContext

SETTINGS = """\
SECRET_KEY = "django-insecure-7f#k2!x9qz@w3m$e8r^t6y*u1i(o)p0a-s+d=f"
TOKEN_TYPE = "bearer"
PASSWORD_FIELD = "password"
API_TOKEN = "Zq8Xk3Lp0Vw7Rt2N"
ADMIN_PASSWORD = "secret"
LOGIN = {"token_url": "/auth/token"}


def connect(host, password="hunter2ab9"):
    return host, password


def issue(access_token):
    return dict(access_token=access_token, token_type="bearer")


def seed(create_user):
    return create_user(username="admin", password="admin")
"""


@pytest.mark.slow
def test_a_credential_is_charged_once_and_a_settings_constant_not_at_all(
    tmp_path: Path,
) -> None:
    root = tmp_path / "sub"
    root.mkdir()
    (root / "settings.py").write_text(SETTINGS, encoding="utf-8")
    work = tmp_path / "work"
    work.mkdir()
    ws = inventory(root)
    scanned = {found.line for found in secrets.scan_once(ws)}
    assert {1, 9} <= scanned  # the Django key (development) and the default password
    result = Bandit().run(ToolContext(ws, work, NotNeeded(), Limits()))
    passwords = [f for f in result.findings if f.rule_id in {"B105", "B106", "B107"}]
    # What the scan did not charge, under a secret's own name, stays bandit's.
    # A neighbour given the same string (username="admin") does not describe the password.
    assert [f.location.line for f in passwords] == [4, 5, 18]
    notes = " ".join(result.notes)
    assert "2 hard-coded password finding(s) left out: charged by the secrets scan" in notes
    # The token's type, given beside the token itself, describes it.
    assert "4 hard-coded password finding(s) left out: the name describes a secret" in notes
