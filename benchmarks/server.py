"""Sidebar refresh cost: what the Workbench server extension pays to keep the sidebar current.

Usage: ``.venv/bin/python benchmarks/server.py [--tables 200] [--runs 100] [--requests 300]
[--tabs 5] [--idle 60]``

One JupyterLab (`workbench.server.lab.LabServer`, the Workbench server extension enabled) over a
fresh lake of ``--tables`` small Delta tables and ``--runs`` training run directories (one real
`wb.launch` run on 2 CPU ranks, copied; each copy is a finished run with its own id), measured
from this process over loopback with the server's token:

(a) Listing latency: ``GET workbench/api/tables`` and ``GET workbench/api/runs``, ``--requests``
    each after one warm-up, p50 and p99 (targets: p99 < 100 ms). The baselines, in the same
    run: the same listings computed without the server's cache (``Lake.tables()`` and a
    cold ``wb.runs()``, in this process), and the Jupyter server's own ``GET api/status``,
    the floor of any authenticated request.
(b) Idle cost: ``--tabs`` Chromium tabs (Debian's, driven by Playwright) open JupyterLab with
    the Workbench sidebar showing and sit idle for ``--idle`` seconds: the server's CPU over
    that time as a share of one core (target < 1%), and its thread count with one tab and with
    all of them (one resource sampler however many tabs: the count must not grow). Three
    cases: every tab in front (headless Chromium shows every page as visible: tabs in windows
    of their own, the worst case); one window, where every tab but one is behind it (emulated
    by reporting the page hidden, which is what a background tab reports); and, as the floor,
    the same tabs on a JupyterLab whose workbench server extension is off.
    jupyterlab-nvdashboard polls NVML once per chart per tab over a websocket of its own; it
    has nothing to poll without a GPU, so it is not measured on a CPU machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

TARGET_P99_MS = 100.0
TARGET_IDLE_CPU = 0.01  # of one core
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    return f"{cpu}, {os.cpu_count()} cores, Python {sys.version.split()[0]}"


def make_lake(path: Path, tables: int) -> None:
    """``tables`` Delta tables of 100 rows each, written with the lake's own results writer."""
    import pandas as pd

    import workbench as wb

    lake = wb.Lake(path)
    frame = pd.DataFrame({"id": range(100), "value": [i * 0.5 for i in range(100)],
                          "name": [f"row {i}" for i in range(100)]})
    for i in range(tables):
        lake.record(f"table_{i:03d}", frame)


def train(steps: int = 40) -> float:
    """A tiny real training loop: what a run directory holds after `wb.launch`."""
    import torch

    import workbench as wb

    run = wb.train.current()
    model = torch.nn.Linear(4, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    batches = [(torch.randn(32, 4), torch.randn(32, 1)) for _ in range(steps)]
    loss = torch.zeros(())
    for x, y in run.steps(batches):
        loss = torch.nn.functional.mse_loss(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        run.log(loss=loss.item())
    return loss.item()


def make_runs(root: Path, count: int) -> None:
    """One real run, then ``count - 1`` copies of its directory, each a run of its own id."""
    import workbench as wb

    first = root / "run-000"
    job = wb.launch(train, nprocs=2, run_dir=first, runs_lake=None)
    job.wait(timeout=300)
    for i in range(1, count):
        copy = root / f"run-{i:03d}"
        shutil.copytree(first, copy)
        info = json.loads((copy / "job.json").read_text())
        info.update(run_id=copy.name, run_dir=str(copy), started=info["started"] + i)
        (copy / "job.json").write_text(json.dumps(info))


def get(url: str, token: str) -> float:
    """Seconds for one authenticated GET, the body read and parsed."""
    request = urllib.request.Request(url, headers={"Authorization": f"token {token}"})
    start = time.perf_counter()
    with urllib.request.urlopen(request, timeout=30) as response:
        json.load(response)
    return time.perf_counter() - start


def percentiles(seconds: list[float]) -> tuple[float, float]:
    ms = sorted(s * 1000 for s in seconds)
    return statistics.median(ms), ms[min(len(ms) - 1, round(0.99 * (len(ms) - 1)))]


def timed(fn, repeat: int = 5) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


# What a browser tab behind another one reports (headless Chromium shows every page as
# visible): JupyterLab's polls stand by while their page is hidden.
BACKGROUND_TAB = """
Object.defineProperty(document, 'visibilityState', {get: () => 'hidden'});
Object.defineProperty(document, 'hidden', {get: () => true});
"""


IN_FRONT = "all in front (windows of their own)"
BEHIND = "one window (one tab in front)"
FLOOR = "all in front, workbench server extension off (JupyterLab's floor)"


def idle_cost(lab, tabs: int, idle: float, *, background: bool, sidebar: bool = True
              ) -> tuple[float, int, int]:
    """(server CPU share of one core over ``idle`` s with ``tabs`` tabs on the sidebar, its
    threads with one tab, its threads with all tabs). ``background``: every tab but the first
    is behind it, as tabs of one browser window are; else all are in front (tabs in windows of
    their own, the worst case)."""
    import psutil
    from playwright.sync_api import sync_playwright

    server = psutil.Process(lab.process.pid)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)
        pages = []
        threads_one = 0
        for i in range(tabs):
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            if background and i > 0:
                page.add_init_script(BACKGROUND_TAB)
            # A workspace per tab: a shared one would restore the sidebar the first tab opened,
            # and the click below would close it.
            page.goto(lab.url.replace("/lab?", f"/lab/workspaces/tab{i}?"))
            page.locator('.lm-TabBar-tab[data-id="workbench-sidebar"]').click(timeout=120_000)
            shown = ".wb-section-lake .wb-table-row"
            if not sidebar:
                shown = ".wb-sidebar .wb-missing"
            elif background and i > 0:
                shown = ".wb-sidebar"
            page.locator(shown).first.wait_for(timeout=120_000, state="attached")
            pages.append(page)
            if i == 0:
                time.sleep(3)
                threads_one = server.num_threads()
        time.sleep(5)  # the pages' first requests settle
        threads_all = server.num_threads()
        before = server.cpu_times()
        start = time.monotonic()
        time.sleep(idle)
        after = server.cpu_times()
        elapsed = time.monotonic() - start
        browser.close()
    used = (after.user - before.user) + (after.system - before.system)
    return used / elapsed, threads_one, threads_all


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tables", type=int, default=200)
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--tabs", type=int, default=5)
    parser.add_argument("--idle", type=float, default=60.0)
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="wb-bench-server-"))
    os.environ["WORKBENCH_HOME"] = str(work / "home")
    lake_dir = work / "lake"
    os.environ["WORKBENCH_LAKE"] = str(lake_dir)
    import workbench as wb
    from workbench.server.lab import LabServer

    print(f"machine: {machine()}")
    t0 = time.perf_counter()
    make_lake(lake_dir, args.tables)
    make_runs(work / "home" / "runs", args.runs)
    print(f"setup: {args.tables} tables and {args.runs} runs in {time.perf_counter() - t0:.0f} s")

    uncached_tables = timed(lambda: wb.Lake(lake_dir).tables(), repeat=3)
    cold_runs_s = timed(wb.runs, repeat=1)  # this process's first listing: nothing cached

    root = work / "root"
    root.mkdir()
    fresh = (f"--LabApp.workspaces_dir={work / 'workspaces'}",  # no layout restored
             f"--LabApp.user_settings_dir={work / 'settings'}")
    with LabServer(root, lake=str(lake_dir), log_path=work / "lab.log",
                   extra_args=fresh) as lab:
        api = f"{lab.base}workbench/api/"
        results = {}
        for name, url in (("GET tables", f"{api}tables"), ("GET runs", f"{api}runs"),
                          ("GET api/status (floor)", f"{lab.base}api/status")):
            get(url, lab.token)
            results[name] = percentiles([get(url, lab.token) for _ in range(args.requests)])
        rows = json.load(urllib.request.urlopen(urllib.request.Request(
            f"{api}tables", headers={"Authorization": f"token {lab.token}"})))
        listed = sum(len(lake["tables"]) for lake in rows["lakes"])
        assert listed == args.tables, f"the server listed {listed} tables, not {args.tables}"
        idle = {where: idle_cost(lab, args.tabs, args.idle, background=where == BEHIND)
                for where in (IN_FRONT, BEHIND)}
    # The floor: the same JupyterLab with the workbench server extension off (its front-end
    # then only asks once in a while whether it has come back).
    with LabServer(root, lake=str(lake_dir), log_path=work / "lab-off.log",
                   extra_args=fresh, workbench=False) as lab:
        idle[FLOOR] = idle_cost(lab, args.tabs, args.idle, background=False, sidebar=False)

    print()
    print("| request | p50 ms | p99 ms | target | uncached baseline |")
    print("|---|---:|---:|---|---:|")
    baselines = {"GET tables": f"{uncached_tables * 1000:.0f} ms (`Lake.tables()`)",
                 "GET runs": f"{cold_runs_s * 1000:.0f} ms (cold `wb.runs()`)",
                 "GET api/status (floor)": ""}
    for name, (p50, p99) in results.items():
        target = "" if "floor" in name else (
            f"p99 < {TARGET_P99_MS:.0f} ms: {'met' if p99 < TARGET_P99_MS else 'MISSED'}")
        print(f"| {name} | {p50:.1f} | {p99:.1f} | {target} | {baselines[name]} |")
    print()
    print(f"| {args.tabs} tabs idle on the sidebar, {args.idle:.0f} s | server CPU, % of a core "
          f"| target < {TARGET_IDLE_CPU * 100:.0f}% | server threads, 1 tab -> {args.tabs} |")
    print("|---|---:|---|---|")
    for where, (cpu, threads_one, threads_all) in idle.items():
        verdict = "" if where == FLOOR else "met" if cpu < TARGET_IDLE_CPU else "missed"
        print(f"| {where} | {cpu * 100:.2f} | {verdict} | {threads_one} -> {threads_all} |")
    print(f"- listings: {args.tables} tables, {args.runs} runs; {args.requests} requests each")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
