"""Whether a pseudo-random value is meant to be secret.

bandit's B311 flags every use of ``random``: shuffling a sample, simulating data, jitter
in a retry, a library's ``random_permutation``. The module is unfit only for what must be
unguessable (a token, a password, a one-time code, a salt), which ``secrets`` is for. A
reviewer reads what the value becomes: the names it is assigned to and the function it is
made in. A B311 finding is kept when one of those names a secret, and left out otherwise.
"""

from __future__ import annotations

import ast
import functools
import re

# Words of a name (split at underscores and case changes) that say its value must be
# unguessable.
_SECRET_WORDS = frozenset(
    {
        "token", "tokens", "password", "passwords", "passwd", "pwd", "secret", "secrets",
        "otp", "pin", "salt", "nonce", "csrf", "session", "sessionid", "key", "keys",
        "apikey", "credential", "credentials", "auth", "verification", "captcha", "code",
        "codes", "reset", "invite", "invitation", "coupon", "voucher", "signature", "iv",
    }
)  # fmt: skip
_WORD = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")


def _words(name: str) -> set[str]:
    return {word.lower() for word in _WORD.findall(name)}


def _names_a_secret(name: str) -> bool:
    return not _words(name).isdisjoint(_SECRET_WORDS)


def _targets(node: ast.AST) -> list[str]:
    """The names a statement assigns to, returns under or passes as keywords."""
    names: list[str] = []
    targets: list[ast.expr] = []
    if isinstance(node, ast.Assign):
        targets = list(node.targets)
    elif isinstance(node, ast.AnnAssign | ast.AugAssign):
        targets = [node.target]
    for target in targets:
        for part in ast.walk(target):
            if isinstance(part, ast.Name):
                names.append(part.id)
            elif isinstance(part, ast.Attribute):
                names.append(part.attr)
            elif isinstance(part, ast.Constant) and isinstance(part.value, str):
                names.append(part.value)  # data["token"] = ...
    names += [k.arg for k in ast.walk(node) if isinstance(k, ast.keyword) and k.arg]
    return names


# bandit reports each use on its own line, often dozens in one data generator: the file is
# parsed once for all of them (the caller passes the same string, whose hash is kept).
@functools.lru_cache(maxsize=8)
def parsed(source: str) -> ast.Module | None:
    """``source``'s syntax tree, or None; the last few are kept."""
    try:
        return ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def makes_a_secret(source: str, line: int) -> bool:
    """Whether the random value on ``line`` goes into something named as a secret: the
    statement's targets or keywords, or an enclosing function or class. True when the
    source cannot be read, so that the finding is kept."""
    tree = parsed(source)
    if tree is None:
        return True
    names: list[str] = []
    for node in ast.walk(tree):
        start, end = getattr(node, "lineno", None), getattr(node, "end_lineno", None)
        if start is None or end is None or not start <= line <= end:
            continue
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.append(node.name)
        elif isinstance(node, ast.stmt) and not hasattr(node, "body"):
            names += _targets(node)  # a simple statement: a loop's or a branch's body is not
    return any(_names_a_secret(name) for name in names)
