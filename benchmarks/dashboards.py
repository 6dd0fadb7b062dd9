"""What the three shipped Voila dashboards cost to open: time to the first chart, time to all
charts, bytes on the wire, plotly.js copies, console errors and the server's memory, in one run.

    .venv/bin/python benchmarks/dashboards.py [--scale 1 [10 ...]] [--lake PATH]
                                              [--dashboards training lake_health inference]

Each dashboard of ``notebooks/dashboards/`` is published with ``wb.publish(notebook, lake=...)``
(a fresh Voila server per dashboard, so a kernel starts and runs the notebook on each visit, as
for a stakeholder's first visit) and opened once, on loopback, by Debian's Chromium (the system
``chromium``, driven by Playwright; never a downloaded browser) in a fresh page. Requests outside
127.0.0.1 are answered as the browser tests answer them: stylesheets empty (Voila's template
links Font Awesome from a CDN), anything else refused.

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
- ``server RSS MB``: the Voila process and its children (the kernel) with the page open, all
  charts drawn (psutil, RSS summed).

A benchmark, not a test: nothing is asserted beyond the page having loaded. The issue's targets
(first chart < 3 s, < 4 MB on the wire, plotly.js loaded once, no console errors, the later
charts within 1 s of the first) are printed next to the table for reference.
"""

from __future__ import annotations

import argparse
import contextlib
import platform
import re
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
STABLE_S = 1.0
# plotly.js's licence banner (plotly.min.js) or, in the minified bundles that drop it (the
# FigureWidget's ESM, the JupyterLab extension's chunk), its version export next to its class.
BANNER = re.compile(rb'plotly\.js v\d|version:\\?"\d+\.\d+\.\d+\\?"')
MARK = b"js-plotly-plot"


def is_plotly(body: bytes) -> bool:
    """Whether ``body`` holds a copy of plotly.js (its banner or version export, its chart
    class, and over 1 MB: a copy is about 5 MB, a page naming the class is far smaller)."""
    return len(body) > 1_000_000 and MARK in body and BANNER.search(body) is not None

# Sampled every 50 ms in the page: when the first chart with a trace drew, and when the number of
# drawn charts last changed (ms since navigation start).
PROBE = """
(() => {
  window.__bench = {first: null, last: null, drawn: 0, total: 0};
  setInterval(() => {
    const all = document.querySelectorAll('.js-plotly-plot');
    let drawn = 0;
    for (const c of all) if (c.querySelector('.trace path')) drawn++;
    const b = window.__bench, now = performance.now();
    b.total = all.length;
    if (drawn > 0 && b.first === null) b.first = now;
    if (drawn !== b.drawn) { b.drawn = drawn; b.last = now; }
  }, 50);
})();
"""


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


def measure(chromium, name: str, lake: Path) -> dict:
    """Publish ``name`` on ``lake``, open it once, return its figures."""
    import workbench as wb

    errors: list[str] = []
    responses: list = []
    ws_frames: list[bytes] = []

    def outside(route):
        if route.request.resource_type == "stylesheet":
            route.fulfill(status=200, content_type="text/css", body="")
        else:
            route.abort()

    def on_frame(payload) -> None:
        ws_frames.append(payload.encode() if isinstance(payload, str) else bytes(payload))

    def on_ws(ws) -> None:
        ws.on("framesent", on_frame)
        ws.on("framereceived", on_frame)

    dashboard = wb.publish(DASHBOARDS / f"{name}.ipynb", lake=lake)
    page = chromium.new_page(viewport={"width": 1400, "height": 1000})
    try:
        page.set_default_timeout(PAGE_S * 1000)
        page.route(lambda url: not url.startswith("http://127.0.0.1:"), outside)
        page.on("console", lambda m: errors.append(f"console.error: {m.text}")
                if m.type == "error" else None)
        page.on("pageerror", lambda exc: errors.append(f"uncaught: {exc}"))
        page.on("response", lambda r: responses.append(r))
        page.on("websocket", on_ws)
        page.add_init_script(PROBE)
        page.goto(dashboard.url)
        deadline = time.monotonic() + PAGE_S
        state = {"first": None}
        while time.monotonic() < deadline:
            state = page.evaluate("window.__bench")
            if (state["first"] is not None and state["drawn"] == state["total"]
                    and state["last"] is not None
                    and page.evaluate("performance.now()") - state["last"] >= STABLE_S * 1000):
                break
            time.sleep(0.1)
        loaded = state["first"] is not None
        rss = server_rss_mb(dashboard.process.pid)
        wire = decoded = 0
        http_copies = 0
        for response in responses:
            if not response.url.startswith("http://127.0.0.1:"):
                continue
            try:
                body = response.body()
                sizes = response.request.sizes()
            except Exception:  # a response without a body (redirect, aborted): skip
                continue
            wire += sizes["responseBodySize"]
            decoded += len(body)
            http_copies += is_plotly(body)
        ws_bytes = sum(len(f) for f in ws_frames)
        ws_copies = sum(is_plotly(f) for f in ws_frames)
    finally:
        page.close()
        dashboard.stop()
    return {
        "loaded": loaded, "first": state["first"] / 1000 if loaded else None,
        "all": (state["last"] or 0) / 1000 if loaded else None, "charts": state.get("drawn", 0),
        "wire": (wire + ws_bytes) / 1e6, "decoded": (decoded + ws_bytes) / 1e6,
        "http_mb": wire / 1e6, "ws_mb": ws_bytes / 1e6, "requests": len(responses),
        "http_copies": http_copies, "ws_copies": ws_copies, "errors": errors, "rss": rss,
    }


def fmt(x: float | None, digits: int = 1) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=int, nargs="+", default=[1],
                        help="lake sizes: multiples of dashboard_lake's rows (default 1)")
    parser.add_argument("--lake", type=Path, help="an existing lake (e.g. out/demo/lake) "
                        "instead of the built one(s)")
    parser.add_argument("--dashboards", nargs="+", choices=NAMES, default=NAMES)
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
                    for name in args.dashboards:
                        r = measure(chromium, name, lake)
                        rows.append((name, label, r))
                        print(f"{name} {label}: {r}", file=sys.stderr)
            finally:
                chromium.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print("| dashboard | lake | first chart s | all charts s | charts | wire MB (HTTP + ws) "
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
