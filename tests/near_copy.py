"""A plagiarised submission for the similarity tests: a copy of a sample with every
identifier the candidate defined renamed and the functions of each module and class
in reverse order."""

from __future__ import annotations

import ast
import builtins
import io
import shutil
import tokenize
from pathlib import Path


def _defined_names(trees: list[ast.Module], modules: set[str]) -> tuple[set[str], set[str]]:
    """Names the candidate defined, and those of them reached as attributes (methods,
    attributes set on self)."""
    names: set[str] = set()
    members: set[str] = set()
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.add(node.name)
                members.add(node.name)
            elif isinstance(node, ast.arg):
                names.add(node.arg)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                names.add(node.attr)
                members.add(node.attr)
    fixtures = {"tmp_path", "tmp_path_factory", "monkeypatch", "capsys", "caplog", "request"}
    keep = {"self", "cls", "main"} | fixtures | set(dir(builtins)) | modules
    chosen = {
        n for n in names if not n.startswith("_") and n not in keep and not n.startswith("test")
    }
    return chosen, members & chosen


def _reorder(source: str, tree: ast.Module) -> str:
    """Reverse the order of the functions among each body's statements."""
    lines = source.splitlines(keepends=True)
    # Reversing the slots of a region keeps its length, so regions never move each other.
    bodies = [tree.body] + [n.body for n in tree.body if isinstance(n, ast.ClassDef)]
    for body in bodies:
        slots = [
            (min([n.lineno] + [d.lineno for d in n.decorator_list]) - 1, n.end_lineno or n.lineno)
            for n in body
            if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
        ]
        if len(slots) < 2:
            continue
        texts = [lines[start:end] for start, end in slots]
        for (start, end), text in reversed(list(zip(slots, reversed(texts), strict=True))):
            lines[start:end] = text
    return "".join(lines)


def _rename(source: str, mapping: dict[str, str], members: set[str]) -> str:
    tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    renamed = []
    for before, tok in zip([None, *tokens], tokens, strict=False):
        after_dot = before is not None and before.string == "."
        wanted = tok.type == tokenize.NAME and tok.string in mapping
        if wanted and (not after_dot or tok.string in members):
            renamed.append(tok._replace(string=mapping[tok.string]))
        else:
            renamed.append(tok)
    return tokenize.untokenize(renamed)


def make_near_copy(original: Path, dest: Path) -> Path:
    """Copy ``original`` to ``dest`` with identifiers renamed and functions reordered."""
    shutil.copytree(original, dest)
    files = sorted(dest.rglob("*.py"))
    sources = {path: path.read_text(encoding="utf-8") for path in files}
    trees = {path: ast.parse(text) for path, text in sources.items()}
    modules = {path.stem for path in files} | {path.parent.name for path in files}
    names, members = _defined_names(list(trees.values()), modules)
    mapping = {name: f"{name}_{len(name) % 7}x" for name in names}
    for path in files:
        reordered = _reorder(sources[path], trees[path])
        path.write_text(_rename(reordered, mapping, members), encoding="utf-8")
    return dest
