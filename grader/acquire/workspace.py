"""The inventory of a checked-out submission: which files are code, tests, configs.

Built once after acquisition and shared read-only by every tool adapter. Symlinks are
never followed; the ones pointing outside the submission are recorded so they can be
reported.
"""

from __future__ import annotations

import ast
import dataclasses
import fnmatch
import functools
import os
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

import pathspec

from grader.acquire.generated import generated
from grader.acquire.notebooks import is_notebook
from grader.core import proc
from grader.core.errors import AcquireError

if TYPE_CHECKING:
    from grader.acquire.notebooks import NotebookScript

# Folders that hold no candidate-authored code.
SKIPPED_DIRS = frozenset(
    {
        ".git",
        "__pycache__",
        "node_modules",
        "site-packages",
        "venv",
        "env",
        "build",
        "dist",
    }
)
MAX_FILES = 20_000
MAX_DEPTH = 64
MAX_SOURCE_BYTES = 2 * 1024 * 1024
MAX_NESTING = 400  # syntax-tree depth; real code stays far below, analysers crash far above


def walk_tree(
    root: Path, descend: Callable[[os.DirEntry[str]], bool] = lambda _: True
) -> Iterator[tuple[Path, list[os.DirEntry[str]]]]:
    """Every folder under ``root`` with its entries, without recursion or following links.

    Iterative, so a chain of thousands of nested folders cannot exhaust the stack; deeper
    than MAX_DEPTH is refused, since no take-home needs it.
    """
    pending = [(root, 0)]
    while pending:
        folder, depth = pending.pop()
        if depth > MAX_DEPTH:
            raise AcquireError(f"folders are nested more than {MAX_DEPTH} levels deep")
        with os.scandir(folder) as scan:
            entries = sorted(scan, key=lambda entry: entry.name)
        yield folder, entries
        pending.extend(
            (Path(e.path), depth + 1)
            for e in reversed(entries)
            if e.is_dir(follow_symlinks=False) and descend(e)
        )


def display_name(relative: str) -> str:
    """A path that can be printed and encoded: undecodable bytes shown escaped."""
    return os.fsencode(relative).decode("utf-8", errors="backslashreplace")


def _decodable(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


# The candidate's own tool settings: listed in the report, never used for scoring.
CANDIDATE_CONFIG_FILES = (
    "pyproject.toml",
    "setup.cfg",
    "tox.ini",
    "pytest.ini",
    "mypy.ini",
    ".mypy.ini",
    "ruff.toml",
    ".ruff.toml",
    ".coveragerc",
    ".bandit",
    ".flake8",
    ".pylintrc",
    "radon.cfg",
    "conftest.py",
)


@dataclass(frozen=True)
class Workspace:
    """A submission checked out into a private folder, with its files classified."""

    root: Path
    files: tuple[str, ...]
    python_files: tuple[str, ...]
    test_files: tuple[str, ...]
    source_files: tuple[str, ...]
    outside_symlinks: tuple[tuple[str, str], ...]
    candidate_configs: tuple[str, ...]
    notebook_files: tuple[str, ...] = ()
    """Jupyter notebooks: sources like Python files (grader.acquire.notebooks)."""
    notebooks: tuple[NotebookScript, ...] = ()
    """The readable notebooks' code as scripts among ``source_files``, with line maps."""
    excluded: tuple[str, ...] = ()
    """Paths left out by --exclude: still on disk (tests may need them), never analysed."""
    undecodable: tuple[str, ...] = ()
    """Files whose names are not UTF-8 (shown escaped): reported, never analysed."""
    unparsable: tuple[tuple[str, str], ...] = ()
    """Python files no tool can analyse, with the reason: reported, kept from the tools."""
    tests_by_content: tuple[str, ...] = ()
    """Test modules named outside pytest's defaults, found by what they hold: counted as
    tests, and collected by name."""
    generated: tuple[tuple[str, str], ...] = ()
    """Python files a tool wrote (a vendored get-pip.py, a module of embedded data), with
    why: left out of every tool, like ``excluded`` (see grader.acquire.generated)."""
    unentered: tuple[str, ...] = ()
    """Folders the inventory did not look into: caches, virtual environments, build
    output, hidden folders (their names tell what they hold)."""
    migrations: tuple[str, ...] = ()
    """Database migrations (Django's, Alembic's): written by a tool, not designed by the
    candidate, so type checking and complexity leave them out and say so."""
    transcoded: tuple[tuple[str, str], ...] = ()
    """Python files saved in a legacy encoding (PEP 263), with it: the private copy holds
    them as UTF-8 (see grader.acquire.encodings)."""
    version: str = ""
    """The version the project's git history gives it, for builds that take it from
    there ('' when the project does not, or there is no history; see versions)."""

    def path(self, relative: str) -> Path:
        """Absolute path of a file given relative to the submission root."""
        return self.root / relative


def is_test_file(relative: str) -> bool:
    """Pytest's own conventions, plus anything under a tests folder."""
    path = PurePosixPath(relative)
    name = path.name
    in_test_dir = any(part in {"tests", "test", "testing"} for part in path.parts[:-1])
    return (
        in_test_dir
        or name in {"conftest.py", "tests.py"}  # tests.py: Django's convention
        or (name.startswith("test_") and name.endswith(".py"))
        or name.endswith("_test.py")
    )


# Hidden folders are caches and virtualenvs, except these, which hold CI and deploy facts.
KEPT_HIDDEN_DIRS = frozenset({".github", ".gitlab", ".circleci"})


def _skip_dir(name: str) -> bool:
    if name in KEPT_HIDDEN_DIRS:
        return False
    return name in SKIPPED_DIRS or name.startswith(".") or name.endswith(".egg-info")


def _is_inside(root: Path, link: Path) -> tuple[bool, str]:
    target = str(link.readlink())
    try:
        resolved = (link.parent / target).resolve()
    except (RuntimeError, OSError):  # a loop of links: treated as leaving the submission
        return False, target
    return resolved.is_relative_to(root.resolve()), target


@functools.cache
def _exclusions(patterns: tuple[str, ...]) -> pathspec.GitIgnoreSpec:
    return pathspec.GitIgnoreSpec.from_lines(patterns)


def excluded(relative: str, patterns: tuple[str, ...], *, is_dir: bool = False) -> bool:
    """Whether ``--exclude`` patterns leave a path out, read as .gitignore lines are.

    ``vendor/`` is any folder named vendor at any depth, ``migrations`` any file or folder
    of that name, ``a/*.py`` only files directly in a/ (a slash anchors a pattern to the
    root, and ``*`` never crosses one), ``**`` any number of folders.
    """
    if not patterns:
        return False
    return _exclusions(patterns).match_file(relative + "/" if is_dir else relative)


@dataclass
class _Walk:
    """What one pass over the submission found."""

    root: Path
    exclude: tuple[str, ...]
    files: list[str] = field(default_factory=list)
    outside: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    undecodable: list[str] = field(default_factory=list)
    unentered: list[str] = field(default_factory=list)

    def keep(self, path: Path, *, is_dir: bool = False) -> bool:
        """Record symlinks and exclusions; True for entries to look into."""
        relative = path.relative_to(self.root).as_posix()
        if not _decodable(relative):
            self.undecodable.append(display_name(relative))
            return False
        if excluded(relative, self.exclude, is_dir=is_dir):
            self.skipped.append(relative)
            return False
        if path.is_symlink():
            inside, target = _is_inside(self.root, path)
            if not inside:
                self.outside.append((relative, target))
            return False
        return True

    def descend(self, entry: os.DirEntry[str]) -> bool:
        """Whether to look inside a folder (symlinks to folders are never entered)."""
        if _skip_dir(entry.name):
            if entry.name != ".git" and not entry.is_symlink():
                self.unentered.append(Path(entry.path).relative_to(self.root).as_posix())
            return False
        return self.keep(Path(entry.path), is_dir=True)

    def run(self) -> None:
        for _, entries in walk_tree(self.root, self.descend):
            for entry in entries:
                path = Path(entry.path)
                if entry.is_dir(follow_symlinks=False):
                    continue
                if self.keep(path) and entry.is_file(follow_symlinks=False):
                    self.files.append(path.relative_to(self.root).as_posix())
                    if len(self.files) > MAX_FILES:
                        raise AcquireError(f"submission has more than {MAX_FILES} files")


def _alembic_folders(files: list[str]) -> set[PurePosixPath]:
    """Folders laid out as Alembic makes them: an env.py beside a versions/ folder."""
    folders = {PurePosixPath(f).parent for f in files}
    return {
        PurePosixPath(f).parent
        for f in files
        if PurePosixPath(f).name == "env.py" and PurePosixPath(f).parent / "versions" in folders
    }


def migration_files(python_files: tuple[str, ...]) -> tuple[str, ...]:
    """Files in a ``migrations`` folder (Django, Flask-Migrate) or an Alembic folder."""
    alembic = _alembic_folders(list(python_files))
    return tuple(
        f
        for f in python_files
        if "migrations" in PurePosixPath(f).parts[:-1]
        or any(folder in PurePosixPath(f).parents for folder in alembic)
    )


def inventory(root: Path, exclude: tuple[str, ...] = ()) -> Workspace:
    """Classify every file under ``root`` without following symlinks."""
    walk = _Walk(root, exclude)
    walk.run()
    files = walk.files
    python_files = tuple(f for f in files if f.endswith(".py"))
    configs = tuple(
        f for f in files if PurePosixPath(f).name in CANDIDATE_CONFIG_FILES and f.count("/") <= 1
    )
    return Workspace(
        root=root,
        files=tuple(files),
        python_files=python_files,
        test_files=tuple(f for f in python_files if is_test_file(f)),
        source_files=tuple(f for f in python_files if not is_test_file(f)),
        outside_symlinks=tuple(walk.outside),
        candidate_configs=configs,
        notebook_files=tuple(f for f in files if is_notebook(f)),
        excluded=tuple(walk.skipped),
        undecodable=tuple(walk.undecodable),
        migrations=migration_files(python_files),
        unentered=tuple(walk.unentered),
    )


def _nesting(tree: ast.AST) -> int:
    deepest = 0
    pending = [(tree, 0)]
    while pending:
        node, depth = pending.pop()
        deepest = max(deepest, depth)
        pending.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return deepest


def _parsed(path: Path) -> tuple[ast.Module | None, str]:
    """The file's syntax tree, or None and why no tool can analyse it."""
    try:
        if path.stat().st_size > MAX_SOURCE_BYTES:
            return None, f"larger than {MAX_SOURCE_BYTES // 1024} KB"
        tree = ast.parse(path.read_bytes())
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return None, f"not valid Python: {text[:200]}"
    if _nesting(tree) > MAX_NESTING:
        return None, f"nested more than {MAX_NESTING} levels deep"
    return tree, ""


_TEST_FRAMEWORKS = frozenset({"pytest", "unittest"})


def _imports_a_test_framework(tree: ast.Module) -> bool:
    for node in tree.body:
        if isinstance(node, ast.Import) and any(
            a.name.split(".")[0] in _TEST_FRAMEWORKS for a in node.names
        ):
            return True
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in {
            *_TEST_FRAMEWORKS,
            "django",
        }:
            return True
    return False


def _defines_tests(tree: ast.Module) -> bool:
    """Module-level ``test_*`` functions, or ``Test*`` / ``*TestCase`` classes with them."""
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith(
            "test"
        ):
            return True
        if isinstance(node, ast.ClassDef) and any(
            isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef)
            and item.name.startswith("test")
            for item in node.body
        ):
            return True
    return False


_DEFAULT_TEST_NAMES = ("test_*.py", "*_test.py", "tests.py", "conftest.py")


def _collected_by_default(relative: str) -> bool:
    """Whether pytest (with grader's patterns) collects the file by its name alone."""
    name = PurePosixPath(relative).name
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in _DEFAULT_TEST_NAMES)


# Words an author puts in a test module's name to take it out of the suite without
# deleting it (obsoleted_test_models.py, old_tests.py): pytest's default names miss it,
# as its author meant.
_RETIRED = re.compile(
    r"(?i)(^|_)(obsolete\w*|old|deprecated|disabled?|legacy|unused|backup|bak|broken|skip(ped)?)"
    r"(_|$)"
)


def retired(relative: str) -> bool:
    """Whether a module's name says its author took it out of the suite."""
    return bool(_RETIRED.search(PurePosixPath(relative).stem))


def holds_tests(tree: ast.Module, relative: str = "") -> bool:
    """Whether a file is a test module by what it holds: tests, and a test framework or a
    name that says so (``tests_parser.py`` with plain asserts, as pytest runs them)."""
    named = "test" in PurePosixPath(relative).stem.lower()
    return _defines_tests(tree) and (named or _imports_a_test_framework(tree))


def screen(workspace: Workspace) -> Workspace:
    """Keep files that crash parsers away from the tools, and find test modules that
    pytest's default names miss (``tests_parser.py``, ``check_api.py``).

    A file the interpreter itself cannot parse, or nested so deep that analysers overflow
    their stacks on it, would otherwise make a whole tool fail and its metrics vanish
    from the score. It is reported instead, and the tools analyse everything else. A file
    a tool generated is left out as ``--exclude`` would leave it.
    """
    problems = []
    named_otherwise = []
    machine_made = []
    tests = set(workspace.test_files)
    for relative in workspace.python_files:
        why = generated(workspace.root / relative, relative)
        if why:
            machine_made.append((relative, why))
            continue
        tree, problem = _parsed(workspace.root / relative)
        if problem:
            problems.append((relative, problem))
        elif tree is not None and retired(relative) and holds_tests(tree, relative):
            tests.add(relative)  # test code, not the candidate's product; not run
        elif tree is not None and not _collected_by_default(relative):
            # a test module pytest's default names miss: in a tests folder, or found by
            # what it holds
            in_tests = relative in tests and _defines_tests(tree)
            if in_tests or (relative not in tests and holds_tests(tree, relative)):
                named_otherwise.append(relative)
    bad = {relative for relative, _ in (*problems, *machine_made)}
    tests |= set(named_otherwise)

    def keep(files: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(f for f in files if f not in bad)

    return dataclasses.replace(
        workspace,
        python_files=keep(workspace.python_files),
        test_files=keep(tuple(f for f in workspace.python_files if f in tests)),
        source_files=keep(tuple(f for f in workspace.python_files if f not in tests)),
        unparsable=tuple(problems),
        tests_by_content=tuple(named_otherwise),
        excluded=(*workspace.excluded, *(relative for relative, _ in machine_made)),
        generated=tuple(machine_made),
    )


def remove_tree(folder: Path) -> None:
    """Delete a folder whatever the candidate left in it (thousands of nested folders,
    read-only files); rm copes where shutil.rmtree runs out of stack."""
    try:
        shutil.rmtree(folder)
    except (OSError, RecursionError):
        proc.run(["rm", "-rf", "--", str(folder)], cwd=Path("/"), timeout_s=300)


def remove_outside_symlinks(workspace: Workspace) -> None:
    """Delete links that leave the submission from grader's private copy.

    They are recorded (and reported) first; removing them means no tool, the candidate's
    tests included, can read a host file through them.
    """
    for relative, _ in workspace.outside_symlinks:
        (workspace.root / relative).unlink(missing_ok=True)
