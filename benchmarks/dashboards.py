"""What the three shipped Voila dashboards cost to open: time to the first chart, time to all
charts, bytes on the wire, plotly.js copies, console errors and the server's memory, in one run.

    .venv/bin/python benchmarks/dashboards.py [--scale 1 [10 ...]] [--lake PATH]
                                              [--dashboards training lake_health inference]

Each dashboard of ``notebooks/dashboards/`` is opened once, on loopback, by Debian's Chromium
(the system ``chromium``, driven by Playwright; never a downloaded browser) in a fresh page, in
two ways:

- ``preheated``: the folder published as ``make demo`` does (``wb.publish(folder, lake=...)``:
  one server, each page rendered ahead in a pooled kernel), each page visited once every page's
  kernel (and the one that replaced an earlier visit's) has started and had ``--settle`` seconds
  (default 20) to render: a visitor arriving at a quiet server;
- ``per visit``: the notebook published with ``preheat=False``, visited at once: a kernel starts
  and runs the notebook for the visitor (Voila's default).

Requests outside 127.0.0.1 are refused (and counted as errors: a page must work offline).

The lake: ``tests/dashboard_lake.py``'s ``build_results_lake`` (two runs of 30 and 2 x 60 steps,
7 ``_bench`` rows, a ``scores`` table), built in a temporary folder. ``--scale 10`` builds the
same lake with 10x the steps of each run and 10x the ``_bench`` rows (the sweep and comparison
repeated under 10 bench ids, minutes apart), to show whether the figures grow with rows.
``--lake PATH`` measures an existing lake instead (``make demo``'s ``out/demo/lake``).

Figures, per dashboard x lake:

- ``first chart s``: from navigation start (``performance.now()`` in the page, sampled every
  50 ms by a script injected before the page's own) to the first ``.js-plotly-plot`` with at
  least one trace path (``.trace path``) drawn.
- ``all charts s``: to the last time the number of such charts changed; the run waits until the
  number has been stable for 1 s and equals the number of ``.js-plotly-plot`` on the page.
- ``charts``: how many were drawn.
- ``wire MB``: encoded HTTP response bodies (Playwright's ``request.sizes()``
  ``responseBodySize``) plus the payload bytes of every websocket frame, both ways;
  ``decoded MB``: the same with the decoded bodies (``len(response.body())``). MB = 10^6 bytes.
- ``plotly.js copies``: the HTTP response bodies and websocket frames over 1 MB that hold
  plotly.js: its class name ``js-plotly-plot`` and either its licence banner (``plotly.js v4``)
  or, in the minified bundles without it, its version export (``version:"3.8.2"``); the copies
  the browser received. The split (HTTP + websocket) is shown.
- ``console errors``: ``console.error`` messages and uncaught page errors.
- ``server RSS MB``: the Voila process and its children with the page open, all charts drawn
  (psutil, RSS summed): the page's kernel, and when preheated every page's pooled kernel too.

The page-cost recording (`tests/page_costs.py`) is the browser tests' own.

A benchmark, not a test: nothing is asserted beyond the page having loaded. The issue's targets
(first chart < 3 s, < 4 MB on the wire, plotly.js loaded once, no console errors, the later
charts within 1 s of the first) are printed next to the table for reference.
"""

from __future__ import annotations

import argparse
import contextlib
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

DASHBOARDS = ROOT / "notebooks" / "dashboards"
NAMES = ["training", "lake_health", "inference"]
CHROMIUM = shutil.which("chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
PAGE_S = 120.0


def scaled_lake(path: Path, scale: int) -> Path:
    """``build_results_lake`` with ``scale`` x the steps per run and ``scale`` x the bench rows."""
    import dashboard_lake as dl

    import workbench as wb
    from workbench.bench.records import bench_table

    if scale == 1:
        return dl.build_results_lake(path)
    lake = wb.Lake(path)
    dl.save(lake, dl.RUN_NARROW, "mlp-narrow", "failed",
            dl.run_metrics(ranks=1, steps=30 * scale, accuracy=False, seed=2), hours=-1,
            error="Traceback (most recent call last):\nRuntimeError: loss is NaN")
    dl.save(lake, dl.RUN_WIDE, "mlp-wide", "succeeded",
            dl.run_metrics(ranks=2, steps=60 * scale, accuracy=True, seed=1))
    rows = []
    for k in range(scale):
        rows += [dl.bench_row(f"sweep-{k}", 10 * k + 1, "demo-mlp", "fp32", b, 2.0 + 0.3 * b,
                              seed=b + 100 * k) for b in (1, 8, 32)]
        rows += [dl.bench_row(f"compare-{k}", 10 * k + 2, "demo-mlp", v, 8, p50, size_mb=size,
                              params=params, metric=acc, seed=10 + i + 100 * k)
                 for i, (v, p50, size, params, acc) in enumerate([
                     ("fp32", 4.4, 1.6, 400_000, 0.91), ("int8", 2.9, 0.45, 400_000, 0.90),
                     ("pruned", 3.6, 0.9, 200_000, 0.88)])]
        rows.append(dl.bench_row(f"tiny-{k}", 10 * k + 3, "tiny-transformer", "fp32", 4, 7.5,
                                 seed=99 + 100 * k))
    lake.record("_bench", bench_table(rows))
    import pandas as pd
    scores = pd.DataFrame({"model": ["demo-mlp", "tiny-transformer"], "accuracy": [0.91, 0.84]})
    lake.record("scores", scores)
    lake.record("scores", scores.assign(accuracy=[0.92, 0.85]))
    return path


def server_rss_mb(pid: int) -> float:
    import psutil

    proc = psutil.Process(pid)
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            total += p.memory_info().rss
    return total / 1e6


def measure(chromium, name: str, lake: Path, board=None) -> dict:
    """Open dashboard ``name`` once, on ``board`` (a published folder, preheated) or on a server
    of its own published now without preheating; return its figures."""
    from page_costs import PageCosts

    import workbench as wb

    if board is None:
        dashboard = wb.publish(DASHBOARDS / f"{name}.ipynb", lake=lake, preheat=False)
    else:
        dashboard = board
    costs = PageCosts()
    page = chromium.new_page(viewport={"width": 1400, "height": 1000})
    try:
        page.set_default_timeout(PAGE_S * 1000)
        costs.watch(page)
        page.goto(dashboard.page_url(f"{name}.ipynb"))
        state = costs.wait_for_charts(page, PAGE_S)
        rss = server_rss_mb(dashboard.process.pid)
        totals = costs.totals()
    finally:
        page.close()
        if board is None:
            dashboard.stop()
    return {"loaded": state["first"] is not None, "first": state["first"], "all": state["last"],
            "charts": state["drawn"], "wire": totals["wire"] / 1e6,
            "decoded": totals["decoded"] / 1e6, "http_mb": totals["http"] / 1e6,
            "ws_mb": totals["ws"] / 1e6, "http_copies": totals["http_copies"],
            "ws_copies": totals["ws_copies"], "rss": rss,
            "errors": costs.errors + [f"fetched from outside: {u}" for u in costs.outside]}


def preheated(lake: Path, settle: float):
    """The dashboards' folder published on ``lake`` as ``make demo`` does."""
    import workbench as wb

    return wb.publish(DASHBOARDS, lake=lake)


def settle(board, seconds: float) -> None:
    """Wait until every page has a pooled kernel (one per page, plus one per earlier visit,
    which took a page's kernel and made the pool start another), then ``seconds`` more for
    their notebooks to run: each visitor arrives at a quiet server."""
    visits = board.log.count("Using pre-heated kernel")
    deadline = time.monotonic() + PAGE_S
    while board.log.count("Kernel started:") < len(board.pages) + visits:
        if time.monotonic() > deadline:
            sys.exit(f"the pages were not preheated within {PAGE_S:g} s: {board.log_path}")
        time.sleep(0.5)
    time.sleep(seconds)


def fmt(x: float | None, digits: int = 1) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=int, nargs="+", default=[1],
                        help="lake sizes: multiples of dashboard_lake's rows (default 1)")
    parser.add_argument("--lake", type=Path, help="an existing lake (e.g. out/demo/lake) "
                        "instead of the built one(s)")
    parser.add_argument("--dashboards", nargs="+", choices=NAMES, default=NAMES)
    parser.add_argument("--settle", type=float, default=20.0,
                        help="seconds the preheated pages get to render before the visits")
    args = parser.parse_args()
    if CHROMIUM is None:
        sys.exit("Chromium not found: `apt-get install chromium` (never `playwright install`)")
    from playwright.sync_api import sync_playwright

    version = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True).stdout
    print(f"{platform.python_version()} on {platform.machine()}; {version.strip()}",
          file=sys.stderr)
    work = Path(tempfile.mkdtemp(prefix="bench-dashboards-"))
    lakes = ([(str(args.lake), args.lake)] if args.lake else
             [(f"x{s}", scaled_lake(work / f"lake-x{s}", s)) for s in args.scale])
    rows = []
    try:
        with sync_playwright() as pw:
            chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                          args=CHROMIUM_ARGS)
            try:
                for label, lake in lakes:
                    for mode in ("preheated", "per visit"):
                        board = preheated(lake, args.settle) if mode == "preheated" else None
                        try:
                            for name in args.dashboards:
                                if board is not None:  # every pooled page rendered
                                    settle(board, args.settle)
                                r = measure(chromium, name, lake, board)
                                rows.append((name, f"{label}, {mode}", r))
                                print(f"{name} {label} {mode}: {r}", file=sys.stderr)
                        finally:
                            if board is not None:
                                board.stop()
            finally:
                chromium.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print("| dashboard | lake, page | first chart s | all charts s | charts | wire MB (HTTP + ws) "
          "| decoded MB | plotly.js copies (HTTP + ws) | console errors | server RSS MB |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, label, r in rows:
        if not r["loaded"]:
            print(f"| {name} | {label} | no chart within {PAGE_S:g} s | | | | | | "
                  f"{len(r['errors'])} | {r['rss']:.0f} |")
            continue
        print(f"| {name} | {label} | {fmt(r['first'])} | {fmt(r['all'])} | {r['charts']} "
              f"| {r['wire']:.2f} ({r['http_mb']:.2f} + {r['ws_mb']:.2f}) | {r['decoded']:.2f} "
              f"| {r['http_copies'] + r['ws_copies']} ({r['http_copies']} + {r['ws_copies']}) "
              f"| {len(r['errors'])} | {r['rss']:.0f} |")
    print("\nTargets (for reference): first chart < 3 s, < 4 MB on the wire, plotly.js loaded "
          "once, no console errors, later charts within 1 s of the first.")
    for name, label, r in rows:
        for e in r["errors"]:
            print(f"- {name} {label}: {e[:300]}")
    return 0 if all(r["loaded"] for _, _, r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
