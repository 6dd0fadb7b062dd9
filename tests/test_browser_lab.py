"""The Workbench sidebar as an analyst sees it: a real `jupyter lab` (the server extension
enabled), driven by Debian's Chromium through Playwright.

One JupyterLab over a test lake (two tables, one with quarantined rows), the tests' Dask cluster,
a live training run (2 gloo ranks that step until stopped) and a published dashboard. The page
must show each of them in the sidebar, with the step count of the live run rising; "Ingest into
lake..." on a CSV in the file browser must create the table and show its report; Stop must end
the live run within 10 s; "Publish as dashboard" on an open notebook must serve it; the status
bar must show CPU and memory; the page must log no JavaScript error. On failure a screenshot
and the server's log are kept under the test's tmp_path, and the message names both.

How it runs: `make test`, or `.venv/bin/pytest -m browser tests/test_browser_lab.py`. It needs
the installed labextension (the package's install builds it) and the system `chromium`; it never
downloads a browser.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from test_browser_lake import BROWSER, CHROMIUM, CHROMIUM_ARGS

import workbench as wb

pytestmark = BROWSER

PAGE_MS = 90_000  # JupyterLab's first load on 2 busy cores
STEP_MS = 30_000
STOP_S = 10.0

PEOPLE = """id,name,email,age
1,ann,ann@example.com,31
2,bob,bob@example.com,42
3,cid,cid@example.com,27
4,dan,dan@example.com,55,extra
5,eve,eve@example.com,23
"""
SCORES = "player,points\n" + "".join(f"p{i},{i * 3 % 17}\n" for i in range(20))
SALES = "order_id,region,amount\n" + "".join(f"{i},{'NSEW'[i % 4]},{i * 1.5}\n"
                                             for i in range(1, 31))


def train_until_stopped():
    """Steps (slowly, so a person could watch) until the run is asked to stop."""
    import torch

    run = wb.train.current()
    model = torch.nn.Linear(4, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)

    def batches():
        while not run.should_stop():
            yield torch.randn(16, 4)
            time.sleep(0.05)

    for x in run.steps(batches()):
        loss = model(x).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        run.log(loss=loss.item())


@pytest.fixture
def lab_root(tmp_path, registered, pii_key):
    """The server's root: a CSV to ingest and a notebook to publish; and the lake (two
    tables) that WORKBENCH_LAKE names for the server."""
    import nbformat

    root = tmp_path / "root"
    root.mkdir()
    (root / "sales.csv").write_text(SALES)
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {
        "name": "python3", "display_name": "Python 3", "language": "python"}})
    nb.cells = [nbformat.v4.new_markdown_cell("# Sales report"),
                nbformat.v4.new_code_cell("print('sales by region')")]
    nbformat.write(nb, root / "report.ipynb")
    src = tmp_path / "sources"
    src.mkdir()
    (src / "people.csv").write_text(PEOPLE)
    (src / "scores.csv").write_text(SCORES)
    lake = wb.Lake(tmp_path / "lake")
    lake.ingest(src / "people.csv", "people", pii=["email"], progress=False)
    lake.ingest(src / "scores.csv", "scores", progress=False)
    return root, lake


@pytest.fixture
def lab(lab_root, tmp_path):
    from workbench.server.lab import LabServer

    root, lake = lab_root
    # Workspaces and settings of its own: JupyterLab restores the last layout from them.
    fresh = (f"--LabApp.workspaces_dir={tmp_path / 'workspaces'}",
             f"--LabApp.user_settings_dir={tmp_path / 'settings'}")
    with LabServer(root, lake=lake.uri, log_path=tmp_path / "lab.log",
                   extra_args=fresh) as server:
        yield server, lake


@pytest.fixture
def live_job(tmp_path):
    job = wb.launch(train_until_stopped, nprocs=2, runs_lake=None)
    yield job
    job.stop(grace=5)


@pytest.fixture
def dashboard(tmp_path):
    import nbformat

    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {
        "name": "python3", "display_name": "Python 3", "language": "python"}})
    nb.cells = [nbformat.v4.new_markdown_cell("# Lake health")]
    path = tmp_path / "health.ipynb"
    nbformat.write(nb, path)
    with wb.publish(path, name="health") as d:
        yield d


def test_the_sidebar_shows_everything_and_runs_the_path_without_code(lab, live_job, dashboard,
                                                                     tmp_path):
    from playwright.sync_api import sync_playwright

    server, lake = lab
    errors: list[str] = []
    screenshot = tmp_path / "lab-page.png"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        page = context.new_page()
        page.set_default_timeout(PAGE_MS)
        page.on("pageerror", lambda exc: errors.append(f"uncaught: {exc}"))
        page.on("console", lambda msg: errors.append(f"console.error: {msg.text}")
                if msg.type == "error" else None)
        try:
            _walk_through(page, context, server, lake, live_job, dashboard)
            assert not errors, f"the page logged JavaScript errors: {errors}"
        except Exception as exc:  # any failure: keep what the page showed, then fail
            page.screenshot(path=screenshot, full_page=True)
            raise AssertionError(f"screenshot: {screenshot}\nserver log: {server.log_path}\n"
                                 f"JavaScript errors: {errors}\n{exc}") from exc
        finally:
            browser.close()


def _walk_through(page, context, server, lake, job, dashboard) -> None:
    from playwright.sync_api import expect

    page.goto(server.url)
    page.locator('.lm-TabBar-tab[data-id="workbench-sidebar"]').click()
    sidebar = page.locator(".wb-sidebar")
    expect(sidebar).to_be_visible()

    # Lake: both tables with their row counts; people has a quarantined row.
    tables = sidebar.locator(".wb-section-lake .wb-table-row")
    expect(tables.filter(has_text="people")).to_contain_text("4 rows")
    expect(tables.filter(has_text="scores")).to_contain_text("20 rows")

    # Clusters: the tests' cluster, by its address.
    expect(sidebar.locator(".wb-section-clusters")).to_contain_text(
        wb.clusters()["address"].iloc[0].removeprefix("tcp://"))

    # Runs: the live one, its step count rising.
    run_row = sidebar.locator(".wb-run-row").filter(has_text="train_until_stopped")
    expect(run_row).to_contain_text("running")
    first = _steps(run_row)
    deadline = time.monotonic() + STEP_MS / 1000
    while _steps(run_row) <= first:
        assert time.monotonic() < deadline, f"the live run's step count stayed at {first}"
        time.sleep(0.5)

    # Dashboards: the published one.
    expect(sidebar.locator(".wb-section-dashboards")).to_contain_text("health")

    # Status bar: CPU and memory from the server's shared sampler.
    status = page.locator(".wb-status-item")
    expect(status).to_contain_text(re.compile(r"CPU", re.I))
    expect(status).to_contain_text(re.compile(r"(Mem|GB|MB)", re.I))

    # Ingest into lake: right-click the CSV in the file browser.
    page.locator('.jp-SideBar .lm-TabBar-tab[data-id="filebrowser"]').click()
    page.locator(".jp-DirListing-item", has_text="sales.csv").click(button="right")
    page.locator(".lm-Menu-item", has_text="Ingest into lake").click()
    dialog = page.locator(".jp-Dialog")
    expect(dialog.locator(".wb-ingest-table")).to_have_value("sales")
    dialog.locator(".jp-Dialog-button", has_text="Ingest").click()
    report = page.locator(".jp-Notification-Toast-success, .Toastify__toast--success",
                          has_text="30")
    expect(report.first).to_be_visible(timeout=120_000)
    assert lake.table("sales").to_pandas()["order_id"].tolist() == list(range(1, 31))
    page.locator('.lm-TabBar-tab[data-id="workbench-sidebar"]').click()
    expect(sidebar.locator(".wb-section-lake .wb-table-row").filter(has_text="sales")
           ).to_contain_text("30 rows")

    # Stop the live run from the sidebar: it ends within 10 s.
    stop = run_row.locator(".wb-run-stop")
    stop.click()
    confirm = page.locator(".jp-Dialog .jp-Dialog-button.jp-mod-accept")
    if confirm.count():
        confirm.click()
    deadline = time.monotonic() + STOP_S
    while job.status == "running":
        assert time.monotonic() < deadline, "the run did not stop within 10 s of Stop"
        time.sleep(0.2)
    assert job.status == "stopped"
    expect(run_row).to_contain_text("stopped", timeout=15_000)

    # Publish as dashboard: open the notebook, click its toolbar button, a tab opens on it.
    page.locator('.jp-SideBar .lm-TabBar-tab[data-id="filebrowser"]').click()
    page.locator(".jp-DirListing-item", has_text="report.ipynb").dblclick()
    button = page.locator('.jp-NotebookPanel-toolbar [data-jp-item-name="workbench-publish"]')
    with context.expect_page(timeout=120_000) as opened:
        button.click()
    published = opened.value
    published.wait_for_load_state()
    expect(published.locator("body")).to_contain_text("Sales report", timeout=120_000)
    assert "report" in set(wb.dashboards()["name"])
    page.locator('.lm-TabBar-tab[data-id="workbench-sidebar"]').click()
    expect(sidebar.locator(".wb-section-dashboards")).to_contain_text("report")


def _steps(row) -> int:
    found = re.search(r"([\d,]+) steps?", row.inner_text())
    return int(found[1].replace(",", "")) if found else 0


def test_lab_server_stops_with_its_kernels(tmp_path):
    """The helper the demo and these tests use leaves nothing behind."""
    import psutil

    from workbench.server.lab import LabServer

    root = tmp_path / "root"
    root.mkdir()
    with LabServer(root, log_path=tmp_path / "lab.log") as server:
        pid = server.process.pid
        assert psutil.pid_exists(pid)
        assert server.url.startswith(server.base) and f"token={server.token}" in server.url
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert Path(tmp_path / "lab.log").exists()


def test_without_its_server_half_the_sidebar_says_so_once(tmp_path):
    """A JupyterLab whose server extension is off: the sidebar shows one clear message and
    nothing is thrown; the browser's own notes of the probe's 404s are the only console
    errors."""
    from playwright.sync_api import expect, sync_playwright

    from workbench.server.lab import LabServer

    root = tmp_path / "root"
    root.mkdir()
    fresh = (f"--LabApp.workspaces_dir={tmp_path / 'workspaces'}",
           f"--LabApp.user_settings_dir={tmp_path / 'settings'}")
    uncaught: list[str] = []
    console: list[str] = []
    with LabServer(root, log_path=tmp_path / "lab.log", extra_args=fresh,
                   workbench=False) as server, \
            sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 800})
            page.set_default_timeout(PAGE_MS)
            page.on("pageerror", lambda exc: uncaught.append(str(exc)))
            page.on("console", lambda msg: console.append(msg.text)
                    if msg.type == "error" else None)
            page.goto(server.url)
            page.locator('.lm-TabBar-tab[data-id="workbench-sidebar"]').click()
            missing = page.locator(".wb-sidebar .wb-missing")
            expect(missing).to_contain_text("server extension is not enabled")
            expect(missing).to_contain_text("jupyter server extension enable workbench.server")
            expect(page.locator(".wb-sidebar .wb-section-error")).to_have_count(0)
            time.sleep(3)  # the sections stand by: no request storm, no error per section
        finally:
            browser.close()
    assert not uncaught, f"the page threw: {uncaught}"
    assert all("404" in text for text in console), console
    assert len(console) <= 2, f"more than the start-up probe's 404s: {console}"
    probes = re.findall(r"404 GET /workbench/api/\S+", server.log)
    assert 1 <= len(probes) <= 2, f"the sidebar asked the missing API {len(probes)} times"


def test_in_notebook_7_the_sidebar_opens_from_the_view_menu(lab_root, tmp_path):
    """Notebook 7 has no side bar of icons: its View menu lists the side panels. The sidebar
    opens there beside a notebook and lists the lake, and the notebook's toolbar has Publish;
    nothing of the extension throws (Notebook 7 itself logs errors of its own here, which are
    left out by where they come from)."""
    from playwright.sync_api import expect, sync_playwright

    from workbench.server.lab import LabServer

    root, lake = lab_root
    fresh = (f"--JupyterNotebookApp.workspaces_dir={tmp_path / 'workspaces'}",
             f"--JupyterNotebookApp.user_settings_dir={tmp_path / 'settings'}")
    ours: list[str] = []

    def on_error(text: str) -> None:
        if "workbench" in text:
            ours.append(text)

    with LabServer(root, lake=lake.uri, log_path=tmp_path / "notebook.log", extra_args=fresh,
                   app="notebook") as server, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1300, "height": 800})
            page.set_default_timeout(PAGE_MS)
            page.on("pageerror", lambda exc: on_error(f"{exc} {exc.stack}"))
            page.on("console", lambda msg: on_error(msg.text) if msg.type == "error" else None)
            page.goto(f"{server.base}notebooks/report.ipynb?token={server.token}")
            expect(page.locator('[data-jp-item-name="workbench-publish"]')).to_be_visible()
            page.keyboard.press("Escape")  # the kernel picker, if it asks
            page.locator(".lm-MenuBar-itemLabel", has_text="View").click()
            page.locator(".lm-Menu-item", has_text="Left Sidebar").first.hover()
            page.locator(".lm-Menu").last.locator(".lm-Menu-item",
                                                  has_text="Show Workbench").click()
            tables = page.locator(".wb-sidebar .wb-section-lake .wb-table-row")
            expect(tables.filter(has_text="scores")).to_contain_text("20 rows")
            expect(page.locator(".lm-MenuBar-itemLabel", has_text="Workbench")).to_be_visible()
        except Exception as exc:
            page.screenshot(path=tmp_path / "notebook-page.png", full_page=True)
            raise AssertionError(f"screenshot: {tmp_path / 'notebook-page.png'}\nserver log: "
                                 f"{server.log_path}\n{exc}") from exc
        finally:
            browser.close()
    assert not ours, f"the extension logged errors in Notebook 7: {ours}"
