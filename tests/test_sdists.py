"""Source distributions without wheels: chosen, fetched and checked on the host, built in
the sandbox. The archives are made here and served from file:// URLs; the build backend
comes from the package index like every environment's packages."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import tarfile
from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from grader.environment import interpreters, uv
from grader.environment.sdists import (
    MAX_COMPILED_ARCHIVE_BYTES,
    Archive,
    SourceBuildError,
    SourceBuilds,
    build_requirements,
    choose,
)
from grader.environment.sdists import fetch as fetch_archive
from grader.environment.wheel_loads import compiled_modules
from grader.sandbox import bubblewrap as sandbox
from grader.sandbox.bubblewrap import Limits


def _archive(version: str, requires_python: str = "") -> Archive:
    return Archive("pkg", Version(version), f"pkg-{version}.tar.gz", "", "", requires_python)


@pytest.mark.parametrize(
    ("wanted", "python", "chosen"),
    [
        ("", "3.11", "2.0"),  # the newest
        (">=1.0,<2", "3.11", "1.5"),  # the newest the dependants accept
        ("", "3.8", "1.5"),  # 2.0 asks for a newer Python
        ("==1.0", "3.11", "1.0"),  # the candidate's pin
    ],
)
def test_the_newest_fitting_archive_is_chosen(wanted: str, python: str, chosen: str) -> None:
    archives = [_archive("1.0"), _archive("1.5", ">=3.7"), _archive("2.0", ">=3.10")]
    assert choose(archives, SpecifierSet(wanted), Version(python)).version == Version(chosen)


def test_no_fitting_archive_is_an_error() -> None:
    with pytest.raises(SourceBuildError, match="no source distribution in >=3"):
        choose([_archive("1.0")], SpecifierSet(">=3"), Version("3.11"))


def _sdist(root: Path, name: str, files: dict[str, str]) -> Path:
    """A source distribution NAME.tar.gz holding ``files`` under its top folder."""
    target = root / f"{name}.tar.gz"
    with tarfile.open(target, "w:gz") as archive:
        for relative, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"{name}/{relative}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return target


def _served(path: Path, digest: str | None = None) -> Archive:
    real = hashlib.sha256(path.read_bytes()).hexdigest()
    name, _, version = path.name.removesuffix(".tar.gz").rpartition("-")
    return Archive(name, Version(version), path.name, path.as_uri(), digest or real)


SETUP = (
    "from setuptools import setup\n"
    "setup(name={name!r}, version={version!r}, py_modules=[{module!r}])\n"
)


def _c_module(name: str) -> str:
    """The C source of an empty extension module called ``name``."""
    return (
        f'#include <Python.h>\nstatic struct PyModuleDef m = {{PyModuleDef_HEAD_INIT, "{name}"}};\n'
        f"PyMODINIT_FUNC PyInit_{name}(void) {{ return PyModule_Create(&m); }}\n"
    )


def _extension_sdist(
    root: Path, name: str, package: str, extension: str, files: dict[str, str]
) -> Path:
    """NAME-1.0.tar.gz: ``package`` with the extension ``extension`` built from core.c."""
    setup = (
        "from setuptools import Extension, setup\n"
        f"setup(name={name!r}, version='1.0', packages=[{package!r}],\n"
        f"      ext_modules=[Extension({extension!r}, ['core.c'])])\n"
    )
    return _sdist(root, f"{name}-1.0", {"setup.py": setup, **files})


def test_an_archive_is_checked_against_the_index_digest(tmp_path: Path) -> None:
    source = _sdist(tmp_path, "pkg-1.0", {"pkg.py": "X = 1\n"})
    (tmp_path / "in").mkdir()
    assert fetch_archive(_served(source), tmp_path / "in").read_bytes() == source.read_bytes()
    with pytest.raises(SourceBuildError, match="does not match the index's digest"):
        fetch_archive(_served(source, "0" * 64), tmp_path / "in")


def test_only_small_c_extensions_are_built(tmp_path: Path) -> None:
    small = _sdist(tmp_path, "fast-1.0", {"fast.c": "int main(void) { return 0; }\n"})
    (tmp_path / "in").mkdir()
    assert fetch_archive(_served(small), tmp_path / "in").name == "fast-1.0.tar.gz"
    rust = _sdist(tmp_path, "oxide-1.0", {"src/lib.rs": "fn main() {}\n"})
    with pytest.raises(SourceBuildError, match=r"not pure Python \(\.rs sources"):
        fetch_archive(_served(rust), tmp_path)
    # random bytes do not compress: the archive stays over the limit
    noise = os.urandom(MAX_COMPILED_ARCHIVE_BYTES).hex()
    large = _sdist(tmp_path, "numeric-1.0", {"numeric.c": noise})
    with pytest.raises(SourceBuildError, match=r"C extensions of at most 512 KiB"):
        fetch_archive(_served(large), tmp_path)


def test_the_declared_build_backend_is_read_from_the_archive(tmp_path: Path) -> None:
    declared = _sdist(
        tmp_path,
        "pkg-1.0",
        {"pyproject.toml": '[build-system]\nrequires = ["flit_core>=3.4"]\n', "pkg.py": ""},
    )
    legacy = _sdist(tmp_path, "old-1.0", {"setup.py": "from setuptools import setup\n"})
    assert build_requirements(declared) == ("flit_core>=3.4",)
    assert build_requirements(legacy) == ("setuptools>=40.8", "wheel")


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> tuple[SourceBuilds, dict[str, str]]:
    cache = tmp_path_factory.mktemp("cache")
    isolated = sandbox.choose(allow_unisolated=False)
    env = uv.environment(cache)
    return SourceBuilds(isolated, Limits(), cache / "wheels"), env


@pytest.mark.sandbox
def test_a_build_runs_in_the_sandbox_and_its_wheel_is_kept(
    tmp_path: Path, builds: tuple[SourceBuilds, dict[str, str]]
) -> None:
    source_builds, env = builds
    escaped = tmp_path / "escaped"
    # A hostile build script: it writes outside its folder and reaches for the network.
    hostile = (
        f"import socket\nfrom pathlib import Path\n"
        f"try:\n    Path({str(escaped)!r}).write_text('out')\nexcept OSError:\n    pass\n"
        "try:\n    socket.create_connection(('127.0.0.1', 22), timeout=1)\n"
        "    Path('network').write_text('reached')\nexcept OSError:\n    pass\n"
    )
    source = _sdist(
        tmp_path,
        "tiny-1.0",
        {
            "setup.py": hostile + SETUP.format(name="tiny", version="1.0", module="tiny"),
            "tiny.py": "",
        },
    )
    wheel = source_builds.build(source, interpreters.host(), env)
    assert wheel == source_builds.wheels / "tiny" / "tiny-1.0-py3-none-any.whl"
    assert wheel.is_file()
    assert not escaped.exists()


@pytest.mark.sandbox
def test_a_build_that_makes_another_package_is_refused(
    tmp_path: Path, builds: tuple[SourceBuilds, dict[str, str]]
) -> None:
    # Its wheel would be offered to uv under another package's name. uv refuses it inside
    # the sandbox; grader checks the wheel's name again outside, in case uv was fooled.
    source_builds, env = builds
    source = _sdist(
        tmp_path,
        "innocent-1.0",
        {
            "setup.py": SETUP.format(name="requests", version="99.0", module="innocent"),
            "innocent.py": "",
        },
    )
    with pytest.raises(
        SourceBuildError, match=r"declares name requests|its build made requests-99\.0"
    ):
        source_builds.build(source, interpreters.host(), env)
    assert not (source_builds.wheels / "requests").exists()


@pytest.mark.sandbox
def test_a_small_c_extension_with_a_pure_fallback_builds(
    tmp_path: Path, builds: tuple[SourceBuilds, dict[str, str]]
) -> None:
    # MarkupSafe 1.1.1's way: compile the speedups when a compiler is there, else build
    # without them; either way the pinned release installs, as pip install would.
    source_builds, env = builds
    setup = (
        "from setuptools import Extension, setup\n"
        "from setuptools.command.build_ext import build_ext\n\n"
        "class Optional(build_ext):\n"
        "    def run(self):\n        try:\n            super().run()\n"
        "        except Exception:\n            pass\n"
        "    def build_extension(self, ext):\n        try:\n"
        "            super().build_extension(ext)\n        except Exception:\n            pass\n\n"
        "setup(name='speedy', version='1.0', py_modules=['speedy'],\n"
        "      ext_modules=[Extension('_speedy', ['speedy.c'])],\n"
        "      cmdclass={'build_ext': Optional})\n"
    )
    source = _sdist(
        tmp_path,
        "speedy-1.0",
        {"setup.py": setup, "speedy.py": "X = 1\n", "speedy.c": _c_module("_speedy")},
    )
    wheel = source_builds.build(source, interpreters.host(), env)
    assert wheel.parent == source_builds.wheels / "speedy"
    assert wheel.name.startswith("speedy-1.0-") and wheel.suffix == ".whl"


def test_a_large_archive_whose_c_code_is_an_optional_speed_up_is_fetched(tmp_path: Path) -> None:
    # SQLAlchemy 1.3's sdist is 6 MB of Python and a little C its build can leave out.
    noise = os.urandom(MAX_COMPILED_ARCHIVE_BYTES).hex()
    (tmp_path / "in").mkdir()
    optional = _sdist(tmp_path, "SQLAlchemy-1.3.24", {"lib/cext.c": noise, "setup.py": ""})
    assert fetch_archive(_served(optional), tmp_path / "in").name == "SQLAlchemy-1.3.24.tar.gz"


@pytest.mark.sandbox
def test_a_library_with_a_pure_python_switch_is_built_without_its_c_code(
    tmp_path: Path, builds: tuple[SourceBuilds, dict[str, str]]
) -> None:
    # msgpack's way: its build script compiles unless MSGPACK_PUREPYTHON is set, and here
    # compiling fails (as with a C file too large or too old for this Python).
    source_builds, env = builds
    setup = (
        "import os\nfrom setuptools import Extension, setup\n"
        "ext = [] if os.environ.get('MSGPACK_PUREPYTHON') else "
        "[Extension('msgpack._cmsgpack', ['broken.c'])]\n"
        "setup(name='msgpack', version='0.6.2', packages=['msgpack'], ext_modules=ext)\n"
    )
    source = _sdist(
        tmp_path,
        "msgpack-0.6.2",
        {"setup.py": setup, "msgpack/__init__.py": "", "broken.c": "#error too old\n"},
    )
    wheel = source_builds.build(source, interpreters.host(), env)
    assert wheel.name == "msgpack-0.6.2-py3-none-any.whl"


@pytest.mark.parametrize(
    ("members", "modules"),
    [
        (["psycopg2/__init__.py", "psycopg2/_psycopg.cpython-311-x86_64-linux-gnu.so"],
         ["psycopg2._psycopg"]),
        (["_speedups.abi3.so", "speedy.py"], ["_speedups"]),
        (["pkg/__init__.py", "pkg-1.0.dist-info/RECORD", "pkg-1.0.data/scripts/x.so"], []),
    ],
)  # fmt: skip
def test_a_wheels_compiled_modules_are_named_by_their_paths(
    members: list[str], modules: list[str]
) -> None:
    assert compiled_modules(members) == modules


@pytest.mark.sandbox
@pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler on this host")
def test_a_c_extension_that_builds_but_does_not_load_is_refused(
    tmp_path: Path, builds: tuple[SourceBuilds, dict[str, str]]
) -> None:
    # psycopg2 2.8 on Python 3.11: it compiles, then its module's initialisation fails.
    source_builds, env = builds
    c_source = "#include <Python.h>\nPyMODINIT_FUNC PyInit__core(void) { return NULL; }\n"
    source = _extension_sdist(
        tmp_path,
        "stale",
        "stale",
        "stale._core",
        {"stale/__init__.py": "from stale import _core\n", "core.c": c_source},
    )
    with pytest.raises(SourceBuildError, match=r"does not load on this Python \(stale\._core: "):
        source_builds.build(source, interpreters.host(), env)
    assert not (source_builds.wheels / "stale").exists()


@pytest.mark.sandbox
@pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler on this host")
def test_a_compiled_module_whose_package_needs_another_distribution_is_kept(
    tmp_path: Path, builds: tuple[SourceBuilds, dict[str, str]]
) -> None:
    # zope.proxy's way: its package imports zope.interface, another distribution, which the
    # bare wheel does not hold; that says nothing about the build.
    source_builds, env = builds
    source = _extension_sdist(
        tmp_path,
        "nsproxy",
        "ns.proxy",
        "ns.proxy._core",
        {"ns/proxy/__init__.py": "import ns.interface\n", "core.c": _c_module("_core")},
    )
    wheel = source_builds.build(source, interpreters.host(), env)
    assert wheel.parent == source_builds.wheels / "nsproxy"
