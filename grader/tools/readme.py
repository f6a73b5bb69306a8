"""The README: which of the sections a reviewer expects (installation, usage, testing,
design, deployment) its headings cover, in the languages candidates write in.

Markdown is parsed by markdown-it-py, a CommonMark parser: a heading is what CommonMark
calls one (``#1 priority`` is not; ``   ## Usage`` and ``<h2>Usage</h2>`` are), and
nothing inside a code block of any fence length or an HTML comment counts.
reStructuredText headings (a title over a line of one repeated punctuation mark) are
read from ``.rst`` READMEs. A section counts when a word of a heading begins with one of
its words, in English, Spanish, Portuguese, French, German or Russian: "Latest changes"
is not about tests, and "Infrastructure" is not about design.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from markdown_it import MarkdownIt

from grader.acquire.workspace import Workspace

# Each section's words, as the start of a heading's word (or of consecutive words).
README_SECTIONS: dict[str, tuple[str, ...]] = {
    "installation": (
        "install", "setup", "set up", "getting started", "requirements", "prerequisite",
        "dependenc", "instal", "configuraci", "requisit", "установ", "зависимост",
        "требован", "voraussetzung", "prérequis",
    ),
    "usage": (
        "usage", "example", "how to run", "run", "running", "quick start", "quickstart",
        "launch", "endpoint", "api reference", "api documentation", "api usage", "uso",
        "ejecuci", "ejecutar", "execu", "como usar", "cómo usar", "utilisation", "lancer",
        "démarr", "verwendung", "nutzung", "ausführ", "запуск",
        "использ", "пример",
    ),
    "testing": ("test", "prueba", "teste", "essai", "тест", "тестир"),
    "design": (
        "design", "architecture", "structure", "overview", "approach", "decision",
        "trade-off", "tradeoff", "assumption", "implementation", "how it works", "notes",
        "consideration", "rationale", "reasoning", "solution", "why", "diseño",
        "arquitectura", "estructura", "arquitetura", "estrutura", "decisi", "conception",
        "architektur", "entwurf",
        "архитектур", "структур", "дизайн", "решени",
    ),
    "deployment": (
        "deploy", "docker", "production", "despliegue", "implanta", "déploiement",
        "bereitstellung", "развертыв", "развёртыв", "деплой",
    ),
}  # fmt: skip

MAX_README_CHARS = 200_000
_WORD = re.compile(r"\w[\w'-]*", re.UNICODE)
_HTML_HEADING = re.compile(r"<h[1-6][^>]*>(.*?)</h[1-6]\s*>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]*>")
_RST_UNDERLINE = re.compile(r"([=\-~^*+#`'\".:_])\1{2,}\s*")


def find_readme(ws: Workspace) -> str | None:
    """The README at the root (any extension), if there is one."""
    names = [f for f in ws.files if "/" not in f and PurePosixPath(f).stem.upper() == "README"]
    return names[0] if names else None


def markdown_headings(text: str) -> list[str]:
    """The headings CommonMark sees, with the ``<h1>``-``<h6>`` of HTML blocks; none from
    code blocks or HTML comments."""
    tokens = MarkdownIt("commonmark").parse(text)
    found = []
    for index, token in enumerate(tokens):
        if token.type == "heading_open" and index + 1 < len(tokens):
            found.append(tokens[index + 1].content)
        elif token.type == "html_block" and not token.content.lstrip().startswith("<!--"):
            found += [_TAG.sub(" ", inner) for inner in _HTML_HEADING.findall(token.content)]
    return [" ".join(heading.split()) for heading in found if heading.strip()]


def rst_headings(text: str) -> list[str]:
    """reStructuredText section titles: a line over a run of one punctuation mark."""
    lines = text.splitlines()
    return [
        line.strip()
        for line, below in zip(lines, [*lines[1:], ""], strict=True)
        if line.strip() and _RST_UNDERLINE.fullmatch(below) and not _RST_UNDERLINE.fullmatch(line)
    ]


def _words(heading: str) -> list[str]:
    return [word.lower() for word in _WORD.findall(heading)]


def covers(heading: str, stems: tuple[str, ...]) -> bool:
    """Whether a word of ``heading`` (or a run of its words) begins with one of ``stems``."""
    words = _words(heading)
    for stem in stems:
        parts = stem.split()
        for start in range(len(words) - len(parts) + 1):
            window = words[start : start + len(parts)]
            if window[:-1] == parts[:-1] and window[-1].startswith(parts[-1]):
                return True
    return False


def headings(name: str, text: str) -> list[str]:
    """The README's headings, read as its format says."""
    text = text[:MAX_README_CHARS]
    return rst_headings(text) if name.lower().endswith(".rst") else markdown_headings(text)


def readme_score(ws: Workspace) -> tuple[float, list[str]]:
    """The share of expected sections the README covers, and the sections it lacks."""
    readme = find_readme(ws)
    if readme is None:
        return 0.0, list(README_SECTIONS)
    text = ws.path(readme).read_text(encoding="utf-8", errors="replace")
    found = headings(readme, text)
    missing = [
        section
        for section, stems in README_SECTIONS.items()
        if not any(covers(heading, stems) for heading in found)
    ]
    return 100.0 * (len(README_SECTIONS) - len(missing)) / len(README_SECTIONS), missing
