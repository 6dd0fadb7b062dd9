"""An open-loop load generator for an HTTP model endpoint: Poisson arrivals at a fixed rate, as
MLPerf's server scenario and real traffic send them.

Open loop: each request goes out at its arrival time whether or not earlier ones have been
answered, and its latency counts from that scheduled time, so a server that falls behind shows
its queueing in the figures instead of slowing the client down (a closed loop of N clients
hides it: the coordinated-omission trap). Each answer's ``Server-Timing`` header (see
`workbench.infer.wire`) splits its time into decode, queue, model and encode in the server;
what is left of the total is ``http_ms`` (the client, the network and the server's HTTP layer).

The requests go out from aiohttp in a thread of their own with its own event loop, so
`measure` works in a notebook whose loop already runs.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from workbench.infer import wire
from workbench.infer.errors import InferError

if TYPE_CHECKING:
    import pandas as pd

PARTS = ("decode", "queue", "model", "encode")
COLUMNS = ["scheduled_s", "status", "total_ms", *(f"{p}_ms" for p in PARTS), "http_ms"]
_DRAIN_S = 30.0  # after the last arrival, how long answers still outstanding are awaited


@dataclass(frozen=True)
class LoadResult:
    """What a `measure` run saw: `table` (one row per request: `COLUMNS`; status 0 for one
    that got no answer), the offered `qps` and the `duration_s` of the arrivals."""

    table: pd.DataFrame
    qps: float
    duration_s: float

    @property
    def ok(self) -> pd.DataFrame:
        """The requests answered 200."""
        return self.table[self.table["status"] == 200]

    def summary(self) -> dict[str, float]:
        """Offered and achieved requests/s, errors, and p50/p90/p99 of the answered requests'
        total latency with the mean of each part (ms)."""
        ok = self.ok
        totals = ok["total_ms"].to_numpy()
        span = max(self.duration_s, 1e-9)
        figures = {"offered_qps": self.qps, "requests_per_s": len(ok) / span,
                   "requests": len(self.table), "errors": int((self.table["status"] != 200).sum())}
        for q in (50, 90, 99):
            figures[f"p{q}_ms"] = float(np.percentile(totals, q)) if len(ok) else float("nan")
        for part in (*PARTS, "http"):
            figures[f"{part}_ms"] = float(ok[f"{part}_ms"].mean()) if len(ok) else float("nan")
        return figures

    def __repr__(self) -> str:
        s = self.summary()
        return (f"LoadResult(offered {s['offered_qps']:.0f}/s, served "
                f"{s['requests_per_s']:.1f}/s, errors={s['errors']}, p50={s['p50_ms']:.2f} ms, "
                f"p99={s['p99_ms']:.2f} ms)")


def measure(url: str, inputs: Any, *, qps: float, duration_s: float = 5.0, body: str = "raw",
            token: str | None = None, seed: int = 0, timeout_s: float = 30.0) -> LoadResult:
    """Send `inputs` (one request's rows, batch first; or a list of such arrays, sent in turn)
    to ``{url}/predict`` (or `url` itself when it ends in ``/predict``) at Poisson arrivals of
    `qps` per second for `duration_s` seconds, as a ``"raw"`` or ``"json"`` body."""
    if not qps > 0 or not duration_s > 0:
        raise InferError(f"measure(qps={qps!r}, duration_s={duration_s!r}): give positive "
                         "numbers")
    if body not in ("raw", "json"):
        raise InferError(f"measure(body={body!r}): give 'raw' or 'json'")
    target = url if url.rstrip("/").endswith("/predict") else url.rstrip("/") + "/predict"
    arrays = [np.asarray(x) for x in (inputs if isinstance(inputs, list | tuple) else [inputs])]
    requests = [_request(x, body, token) for x in arrays]
    gaps = np.random.default_rng(seed).exponential(1.0 / qps, int(qps * duration_s * 1.5) + 16)
    arrivals = np.cumsum(gaps)
    arrivals = arrivals[arrivals < duration_s]
    rows: list[tuple] = []
    failure: list[BaseException] = []

    def drive() -> None:
        """Run the arrivals in this thread's own event loop; keep its failure for the caller."""
        try:
            asyncio.run(_drive(target, requests, arrivals, rows, timeout_s))
        except BaseException as err:  # re-raised in the caller's thread below
            failure.append(err)

    thread = threading.Thread(target=drive, name="workbench-load", daemon=True)
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    import pandas as pd

    table = pd.DataFrame(sorted(rows), columns=COLUMNS)
    return LoadResult(table, float(qps), float(duration_s))


def _request(x: np.ndarray, body: str, token: str | None) -> tuple[bytes, dict[str, str]]:
    """One request's body and headers."""
    if body == "raw":
        data, headers = wire.encode_raw(x)
        headers["Content-Type"] = wire.RAW
    else:
        import orjson

        data = orjson.dumps({"inputs": np.ascontiguousarray(x)},
                            option=orjson.OPT_SERIALIZE_NUMPY)
        headers = {"Content-Type": wire.JSON}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return data, headers


async def _drive(url: str, requests: list[tuple[bytes, dict[str, str]]], arrivals: np.ndarray,
                 rows: list[tuple], timeout_s: float) -> None:
    """Send one request at each arrival time (seconds from now); append a row per request."""
    import aiohttp

    connector = aiohttp.TCPConnector(limit=0, force_close=False)  # a connection per in-flight
    timeout = aiohttp.ClientTimeout(total=timeout_s)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        start = time.perf_counter()
        tasks = []
        for i, at in enumerate(arrivals):
            delay = start + at - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            data, headers = requests[i % len(requests)]
            tasks.append(asyncio.create_task(
                _send(session, url, data, headers, start + at, float(at), rows)))
        if tasks:
            await asyncio.wait(tasks, timeout=_DRAIN_S)
        for task in tasks:
            task.cancel()  # unanswered after the drain: each still writes its row
        await asyncio.gather(*tasks, return_exceptions=True)


async def _send(session: Any, url: str, data: bytes, headers: dict[str, str], due: float,
                scheduled: float, rows: list[tuple]) -> None:
    """One request; its row: latency from its scheduled time, the server's parts of it."""
    import aiohttp

    status, parts = 0, {}  # status 0: no answer (refused, timed out, cancelled at the end)
    try:
        async with session.post(url, data=data, headers=headers) as answer:
            await answer.read()
            status = answer.status
            parts = wire.parse_server_timing(answer.headers.get("Server-Timing"))
    except (aiohttp.ClientError, TimeoutError):
        parts = {}  # refused or timed out: no parts measured, status stays 0
    finally:
        total = (time.perf_counter() - due) * 1e3
        measured = [parts.get(p, float("nan")) for p in PARTS]
        rows.append((scheduled, status, total, *measured, total - sum(measured)))
