"""The HTML report in a real browser: headless Chromium driven by Playwright."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser import PHONE, axe_violations, browser, browser_problem, open_page
from conftest import run_grader

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(browser_problem() is not None, reason=str(browser_problem())),
]
MARKER = "window.__pwned = 1"
MARKUP = f'<script>{MARKER}</script><img src=x onerror="{MARKER}">'


def _markup_submission(root: Path) -> Path:
    """A submission that tries to inject markup through every field it controls."""
    root.mkdir()
    (root / f'<img src=x onerror="{MARKER}">.py').write_text(
        f'"""{MARKUP}"""\nprint("{MARKUP}")  # noqa {MARKUP}\n', encoding="utf-8"
    )
    tests = root / "tests"
    tests.mkdir()
    (tests / "test_markup.py").write_text(
        "import pytest\n\n"
        f"@pytest.mark.parametrize('payload', [{MARKUP!r}])\n"
        "def test_payload(payload):\n"
        "    assert payload == 'nothing', payload\n",
        encoding="utf-8",
    )
    return root


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    with browser() as instance:
        yield instance


@pytest.fixture(scope="module")
def reports(
    graded_runs: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("browser")
    hostile = run_grader(_markup_submission(base / "markup"), base / "markup-report")
    assert hostile.exit_code == 0, hostile.stderr
    paths = {name: run.out / "report.html" for name, run in graded_runs.items()}
    paths["markup"] = hostile.out / "report.html"
    return paths


@pytest.mark.sandbox
@pytest.mark.parametrize("name", ["exemplary", "poor", "markup"])
def test_report_loads_cleanly_offline(chromium: Any, reports: dict[str, Path], name: str) -> None:
    with open_page(chromium, reports[name]) as (page, visit):
        assert page.locator("#overall-score").is_visible()
        for card in page.locator("section.card").all():
            assert card.is_visible()
        assert page.locator("section.card").count() == 8
        assert page.evaluate("window.__pwned") is None
    assert visit.console_errors == []
    assert visit.page_errors == []
    assert visit.foreign_requests == []


@pytest.mark.sandbox
def test_markup_from_the_submission_is_shown_as_text(
    chromium: Any, reports: dict[str, Path]
) -> None:
    with open_page(chromium, reports["markup"]) as (page, _):
        assert page.locator("img[src=x]").count() == 0
        assert page.locator("body script").count() == 1  # grader's own sorting script
        assert MARKUP in page.locator("body").inner_text()


@pytest.mark.sandbox
def test_file_table_sorts_by_column(chromium: Any, reports: dict[str, Path]) -> None:
    with open_page(chromium, reports["exemplary"]) as (page, _):

        def lines() -> list[int]:
            cells = page.locator("#files tbody tr td:nth-child(2)").all_inner_texts()
            return [int(c) for c in cells]

        page.locator("#files th button[data-col='1']").click()
        ascending = lines()
        assert ascending == sorted(ascending) and len(ascending) > 3
        page.locator("#files th button[data-col='1']").click()
        assert lines() == sorted(ascending, reverse=True)


@pytest.mark.sandbox
@pytest.mark.parametrize("name", ["exemplary", "poor"])
def test_no_serious_accessibility_violations(
    chromium: Any, reports: dict[str, Path], name: str
) -> None:
    assert axe_violations(chromium, reports[name]) == []


@pytest.mark.sandbox
def test_readable_at_phone_width(chromium: Any, reports: dict[str, Path]) -> None:
    with open_page(chromium, reports["poor"], viewport=PHONE) as (page, _):
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1
        assert page.locator("#overall-score").is_visible()


@pytest.mark.sandbox
def test_findings_filter_by_severity(chromium: Any, reports: dict[str, Path]) -> None:
    with open_page(chromium, reports["poor"]) as (page, _):
        findings = page.locator("li[data-rank]")
        total = findings.count()
        page.select_option("#severity-filter", "3")
        visible = [f for f in findings.all() if f.is_visible()]
        assert 0 < len(visible) < total
        assert all(f.get_attribute("data-rank") == "3" for f in visible)
        page.select_option("#severity-filter", "0")
        assert sum(f.is_visible() for f in findings.all()) == total
