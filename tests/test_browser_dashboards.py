"""The shipped dashboards as a stakeholder sees them: `wb.publish` serves each notebook of
`notebooks/dashboards/` with a real Voila server, on a lake the test built, and Debian's Chromium
(driven by Playwright) opens it. The charts must be drawn with data, the run picker must redraw
the training charts through the kernel, an absent lake must show what to run, the static HTML
export must draw its charts offline, and no page may log a JavaScript error.

How it runs: `make test`, or `.venv/bin/pytest -m browser tests/test_browser_dashboards.py`. It
needs the system `chromium` (never a downloaded browser). On failure the page's screenshot and
the Voila server's log are left under the test's tmp_path, and the assertion names both.
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from dashboard_lake import build_results_lake
from test_browser_lake import BROWSER, CHROMIUM, CHROMIUM_ARGS, _expect_bars, on_page_error

import workbench as wb

pytestmark = BROWSER

DASHBOARDS = Path(__file__).parent.parent / "notebooks" / "dashboards"
# Generous, since every wait ends as soon as its condition holds: on a loaded 2-core machine the
# first render (a kernel starts, runs the notebook, then each chart's state, plotly's 5 MB bundle
# included, reaches the page) and a picker's redraw (new charts built in the kernel) are slow.
PAGE_MS = 90_000
REDRAW_MS = 60_000


@pytest.fixture(scope="module")
def results_lake(tmp_path_factory) -> Path:
    return build_results_lake(tmp_path_factory.mktemp("results") / "lake")


@pytest.fixture
def browser(tmp_path) -> Iterator[tuple[Callable, list[str], list[str]]]:
    """``(new_page, errors, fetched)``: pages of one headless Chromium that record the
    JavaScript errors they log and the requests they make outside 127.0.0.1 (stylesheets are
    answered empty, as in test_browser_lake: Voila's template links Font Awesome from a CDN;
    anything else is refused)."""
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    fetched: list[str] = []

    def outside(route):
        fetched.append(f"{route.request.resource_type} {route.request.url}")
        if route.request.resource_type == "stylesheet":
            route.fulfill(status=200, content_type="text/css", body="")
        else:
            route.abort()

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                      args=CHROMIUM_ARGS)

        def new_page():
            page = chromium.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(PAGE_MS)
            page.route(lambda url: not url.startswith(("http://127.0.0.1:", "file://")),
                       outside)
            page.on("pageerror", lambda exc: on_page_error(exc, errors))
            page.on("console", lambda msg: errors.append(f"console.error: {msg.text}")
                    if msg.type == "error" else None)
            return page

        try:
            yield new_page, errors, fetched
        finally:
            chromium.close()


@contextmanager
def published(notebook: str, lake: Path, page, tmp_path: Path, errors: list[str],
              fetched: list[str], preheat: bool = True) -> Iterator[wb.Dashboard]:
    """Publish ``notebook`` on ``lake``, yield its Dashboard, then check the page logged no
    error; on any failure keep a screenshot and the server's log. The page is closed and the
    server stopped in any case."""
    dashboard = wb.publish(DASHBOARDS / notebook, lake=lake, preheat=preheat)
    shot, log = tmp_path / f"{Path(notebook).stem}.png", tmp_path / f"{Path(notebook).stem}.log"
    try:
        yield dashboard
        assert not errors, f"the page logged JavaScript errors: {errors}"
        assert all(f.startswith("stylesheet ") for f in fetched), (
            f"the dashboard fetched more than stylesheets from outside its server: {fetched}")
    except Exception as exc:  # any failure: keep what the page showed and the log, then fail
        page.screenshot(path=shot, full_page=True)
        shutil.copyfile(dashboard.log_path, log)
        raise AssertionError(f"screenshot: {shot}\nVoila log: {log}\n"
                             f"JavaScript errors: {errors}\n{exc}") from exc
    finally:
        page.close()  # first: a page left open would log its reconnection attempts
        dashboard.stop()


def charts(page):
    return page.locator(".js-plotly-plot:visible")


def titles(page):
    """The titles of the visible charts, in page order."""
    return charts(page).locator(".gtitle")


def expect_lines(chart, traces: int, points: int) -> None:
    """Wait until ``chart`` draws ``traces`` line traces of at least ``points`` vertices each
    (plotly drops collinear points, so a line has at most as many vertices as values)."""
    lines = chart.locator(".scatterlayer .trace .js-line")
    deadline = time.monotonic() + REDRAW_MS / 1000
    while True:
        paths = [lines.nth(i).get_attribute("d") or "" for i in range(lines.count())]
        vertices = [len(re.findall(r"[ML]", d)) for d in paths]
        if len(vertices) == traces and min(vertices) >= points:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"expected {traces} lines of >= {points} points, found "
                                 f"{vertices}")
        time.sleep(0.2)


def test_training_dashboard_and_its_run_picker(results_lake, browser, tmp_path):
    from playwright.sync_api import expect

    new_page, errors, fetched = browser
    page = new_page()
    with published("training.ipynb", results_lake, page, tmp_path, errors, fetched) as d:
        page.goto(d.url)
        expect(charts(page)).to_have_count(4, timeout=PAGE_MS)
        expect(titles(page)).to_have_text(["Throughput · mlp-wide", "Step time · mlp-wide",
                                           "Data-wait share · mlp-wide", "loss · mlp-wide"],
                                          timeout=REDRAW_MS)
        throughput, step_time, data_wait, loss = (charts(page).nth(i) for i in range(4))
        expect_lines(throughput, traces=3, points=20)  # total, rank 0, rank 1
        expect_lines(step_time, traces=3, points=20)  # p50, p90, p99
        expect_lines(data_wait, traces=1, points=20)
        expect_lines(loss, traces=2, points=20)  # a line per rank
        expect(page.get_by_text("2 runs (1 succeeded, 1 failed)")).to_be_visible()
        assert "import workbench" not in page.content(), "the sources are visible"

        # The run picker goes to the kernel, which swaps in the other run's charts.
        page.get_by_label("Run").select_option(index=1)
        expect(throughput.locator(".gtitle")).to_have_text("Throughput · mlp-narrow",
                                                           timeout=REDRAW_MS)
        expect_lines(charts(page).nth(0), traces=1, points=20)  # one rank: the total only
        expect(charts(page).nth(3).locator(".gtitle")).to_have_text("loss · mlp-narrow",
                                                                     timeout=REDRAW_MS)
        expect_lines(charts(page).nth(3), traces=1, points=20)
        expect(page.get_by_text("RuntimeError: loss is NaN")).to_be_visible(timeout=REDRAW_MS)
        expect(page.locator("table.workbench-runs tbody tr")).to_have_count(2)


def test_inference_dashboard_and_its_model_picker(results_lake, browser, tmp_path):
    from playwright.sync_api import expect

    new_page, errors, fetched = browser
    page = new_page()
    with published("inference.ipynb", results_lake, page, tmp_path, errors, fetched) as d:
        page.goto(d.url)
        expect(charts(page)).to_have_count(6, timeout=PAGE_MS)
        expect(titles(page)).to_have_text([
            "Latency percentiles", "Latency CDF", "Throughput against tail latency",
            "Speed-up of each engine over eager",
            "demo-mlp: each variant and engine, offline at batch size 8",
            "Latency against the offered load"], timeout=REDRAW_MS)
        percentiles, cdf, tradeoff, engines, compression, served = (
            charts(page).nth(i) for i in range(6))
        _expect_bars(percentiles, 48)  # 12 configurations x p50/p90/p95/p99
        expect_lines(cdf, traces=12, points=15)
        expect(tradeoff.locator(".scatterlayer .trace")).to_have_count(8, timeout=REDRAW_MS)
        _expect_bars(engines, 5)  # fp32 on 3 engines, int8 and pruned on eager
        _expect_bars(compression, 20)  # 5 variant-engines x size, latency, throughput, accuracy
        expect(compression.locator(".annotation-text")).to_have_text(
            ["size (MB)", "p50 latency (ms)", "samples/s", "accuracy"], timeout=REDRAW_MS)
        expect(served.locator(".scatterlayer .trace")).to_have_count(3, timeout=REDRAW_MS)
        expect(page.get_by_text("Fastest:")).to_be_visible(timeout=REDRAW_MS)

        page.get_by_label("Model").select_option("tiny-transformer")
        expect(page.get_by_text("No engine comparison for this selection yet")
               ).to_be_visible(timeout=REDRAW_MS)
        expect(page.get_by_text("No served endpoint measured under load")).to_be_visible()
        expect(charts(page)).to_have_count(3, timeout=REDRAW_MS)
        expect_lines(charts(page).nth(1), traces=1, points=20)


def test_lake_health_dashboard_and_an_absent_lake(results_lake, browser, tmp_path):
    from playwright.sync_api import expect

    new_page, errors, fetched = browser
    page = new_page()
    with published("lake_health.ipynb", results_lake, page, tmp_path, errors, fetched) as d:
        page.goto(d.url)
        # The results tables (_runs, _run_metrics, _bench) are internal: only `scores` shows.
        expect(page.get_by_text("1 table · 4 rows")).to_be_visible(timeout=PAGE_MS)
        expect(charts(page)).to_have_count(2, timeout=PAGE_MS)
        expect(titles(page)).to_have_text(["Rows per table", "Versions"], timeout=REDRAW_MS)
        _expect_bars(charts(page).nth(0), 1)
        expect(charts(page).nth(1).locator(".scatterlayer .point")).to_have_count(
            2, timeout=REDRAW_MS)  # scores' two versions
        expect(page.get_by_text("No rows quarantined in any table")).to_be_visible()
        expect(page.locator(".widget-select select option")).to_have_count(1)  # the browser
        for internal in ("_bench", "_runs", str(results_lake)):
            assert internal not in page.locator("body").inner_text()

    empty = new_page()
    missing = tmp_path / "no-lake-here"
    with published("training.ipynb", missing, empty, tmp_path, errors, fetched) as d:
        empty.goto(d.url)
        expect(empty.get_by_text("There is no lake no-lake-here yet.")).to_be_visible(
            timeout=PAGE_MS)
        assert str(missing) not in empty.locator("body").inner_text()  # no server path
        expect(empty.get_by_text("wb.launch(train)")).to_be_visible()
        expect(empty.get_by_text("make demo")).to_be_visible()
        assert charts(empty).count() == 0


def test_exported_snapshot_draws_its_charts_offline(results_lake, browser, tmp_path):
    from playwright.sync_api import expect

    out = wb.export_html([wb.widgets.TrainingRuns(results_lake),
                          wb.widgets.InferenceResults(results_lake)], tmp_path / "snap.html")
    new_page, errors, fetched = browser
    page = new_page()
    page.goto(out.as_uri())
    expect(charts(page)).to_have_count(10)  # training 4; inference 6 (engines, served)
    expect_lines(charts(page).nth(0), traces=3, points=20)
    _expect_bars(charts(page).nth(4), 24)
    # The CDFs: one per configuration (12 in the lake: engines and served loads included);
    # plotly drops collinear vertices, so a short line may keep fewer than 20.
    expect_lines(charts(page).nth(5), traces=12, points=15)
    assert not fetched, f"the snapshot fetched {fetched}"
    assert not errors, f"the snapshot logged JavaScript errors: {errors}"
