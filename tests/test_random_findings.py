"""bandit's B311 flags every use of ``random``; a reviewer charges only the values that
must be unguessable. Kept where a name the value goes into, or the function or class it is
made in, names a secret; left out, with a note, for sampling, simulation and test data."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import run_tool

from grader.tools.bandit import Bandit
from grader.tools.random_use import makes_a_secret


@pytest.mark.parametrize(
    ("source", "line", "secret"),
    [
        ('token = "".join(random.choice(ALPHABET) for _ in range(32))\n', 1, True),
        ("def generate_password():\n    return random.choice(WORDS)\n", 2, True),
        ("otp = random.randint(100000, 999999)\n", 1, True),
        ('data["api_key"] = random.getrandbits(64)\n', 1, True),
        ("self.resetCode = random.randint(0, 9999)\n", 1, True),
        ("user = User(password=random.choice(WORDS))\n", 1, True),
        ("class SessionFactory:\n    ident = random.random()\n", 2, True),
        ("sample = random.sample(rows, 10)\n", 1, False),
        ("def random_permutation(pool, r):\n    return tuple(random.sample(pool, r))\n", 2, False),
        ("delay = base * random.random()\n", 1, False),
        ("user = User(name=random.choice(NAMES), age=random.randint(18, 90))\n", 1, False),
        # A loop's body is read statement by statement, not as the loop's whole text.
        ("def deal(deck):\n    for _ in range(3):\n        random.shuffle(deck)\n"
         "    token = make()\n", 3, False),
        ("def broken(:\n    random.random()\n", 2, True),  # unreadable: kept
    ],
)  # fmt: skip
def test_a_random_value_is_secret_when_a_name_it_goes_into_says_so(
    source: str, line: int, secret: bool
) -> None:
    assert makes_a_secret(source, line) is secret


SEED = """\
import random
import string


def fake_orders(count):
    return [{"qty": random.randint(1, 9), "sku": random.choice(SKUS)} for _ in range(count)]


def new_api_token():
    return "".join(random.choice(string.ascii_letters) for _ in range(40))


SKUS = ["a", "b"]
"""


@pytest.mark.slow
def test_bandit_keeps_a_random_token_and_leaves_out_random_test_data(tmp_path: Path) -> None:
    result = run_tool(Bandit(), tmp_path, {"seed.py": SEED})
    randoms = [f.location.line for f in result.findings if f.rule_id == "B311"]
    assert randoms == [10]
    assert "2 pseudo-random finding(s) left out: the value is no token" in " ".join(result.notes)
