"""`latency()` against a served endpoint: the harness's server scenario over real HTTP, Poisson
arrivals from an open-loop client (`workbench.infer.load`), latency counted from each
request's scheduled arrival, so queueing in the server counts as it does in the harness."""

from __future__ import annotations

from typing import Any

import numpy as np

from workbench.bench.errors import BenchError
from workbench.bench.scenarios import Window

MIN_SECONDS = 3.0  # per batch size at least, so the Poisson process shows its bursts
WINDOWS = 3  # the harness's stable windows: the requests split by scheduled time


def is_endpoint(target: Any) -> bool:
    """Whether `latency()` is given an endpoint: a `wb.infer.serve` result or an http(s) URL."""
    return (isinstance(target, str) and target.startswith(("http://", "https://"))) or (
        hasattr(target, "local_url") and hasattr(target, "token"))


def endpoint_latency(target: Any, inputs: Any, *, batch_sizes: Any, scenario: str,
                     qps: float | None, min_samples: int, duration: float | None, seed: int,
                     token: str | None = None, body: str = "raw") -> dict[str, Any]:
    """Each batch size's requests (its first rows of `inputs`, cycling) sent to the endpoint
    at Poisson arrivals of `qps` for long enough to send `min_samples` (or `duration` s, at
    least 3 s); the arguments of the `LatencyResult` of the answered requests."""
    from workbench.bench import inputs as _inputs
    from workbench.infer.exporter import as_numpy
    from workbench.infer.load import measure

    if scenario != "server" or qps is None:
        raise BenchError("an endpoint is measured in scenario='server' with qps=...: requests "
                         "arrive over HTTP at Poisson times, whether or not earlier ones are "
                         "answered")
    url, token, model, engine = _describe(target, token)
    arrays = _inputs.as_arrays(inputs, to_tensor=False)
    if len(arrays) != 1:
        raise BenchError("an endpoint takes one input array per request; got a tuple of "
                         f"{len(arrays)}")
    rows = as_numpy(arrays[0])
    sizes = _inputs.check_batch_sizes(batch_sizes, len(rows))
    seconds = max(duration or 0.0, min_samples / qps, MIN_SECONDS)
    samples, windows, stable = {}, {}, {}
    for b in sizes:
        requests = [rows[i:i + b] for i in range(0, len(rows) - b + 1, b)][:64]
        load = measure(url, requests, qps=qps, duration_s=seconds, body=body, token=token,
                       seed=seed)
        failed = load.table[load.table["status"] != 200]
        if len(failed):
            raise BenchError(f"{len(failed)} of {len(load.table)} requests to {url} failed "
                             f"(status {sorted(set(failed['status']))}; 0: no answer): see "
                             "the endpoint's stats()")
        windows[b] = _windows(load.table, seconds)
        samples[b] = load.table["total_ms"].to_numpy()
        stable[b] = True
    return {"samples": samples, "windows": windows, "stable": stable, "scenario": "server",
            "qps": qps, "device": url, "model": model, "variant": "", "params": -1,
            "engine": engine}


def _windows(table: Any, seconds: float) -> list[Window]:
    """The requests in `WINDOWS` spans of scheduled time, each with its span as wall time."""
    edges = np.linspace(0.0, seconds, WINDOWS + 1)
    scheduled = table["scheduled_s"].to_numpy()
    totals = table["total_ms"].to_numpy()
    return [Window(totals[(scheduled >= lo) & (scheduled < hi)], float(hi - lo))
            for lo, hi in zip(edges[:-1], edges[1:])]


def _describe(target: Any, token: str | None) -> tuple[str, str | None, str, str]:
    """The URL to load, its token, the model's name and the row's engine label."""
    if isinstance(target, str):
        return target.rstrip("/"), token, target, "endpoint"
    return (target.local_url, token or target.token, str(target.model),
            f"endpoint ({target.engine})")
