"""The quickstart as a visitor sees it rendered by Voila (as Binder's badge opens it): the whole
notebook runs in a real kernel, and Chromium must show its widgets with data: the lake browser,
the training monitor's charts with lines, the engine comparison's bars, and no JavaScript
error. Uses test_browser_dashboards' browser and publishing helpers."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from test_browser_dashboards import browser, charts, published  # noqa: F401
from test_browser_lake import BROWSER, _expect_bars

pytestmark = [*BROWSER, pytest.mark.timeout(600)]

QUICKSTART = Path(__file__).parent.parent / "notebooks" / "quickstart.ipynb"
RUN_MS = 420_000  # Voila runs the whole notebook (ingest, training, benchmarks) before showing it


def test_the_quickstart_renders_its_widgets_with_data(browser, tmp_path):  # noqa: F811
    from playwright.sync_api import expect

    new_page, errors, fetched = browser
    page = new_page()
    # Not preheated: the quickstart writes its lake and trains, which a pool would do again in
    # the background after the visit, under the page's feet.
    with published(str(QUICKSTART), tmp_path / "unused-lake", page, tmp_path, errors,
                   fetched, preheat=False) as d:
        page.goto(d.url, timeout=RUN_MS)
        expect(page.get_by_text("held-out accuracy")).to_be_visible(timeout=RUN_MS)
        tables = page.locator(".widget-select option")  # the lake browser's list
        gapminder = re.compile(r"^\s*gapminder\s+\(1,704\s+rows\)")
        expect(tables.filter(has_text=gapminder)).to_have_count(1, timeout=120_000)
        expect(tables.filter(has_text=re.compile(r"^\s*events\s+\([\d,]+\s+rows\)"))).to_have_count(1)
        monitor = charts(page).filter(
            has=page.locator(".annotation-text", has_text=re.compile("^Throughput$")))
        expect(monitor).to_have_count(1, timeout=120_000)
        expect(page.get_by_text("succeeded", exact=True)).to_be_visible()
        lines = monitor.locator(".scatterlayer .trace .js-line")
        expect(lines.first).to_be_attached(timeout=120_000)
        assert lines.count() >= 5  # throughput total + 2 ranks, step-time percentiles, loss
        compare = charts(page).last
        _expect_bars(compare, 3)  # fp32 and pruned on eager, onnxruntime, onnxruntime-int8
        assert "import workbench" not in page.content(), "the sources are visible"
