"""`job.monitor()` as a stakeholder sees it: a real Voila server, driven by Debian's Chromium.

A three-cell notebook defines a small training function, launches it on two gloo ranks and
displays `job.monitor()`. Voila runs it before the page connects, so what the page first shows
comes from the state the kernel hands over. The ranks start stepping only once the page shows
the monitor (the test creates a file they wait for), so every point then reaches the page live,
through the monitor's thread; and the kernel's websocket is routed through the test, which drops
the first message that carries the job's final status, as a page still connecting loses it
(ipywidgets listens to a widget only after it received its state): the monitor must send its
final state again. Asserted in the page: every chart drew each rank's lines through every step
(not empty axes), the progress bar reached the end, the status says succeeded, the Stop button
is disabled, the CPU "no GPU" state shows, the source code is stripped, and no JavaScript error
was logged (the one anywidget message `test_browser_lake` documents aside).

How it runs: `.venv/bin/pytest -m browser tests/test_browser_training.py` (the `dev` extra and
the system `chromium`; never `playwright install`). On failure a screenshot and the Voila log
are left under the test's tmp_path, named in the assertion message.
"""

from __future__ import annotations

import re

import pytest
from test_browser_lake import (  # noqa: F401  (browser_page is a fixture)
    BROWSER,
    KERNEL_MS,
    PAGE_MS,
    browser_page,
    voila_notebook,
)

pytestmark = [*BROWSER, pytest.mark.timeout(120)]

STEPS = 40
FULL_WIDTH = re.compile(r"width:\s*100%")
JOB_MS = 60_000  # workers start (torch imports on 2 busy cores), then STEPS steps
TRAIN = """\
import os
import time

import workbench as wb


def train(n_steps, go_file):
    import torch

    run = wb.train.current()
    deadline = time.monotonic() + 120  # the page is watching once this file exists
    while not os.path.exists(go_file) and time.monotonic() < deadline:
        time.sleep(0.05)
    model = torch.nn.Linear(4, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    for x in run.steps([torch.randn(8, 4) for _ in range(n_steps)]):
        loss = (model(x) - x.sum(dim=1, keepdim=True)).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        run.log(loss=loss.item(), lr=0.05)
        time.sleep(0.02)
"""
# Chart (a subplot of the monitor's one figure) -> the lines it must draw once the job ended.
CHARTS = {"throughput": ["rank 0", "rank 1", "total"], "step_time": ["p50", "p90", "p99"],
          "data_wait": ["rank 0", "rank 1"], "metric": ["rank 0", "rank 1"]}
# What the page's plotly figure holds and drew: per chart, its lines (name and number of
# points, from the figure's data) and how many line paths of more than a point it drew.
CHART_STATE = """() => {
    const gd = document.querySelector('.js-plotly-plot');
    const charts = {};
    for (const trace of (gd && gd.data) || []) {
        const chart = charts[trace.meta] = charts[trace.meta] || {lines: {}, drawn: 0};
        chart.lines[trace.name] = (trace.x || []).length;
        const subplot = (trace.xaxis || 'x') + (trace.yaxis || 'y');
        chart.drawn = Array.from(gd.querySelectorAll(
            `.subplot.${subplot} .scatterlayer path.js-line`))
            .filter(path => (path.getAttribute('d') || '').includes('L')).length;
    }
    return charts;
}"""


@pytest.fixture
def voila_url(tmp_path):
    """A standalone Voila server for the monitor notebook; killed at the end with its kernel
    and the job's workers (all descendants of the server)."""
    cells = [TRAIN, f"job = wb.launch(train, {STEPS}, {str(tmp_path / 'go')!r}, "
                    f"run_dir={str(tmp_path / 'run')!r}, runs_lake=None)", "job.monitor()"]
    with voila_notebook(cells, tmp_path, "training_monitor") as url:
        yield url


def test_the_training_monitor_renders_live_charts_in_voila(voila_url, browser_page,  # noqa: F811
                                                          tmp_path):
    page, errors, fetched = browser_page
    screenshot, log = tmp_path / "voila-page.png", tmp_path / "voila.log"
    page.add_init_script(LOSSY_WEBSOCKET)
    try:
        _watch(page, voila_url, tmp_path / "go")
        dropped = page.evaluate("window.__droppedFinal")
        assert len(dropped) == 1, "no message carried the final status over the websocket"
        assert not errors, f"the page logged JavaScript errors: {errors}"
        assert all(f.startswith("stylesheet ") for f in fetched), (
            f"the dashboard fetched more than stylesheets from outside its server: {fetched}")
    except Exception as exc:  # any failure: keep what the page showed, then fail
        page.screenshot(path=screenshot, full_page=True)
        raise AssertionError(f"screenshot: {screenshot}\nVoila log: {log}\n"
                             f"JavaScript errors: {errors}\n{exc}") from exc


# Installed in the page before its scripts run: the kernel connection's WebSocket drops the
# first message that carries the job's final status (not the state reply the page asked for).
LOSSY_WEBSOCKET = """(() => {
    const Native = window.WebSocket;
    window.__droppedFinal = [];
    const text = data => typeof data === 'string' ? data : new TextDecoder().decode(data);
    class LossyWebSocket extends Native {
        set onmessage(handler) {
            super.onmessage = event => {
                const body = this.url.includes('/channels') ? text(event.data) : '';
                if (window.__droppedFinal.length === 0 && body.includes('succeeded')
                        && !body.includes('update_states')) {
                    window.__droppedFinal.push(body.length);
                    return;
                }
                return handler.call(this, event);
            };
        }
        get onmessage() { return super.onmessage; }
    }
    window.WebSocket = LossyWebSocket;
})()"""


def _watch(page, url: str, go_file) -> None:
    from playwright.sync_api import expect

    page.goto(url)
    expect(page.get_by_text("Training train")).to_be_visible(timeout=PAGE_MS)
    expect(page.get_by_text("running", exact=True)).to_be_visible()
    assert "wb.launch" not in page.content(), "--strip_sources left the code visible"
    go_file.touch()  # the page shows the monitor: the ranks may start

    # The job runs to its end while the page watches (its workers exit a moment after their
    # last step): the status, the label, the bar, the button.
    expect(page.get_by_text("succeeded", exact=True)).to_be_visible(timeout=JOB_MS)
    expect(page.get_by_text(f"{STEPS} / {STEPS} steps (100%)")).to_be_visible()
    bar = page.locator(".widget-hprogress .progress-bar")
    expect(bar).to_have_count(1)
    expect(bar).to_have_attribute("style", FULL_WIDTH)
    expect(page.get_by_role("button", name="Stop")).to_be_disabled()
    expect(page.get_by_text("No GPU: this job runs on CPU")).to_be_visible()
    expect(page.locator("table.workbench-summary")).to_have_count(1)  # the widget, no fallback
    expect(page.locator("table.workbench-summary")).to_contain_text("samples_per_s")

    # Every chart drew each of its lines through all the steps.
    expect(page.locator(".js-plotly-plot")).to_have_count(1, timeout=PAGE_MS)
    drawn: dict = {}
    for _ in range(50):  # plotly draws after the last update arrives: give it a moment
        drawn = page.evaluate(CHART_STATE)
        if _complete(drawn, CHARTS):
            break
        page.wait_for_timeout(200)
    else:
        raise AssertionError(f"the charts did not draw every rank's {STEPS} steps: {drawn}")

    # Every logged metric is a pick away; the kernel redraws its chart.
    titles = page.locator(".js-plotly-plot .annotation-text")
    expect(titles.filter(has_text=re.compile("^loss$"))).to_have_count(1)
    page.get_by_label("Metric").select_option("lr")
    expect(titles.filter(has_text=re.compile("^lr$"))).to_have_count(1, timeout=KERNEL_MS)
    lr = "() => document.querySelector('.js-plotly-plot').data.filter(t => t.meta == 'metric')" \
         ".map(t => Array.from(t.y).every(y => y === 0.05) && t.y.length)"
    for _ in range(50):
        if page.evaluate(lr) == [STEPS, STEPS]:
            return
        page.wait_for_timeout(200)
    raise AssertionError(f"the lr chart did not draw: {page.evaluate(lr)}")


def _complete(drawn: dict, charts: dict[str, list[str]]) -> bool:
    """Whether each of `charts` (chart -> line names) holds exactly those lines, each with
    every step, and drew a path through points for each."""
    for chart, names in charts.items():
        found = drawn.get(chart, {"lines": {}, "drawn": 0})
        if found["lines"] != dict.fromkeys(names, STEPS) or found["drawn"] < len(names):
            return False
    return True
