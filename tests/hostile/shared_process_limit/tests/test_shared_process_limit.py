# ruff: noqa
"""An innocent submission whose test starts one subprocess.

It is graded while another submission's fork bomb runs: the two runs must not share a
process budget.
"""

import subprocess

from app import add


def test_add():
    assert add(1, 2) == 3


def test_start_one_subprocess():
    subprocess.run(["/bin/true"], check=True)
