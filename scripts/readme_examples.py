"""Regenerate the example output in README.md from real runs, as the screenshots are.

Usage: python scripts/readme_examples.py [--check]

Each example sits in README.md between ``<!-- example: NAME -->`` and
``<!-- /example: NAME -->``:

- ``gains``: "What would gain the most" of the bundled average sample, graded here (about
  20 s the first time; a regrade reuses grader's results cache), as the terminal shows it;
- ``explain``: ``grader rubrics`` and ``grader explain lint.issues_per_kloc``.

Without ``--check`` the blocks are rewritten in place; with it, nothing is written and the
exit status is 1 when README.md is out of date.
"""

from __future__ import annotations

import contextlib
import io
import re
import sys
from collections.abc import Callable
from pathlib import Path

from rich.console import Console

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader.cli import main as grader_main  # noqa: E402
from grader.core.models import Report  # noqa: E402
from grader.environment.cache import EnvironmentCache, default_cache_dir  # noqa: E402
from grader.pipeline import GradeOptions, load_rubric  # noqa: E402
from grader.render import terminal  # noqa: E402
from grader.scoring.gains import gains  # noqa: E402
from grader.workflows.results_cache import grade_cached  # noqa: E402

README = ROOT / "README.md"
SAMPLE = "average"
GAINS_SHOWN = 3
WIDTH = 100
"""Wide enough that no line of an example wraps (the terminal shortens long details)."""


def grade_sample(sample: str = SAMPLE) -> Report:
    """The bundled sample graded as ``grader grade sample_submissions/SAMPLE`` grades it."""
    folder = ROOT / "sample_submissions" / sample
    options = GradeOptions(source=str(folder), environments=EnvironmentCache(default_cache_dir()))
    return grade_cached(options)[0]


def gains_block(report: Report, rubric: str = "default") -> str:
    """The gains of ``report`` as the terminal summary lists them, without colour."""
    console = Console(file=io.StringIO(), width=WIDTH, no_color=True, highlight=False)
    with console.capture() as captured:
        console.print(terminal.gains_table(gains(load_rubric(rubric), report)[:GAINS_SHOWN]))
    return "```\n" + _plain(captured.get()) + "```\n"


def _run(*argv: str) -> str:
    """What ``grader ARGV`` prints on stdout."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = grader_main(list(argv))
    if code != 0:
        raise RuntimeError(f"grader {' '.join(argv)} exited with {code}")
    return out.getvalue()


def explain_block() -> str:
    """``grader rubrics`` and ``grader explain lint.issues_per_kloc``, as a console session."""
    commands = (("rubrics",), ("explain", "lint.issues_per_kloc"))
    sessions = [f"$ grader {' '.join(argv)}\n{_run(*argv)}" for argv in commands]
    return "```console\n" + _plain("\n".join(sessions)) + "```\n"


def _plain(text: str) -> str:
    """Lines without trailing spaces, ending in one newline."""
    return "\n".join(line.rstrip() for line in text.strip("\n").splitlines()) + "\n"


def _marker(name: str) -> re.Pattern[str]:
    return re.compile(
        rf"(<!-- example: {re.escape(name)} -->\n)(.*?)(<!-- /example: {re.escape(name)} -->)",
        re.DOTALL,
    )


def block(readme: str, name: str) -> str:
    """The example ``name`` as README.md has it now."""
    found = _marker(name).search(readme)
    if found is None:
        raise ValueError(f"README.md has no example {name!r} between markers")
    return found.group(2)


def splice(readme: str, name: str, text: str) -> str:
    """``readme`` with the example ``name`` replaced by ``text``."""
    block(readme, name)  # the markers must be there
    return _marker(name).sub(lambda m: m.group(1) + text + m.group(3), readme, count=1)


EXAMPLES: dict[str, Callable[[], str]] = {
    "gains": lambda: gains_block(grade_sample()),
    "explain": explain_block,
}


def main(argv: list[str]) -> int:
    """Rewrite (or with --check, compare) every example block of README.md."""
    check = "--check" in argv
    before = README.read_text(encoding="utf-8")
    after = before
    for name, make in EXAMPLES.items():
        after = splice(after, name, make())
    if check:
        stale = [name for name in EXAMPLES if block(before, name) != block(after, name)]
        for name in stale:
            sys.stderr.write(f"README.md: example {name!r} is out of date\n")
        return 1 if stale else 0
    if after != before:
        README.write_text(after, encoding="utf-8")
        sys.stdout.write(f"{README}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
