"""What ruff's parser reads from code the host's Python cannot parse.

bandit and radon parse with the host's interpreter, so a file in a newer Python's syntax
(``newer_syntax``) is invisible to them, and Security and complexity would be scored
from what is left: a weak submission whose main module uses a PEP 701 f-string would
show full marks nobody measured. ruff's parser knows every version, and ruff implements
both checks: its flake8-bandit rules (``S``) are bandit's tests under the same numbers,
and its mccabe rule (``C901``) at threshold 0 names every function with its cyclomatic
complexity. This module turns those into bandit's JSON items (so bandit's adapter judges
them exactly as its own) and radon's function blocks.

A function's last line comes from indentation (ruff reports only where a function
starts): the first later line at or left of the ``def`` ends it, closing brackets of a
long signature aside.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import yaml

from grader.environment import requirements
from grader.tools import newer_syntax
from grader.tools.base import ToolContext, config_path, python_module, run_static

_COMPLEXITY = re.compile(r"`(?P<name>[^`]+)` is too complex \((?P<cc>\d+) > 0\)")
_SECURITY_CODE = re.compile(r"S(?P<number>\d{3})")
# Severity and confidence of bandit's tests, as bandit 1.9 reports them: each plugin's own,
# and its calls and imports blacklists at their level with high confidence. (Importing
# bandit to read them would load every plugin through stevedore.)
_PLUGIN_LEVELS = {
    "B101": ("LOW", "HIGH"), "B102": ("MEDIUM", "HIGH"), "B103": ("MEDIUM", "HIGH"),
    "B104": ("MEDIUM", "MEDIUM"), "B105": ("LOW", "MEDIUM"), "B106": ("LOW", "MEDIUM"),
    "B107": ("LOW", "MEDIUM"), "B108": ("MEDIUM", "MEDIUM"), "B110": ("LOW", "HIGH"),
    "B112": ("LOW", "HIGH"), "B113": ("MEDIUM", "LOW"), "B201": ("HIGH", "MEDIUM"),
    "B202": ("MEDIUM", "MEDIUM"), "B324": ("HIGH", "HIGH"), "B501": ("HIGH", "HIGH"),
    "B502": ("HIGH", "HIGH"), "B503": ("MEDIUM", "MEDIUM"), "B504": ("LOW", "MEDIUM"),
    "B505": ("MEDIUM", "HIGH"), "B506": ("MEDIUM", "HIGH"), "B507": ("HIGH", "MEDIUM"),
    "B508": ("MEDIUM", "HIGH"), "B509": ("MEDIUM", "HIGH"), "B601": ("MEDIUM", "MEDIUM"),
    "B602": ("HIGH", "HIGH"), "B604": ("MEDIUM", "LOW"), "B605": ("HIGH", "HIGH"),
    "B606": ("LOW", "MEDIUM"), "B607": ("LOW", "HIGH"), "B608": ("MEDIUM", "MEDIUM"),
    "B609": ("HIGH", "MEDIUM"), "B610": ("MEDIUM", "MEDIUM"), "B611": ("MEDIUM", "MEDIUM"),
    "B612": ("MEDIUM", "HIGH"), "B613": ("HIGH", "MEDIUM"), "B614": ("MEDIUM", "HIGH"),
    "B615": ("MEDIUM", "HIGH"), "B701": ("HIGH", "HIGH"), "B702": ("MEDIUM", "HIGH"),
    "B703": ("MEDIUM", "HIGH"), "B704": ("MEDIUM", "HIGH"),
}  # fmt: skip
_BLACKLIST_LEVELS = {
    "LOW": ("B311", "B403", "B404", "B405", "B406", "B407", "B408", "B409"),
    "MEDIUM": (
        "B301", "B302", "B303", "B305", "B306", "B307", "B308", "B310", "B313", "B314",
        "B315", "B316", "B317", "B318", "B319", "B323",
    ),
    "HIGH": ("B304", "B312", "B321", "B401", "B402", "B411", "B412", "B413", "B415"),
}  # fmt: skip


@dataclass(frozen=True)
class Function:
    """One function ruff found: where it is and its cyclomatic complexity."""

    path: str
    name: str
    line: int
    end_line: int
    complexity: int


def _levels() -> dict[str, tuple[str, str]]:
    listed = {test: (level, "HIGH") for level, tests in _BLACKLIST_LEVELS.items() for test in tests}
    return {**listed, **_PLUGIN_LEVELS}


@cache
def _skipped_tests() -> tuple[str, ...]:
    settings = yaml.safe_load(config_path("bandit.yaml").read_text(encoding="utf-8")) or {}
    return tuple(str(test) for test in settings.get("skips", []))


def newer_code(ctx: ToolContext) -> list[str]:
    """The non-test files only a newer Python parses, which bandit and radon cannot read."""
    ws = ctx.workspace
    tests = set(ws.test_files)
    return sorted(f for f in newer_syntax.candidates(ws) if f not in tests)


def _diagnostics(ctx: ToolContext, files: Sequence[str], *options: str) -> list[dict[str, Any]]:
    version = newer_syntax.oldest_accepted(requirements.read(ctx.workspace).requires_python)
    if not files or not version:
        return []
    paths = [str(ctx.workspace.path(f)) for f in files]
    argv = python_module(
        "ruff", "check", "--isolated", "--no-cache", "--exit-zero", *options,
        "--target-version", "py3" + version.split(".")[1], "--output-format", "json",
        "--", *paths,
    )  # fmt: skip
    try:
        found = json.loads(run_static(ctx, argv).stdout)
    except json.JSONDecodeError:
        return []
    return [item for item in found if isinstance(item, dict)] if isinstance(found, list) else []


def bandit_items(ctx: ToolContext, files: Sequence[str]) -> list[dict[str, Any]]:
    """bandit's checks on ``files``, as ruff runs them, in bandit's JSON shape."""
    ignored = ",".join("S" + test[1:] for test in _skipped_tests())
    options = ["--select", "S", *(["--ignore", ignored] if ignored else [])]
    items = []
    for found in _diagnostics(ctx, files, *options):
        matched = _SECURITY_CODE.fullmatch(str(found.get("code")))
        if not matched:
            continue
        test_id = "B" + matched["number"]
        severity, confidence = _levels().get(test_id, ("LOW", "LOW"))
        location = found.get("location") or {}
        items.append(
            {
                "test_id": test_id,
                "issue_text": f"{found.get('message', '')} (ruff {found.get('code')})",
                "issue_severity": severity,
                "issue_confidence": confidence,
                "filename": found.get("filename", ""),
                "line_number": int(location.get("row", 1)),
                "col_offset": max(int(location.get("column", 1)) - 1, 0),
                "more_info": found.get("url"),
            }
        )
    return items


def function_end(lines: Sequence[str], def_line: int) -> int:
    """The last line of the function whose ``def`` is on ``def_line`` (1-based)."""
    start = lines[def_line - 1]
    indent = len(start) - len(start.lstrip())
    end = def_line
    for number in range(def_line + 1, len(lines) + 1):
        text = lines[number - 1]
        stripped = text.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if len(text) - len(text.lstrip()) <= indent and stripped[0] not in ")]}":
            break
        end = number
    return end


def functions(ctx: ToolContext, files: Sequence[str]) -> list[Function]:
    """Every function in ``files`` with its extent and complexity, as mccabe counts it."""
    found = _diagnostics(ctx, files, "--select", "C901", "--config", "lint.mccabe.max-complexity=0")
    by_path = {str(ctx.workspace.path(f)): f for f in files}
    texts: dict[str, list[str]] = {}
    result = []
    for item in found:
        matched = _COMPLEXITY.fullmatch(str(item.get("message", "")))
        relative = by_path.get(str(item.get("filename", "")))
        if not matched or relative is None:
            continue
        if relative not in texts:
            raw = ctx.workspace.path(relative).read_text(encoding="utf-8", errors="replace")
            texts[relative] = raw.splitlines()
        line = int((item.get("location") or {}).get("row", 1))
        end = function_end(texts[relative], line)
        result.append(Function(relative, matched["name"], line, end, int(matched["cc"])))
    return result
