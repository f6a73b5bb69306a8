"""Tiny wheels written by the tests: a local package index of fixture distributions, some
of them look-alikes published under the name a module suggests, which grader must never
install in place of what a submission declared."""

from __future__ import annotations

import base64
import hashlib
import re
import subprocess
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from grader.environment.cache import runner_pins


@dataclass(frozen=True)
class Wheel:
    """A distribution to write as a wheel: its name, version, files and requirements."""

    name: str
    version: str
    files: dict[str, str]
    requires: tuple[str, ...] = ()
    entry_points: str = ""
    top_level: tuple[str, ...] = field(default=())
    """Written to top_level.txt when given (setuptools does; hatchling does not)."""

    @property
    def stem(self) -> str:
        return f"{re.sub(r'[-_.]+', '_', self.name).lower()}-{self.version}"

    def contents(self) -> dict[str, bytes]:
        """Every file of the wheel, RECORD last, as uv and pip expect."""
        info = f"{self.stem}.dist-info"
        metadata = "".join(
            [
                f"Metadata-Version: 2.1\nName: {self.name}\nVersion: {self.version}\n",
                *(f"Requires-Dist: {r}\n" for r in self.requires),
            ]
        )
        files = {path: text.encode() for path, text in self.files.items()}
        files[f"{info}/METADATA"] = metadata.encode()
        files[f"{info}/WHEEL"] = (
            b"Wheel-Version: 1.0\nGenerator: grader-tests\nRoot-Is-Purelib: true\n"
            b"Tag: py3-none-any\n"
        )
        if self.entry_points:
            files[f"{info}/entry_points.txt"] = self.entry_points.encode()
        if self.top_level:
            files[f"{info}/top_level.txt"] = "\n".join(self.top_level).encode()
        record = [f"{path},sha256={_digest(data)},{len(data)}" for path, data in files.items()]
        files[f"{info}/RECORD"] = ("\n".join([*record, f"{info}/RECORD,,"]) + "\n").encode()
        return files


def _digest(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def write_wheel(folder: Path, wheel: Wheel) -> Path:
    """``wheel`` written into ``folder`` under its PEP 427 file name."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{wheel.stem}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in wheel.contents().items():
            archive.writestr(name, data)
    return path


def unpack_into(site_packages: Path, wheel: Wheel) -> None:
    """Install ``wheel`` the way an installer lays it out, without an installer."""
    for name, data in wheel.contents().items():
        target = site_packages / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def download_runners(folder: Path, python_version: str) -> None:
    """grader's runners (at its own pins) and their dependencies, as wheels for
    ``python_version``, so an index of fixture wheels can build a whole environment."""
    subprocess.run(
        [
            sys.executable, "-m", "pip", "download", "--quiet", "--only-binary=:all:",
            "--python-version", python_version, "--dest", str(folder), *runner_pins(),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip


MODULE = '"""A fixture distribution\'s module."""\n'

# Published under the names the imports suggest: never to be installed by grader.
LOOK_ALIKES = (
    Wheel("rest-framework-simplejwt", "0.0.2", {"rest_framework_simplejwt/__init__.py": MODULE}),
    Wheel("django-filters", "9.9", {"django_filters/__init__.py": MODULE}),
    Wheel("Factory", "1.2", {"factory/__init__.py": MODULE}),
)
# What submissions declare: modules named unlike the distribution, a namespace package
# (google) shared with a dependency, and psycopg 3, whose module is not psycopg2.
DECLARED = (
    Wheel("django-filter", "1.0", {"django_filters/__init__.py": MODULE}),
    Wheel("factory-boy", "1.0", {"factory/__init__.py": MODULE}, top_level=("factory",)),
    Wheel(
        "google-cloud-storage",
        "1.0",
        {"google/cloud/storage/__init__.py": MODULE},
        requires=("google-api-core>=1",),
    ),
    Wheel(
        "google-api-core",
        "1.0",
        {"google/api_core/__init__.py": MODULE, "google/api_core/retry.py": MODULE},
    ),
    Wheel("psycopg", "3.0", {"psycopg/__init__.py": MODULE}),
)
