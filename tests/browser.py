"""A headless-Chromium harness for grader's HTML pages, shared by tests and screenshots.

It opens a page from a file, records console errors, uncaught exceptions and every
network request, and can run axe-core for accessibility. Any later page (a batch
leaderboard, say) reuses it as is.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import sync_playwright

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
# Flags that keep Chromium from reaching for the network on its own (updates, sync,
# safe browsing), so any request seen comes from the page.
CHROMIUM_ARGS = (
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
)
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def chromium_path() -> str | None:
    """The system Chromium, if installed."""
    found = [p for p in CHROMIUM_CANDIDATES if Path(p).exists()]
    return found[0] if found else shutil.which("chromium")


def browser_problem() -> str | None:
    """Why browser tests cannot run here, or None."""
    if chromium_path() is None:
        return "Chromium is not installed (Debian package chromium; make setup installs it)"
    return None


@dataclass
class PageVisit:
    """What happened while a page was open."""

    url: str
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    @property
    def foreign_requests(self) -> list[str]:
        """Requests for anything but the page itself (data: URLs are inline)."""
        return [r for r in self.requests if r != self.url and not r.startswith("data:")]


@contextmanager
def browser() -> Iterator[Any]:
    """A headless Chromium, closed afterwards."""
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=chromium_path(), headless=True, args=list(CHROMIUM_ARGS)
        )
        try:
            yield instance
        finally:
            instance.close()


@contextmanager
def open_page(
    chromium: Any, path: Path, viewport: dict[str, int] = DESKTOP, bypass_csp: bool = False
) -> Iterator[tuple[Any, PageVisit]]:
    """Open ``path`` and record what the page does."""
    context = chromium.new_context(viewport=viewport, bypass_csp=bypass_csp)
    page = context.new_page()
    visit = PageVisit(url=path.resolve().as_uri())
    page.on(
        "console",
        lambda message: (
            visit.console_errors.append(message.text) if message.type == "error" else None
        ),
    )
    page.on("pageerror", lambda error: visit.page_errors.append(str(error)))
    page.on("request", lambda request: visit.requests.append(request.url))
    try:
        page.goto(visit.url, wait_until="load")
        yield page, visit
    finally:
        context.close()


def axe_violations(
    chromium: Any, path: Path, impacts: tuple[str, ...] = ("serious", "critical")
) -> list[str]:
    """axe-core violations of the given impacts, as 'rule: description' lines.

    axe is injected into a context that bypasses the page's Content-Security-Policy,
    which allows only grader's own script.
    """
    with open_page(chromium, path, bypass_csp=True) as (page, _):
        results = Axe().run(page)
    return [
        f"{v['id']}: {v['help']} ({len(v['nodes'])} nodes)"
        for v in results.response["violations"]
        if v.get("impact") in impacts
    ]
