"""The timing loops of the three scenarios, after MLPerf LoadGen's, on CPU and CUDA.

- ``single-stream``: one request after the other; the next is issued when the one before has
  finished. Latency: the call, timed with ``time.perf_counter_ns`` on CPU; on CUDA between two
  events around the call, the end event synchronised before the next request (a request is not
  finished before its kernels are).
- ``offline``: every request available at once, issued back to back; the figure of merit is the
  throughput (samples over the window's wall time). On CUDA nothing is synchronised between
  requests (the GPU queues them) and each request's events give its GPU time; the device is
  synchronised once, at the end of the window.
- ``server``: requests arrive as a Poisson process at ``qps`` queries per second (seeded), each
  a batch; one worker serves them in order of arrival. Latency runs from the arrival to the
  completion (after a device sync on CUDA), so time spent queueing behind earlier requests
  counts, as it does for a real service.

Each loop runs one measurement window: at least ``count`` requests and ``min_ns`` nanoseconds.
The work per request outside the timed region is an index step, a list append and a comparison:
the inputs are sliced into batches before any timing starts.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

SCENARIOS = ("single-stream", "offline", "server")
_SLEEP_MARGIN_NS = 10_000_000  # sleep until this close to an arrival, then spin on the clock


@dataclass
class Window:
    """One measurement window: the requests' latencies (ms) and its wall time (s)."""

    latencies_ms: np.ndarray
    wall_s: float

    def throughput(self, batch_size: int) -> float:
        return len(self.latencies_ms) * batch_size / self.wall_s if self.wall_s > 0 else 0.0


class Arrivals:
    """Poisson arrival times (perf_counter_ns) at ``qps`` per second, seeded, started lazily at
    the first request so that warm-up and set-up are not counted as queueing."""

    def __init__(self, qps: float, seed: int) -> None:
        self._rng = random.Random(seed)
        self._qps = qps
        self._next: float | None = None

    def next(self) -> int:
        if self._next is None:
            self._next = float(time.perf_counter_ns())
        else:
            self._next += self._rng.expovariate(self._qps) * 1e9
        return int(self._next)


def cpu_stream(call: Callable[..., Any], batches: Sequence[tuple], pos: int, count: int,
               min_ns: int) -> tuple[Window, int]:
    """Single-stream (and offline: on CPU a call returns when its work is done, so the two
    loops are the same) on the host clock; returns the window and the next batch index."""
    clock = time.perf_counter_ns
    lat: list[int] = []
    append = lat.append
    m = len(batches)
    begin = clock()
    end = begin + min_ns
    n = 0
    while True:
        x = batches[pos]
        pos += 1
        if pos == m:
            pos = 0
        t0 = clock()
        call(*x)
        t1 = clock()
        append(t1 - t0)
        n += 1
        if n >= count and t1 >= end:
            break
    return Window(np.asarray(lat, dtype=np.float64) / 1e6, (t1 - begin) / 1e9), pos


def server(call: Callable[..., Any], batches: Sequence[tuple], pos: int, count: int,
           min_ns: int, arrivals: Arrivals, sync: Callable[[], Any] | None) -> tuple[Window, int]:
    """Serve Poisson arrivals in order; latency from arrival to completion (queueing counts).
    `sync` (CUDA: synchronise the device) makes completion mean the result exists."""
    clock = time.perf_counter_ns
    lat: list[int] = []
    append = lat.append
    m = len(batches)
    first = None
    n = 0
    while True:
        x = batches[pos]
        pos += 1
        if pos == m:
            pos = 0
        arrival = arrivals.next()
        if first is None:
            first = arrival
        wait_until(arrival)
        call(*x)
        if sync is not None:
            sync()
        t1 = clock()
        append(t1 - arrival)
        n += 1
        if n >= count and t1 - first >= min_ns:
            break
    return Window(np.asarray(lat, dtype=np.float64) / 1e6, (t1 - first) / 1e9), pos


def wait_until(deadline_ns: int) -> None:
    """Return at `deadline_ns` (perf_counter_ns): sleep while far from it, then spin, since a
    sleep alone may overshoot by a scheduler tick."""
    clock = time.perf_counter_ns
    remaining = deadline_ns - clock()
    if remaining > _SLEEP_MARGIN_NS:
        time.sleep((remaining - _SLEEP_MARGIN_NS) / 1e9)
    while clock() < deadline_ns:
        pass


class CudaEvents:
    """A pool of timing events, reused window after window (created once, not per request)."""

    def __init__(self) -> None:
        self.pairs: list[tuple[Any, Any]] = []

    def get(self, i: int) -> tuple[Any, Any]:
        import torch

        while len(self.pairs) <= i:
            self.pairs.append((torch.cuda.Event(enable_timing=True),
                               torch.cuda.Event(enable_timing=True)))
        return self.pairs[i]


def cuda_stream(call: Callable[..., Any], batches: Sequence[tuple], pos: int, count: int,
                min_ns: int, events: CudaEvents, sync_each: bool) -> tuple[Window, int]:
    """Single-stream (`sync_each`: wait for each request's end event before the next) or
    offline (no wait; one device sync at the end) with CUDA events around every call."""
    import torch

    torch.cuda.synchronize()
    clock = time.perf_counter_ns
    m = len(batches)
    begin = clock()
    end = begin + min_ns
    n = 0
    while True:
        x = batches[pos]
        pos += 1
        if pos == m:
            pos = 0
        start, stop = events.get(n)
        start.record()
        call(*x)
        stop.record()
        if sync_each:
            stop.synchronize()
        n += 1
        if n >= count and clock() >= end:
            break
    torch.cuda.synchronize()
    wall_ns = clock() - begin
    lat = [s.elapsed_time(e) for s, e in events.pairs[:n]]
    return Window(np.asarray(lat, dtype=np.float64), wall_ns / 1e9), pos
