"""The shipped dashboards as `make demo` serves them (the folder published once: a landing page,
each page preheated), opened by Debian's Chromium through Playwright as a stakeholder would:
the landing page lists them with a key number each, and every page draws its charts with
plotly.js received once, under 4 MB on the wire, with no console error, no request leaving
127.0.0.1, no lake-internal (`_`) table name and no server path in what it shows.

Speed is the benchmark's (benchmarks/dashboards.py); these check what each visit costs in bytes
and copies, which does not depend on the machine's load.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from dashboard_lake import build_results_lake
from page_costs import PageCosts
from test_browser_lake import BROWSER, CHROMIUM, CHROMIUM_ARGS

import workbench as wb

pytestmark = BROWSER

ROOT = Path(__file__).resolve().parent.parent
DASHBOARDS = ROOT / "notebooks" / "dashboards"
PAGE_S = 120.0
WIRE_LIMIT = 4_000_000  # bytes a remote stakeholder downloads per page (issue 15)
# What each page must show once drawn: its charts' count, and a title of one of them.
PAGES = {"training.ipynb": 4, "inference.ipynb": 4, "lake_health.ipynb": 2,
         "federated.ipynb": 5, "ops.ipynb": 3}


@pytest.fixture(scope="module")
def board(tmp_path_factory):
    from ops_lake import add_ops_tables

    lake = build_results_lake(tmp_path_factory.mktemp("pages") / "lake")
    add_ops_tables(wb.Lake(lake), runs=False)  # its runs are the results lake's, with R
    published = wb.publish(DASHBOARDS, lake=lake, title="Team dashboards")
    deadline = time.monotonic() + PAGE_S
    while published.log.count("Kernel started:") < len(published.pages):  # preheating
        assert time.monotonic() < deadline, published.log[-3000:]
        time.sleep(0.5)
    yield published, lake
    published.stop()


@pytest.fixture(scope="module")
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                     args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def visit(chromium, url: str, tmp_path: Path):
    """Open ``url`` in a fresh page; the page, its `PageCosts` and its chart timings."""
    page = chromium.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(PAGE_S * 1000)
    costs = PageCosts()
    costs.watch(page)
    page.goto(url)
    state = costs.wait_for_charts(page, PAGE_S)
    page.screenshot(path=tmp_path / "page.png", full_page=True)  # kept for a failure's reader
    return page, costs, state


def assert_nothing_internal(text: str, lake: Path) -> None:
    """No lake-internal table, server path or traceback in what a page shows."""
    assert not re.search(r"(?<![\w./-])_[a-z][a-z_]*\b", text), text[:2000]
    for path in (str(lake), str(ROOT), str(Path.home())):
        assert path not in text, f"{path} shown"
    assert "Traceback" not in text


@pytest.mark.parametrize("name", sorted(PAGES))
def test_each_dashboard_draws_with_one_plotly_under_4_mb_offline(board, chromium, name,
                                                                 tmp_path):
    published, lake = board
    page, costs, state = visit(chromium, f"{published.index_url}voila/render/{name}", tmp_path)
    try:
        assert state["first"] is not None, f"no chart drew; screenshot {tmp_path / 'page.png'}"
        assert state["drawn"] == state["total"] >= PAGES[name], state
        totals = costs.totals()
        assert totals["http_copies"] + totals["ws_copies"] == 1, totals
        assert totals["wire"] < WIRE_LIMIT, totals
        assert not costs.errors, costs.errors
        assert not costs.outside, f"requests left 127.0.0.1: {costs.outside}"
        assert_nothing_internal(page.inner_text("body"), lake)
    finally:
        page.close()


def test_the_landing_page_lists_every_dashboard_and_opens_one(board, chromium, tmp_path):
    published, lake = board
    page, costs, _ = visit(chromium, published.index_url, tmp_path)
    try:
        assert page.locator("h1").inner_text() == "Team dashboards"
        cards = page.locator("li")
        assert cards.count() == 5
        text = page.inner_text("body")
        for title in ("Training runs", "Inference", "Lake health", "Federated learning",
                      "Operations"):
            assert title in text
        assert re.search(r"\d+ runs? · updated", text) and "12 measurements" in text
        assert "1 table" in text and "10 rounds" in text and "4 alerts" in text
        assert_nothing_internal(text, lake)
        assert not costs.errors and not costs.outside

        page.get_by_role("link", name="Inference").click()
        page.wait_for_url(re.compile(r"/voila/render/inference\.ipynb$"))
        page.locator(".js-plotly-plot .trace path").first.wait_for(timeout=PAGE_S * 1000)
        assert not costs.errors, costs.errors
    finally:
        page.close()


def test_a_trace_outside_the_cartesian_bundle_gets_the_full_one(chromium, tmp_path):
    """The dashboards' renderer draws with plotly.js's cartesian bundle; a figure with another
    trace type (here a waterfall) makes it fetch the full bundle, and both figures draw."""
    from test_publish import notebook

    nb = notebook(tmp_path / "mixed.ipynb", """
        import plotly.graph_objects as go
        from IPython.display import display
        display(go.Figure(go.Bar(y=[3, 1, 2]), layout={"title": {"text": "bars"}}))
        display(go.Figure(go.Waterfall(y=[5, -2, 4]), layout={"title": {"text": "waterfall"}}))
        """)
    published = wb.publish(nb, preheat=False)
    try:
        page, costs, state = visit(chromium, published.url, tmp_path)
        try:
            # The full bundle arrives after the first chart drew: wait for the second.
            page.locator(".js-plotly-plot .trace path").nth(0).wait_for()
            page.locator(".js-plotly-plot").nth(1).locator(".trace path").first.wait_for()
            assert state["first"] is not None
            titles = page.locator(".gtitle")
            assert [titles.nth(i).text_content() for i in range(titles.count())] == [
                "bars", "waterfall"]
            totals = costs.totals()
            assert totals["http_copies"] == 2, totals  # the cartesian bundle, then the full one
            assert not costs.errors and not costs.outside, (costs.errors, costs.outside)
        finally:
            page.close()
    finally:
        published.stop()


def test_the_training_dashboard_compares_runs_side_by_side(board, chromium, tmp_path):
    """"Compare with" goes to the kernel, which draws the runs' overlays: a line per run."""
    from playwright.sync_api import expect

    published, _ = board
    page, costs, _ = visit(chromium, f"{published.index_url}voila/render/training.ipynb",
                           tmp_path)
    try:
        page.get_by_label("Compare with").select_option(index=0)
        overlay = page.locator(".js-plotly-plot", has=page.locator(".gtitle",
                                                                   has_text="· 2 runs"))
        expect(overlay.first).to_be_visible(timeout=PAGE_S * 1000)
        expect(page.get_by_text("2 runs side by side")).to_be_visible()
        lines = overlay.first.locator(".scatterlayer .trace")
        expect(lines).to_have_count(2)
        assert not costs.errors, costs.errors
    finally:
        page.close()
