"""The worker side of a training run: one process per rank, started by `wb.launch` or torchrun.

Inside the training function, `run = wb.train.current()` is this rank's `Run`: its `rank`,
`local_rank`, `world_size` and `device`; `run.log(**metrics)` to the notebook (and to
`run_dir/metrics-rank{rank}.jsonl`); `run.should_stop()` (and `run.wants_checkpoint()`);
`run.save_checkpoint(state)` and `run.load_checkpoint()`; `run.steps(loader)`, which times every
step; and what splits a step's time into compute and transfer (utilisation R):
`run.to_device(batch)` times host-to-device copies and `run.ddp(model)` wraps a model in
DistributedDataParallel with a communication hook that times the wait on its all-reduces.

Besides the records the function sends, each rank sends a heartbeat every `HEARTBEAT_S` seconds
from a thread of its own, with its current memory (RSS; on a GPU, torch's allocated memory) and,
inside `run.steps`, how long ago its last step began (`step_age_s`): the alert rules tell a
silent rank (no heartbeat: stopped or hung in native code) from a stalled one (alive, no step).
Its last record says ``exiting``: what follows (the interpreter's teardown) is not silence.

Two ways in, one runtime:

- ``wb.launch(fn, ...)`` spawns ``python -m workbench.train.runtime --payload FILE`` per rank; the
  file holds ``(fn, args, kwargs)`` pickled by value with cloudpickle, and the environment holds
  the rendezvous (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``, ``MASTER_PORT``),
  the metrics address and the run directory. Rank 0's return value comes back pickled in
  ``run_dir/result.pkl``; a failure leaves ``run_dir/error-rank{rank}.json`` with the traceback.
- Under torchrun (multi-node, or a scheduler's job), the same runtime reads the variables torchrun
  sets and calls a function named ``module:function`` with no arguments::

      torchrun --nproc-per-node=2 -m workbench.train.runtime mypackage.train:main \\
          --run-dir runs/today [--metrics tcp://notebook-host:5555]

  Without ``--metrics`` records only go to the JSONL files (`read_run(run_dir)` reads them).

A worker never outlives the process that started it: a watchdog thread polls the parent's pid and
kills the worker's whole process group (the worker leads its own session, so DataLoader workers
go too) when the parent is gone, even if it was SIGKILLed and could clean nothing up. A thread
rather than Linux's PR_SET_PDEATHSIG because that fires when the *thread* that started the child
exits, which would kill a job launched from a short-lived thread.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import math
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.train.metrics import PUSH_S

if TYPE_CHECKING:
    import torch

    from workbench.train.metrics import MetricsSender

__all__ = ["Run", "current"]

STOP_FILE = "STOP"
RESULT_FILE = "result.pkl"
CHECKPOINT_FILE = "checkpoint.pt"
ENV_METRICS = "WORKBENCH_METRICS_ADDRESS"
ENV_RUN_DIR = "WORKBENCH_RUN_DIR"
ENV_BACKEND = "WORKBENCH_BACKEND"
ENV_SYS_PATH = "WORKBENCH_SYS_PATH"
_MEASURED = {"step_s", "data_s", "peak_memory_bytes"}  # run.steps() owns these names
_NO_SINK = "inproc://workbench-no-sink"  # never bound: records go only to the JSONL file
_WATCHDOG_S = 0.5
HEARTBEAT_S = 1.0  # how often each rank says it is alive

_current: Run | None = None


def error_path(run_dir: str | Path, rank: int) -> Path:
    """Where a failed rank leaves its traceback."""
    return Path(run_dir) / f"error-rank{rank}.json"


def current() -> Run:
    """This worker's `Run`; only inside a function started by `wb.launch` or the runtime."""
    if _current is None:
        raise RuntimeError("wb.train.current() is only available inside a training function "
                           "started by wb.launch(fn) or `python -m workbench.train.runtime`")
    return _current


class Run:
    """One rank of a training run: who it is, where it logs, and how it is told to stop."""

    def __init__(self, rank: int, local_rank: int, world_size: int, device: torch.device,
                 run_dir: Path, sender: MetricsSender) -> None:
        self.rank = rank
        self.local_rank = local_rank
        self.world_size = world_size
        self.device = device
        self.run_dir = run_dir
        self._sender = sender
        self._logged = 0  # records sent by log() outside run.steps(): their default step
        self._next_step = 0  # steps number on across run.steps() calls (epochs)
        self._open: dict[str, Any] | None = None  # the record of the step run.steps() is in
        self._peak = (0, -math.inf)  # (peak memory, when read): read at most once a second
        self._step_began = time.perf_counter()  # the last step's start, for the heartbeat
        self._stepping = False  # inside run.steps(): a step is expected
        self._comm = _CommTimer(world_size)

    def log(self, step: int | None = None, **metrics: Any) -> None:
        """Send metrics to the notebook and this rank's JSONL file; never blocks.

        Inside ``run.steps()`` (and `step` left out or equal to the current step) the metrics
        join that step's record, sent when the step's time is known: one record per step.
        Elsewhere `step` defaults to the number of earlier such calls.
        """
        if self._open is not None and step in (None, self._next_step):
            clash = _MEASURED.intersection(metrics)
            if clash:
                raise ValueError(f"{sorted(clash)} are measured by run.steps(); log your own "
                                 "figure under another name")
            self._open.update(metrics)
            return
        if step is None:
            step = self._logged
        self._logged += 1
        self._sender.send(step, **metrics)

    def flush(self) -> None:
        """Push the records that wait (`log` batches records that come within `PUSH_S` of each
        other) now: after a burst that ends before a long pause, such as a round's records."""
        self._sender.flush()

    def should_stop(self) -> bool:
        """True once the notebook asked the job to stop (`job.stop()`). Each rank checks on its
        own, so ranks may see it a step apart: check it where no collective is pending, or
        agree on it with an all_reduce."""
        return (self.run_dir / STOP_FILE).exists()

    def wants_checkpoint(self) -> bool:
        """True when the stop asked for a checkpoint first (an alert rule whose action is
        ``checkpoint_stop``): save one with `save_checkpoint` before leaving the loop."""
        path = self.run_dir / STOP_FILE
        try:
            return path.read_text().strip() == "checkpoint"
        except FileNotFoundError:
            return False

    def ddp(self, model: torch.nn.Module, **kwargs: Any) -> torch.nn.Module:
        """`model` on this rank's device, wrapped in DistributedDataParallel (`kwargs` go to
        it), with a communication hook that averages gradients as DDP's default does and times
        how long the rank waits for them after its own backward is done (``comm_s`` in each
        step's record): DDP makes step times equal, so that wait is what tells a straggler
        (short wait) from the ranks waiting for it, and it is transfer time in R."""
        import torch.distributed as dist
        from torch.nn.parallel import DistributedDataParallel

        if not dist.is_initialized():
            raise RuntimeError("run.ddp() needs a process group: start the function with "
                               "wb.launch (or torchrun), which sets one up")
        if self.device.type == "cuda":
            kwargs.setdefault("device_ids", [self.device.index])
        wrapped = DistributedDataParallel(model.to(self.device), **kwargs)
        wrapped.register_comm_hook(self._comm, _timed_allreduce)
        return wrapped

    def to_device(self, batch: Any) -> Any:
        """`batch` (a tensor, or dicts, lists and tuples of them) on this rank's device, the
        copy counted as transfer (``copy_s`` in the step's record); on CPU it is returned as
        it is. On a GPU the copy is timed with CUDA events, read when the step's record is
        sent, so no step waits for it."""
        if self.device.type != "cuda":
            return batch
        import torch

        start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        moved = _move(batch, self.device)
        stop.record()
        if self._open is not None:
            self._open.setdefault("copy_s", []).append((start, stop))
        return moved

    def memory(self) -> dict[str, int]:
        """This rank's memory now (not the peak): ``rss_bytes``, and on a GPU
        ``gpu_memory_bytes`` (what torch has allocated there)."""
        now = {"rss_bytes": _rss()}
        if self.device.type == "cuda":
            import torch

            now["gpu_memory_bytes"] = int(torch.cuda.memory_allocated(self.device))
        return now

    def heartbeat(self, beat: int) -> None:
        """Send heartbeat number `beat`: the current memory and, inside `run.steps`, the age
        of the step in progress (called by the heartbeat thread)."""
        metrics: dict[str, Any] = {"heartbeat": beat, **self.memory()}
        if self._stepping:
            metrics["step_age_s"] = time.perf_counter() - self._step_began
        self._sender.send(self._next_step, **metrics)
        self._sender.flush()

    def save_checkpoint(self, state: Any) -> Path:
        """`torch.save(state)` to `run_dir/checkpoint.pt`, written by rank 0 only, atomically (a
        temporary file renamed into place, so a crash never leaves half a checkpoint). Call it
        on every rank: the ranks meet at a barrier, so every rank can load it afterwards."""
        import torch
        import torch.distributed as dist

        path = self.run_dir / CHECKPOINT_FILE
        if self.rank == 0:
            write_atomically(path, lambda tmp: torch.save(state, tmp))
        if dist.is_initialized() and self.world_size > 1:
            dist.barrier()
        return path

    def load_checkpoint(self, **torch_load_kwargs: Any) -> Any:
        """The last saved checkpoint, its tensors on this rank's device, or None if there is
        none. Keyword arguments go to `torch.load` (`weights_only=True` by default there)."""
        import torch

        path = self.run_dir / CHECKPOINT_FILE
        if not path.exists():
            return None
        torch_load_kwargs.setdefault("map_location", self.device)
        return torch.load(path, **torch_load_kwargs)

    def steps(self, loader: Iterable[Any], total: int | None = None) -> Iterator[Any]:
        """Yield the batches of `loader`, one record per step: `step` (numbered on across
        calls, so epochs continue), `step_s` (request to next request), `data_s` (time blocked
        in `next(loader)`), `samples`, `peak_memory_bytes` (so far), `tokens` when the batch
        has a "tokens" entry, and what `run.log` added during the step. The first record also
        says `total_steps`: `total` (the whole run's steps, for a progress bar), else the steps
        so far plus `len(loader)`.

        Records also carry ``comm_s`` (collective wait, with `run.ddp`), ``copy_s``
        (`run.to_device`) and, about every `PUSH_S` seconds, ``rss_bytes`` (current RSS).
        Compute time is the rest of the step (`step_s - data_s - comm_s - copy_s`). No GPU
        sync per step: on
        CUDA the step time is measured between CUDA events recorded at each request and read
        one step later, when the GPU has long passed them; on CPU it is `perf_counter`.
        """
        if total is None and hasattr(loader, "__len__"):
            total = self._next_step + len(loader)
        clock = _CudaClock() if self.device.type == "cuda" else _CpuClock()
        iterator = iter(loader)
        # Steps not sent yet: (start mark, start perf_counter, data_s, step, record). Per step
        # only these are taken; records are made, checked and sent together every PUSH_S
        # seconds. That batch runs warm in the CPU's caches: done one by one between training
        # steps, which evict them, the same work cost 3-4 times more (~50 us a step).
        pending: list[tuple[Any, float, float, int, dict[str, Any]]] = []
        due = time.perf_counter() + PUSH_S
        record: dict[str, Any] = {} if total is None else {"total_steps": int(total)}
        self._stepping = True
        self._comm.take()  # a wait before the loop belongs to no step
        try:
            while True:
                mark = clock.mark()  # ends the step before, starts this one
                t0 = self._step_began = time.perf_counter()
                self._open = None
                if t0 >= due:
                    self._close_steps(clock, pending, mark, t0)
                    due = t0 + PUSH_S
                try:
                    batch = next(iterator)
                except StopIteration:
                    self._close_steps(clock, pending, mark, t0, final=True)
                    return
                _count(batch, record)
                pending.append((mark, t0, time.perf_counter() - t0, self._next_step, record))
                self._open = record
                yield batch
                comm = self._comm.take()
                if comm is not None:
                    record["comm_s"] = comm
                self._next_step += 1
                record = {}
        finally:  # the loop was left early (break, should_stop): send the steps still pending
            self._stepping = False
            self._open = None
            if pending:
                self._close_steps(clock, pending, clock.mark(), time.perf_counter(), final=True)

    def _close_steps(self, clock: _CpuClock | _CudaClock,
                     pending: list[tuple[Any, float, float, int, dict[str, Any]]], end: Any,
                     end_t: float, final: bool = False) -> None:
        """Send the pending steps whose times can be read now, and push them to the notebook.
        Each step ends where the next one starts, the newest at `end` (`end_t` on the
        perf_counter clock). On CUDA the newest step waits for the next call (its end event is
        then a while old, so reading it costs no wait), except when `final`."""
        ready = len(pending) if final or not clock.lagged else max(len(pending) - 1, 0)
        if not ready:
            return
        if final or time.monotonic() - self._peak[1] >= 1.0:
            self._peak = (self.peak_memory(), time.monotonic())  # a syscall: not every step
        wall = time.time() - time.perf_counter()  # perf_counter -> time.time()
        bounds = [(entry[0], entry[1]) for entry in pending[1:ready + 1]]
        if len(bounds) < ready:
            bounds.append((end, end_t))
        pending[ready - 1][4].update(self.memory())  # current memory, once a batch of steps
        for (start, _, data_s, step, record), (stop, stop_t) in zip(pending, bounds):
            if isinstance(record.get("copy_s"), list):  # CUDA event pairs, long completed
                record["copy_s"] = sum(_cuda_seconds(a, b) for a, b in record["copy_s"])
            self._sender.send_at(step, wall + stop_t, {
                "step_s": clock.elapsed(start, stop), "data_s": data_s,
                "peak_memory_bytes": self._peak[0], **record})
        del pending[:ready]
        self._sender.flush()

    def peak_memory(self) -> int:
        """This rank's peak memory in bytes: CUDA memory allocated by torch on a GPU, else the
        process's peak resident set size."""
        if self.device.type == "cuda":
            import torch

            return int(torch.cuda.max_memory_allocated(self.device))
        import resource

        return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024  # KiB on Linux

    def __repr__(self) -> str:
        return (f"<Run rank={self.rank}/{self.world_size} local_rank={self.local_rank} "
                f"device={self.device} run_dir={str(self.run_dir)!r}>")


class _CommTimer:
    """What `run.ddp`'s hook measures in one step: when the rank handed its last gradient
    bucket to the all-reduce (its backward was done) and when the last all-reduce completed
    (written by the communication thread, read by the training loop)."""

    def __init__(self, world_size: int) -> None:
        self.world_size = world_size
        self._handed = math.nan
        self._done = math.nan

    def hand(self) -> None:
        self._handed = time.perf_counter()

    def complete(self) -> None:
        now = time.perf_counter()
        if not now <= self._done:  # NaN the first time in a step
            self._done = now

    def take(self) -> float | None:
        """The seconds waited for the step's all-reduces after the last bucket was handed
        over, or None when none ran; and start afresh."""
        waited = self._done - self._handed
        self._handed = self._done = math.nan
        return None if math.isnan(waited) else max(waited, 0.0)


def _timed_allreduce(timer, bucket):  # noqa: ANN001, ANN202 - DDP rejects other annotations
    """DDP's default all-reduce hook (average over ranks), timed (see `_CommTimer`). DDP checks
    a hook's annotations against its own types, which postponed annotations never equal."""
    import torch.distributed as dist

    timer.hand()
    tensor = bucket.buffer().div_(timer.world_size)
    future = dist.all_reduce(tensor, async_op=True).get_future()

    def complete(done: Any) -> Any:
        timer.complete()
        return done.value()[0]

    return future.then(complete)


def _move(batch: Any, device: Any) -> Any:
    """Tensors of `batch` (nested in dicts, lists and tuples) on `device`."""
    if hasattr(batch, "to") and hasattr(batch, "device"):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, dict):
        return {key: _move(value, device) for key, value in batch.items()}
    if isinstance(batch, (list, tuple)):
        return type(batch)(_move(value, device) for value in batch)
    return batch


def _cuda_seconds(start: Any, stop: Any) -> float:
    stop.synchronize()
    return start.elapsed_time(stop) / 1000.0


_PAGE = os.sysconf("SC_PAGE_SIZE")


def _rss() -> int:
    """The process's resident set size now, from /proc (a few microseconds; psutil's
    memory_info reads the same file with more around it), or the peak where /proc is absent."""
    try:
        with open("/proc/self/statm", "rb") as fh:
            return int(fh.read().split()[1]) * _PAGE
    except OSError:
        import resource

        return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


class _CpuClock:
    """Marks are perf_counter readings; readable at once."""

    lagged = False

    def mark(self) -> float:
        return time.perf_counter()

    def elapsed(self, start: float, stop: float) -> float:
        return stop - start


class _CudaClock:
    """Marks are CUDA events on the current stream; `elapsed` is read only when the later event
    has completed in practice (a step later), so the wait it implies is near zero."""

    lagged = True

    def mark(self) -> Any:
        import torch

        event = torch.cuda.Event(enable_timing=True)
        event.record()
        return event

    def elapsed(self, start: Any, stop: Any) -> float:
        stop.synchronize()
        return start.elapsed_time(stop) / 1000.0


def _count(batch: Any, counts: dict[str, Any]) -> None:
    """Into `counts`: samples (batch["samples"], else the length of the batch's first tensor)
    and tokens (batch["tokens"]: a count, or a tensor whose elements are counted)."""
    first = batch
    if isinstance(batch, dict):
        if "samples" in batch:
            counts["samples"] = int(batch["samples"])
        else:
            first = next(iter(batch.values()), None)
        if "tokens" in batch:
            tokens = batch["tokens"]
            counts["tokens"] = int(tokens.numel()) if hasattr(tokens, "numel") else int(tokens)
    elif isinstance(batch, (list, tuple)):
        first = batch[0] if batch else None
    if "samples" not in counts and hasattr(first, "shape") and len(first.shape) > 0:
        counts["samples"] = int(first.shape[0])


def watch_parent() -> None:
    """Kill this worker's process group once its parent is gone (see the module docstring)."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(_WATCHDOG_S)
        os.killpg(os.getpgid(0), signal.SIGKILL)

    threading.Thread(target=watch, name="workbench parent watchdog", daemon=True).start()


def _start_heartbeat(run: Run) -> Callable[[], None]:
    """Start the rank's heartbeat thread (see the module docstring); returns what ends it
    (before the sender closes)."""
    stop = threading.Event()

    def beat() -> None:
        beats = 0
        while not stop.wait(HEARTBEAT_S):
            beats += 1
            run.heartbeat(beats)

    thread = threading.Thread(target=beat, name="workbench heartbeat", daemon=True)
    thread.start()

    def end() -> None:
        stop.set()
        thread.join()
        run._sender.send(run._next_step, exiting=1)  # silence from here on is not a fault


    return end


def write_atomically(path: Path, write: Callable[[Path], object]) -> None:
    """``write`` a temporary file beside ``path``, then rename it into place: readers see the
    old file or the whole new one, never half of it."""
    tmp = path.with_name(path.name + ".tmp")
    write(tmp)
    os.replace(tmp, path)


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m workbench.train.runtime",
        description="Run one rank of a training function (under wb.launch or torchrun).")
    parser.add_argument("target", nargs="?", help="module:function to call with no arguments")
    parser.add_argument("--payload", help="a cloudpickled (fn, args, kwargs) file (wb.launch)")
    parser.add_argument("--run-dir", default=os.environ.get(ENV_RUN_DIR),
                        help="where metrics, checkpoints and errors go (default: ./runs/NAME)")
    parser.add_argument("--metrics", default=os.environ.get(ENV_METRICS),
                        help="a MetricsSink address to push records to")
    parser.add_argument("--backend", default=os.environ.get(ENV_BACKEND, "auto"),
                        choices=["auto", "nccl", "gloo"])
    args = parser.parse_args(argv)
    if (args.target is None) == (args.payload is None):
        parser.error("give either module:function or --payload")
    if args.target is not None and ":" not in args.target:
        parser.error(f"{args.target!r} is not module:function")
    return args


def _load(args: argparse.Namespace) -> tuple[Any, tuple, dict]:
    if args.payload:
        import cloudpickle

        return cloudpickle.loads(Path(args.payload).read_bytes())
    module, _, name = args.target.partition(":")
    sys.path.insert(0, os.getcwd())  # as `python -m` would for a script beside it
    return getattr(importlib.import_module(module), name), (), {}


def main(argv: list[str] | None = None) -> int:
    """Run one rank: set up the process group and the `Run`, call the function, report back.
    Returns the exit status (0, or 1 after writing the traceback to `error-rank{rank}.json`)."""
    global _current
    args = _parse(argv)
    for entry in json.loads(os.environ.get(ENV_SYS_PATH, "[]")):
        if entry not in sys.path:  # the notebook's path, so by-reference pickles import here
            sys.path.append(entry)
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    target = args.target or "payload"
    run_dir = Path(args.run_dir or Path("runs") / target.replace(":", "-"))
    run_dir.mkdir(parents=True, exist_ok=True)
    watch_parent()

    import torch
    import torch.distributed as dist

    from workbench.train.metrics import MetricsSender

    backend = args.backend
    if backend == "auto":
        backend = "nccl" if torch.cuda.is_available() else "gloo"
    if backend == "nccl":
        torch.cuda.set_device(local_rank)
        device = torch.device("cuda", local_rank)
    else:
        device = torch.device("cpu")
    sender = MetricsSender(args.metrics or _NO_SINK, rank, run_dir, hwm=1000 if args.metrics else 1)
    end_heartbeat: Callable[[], None] | None = None  # set once the run exists
    try:
        fn, fargs, fkwargs = _load(args)
        if world_size > 1 or "MASTER_ADDR" in os.environ:
            dist.init_process_group(backend, rank=rank, world_size=world_size,
                                    device_id=device if device.type == "cuda" else None)
        _current = Run(rank, local_rank, world_size, device, run_dir, sender)
        end_heartbeat = _start_heartbeat(_current)
        result = fn(*fargs, **fkwargs)
        if rank == 0 and args.payload:
            import cloudpickle

            try:
                data = cloudpickle.dumps(result)
            except Exception as err:
                raise TypeError(f"the return value of rank 0 ({type(result).__name__}) cannot "
                                f"be pickled to send it back: {err}") from err
            write_atomically(run_dir / RESULT_FILE, lambda tmp: tmp.write_bytes(data))
    except BaseException as err:
        # No destroy_process_group here: with a peer gone it can hang (NCCL); exiting frees all.
        record = {"rank": rank, "time": time.time(), "pid": os.getpid(),
                  "exception": f"{type(err).__name__}: {err}",
                  "traceback": traceback.format_exc()}
        write_atomically(error_path(run_dir, rank),
                          lambda tmp: tmp.write_text(json.dumps(record)))
        sys.stderr.write(record["traceback"])
        if end_heartbeat is not None:
            end_heartbeat()
        sender.close(linger=1.0)
        return 1
    if dist.is_initialized():
        gc.collect()  # a DDP model in a reference cycle goes while its process group lives
        dist.destroy_process_group()
    if end_heartbeat is not None:
        end_heartbeat()
    sender.close(linger=1.0)
    _current = None
    return 0


if __name__ == "__main__":
    # Run as `python -m`, this file is `__main__`; the function's `wb.train.current()` looks in
    # `workbench.train.runtime`, so run the main of that module, not of this copy.
    from workbench.train.runtime import main as _main

    sys.exit(_main())
