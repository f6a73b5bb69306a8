"""Write the terminal summary of ``grader preview`` on a sample as SVG, for the README.

Usage: python scripts/terminal_screenshot.py OUT_DIR [SAMPLE]

Previews sample_submissions/SAMPLE (default: average) as a candidate would, and records
what the terminal shows with rich's own SVG export, at a fixed width so the picture does
not depend on the terminal it was made in.
"""

from __future__ import annotations

import io
import re
import sys
from pathlib import Path

from rich.console import Console
from rich.terminal_theme import MONOKAI

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader.pipeline import GradeOptions, load_rubric  # noqa: E402
from grader.render import terminal  # noqa: E402
from grader.scoring.gains import gains  # noqa: E402
from grader.workflows.preview import preview  # noqa: E402

WIDTH = 92


def _offline_format() -> str:
    """rich's SVG template without its web fonts: the picture makes no external request."""
    from rich._export_format import CONSOLE_SVG_FORMAT  # noqa: PLC0415 - the one template

    return re.sub(r'(src: local\("[^"]+"\)),\s*url\([^;]*;', r"\1;", CONSOLE_SVG_FORMAT)


def main(argv: list[str]) -> int:
    """Preview the sample, record the summary, write the SVG."""
    out = Path(argv[0])
    sample = argv[1] if len(argv) > 1 else "average"
    out.mkdir(parents=True, exist_ok=True)
    folder = ROOT / "sample_submissions" / sample
    report = preview(folder, GradeOptions(source=str(folder)))
    console = Console(file=io.StringIO(), record=True, width=WIDTH, force_terminal=True)
    console.print(f"$ grader preview sample_submissions/{sample}", style="bold")
    terminal.summary(console, report, gains(load_rubric("default"), report), None)
    console.print("grader-report/report.html")
    svg = out / "preview-terminal.svg"
    console.save_svg(str(svg), title="grader preview", theme=MONOKAI, code_format=_offline_format())
    sys.stdout.write(f"{svg}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
