"""What a page costs a visitor, recorded from Playwright's events: when its first and last
chart drew, bytes on the wire and decoded (HTTP bodies plus websocket frames), the copies of
plotly.js it received, requests that left 127.0.0.1 (refused: a page must work offline) and
the JavaScript errors it logged. Shared by the browser tests and benchmarks/dashboards.py."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any

LOOPBACK = "http://127.0.0.1:"
# plotly.js's licence banner (plotly.min.js, "plotly.js (cartesian - minified) v4.1.1") or, in
# the minified bundles that drop it (the FigureWidget's ESM, the extensions' chunks), its version
# export next to its class.
BANNER = re.compile(rb'plotly\.js[^\n]{0,30} v\d|version[:=]\\?"\d+\.\d+\.\d+\\?"')
MARK = b"js-plotly-plot"
STABLE_S = 1.0

# Sampled every 50 ms in the page: when the first visible chart with a trace (a path, or a
# heatmap's image) drew, and when the number of drawn charts last changed (ms since navigation
# start).
PROBE = """
(() => {
  window.__charts = {first: null, last: null, drawn: 0, total: 0};
  setInterval(() => {
    const all = [...document.querySelectorAll('.js-plotly-plot')]
      .filter(c => c.offsetParent !== null);  // charts in a hidden tab draw when shown
    let drawn = 0;
    for (const c of all) if (c.querySelector('.trace path, .hm image')) drawn++;
    const b = window.__charts, now = performance.now();
    b.total = all.length;
    if (drawn > 0 && b.first === null) b.first = now;
    if (drawn !== b.drawn) { b.drawn = drawn; b.last = now; }
  }, 50);
})();
"""


def is_plotly(body: bytes) -> bool:
    """Whether ``body`` holds a copy of plotly.js (its banner or version export, its chart
    class, and over 1 MB: a copy is about 5 MB, a page naming the class is far smaller)."""
    return len(body) > 1_000_000 and MARK in body and BANNER.search(body) is not None


@dataclass
class PageCosts:
    """Attach to a Playwright page before it navigates (`watch`); read after `wait_for_charts`."""

    responses: list = field(default_factory=list)
    frames: list[bytes] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)

    def watch(self, page: Any) -> None:
        def refuse(route: Any) -> None:
            self.outside.append(route.request.url)
            route.abort()

        def frame(payload: Any) -> None:
            self.frames.append(payload.encode() if isinstance(payload, str) else bytes(payload))

        def websocket(ws: Any) -> None:
            ws.on("framesent", frame)
            ws.on("framereceived", frame)

        page.route(lambda url: not url.startswith((LOOPBACK, "file://", "data:")), refuse)
        page.on("console", lambda m: self.errors.append(f"console.error: {m.text}")
                if m.type == "error" else None)
        page.on("pageerror", lambda exc: self.errors.append(f"uncaught: {exc}"))
        page.on("response", lambda response: self.responses.append(response))
        page.on("websocket", websocket)
        page.add_init_script(PROBE)

    def wait_for_charts(self, page: Any, timeout: float) -> dict[str, Any]:
        """Wait until the page's charts are all drawn and their number has not changed for
        `STABLE_S`; ``{"first", "last"}`` in seconds from navigation (None if none drew),
        ``"drawn"`` and ``"total"``."""
        deadline = time.monotonic() + timeout
        state: dict[str, Any] = {"first": None, "last": None, "drawn": 0, "total": 0}
        while time.monotonic() < deadline:
            state = page.evaluate("window.__charts")
            if (state["first"] is not None and state["drawn"] == state["total"]
                    and page.evaluate("performance.now()") - state["last"] >= STABLE_S * 1000):
                break
            time.sleep(0.1)
        return {**state, "first": _seconds(state["first"]), "last": _seconds(state["last"])}

    def totals(self) -> dict[str, Any]:
        """Bytes (wire and decoded, HTTP and websocket) and plotly.js copies (HTTP, websocket)
        of everything received from 127.0.0.1 so far."""
        wire = decoded = http_copies = 0
        for response in self.responses:
            if not response.url.startswith(LOOPBACK):
                continue
            try:
                body = response.body()
                sizes = response.request.sizes()
            except Exception:  # a redirect or an aborted response has no body
                continue
            wire += sizes["responseBodySize"]
            decoded += len(body)
            http_copies += is_plotly(body)
        ws = sum(len(f) for f in self.frames)
        return {"wire": wire + ws, "decoded": decoded + ws, "http": wire, "ws": ws,
                "http_copies": http_copies, "ws_copies": sum(map(is_plotly, self.frames))}


def _seconds(ms: float | None) -> float | None:
    return None if ms is None else ms / 1000
