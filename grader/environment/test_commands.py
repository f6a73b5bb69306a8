"""How the author runs the tests, as the repository says it: the CI workflow's steps, the
Makefile's test targets, the README's code blocks.

A suite written to run as ``cd app && pytest`` or ``PYTHONPATH=src pytest`` imports its
code by names that only resolve from that folder (``from database import ...``); run from
the root it dies at collection, though nothing is wrong with it. grader keeps running
pytest from the root, with its own ini (so nothing the command says can hide a test), and
takes from these commands only where they import from: the folder they change to and
the folders their ``PYTHONPATH`` names, when they are folders of the submission.

Read, never run: YAML with PyYAML's safe loader, Markdown with markdown-it-py (the
CommonMark parser grader reads READMEs with), shell lines with ``shlex``.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

import yaml
from markdown_it import MarkdownIt

from grader.acquire.workspace import Workspace
from grader.environment.settings_declarations import MAX_FILES, matching, read_bounded
from grader.environment.workflow_files import WORKFLOW_FILE

# A line that runs the tests: pytest in any spelling, Django's runner, unittest.
RUNS_TESTS = re.compile(
    r"(?:^|[\s;&|(])(?:py\.test|pytest)(?:\s|$)|-m\s+(?:pytest|unittest)\b|manage\.py\s+test\b"
)
_SHELL_FENCES = frozenset({"", "sh", "bash", "shell", "console", "zsh", "shell-session"})
_MAKE_TARGET = re.compile(r"^([A-Za-z0-9_.-]*test[A-Za-z0-9_.-]*)\s*:(?!=)", re.IGNORECASE)
_README = re.compile(r"README(?:\.md|\.markdown|\.rst|\.txt)?", re.IGNORECASE)
# $PWD/src, $(pwd)/src, ${PWD}/src: the folder the command runs in.
_HERE = re.compile(r"^(?:\$PWD|\$\{PWD\}|\$\(pwd\)|`pwd`)/?")
MAX_COMMANDS = 20


@dataclass(frozen=True)
class TestCommand:
    """One command that runs the tests, and where its imports resolve from."""

    source: str
    command: str
    folder: str
    """The folder it runs in, relative to the root ('.' for the root)."""
    pythonpath: tuple[str, ...] = ()
    """Folders its PYTHONPATH names, relative to the root."""

    def import_folders(self) -> tuple[str, ...]:
        """The folders the command imports from beyond the root."""
        return tuple(f for f in (self.folder, *self.pythonpath) if f != ".")


def _inside(base: str, path: str) -> str | None:
    """``path`` (relative to ``base``) relative to the root; None when it leaves the
    submission or depends on what the shell would expand."""
    path = _HERE.sub("", path.strip().strip("'\""))
    if not path:
        return base
    if "$" in path or "`" in path or path.startswith(("/", "~")):
        return None
    joined = posixpath.normpath(posixpath.join(base, path))
    return None if joined == ".." or joined.startswith("../") else joined


def _words(line: str) -> list[str]:
    try:
        return shlex.split(line, comments=True)
    except ValueError:
        return line.split()


def _commands(source: str, lines: list[str], folder: str = ".") -> Iterator[TestCommand]:
    """The test commands in a shell script's lines, following ``cd`` and ``PYTHONPATH``."""
    pythonpath: list[str] = []
    for raw in lines:
        line = raw.strip().removeprefix("$ ").lstrip("@-").strip()
        here = folder
        for part in re.split(r"&&|;", line):
            words = _words(part)
            if words[:1] == ["export"]:
                words = words[1:]
            for word in list(words):
                if not word.startswith("PYTHONPATH="):
                    break
                entries = (_inside(here, p) for p in word.split("=", 1)[1].split(":"))
                pythonpath = [e for e in entries if e is not None]
                words.remove(word)
            if words[:1] == ["cd"] and len(words) == 2:
                moved = _inside(here, words[1])
                here = moved if moved is not None else here
        if RUNS_TESTS.search(line):
            yield TestCommand(source, line, here, tuple(pythonpath))
        elif not ("&&" in line or ";" in line):
            folder = here  # a lone `cd app` line moves the lines after it


def _workflow(ws: Workspace, relative: str) -> Iterator[TestCommand]:
    text = read_bounded(ws, relative)
    try:
        data = yaml.safe_load(text) if text else None
    except yaml.YAMLError:
        return
    jobs = data.get("jobs") if isinstance(data, dict) else None
    for job in jobs.values() if isinstance(jobs, dict) else ():
        if not isinstance(job, dict):
            continue
        defaults = _get(job, "defaults", "run", "working-directory")
        for step in job.get("steps") or []:
            run = step.get("run") if isinstance(step, dict) else None
            if isinstance(run, str):
                where = step.get("working-directory") or defaults or "."
                folder = _inside(".", str(where)) or "."
                yield from _commands(relative, run.splitlines(), folder)


def _get(data: Any, *keys: str) -> Any:
    for key in keys:
        data = data.get(key) if isinstance(data, dict) else None
    return data


def _makefile(ws: Workspace) -> Iterator[TestCommand]:
    text = read_bounded(ws, "Makefile") if "Makefile" in ws.files else None
    in_test_target = False
    recipe: list[str] = []
    for line in (text or "").splitlines():
        if line.startswith("\t"):
            if in_test_target:
                recipe.append(line)
            continue
        in_test_target = bool(_MAKE_TARGET.match(line))
    yield from _commands("Makefile", recipe)


def _readme(ws: Workspace) -> Iterator[TestCommand]:
    for relative in matching(ws, _README, 0):
        text = read_bounded(ws, relative)
        for token in MarkdownIt("commonmark").parse(text or ""):
            if token.type in {"fence", "code_block"} and token.info.strip() in _SHELL_FENCES:
                yield from _commands(relative, token.content.splitlines())


def read(ws: Workspace) -> list[TestCommand]:
    """The commands that run the tests: CI workflows first, then the Makefile, the README."""
    workflows = sorted(f for f in ws.files if WORKFLOW_FILE.fullmatch(f))[:MAX_FILES]
    found = [c for f in workflows for c in _workflow(ws, f)]
    found += [*_makefile(ws), *_readme(ws)]
    return found[:MAX_COMMANDS]


def import_folders(ws: Workspace, commands: list[TestCommand]) -> list[str]:
    """The submission's folders the commands import from, in the order they say them."""
    folders = {str(parent) for f in ws.python_files for parent in PurePosixPath(f).parents}
    wanted = (f for command in commands for f in command.import_folders())
    return list(dict.fromkeys(f for f in wanted if f in folders))
