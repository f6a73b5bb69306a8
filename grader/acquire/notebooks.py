"""Jupyter notebooks as sources: read with nbformat, turned into scripts the analysers read.

ruff reads notebooks itself; mypy, bandit and radon read Python files only. So each
notebook's code cells are written, in order, into one script under SCRIPTS_DIR in
grader's private copy, with IPython's magics (``%matplotlib``, ``%%bash``) and shell
escapes (``!pip install``) turned into comments (or ``pass`` where a statement is needed)
so that they cannot break a parser. Every script line keeps its notebook cell and line,
so a finding in the script is reported at ``analysis.ipynb``, cell N, line M (``remap``).

A notebook that is not valid JSON, not nbformat 4, too large, or whose code is not
Python is listed as unparsable with the reason, like a Python file no tool can parse.
"""

from __future__ import annotations

import ast
import dataclasses
import json
import re
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from grader.core.models import Finding, Location, ToolResult

if TYPE_CHECKING:
    from grader.acquire.workspace import Workspace

SUFFIX = ".ipynb"
SCRIPTS_DIR = ".grader-notebooks"
"""Where the scripts are written: a hidden folder, so pytest never collects them."""
MAX_NOTEBOOK_BYTES = 20 * 1024 * 1024
SUPPORTED_MAJOR = 4

_CELL_MAGIC = "%%"
_LINE_ESCAPE = re.compile(r"^(?P<indent>\s*)(?P<code>[%!].*)$")
_ASSIGNED_ESCAPE = re.compile(
    r"^(?P<target>\s*[A-Za-z_][\w.]*(\s*,\s*[A-Za-z_][\w.]*)*\s*=\s*)[%!]"
)
_HELP = re.compile(r"^\s*[A-Za-z_][\w.]*\?{1,2}\s*$")


@dataclass(frozen=True)
class Output:
    """One stored output of a code cell, as text: a stream's text, an error's name and
    value with its traceback, a result's text/plain; ``size`` counts every byte stored."""

    kind: str
    text: str
    size: int
    error: str = ""
    """For an error output: its exception name and value."""


def _output(raw: dict[str, Any]) -> Output:
    kind = str(raw.get("output_type", ""))
    size = len(json.dumps(raw, ensure_ascii=False))
    if kind == "error":
        error = f"{raw.get('ename', '')}: {raw.get('evalue', '')}"
        return Output(kind, "\n".join(map(str, raw.get("traceback", ()))), size, error)
    text = raw.get("text", "") if kind == "stream" else raw.get("data", {}).get("text/plain", "")
    return Output(kind, _text(text), size)


@dataclass(frozen=True)
class CodeCell:
    """One code cell: its 1-based position among all cells (as ruff and Jupyter count),
    its source, and what the notebook stored from its last run."""

    number: int
    source: str
    execution_count: int | None
    outputs: tuple[Output, ...]


@dataclass(frozen=True)
class NotebookScript:
    """A notebook's code as one script, and where each script line came from."""

    notebook: str
    """The notebook, relative to the submission root."""
    script: str
    """The script, relative to the submission root (under SCRIPTS_DIR)."""
    lines: tuple[tuple[int, int], ...]
    """(cell number, line in the cell) of each script line, in order."""
    cells: tuple[CodeCell, ...]

    def origin(self, line: int) -> tuple[int, int] | None:
        """(cell, line in cell) of a 1-based script line; None outside the script."""
        return self.lines[line - 1] if 0 < line <= len(self.lines) else None


def is_notebook(relative: str) -> bool:
    """Whether a path names a Jupyter notebook (checkpoints are copies, left out)."""
    path = PurePosixPath(relative)
    return path.suffix == SUFFIX and ".ipynb_checkpoints" not in path.parts


def read(path: Path) -> tuple[dict[str, Any] | None, str]:
    """The notebook at ``path``, or None and why no tool can read it."""
    try:
        if path.stat().st_size > MAX_NOTEBOOK_BYTES:
            return None, f"notebook larger than {MAX_NOTEBOOK_BYTES // 1024 // 1024} MB"
        text = path.read_text(encoding="utf-8")
        raw = json.loads(text)
    except (OSError, UnicodeDecodeError) as exc:
        return None, f"notebook cannot be read: {exc}"
    except (json.JSONDecodeError, RecursionError) as exc:
        return None, f"notebook is not valid JSON: {str(exc)[:200]}"
    major = raw.get("nbformat") if isinstance(raw, dict) else None
    if major != SUPPORTED_MAJOR:
        return None, f"notebook format {major!r} is not nbformat {SUPPORTED_MAJOR}"
    # Imported here, not at the top: nbformat and jsonschema take 70 ms to import, and a
    # grade of a submission without notebooks never needs them before its tests start.
    import nbformat  # noqa: PLC0415
    from nbformat.validator import ValidationError  # noqa: PLC0415

    try:
        with warnings.catch_warnings():  # a missing cell id: nbformat repairs it and warns
            warnings.simplefilter("ignore")
            nbformat.validate(raw)
    except (ValidationError, ValueError, KeyError, TypeError, AttributeError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return None, f"notebook does not follow nbformat {SUPPORTED_MAJOR}: {first[:200]}"
    return raw, ""


def _text(value: object) -> str:
    """A multiline string as nbformat stores it: one string, or a list of lines."""
    return "".join(map(str, value)) if isinstance(value, list) else str(value)


def code_cells(notebook: dict[str, Any]) -> tuple[CodeCell, ...]:
    """The code cells, numbered by their position among all cells (1-based)."""
    return tuple(
        CodeCell(
            number=number,
            source=_text(cell.get("source", "")),
            execution_count=cell.get("execution_count"),
            outputs=tuple(_output(o) for o in cell.get("outputs", ())),
        )
        for number, cell in enumerate(notebook.get("cells", ()), start=1)
        if cell.get("cell_type") == "code"
    )


def _neutral(line: str) -> str:
    """A line of IPython syntax as a line of Python that does nothing."""
    assigned = _ASSIGNED_ESCAPE.match(line)
    if assigned:
        return f"{assigned.group('target')}None  # {line[assigned.end() - 1 :]}"
    escape = _LINE_ESCAPE.match(line)
    if escape:
        indent = escape.group("indent")
        return f"{indent}{'pass  ' if indent else ''}# {escape.group('code')}"
    if _HELP.match(line):
        return f"# {line.strip()}"
    return line


def script_of(cells: tuple[CodeCell, ...]) -> tuple[str, tuple[tuple[int, int], ...]]:
    """The cells' code as one script with magics neutralised, and each line's origin."""
    out: list[str] = []
    origins: list[tuple[int, int]] = []
    for cell in cells:
        lines = cell.source.splitlines() or [""]
        whole_cell_magic = lines[0].lstrip().startswith(_CELL_MAGIC)
        for number, line in enumerate(lines, start=1):
            out.append(f"# {line}" if whole_cell_magic else _neutral(line))
            origins.append((cell.number, number))
    return "\n".join(out) + "\n", tuple(origins)


def script_path(notebook: str) -> str:
    """Where a notebook's script is written: a name mypy accepts as a module name."""
    path = PurePosixPath(notebook)
    stem = re.sub(r"\W", "_", path.stem) + "_ipynb.py"
    return (PurePosixPath(SCRIPTS_DIR) / path.parent / stem).as_posix()


def _converted(root: Path, notebook: str) -> tuple[NotebookScript | None, str]:
    loaded, problem = read(root / notebook)
    if loaded is None:
        return None, problem
    cells = code_cells(loaded)
    text, origins = script_of(cells)
    try:
        ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        where = ""
        if isinstance(exc, SyntaxError) and exc.lineno and 0 < exc.lineno <= len(origins):
            cell, line = origins[exc.lineno - 1]
            where = f" (cell {cell}, line {line})"
        return None, f"a code cell is not valid Python{where}: {str(exc).splitlines()[0][:200]}"
    relative = script_path(notebook)
    target = root / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    return NotebookScript(notebook, relative, origins, cells), ""


def _clear(folder: Path) -> None:
    """Remove whatever the submission holds at grader's scripts folder: a link there
    (never followed by the inventory, being hidden) would send the scripts to the host."""
    if folder.is_symlink() or folder.is_file():
        folder.unlink()
    elif folder.exists():
        shutil.rmtree(folder)


def with_scripts(workspace: Workspace) -> Workspace:
    """The workspace with each readable notebook's script among its source files, and
    each unreadable notebook among the unparsable files with the reason."""
    scripts, problems = [], []
    if workspace.notebook_files:
        _clear(workspace.root / SCRIPTS_DIR)
    for notebook in workspace.notebook_files:
        converted, problem = _converted(workspace.root, notebook)
        if converted is None:
            problems.append((notebook, problem))
        else:
            scripts.append(converted)
    added = tuple(s.script for s in scripts)
    return dataclasses.replace(
        workspace,
        python_files=workspace.python_files + added,
        source_files=workspace.source_files + added,
        unparsable=workspace.unparsable + tuple(problems),
        notebooks=tuple(scripts),
    )


def _location(location: Location, scripts: dict[str, NotebookScript]) -> Location:
    script = scripts.get(location.path)
    if script is None:
        return location
    start = script.origin(location.line) if location.line else None
    if start is None:
        return Location(path=script.notebook)
    end = script.origin(location.end_line) if location.end_line else None
    same_cell = end is not None and end[0] == start[0]
    return Location(
        path=script.notebook,
        line=start[1],
        column=location.column,
        end_line=end[1] if end is not None and same_cell else None,
        cell=start[0],
    )


def _code_lines(text: str) -> int:
    stripped = (line.strip() for line in text.splitlines())
    return sum(1 for line in stripped if line and not line.startswith("#"))


def notebook_share(workspace: Workspace) -> float:
    """Share (0-100) of the non-test code lines that live in notebooks."""
    scripts = {s.script for s in workspace.notebooks}
    in_notebooks = in_modules = 0
    for relative in workspace.source_files:
        try:
            text = workspace.path(relative).read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        if relative in scripts:
            in_notebooks += _code_lines(text)
        else:
            in_modules += _code_lines(text)
    total = in_notebooks + in_modules
    if not total:
        return 100.0 if workspace.notebook_files else 0.0
    return round(100.0 * in_notebooks / total, 1)


def named(text: str, notebooks: tuple[NotebookScript, ...]) -> str:
    """A message with each notebook script's place (``path:line``) replaced by its
    notebook's (``notebook, cell N, line M``), and each remaining path by the notebook's."""
    for script in notebooks:

        def cell_of(match: re.Match[str], script: NotebookScript = script) -> str:
            origin = script.origin(int(match.group(1)))
            if origin is None:
                return script.notebook
            return f"{script.notebook}, cell {origin[0]}, line {origin[1]}"

        text = re.sub(re.escape(script.script) + r":(\d+)", cell_of, text)
        text = text.replace(script.script, script.notebook)
    return text


def remap(result: ToolResult, notebooks: tuple[NotebookScript, ...]) -> ToolResult:
    """A tool's result with every place in a notebook's script moved to the notebook's
    cell and line, and the script's per-file facts filed under the notebook."""
    if not notebooks:
        return result
    scripts = {s.script: s for s in notebooks}

    def moved(finding: Finding) -> Finding:
        location = _location(finding.location, scripts)
        if location is finding.location:
            return finding
        message = finding.message.replace(scripts[finding.location.path].script, location.path)
        return dataclasses.replace(finding, location=location, message=message)

    per_file = tuple(
        dataclasses.replace(s, path=scripts[s.path].notebook) if s.path in scripts else s
        for s in result.per_file
    )
    return dataclasses.replace(
        result, findings=tuple(moved(f) for f in result.findings), per_file=per_file
    )
