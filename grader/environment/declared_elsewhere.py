"""What the distributions declared beyond the tests provide, read from their wheels.

Extras and dependency groups the tests do not need (a ``datascience`` group, a ``docs``
extra) are declared but not installed in the test environment. Only their names were left
to match the code's imports to them, so a module named unlike its distribution (``bs4``
of beautifulsoup4, ``sklearn`` of scikit-learn) was reported as declared nowhere. Their
wheels are unpacked by uv into a scratch folder, without their dependencies, and read
like the test environment (``installed.read_folder``): installing a wheel runs none of
its code. Asked only when an import is otherwise unaccounted for.
"""

from __future__ import annotations

import tempfile
from collections.abc import Collection
from pathlib import Path

from grader.core import proc
from grader.environment import uv
from grader.environment.installed import Distribution, read_folder

# A group of a dozen heavy data-science wheels is the most a take-home declares.
MAX_DISTRIBUTIONS = 16
UNPACK_TIMEOUT_S = 60.0


def read(names: Collection[str], python: Path, uv_env: dict[str, str]) -> tuple[Distribution, ...]:
    """The distributions of ``names`` that have a wheel for ``python``, with what each
    provides; one that cannot be fetched is left out (its name still matches by name)."""
    with tempfile.TemporaryDirectory(prefix="grader-declared-") as folder:
        target = Path(folder) / "site"
        for name in sorted(names)[:MAX_DISTRIBUTIONS]:
            # One at a time: a name with no wheel for this Python must not cost the others.
            proc.run(
                [
                    uv.executable(), "pip", "install", "--no-config", "--quiet", "--no-deps",
                    "--only-binary", ":all:", "--python", str(python),
                    "--target", str(target), name,
                ],
                cwd=Path(folder),
                timeout_s=UNPACK_TIMEOUT_S,
                env=uv_env,
            )  # fmt: skip
        return read_folder(target) if target.is_dir() else ()
