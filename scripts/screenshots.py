"""Write PNG screenshots of sample reports, desktop and phone width, for the README.

Usage: python scripts/screenshots.py OUT_DIR REPORT.html [REPORT.html ...]
Each report is saved as OUT_DIR/<parent folder name>-{desktop,phone}.png.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from browser import DESKTOP, PHONE, browser, browser_problem, open_page


def main(argv: list[str]) -> int:
    """Screenshot every report given on the command line."""
    problem = browser_problem()
    if problem is not None:
        sys.stderr.write(f"screenshots: {problem}\n")
        return 2
    out = Path(argv[0])
    out.mkdir(parents=True, exist_ok=True)
    with browser() as chromium:
        for report in map(Path, argv[1:]):
            for label, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
                target = out / f"{report.parent.name}-{label}.png"
                with open_page(chromium, report, viewport=viewport) as (page, _):
                    page.screenshot(path=str(target))
                sys.stdout.write(f"{target}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
