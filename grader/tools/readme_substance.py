"""What a reviewer can do with the README: the sections they look for, each with content
under it, and the commands in it that run something the repository really has.

Sections (install/setup, run/usage, tests, configuration, design and decisions, next
steps) are found by the heading words of grader.tools.readme, in the same languages, and
count only when something stands under the heading before the next heading of the same
or a higher level (a subsection's content counts for its parent). The title heading, the
one level-1 heading over the whole document, names the project and is no section.

Commands are read from code blocks and inline code of a Markdown README (a ``$`` prompt,
``&&`` chains, ``uv run``/``poetry run`` and ``VAR=value`` prefixes are taken off) and
checked against the repository (command_checks): ``pytest`` where there are tests,
``python -m pkg`` where ``pkg/__main__.py`` exists, ``uvicorn app.main:app`` where
``app/main.py`` exists, ``docker compose up`` beside a compose file, ``make X`` where the
Makefile has X, ``poetry run X``, ``pdm run X``, ``poe X`` where pyproject.toml declares
task X (project_tasks); a target, task or compose service named for the tests (``make
test``, ``poetry run tests``, ``docker compose up tests``) runs them. A command naming a
file or module the repository lacks points nowhere.
A Python example importing the repository's own package runs it, as a library's README
shows it (readme_examples).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from markdown_it import MarkdownIt
from markdown_it.token import Token

from grader.acquire.workspace import Workspace
from grader.core.models import Finding, Location, Metric, MetricSpec, Severity
from grader.environment.settings_declarations import folder_inside, inside
from grader.tools.command_checks import Verdict, judge_all
from grader.tools.readme import MAX_README_CHARS, README_SECTIONS, covers, find_readme, headings
from grader.tools.readme_examples import examples

SECTIONS: dict[str, tuple[str, ...]] = {
    "installation": README_SECTIONS["installation"],
    "usage": README_SECTIONS["usage"],
    "testing": README_SECTIONS["testing"],
    "configuration": (
        "config", "settings", "environment variable", "env", "variables", "configura",
        "einstellung", "konfiguration", "paramètre", "настрой", "конфигурац", "переменн",
    ),
    "design": README_SECTIONS["design"],
    "next steps": (
        "next step", "improvement", "future", "todo", "to do", "roadmap", "limitation",
        "known issue", "what i would", "more time", "further work", "enhancement",
        "nice to have", "out of scope", "not implemented", "próximo", "mejora", "melhoria",
        "amélioration", "prochaine", "verbesserung", "nächste", "ausblick", "улучшени",
        "дальнейш", "ограничени",
    ),
}  # fmt: skip
_PROMPT = re.compile(r"^\s*(?:\$|>|PS>|%)\s+")
_CHAIN = re.compile(r"\s*(?:&&|\|\||;)\s*")


@dataclass(frozen=True)
class Section:
    """A heading, its line (1-based) and whether anything stands under it."""

    title: str
    line: int
    has_content: bool


@dataclass
class ReadmeReview:
    """What the README gives a reviewer."""

    path: str | None
    present: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    empty: list[tuple[str, Section]] = field(default_factory=list)
    commands: list[tuple[int, str, Verdict]] = field(default_factory=list)

    @property
    def substance(self) -> float:
        """Share of the expected sections present with content."""
        return 100.0 * len(self.present) / len(SECTIONS)

    def works(self, kind: str) -> bool:
        """Whether some command of ``kind`` ('run', 'test') works."""
        return any(v.kind == kind and v.ok for _, _, v in self.commands)

    @property
    def command_score(self) -> float:
        """50 for a working command that runs the code, 50 for one that runs its tests."""
        return 50.0 * self.works("run") + 50.0 * self.works("test")


def _has_content(tokens: list[Token], start: int, end: int) -> bool:
    for index in range(start, end):
        token = tokens[index]
        if token.type.startswith("heading") or (
            token.type == "inline" and index and tokens[index - 1].type == "heading_open"
        ):
            continue
        if token.type in {"inline", "fence", "code_block"} and token.content.strip():
            return True
        if token.type == "html_block" and not token.content.lstrip().startswith("<!--"):
            return True
    return False


def markdown_sections(tokens: list[Token]) -> list[Section]:
    """Every heading with whether content stands under it; not the document's title."""
    opens = [i for i, t in enumerate(tokens) if t.type == "heading_open"]
    levels = {i: int(tokens[i].tag[1]) for i in opens}
    sections = []
    for position, index in enumerate(opens):
        later = [j for j in opens[position + 1 :] if levels[j] <= levels[index]]
        end = later[0] if later else len(tokens)
        title_only = position == 0 and levels[index] == 1 and not later
        if title_only:
            continue
        line = (tokens[index].map or [0])[0] + 1
        title = " ".join(tokens[index + 1].content.split())
        sections.append(Section(title, line, _has_content(tokens, index + 1, end)))
    return sections


def _command_lines(tokens: list[Token]) -> list[tuple[int, str]]:
    """(line, text) of every command-like line in code blocks and inline code."""
    found = []
    for token in tokens:
        first = (token.map or [0])[0] + 1
        if token.type == "fence" and token.info.strip().lower() not in {"python", "py", "toml"}:
            lines = token.content.splitlines()
            found += [(first + 1 + n, _unmarked(line)) for n, line in enumerate(lines)]
        elif token.type == "code_block":
            lines = token.content.splitlines()
            found += [(first + n, _unmarked(line)) for n, line in enumerate(lines)]
        elif token.type == "inline":
            spans = [c.content for c in token.children or [] if c.type == "code_inline"]
            found += [(first, span) for span in spans if _command_like(span)]
    return found


def _unmarked(line: str) -> str:
    """A code block's line without inline-code marks around it (an indented
    ```docker build .``` written as if it were inline code): the reader sees the command."""
    stripped = line.strip()
    if len(stripped) > 2 and stripped[0] == stripped[-1] == "`" and "`" not in stripped[1:-1]:
        return stripped[1:-1]
    return line


def _command_like(span: str) -> bool:
    """Inline code that reads as a command: two words or more, or a bare test runner (a
    lone word in prose is more often a name than something to run)."""
    words = span.split()
    return len(words) > 1 or words[:1] in (["pytest"], ["tox"], ["nox"])


def _commands(line: str) -> list[list[str]]:
    line = _PROMPT.sub("", line)
    out = []
    for part in _CHAIN.split(line):
        try:
            words = shlex.split(part, comments=True)
        except ValueError:
            continue
        if words:
            out.append(words)
    return out


def review(ws: Workspace) -> ReadmeReview:
    """The README's sections and commands, judged against the repository."""
    name = find_readme(ws)
    result = ReadmeReview(name)
    if name is None:
        result.missing = list(SECTIONS)
        return result
    text = ws.path(name).read_text(encoding="utf-8", errors="replace")[:MAX_README_CHARS]
    if name.lower().endswith(".rst"):
        sections = [Section(h, 0, True) for h in headings(name, text)]
        tokens: list[Token] = []
    else:
        tokens = MarkdownIt("commonmark").parse(text)
        sections = markdown_sections(tokens)
    for section, stems in SECTIONS.items():
        matching = [s for s in sections if covers(s.title, stems)]
        if any(s.has_content for s in matching):
            result.present.append(section)
        elif matching:
            result.empty.append((section, matching[0]))
        else:
            result.missing.append(section)
    cwd = ""  # the folder a reader following the README is in
    for line, text_line in _command_lines(tokens):
        for words in _commands(text_line):
            if words[0] == "cd":
                cwd = _moved(ws, cwd, words[1:])
                continue
            for verdict in judge_all(ws, words, cwd):
                result.commands.append((line, " ".join(words), verdict))
    result.commands += examples(ws, tokens)
    _credit_beyond_headings(ws, name, tokens, result)
    return result


# A working command of these kinds gives a reader that section, whatever its heading says
# ("## Poetry" holding `poetry install`).
_COMMAND_SECTIONS = {"install": "installation", "run": "usage", "test": "testing"}


def _credit_beyond_headings(
    ws: Workspace, readme: str, tokens: list[Token], result: ReadmeReview
) -> None:
    """Sections a reader gets without a heading naming them: from working commands, and
    from documents of the repository the README links to (``docs/architecture.md``,
    ``API.md``) whose name or link text names the section and which hold something."""
    given = {
        _COMMAND_SECTIONS[v.kind]
        for _, _, v in result.commands
        if v.ok and v.kind in _COMMAND_SECTIONS
    }
    for text, target in _links(tokens):
        relative = inside(str(PurePosixPath(readme).parent), target.split("#")[0])
        if relative is None or relative not in ws.files or not _holds_text(ws, relative):
            continue
        label = f"{text} {_stem_words(relative)}"
        given |= {section for section, stems in SECTIONS.items() if covers(label, stems)}
    for page in documentation_pages(ws):
        given |= _page_sections(ws, page)
    for section in [s for s in SECTIONS if s in given and s not in result.present]:
        result.present.append(section)
        if section in result.missing:
            result.missing.remove(section)
        result.empty = [(name, where) for name, where in result.empty if name != section]


_DOCUMENTATION_FOLDERS = ("docs", "doc", "documentation")
_PAGE_SUFFIXES = (".md", ".rst", ".txt")
MAX_PAGES = 50


def documentation_pages(ws: Workspace) -> list[str]:
    """The pages of the repository's documentation folder (``docs/``, Sphinx's or
    MkDocs' sources or plain notes), at most two levels down: what a reviewer opens after
    the README, whether or not it links them (a library's README often links only its
    published site)."""
    pages = []
    for relative in sorted(ws.files):
        parts = PurePosixPath(relative).parts
        if (
            len(parts) in {2, 3}
            and parts[0].lower() in _DOCUMENTATION_FOLDERS
            and relative.lower().endswith(_PAGE_SUFFIXES)
            and not parts[-1].lower().startswith(("requirements", "license", "changelog"))
        ):
            pages.append(relative)
    return pages[:MAX_PAGES]


def _stem_words(relative: str) -> str:
    return PurePosixPath(relative).stem.replace("_", " ").replace("-", " ")


def _page_sections(ws: Workspace, page: str) -> set[str]:
    """The sections a documentation page gives: named by its file name or one of its
    headings, when it holds text."""
    try:
        text = ws.path(page).read_text(encoding="utf-8", errors="replace")[:MAX_README_CHARS]
    except OSError:
        return set()
    if not text.strip():
        return set()
    titles = [_stem_words(page), *headings(page, text)]
    return {
        section
        for section, stems in SECTIONS.items()
        if any(covers(title, stems) for title in titles)
    }


def _links(tokens: list[Token]) -> list[tuple[str, str]]:
    """(text, target) of every link in the README to a relative path."""
    found = []
    for token in tokens:
        children = token.children or []
        for index, child in enumerate(children):
            href = str(child.attrs.get("href", "")) if child.type == "link_open" else ""
            if not href or "://" in href or href.startswith(("#", "mailto:")):
                continue
            words = []
            for inner in children[index + 1 :]:
                if inner.type == "link_close":
                    break
                words += [inner.content] if inner.type in {"text", "code_inline"} else []
            found.append((" ".join(words)[:200], href))
    return found


def _holds_text(ws: Workspace, relative: str) -> bool:
    try:
        return bool(ws.path(relative).read_text(encoding="utf-8", errors="replace").strip())
    except OSError:
        return False


def _moved(ws: Workspace, cwd: str, args: list[str]) -> str:
    """The folder after ``cd ARGS``: a folder of the repository, from ``cwd`` or its root;
    anywhere else (``cd my-project``, the clone itself) leaves the reader where they were."""
    target = args[0] if args else ""
    if target in {"", "~", "-"}:
        return cwd
    for base in (cwd or ".", "."):
        folder = _folder(ws, base, target)
        if folder is not None:
            return folder
    return cwd


def _folder(ws: Workspace, base: str, target: str) -> str | None:
    """Folder ``target`` seen from ``base``, when the repository has it ('' for its root)."""
    folder = folder_inside(base, target)
    if folder is None or folder == ".":
        return None if folder is None else ""
    return folder if any(f.startswith(folder + "/") for f in ws.files) else None


METRICS = (
    MetricSpec(
        "docs.readme_substance",
        "%",
        "README sections a reviewer looks for (install, usage, tests, configuration, design "
        "and decisions, next steps), each with content under its heading; a working install, "
        "run or test command, or a linked document of the repository naming the section, "
        "gives it too.",
    ),
    MetricSpec(
        "docs.readme_commands",
        "%",
        "50 for a command in the README that runs the code, 50 for one that runs its tests, "
        "each naming a file, module, target or compose file the repository has, read from "
        "the folder the README's cd commands lead to; a script it runs is judged by its "
        "commands.",
    ),
)


def _finding(rule: str, message: str, path: str, line: int | None) -> Finding:
    return Finding("facts", rule, message, Severity.INFO, Location(path, line or None))


def findings(result: ReadmeReview) -> list[Finding]:
    """A finding for each missing or empty section, missing command and broken command."""
    path = result.path or "."
    found = []
    if result.missing:
        found.append(
            _finding("readme-no-section", f"README has no section on: {', '.join(result.missing)}",
                     path, None)
        )  # fmt: skip
    for section, where in result.empty:
        message = f"README's '{where.title}' heading ({section}) has nothing under it"
        found.append(_finding("readme-empty-section", message, path, where.line))
    for line, command, verdict in result.commands:
        if not verdict.ok:
            message = f"README command `{command}` points nowhere: {verdict.reason}"
            found.append(_finding("readme-broken-command", message, path, line))
    for kind, what in (("run", "runs the code"), ("test", "runs the tests")):
        if result.path and not result.works(kind):
            message = f"README gives no working command that {what}"
            found.append(_finding("readme-no-command", message, path, None))
    return found


def measure(ws: Workspace) -> tuple[tuple[Metric, ...], list[Finding]]:
    """The two README metrics and their findings."""
    result = review(ws)
    metrics = (
        Metric("docs.readme_substance", result.substance, "%", "facts"),
        Metric("docs.readme_commands", result.command_score, "%", "facts"),
    )
    return metrics, findings(result)
