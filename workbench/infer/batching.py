"""Dynamic batching: requests wait in a queue, and one collector in the serving event loop
gathers them into a batch of up to ``max_batch`` rows, or whatever came within ``max_delay_s``
of the oldest waiting request, runs the model once on the concatenation in a worker thread (ONNX
Runtime and torch release the GIL, so the loop keeps decoding and answering meanwhile; a model
quicker than `INLINE_S` runs in the loop) and splits its output back per request.

Why this shape: a model call costs a fixed overhead plus a little per row, so one call on 32
rows answers 32 requests for little more than one; the delay bounds what a lone request pays
for the chance of company. The batcher waits no longer than a model call takes, though: a
request that waited longer for company than a call costs would have been answered sooner by
a call of its own, the company by the next (and requests that arrive while a call runs form
the next batch anyway). So a model of microseconds is served at once, with no 5 ms added to
every answer, and an encoder of milliseconds still waits for its batch.

A request of more rows than ``max_batch`` runs alone, not refused.
Only requests whose rows have the same trailing shape and dtype share a batch (the engine's
signature check before queueing makes that the rule; for an engine without one, a request that
does not fit waits for the next batch instead of breaking this one). A model error fails the
requests of its batch only.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

# A model call quicker than this runs in the event loop itself. Handing it to the worker
# thread costs more than it takes: the thread must win the GIL back from a busy loop, which
# lets go only every switch interval (5 ms). Measured with the demo model on 2 cores, 32
# clients: 1,366 requests/s through the thread at max_batch=1, against 7,305 for an endpoint
# that calls the model in its handler. Longer calls keep the thread, so the loop goes on
# reading and answering requests while the model runs.
INLINE_S = 0.0005


@dataclass(frozen=True)
class Done:
    """What a request's batch did for it: its output rows, seconds it waited in the queue and
    the batch's model call took, and the batch's rows."""

    output: np.ndarray
    queue_s: float
    model_s: float
    batch_size: int


@dataclass
class _Waiting:
    """A queued request: its rows, when it was queued, and the future its answer goes to."""

    x: np.ndarray
    queued: float
    future: asyncio.Future = field(repr=False)


class Batcher:
    """Batches `submit`ted arrays for `run` (batch-first numpy in, batch-first numpy out).
    Create, `start` and `submit` in one event loop; `close` it in that loop too."""

    def __init__(self, run: Callable[[np.ndarray], np.ndarray], max_batch: int = 32,
                 max_delay_s: float = 0.005,
                 on_batch: Callable[[int, float, float], None] | None = None) -> None:
        self.run = run
        self.max_batch = max_batch
        self.max_delay_s = max_delay_s
        self.on_batch = on_batch  # (rows, queue seconds of the oldest, model seconds)
        self._queue: asyncio.Queue[_Waiting] | None = None
        self._held: _Waiting | None = None  # the first request of the next batch
        self._task: asyncio.Task | None = None
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="workbench-batch")
        self._inline = False  # the first call runs in the thread, and is timed
        self._call_s = max_delay_s  # a model call's time, smoothed; unknown before the first

    def start(self) -> None:
        """Start collecting, in the running event loop."""
        self._queue = asyncio.Queue()
        self._task = asyncio.get_running_loop().create_task(self._collect())

    async def submit(self, x: np.ndarray) -> Done:
        """Queue `x` (rows first) and wait for its rows of the model's output."""
        future = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Waiting(x, time.perf_counter(), future))
        return await future

    async def close(self) -> None:
        """Stop collecting; requests still queued fail with an error saying so."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        left = [self._held] if self._held is not None else []
        while self._queue is not None and not self._queue.empty():
            left.append(self._queue.get_nowait())
        for waiting in left:
            if not waiting.future.done():
                waiting.future.set_exception(RuntimeError("the endpoint is stopping"))
        self._pool.shutdown(wait=False)

    async def _collect(self) -> None:
        """Form batches and run them, one at a time, for as long as the loop runs."""
        while True:
            batch = await self._gather()
            await self._run(batch)

    async def _gather(self) -> list[_Waiting]:
        """The next batch: the oldest request, then what fits in `max_batch` rows with the same
        row shape and dtype, until full or `max_delay_s` after the oldest was queued."""
        first = self._held or await self._queue.get()
        self._held = None
        batch, rows = [first], len(first.x)
        deadline = first.queued + min(self.max_delay_s, self._call_s)
        while rows < self.max_batch:
            try:
                item = self._queue.get_nowait()
            except asyncio.QueueEmpty:
                left = deadline - time.perf_counter()
                if left <= 0:
                    break
                try:
                    item = await asyncio.wait_for(self._queue.get(), left)
                except TimeoutError:
                    break
            if rows + len(item.x) > self.max_batch or item.x.shape[1:] != first.x.shape[1:] \
                    or item.x.dtype != first.x.dtype:
                self._held = item
                break
            batch.append(item)
            rows += len(item.x)
        return batch

    async def _run(self, batch: list[_Waiting]) -> None:
        """Run one batch (in the worker thread, or inline when the model is quick: see
        `INLINE_S`) and answer each of its requests."""
        started = time.perf_counter()
        x = batch[0].x if len(batch) == 1 else np.concatenate([w.x for w in batch])
        try:
            if self._inline:
                out = self.run(x)
            else:
                out = await asyncio.get_running_loop().run_in_executor(self._pool, self.run, x)
            if len(out) != len(x):
                raise RuntimeError(f"the model answered {len(out)} rows for {len(x)}")
        except Exception as err:  # the model's failure is this batch's requests', no others'
            for waiting in batch:
                if not waiting.future.done():
                    waiting.future.set_exception(err)
            return
        model_s = time.perf_counter() - started
        self._inline = model_s < INLINE_S
        self._call_s = 0.8 * self._call_s + 0.2 * model_s
        if self.on_batch is not None:
            self.on_batch(len(x), started - batch[0].queued, model_s)
        at = 0
        for waiting in batch:
            n = len(waiting.x)
            if not waiting.future.done():  # a client that left has cancelled its future
                waiting.future.set_result(Done(out[at:at + n], started - waiting.queued,
                                               model_s, len(x)))
            at += n
