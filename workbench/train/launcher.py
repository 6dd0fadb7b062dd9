"""`wb.launch(fn)`: train on every GPU (or two CPU processes) from a notebook, without blocking it.

``job = wb.launch(train, model_cfg, nprocs="auto")`` returns at once. Each rank is a fresh
interpreter (``python -m workbench.train.runtime``, see `workbench.train.runtime`) that joins a
torch.distributed process group, calls ``train(model_cfg)`` and pushes its metrics to the
notebook. ``job.status``, ``job.metrics`` (a DataFrame), ``job.wait()`` (rank 0's return value),
``job.stop()``.

What this takes from torch.multiprocessing's ``start_processes(join=False)`` / ``ProcessContext``
and accelerate's ``notebook_launcher``, done our own way:

- Spawned, never forked: a forked child inherits a notebook's CUDA context and threads (the
  ZeroMQ and Dask ones), which deadlocks or crashes. Spawning means the function travels
  pickled, so it is pickled *by value* with cloudpickle: functions and classes defined in the
  notebook (``__main__``) work. Everything is pickled here, before any process starts, and
  what cannot be pickled is named (down to the closure variable or global that is the cause).
- A child's failure reaches the parent as text: the worker writes its traceback to
  ``run_dir/error-rank{rank}.json`` (ProcessContext does the same through a temporary file),
  and `WorkerError` carries it with the rank and the exit code or signal. When several ranks
  fail, the first to fail is the cause (the others usually die of a broken collective).
- One rank failing stops the job: a monitor thread polls the processes (the notebook keeps
  running cells) and terminates the other ranks at once, SIGTERM then SIGKILL after a grace.
- No orphans: each worker leads its own process group, which is what gets killed (its
  DataLoader workers too), on failure, stop, a `wait` timeout, garbage collection of the `Job`
  and interpreter exit; a worker also kills itself when its parent disappears (a watchdog).
- A fresh rendezvous port per launch, so back-to-back launches never collide with a port still
  in TIME_WAIT or a job that is still running.
"""

from __future__ import annotations

import html
import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
import weakref
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.compute.probe import free_port
from workbench.compute.registry import owner_fields
from workbench.display import view
from workbench.errors import WorkbenchError
from workbench.home import new_run_dir
from workbench.train.runtime import (
    ENV_BACKEND,
    ENV_METRICS,
    ENV_RUN_DIR,
    ENV_SYS_PATH,
    RESULT_FILE,
    STOP_FILE,
    error_path,
    write_atomically,
)

if TYPE_CHECKING:
    import pandas as pd

    from workbench.compute.gpus import GpuSampler
    from workbench.lake import Lake
    from workbench.ops import Rule
    from workbench.train.alerting import RunAlerts
    from workbench.train.metrics import MetricsSink
    from workbench.train.summary import Summary

__all__ = ["Job", "WorkerError", "launch", "spawn"]

# How a run other than a training run goes into the lake: (lake, info, records) -> version.
Save = Callable[["Lake", dict[str, Any], "pd.DataFrame"], int]

_POLL_S = 0.05  # how often the monitor looks at the workers
_KILL_GRACE_S = 3.0  # SIGTERM -> SIGKILL, for ranks terminated because another one failed
_PAYLOAD_FILE = "payload.pkl"
_STOP_GRACE_S = 10.0  # a stop asked through the STOP file -> terminate what still runs
JOB_FILE = "job.json"  # name, times, status, owner and rank pids, error: written at start and end
ALERTS_TABLE = "_alerts"  # every alert of every run, as `Job.alerts` shows it


class WorkerError(WorkbenchError, RuntimeError):
    """A rank of a launched job failed. `rank`, `exitcode` (negative: killed by that signal),
    `traceback` (the remote one, as text; empty when the process died without writing one) and
    `failures` (every failed rank: rank -> (exitcode, traceback))."""

    def __init__(self, rank: int, exitcode: int, traceback: str,
                 failures: dict[int, tuple[int, str]]) -> None:
        self.rank = rank
        self.exitcode = exitcode
        self.traceback = traceback
        self.failures = failures
        detail = traceback or ("it left no traceback (killed, out of memory, or a crash in "
                               "native code)")
        super().__init__(f"rank {rank} failed ({describe_exit(exitcode)}):\n{detail}")


def launch(fn: Callable[..., Any], *args: Any, nprocs: int | str = "auto",
           backend: str = "auto", run_dir: str | os.PathLike[str] | None = None,
           runs_lake: Lake | str | os.PathLike[str] | None = "default",
           alerts: list[Rule] | str | None = "default", on_alert: Any = None,
           **kwargs: Any) -> Job:
    """Start `fn(*args, **kwargs)` on `nprocs` ranks and return a `Job` at once.

    `nprocs="auto"`: one rank per CUDA GPU, or 2 CPU processes without one. `backend="auto"`:
    nccl on GPUs, gloo on CPU (loopback). `run_dir` (default
    ``$WORKBENCH_HOME/runs/<time>-<fn name>-<id>``) receives the metrics logs, the checkpoint
    and any error. When the job ends, its summary and metrics go to `runs_lake`'s `_runs` and
    `_run_metrics` tables (default: `wb.lake.default_lake()`; None: nowhere). Inside `fn`,
    `wb.train.current()` is the rank's `Run`. `alerts` are the `wb.ops` rules watching the
    run's records as they arrive ("default": `wb.ops.default_rules()`; None: none; a list of
    rules and built-in rules' names), `on_alert` a callable or an http(s) URL (a
    `wb.ops.Webhook`), or a list of them, told of each alert as it fires and resolves;
    `job.alerts` lists them, and a rule whose action is "stop" or "checkpoint_stop" stops the
    run (see `run.wants_checkpoint()`).
    """
    import torch

    if not callable(fn):
        raise TypeError(f"launch() needs a function to run, not {type(fn).__name__}")
    gpus = torch.cuda.device_count()
    if nprocs == "auto":
        nprocs = gpus or 2
    if isinstance(nprocs, bool) or not isinstance(nprocs, int) or nprocs < 1:
        raise ValueError(f"nprocs must be a positive int or 'auto', not {nprocs!r}")
    if backend == "auto":
        backend = "nccl" if gpus else "gloo"
    if backend not in ("nccl", "gloo"):
        raise ValueError(f"backend must be 'auto', 'nccl' or 'gloo', not {backend!r}")
    if backend == "nccl" and nprocs > gpus:
        raise ValueError(f"nccl needs one GPU per rank: nprocs={nprocs} but {gpus} GPU(s) are "
                         "visible; lower nprocs or use backend='gloo'")
    return Job(spawn(fn, args, kwargs, nprocs=nprocs, backend=backend, run_dir=run_dir,
                     runs_lake=runs_lake, alerts=alerts, on_alert=on_alert))


def spawn(fn: Callable[..., Any], args: tuple, kwargs: dict[str, Any], *, nprocs: int,
          backend: str, run_dir: str | os.PathLike[str] | None,
          runs_lake: Lake | str | os.PathLike[str] | None, name: str | None = None,
          labels: dict[str, Any] | None = None, save: Save | None = None,
          alerts: list[Rule] | str | None = None, on_alert: Any = None,
          default_alerts: list[Rule] | None = None) -> _Group:
    """Start the ranks of a checked launch and the thread that watches them: what `launch` and
    `wb.fl.launch` (one rank: the aggregator) share. `labels` override the run's recorded
    backend and device; `save` writes the run to the lake instead of `save_run`;
    `default_alerts` are what ``alerts="default"`` means (else `wb.ops.default_rules()`)."""
    import cloudpickle

    from workbench.ops.rules import rules_from
    from workbench.train.alerting import callbacks

    payload = _pickle(cloudpickle, fn, args, kwargs)  # before anything starts or is created
    rules = rules_from(alerts, default_alerts)
    receivers = callbacks(on_alert)
    if name is None:
        name = getattr(fn, "__name__", type(fn).__name__)
    if run_dir is None:
        run_dir = new_run_dir(name)
    run_dir = Path(run_dir).resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    for stale in (STOP_FILE, RESULT_FILE, *(error_path(run_dir, r).name for r in range(nprocs))):
        (run_dir / stale).unlink(missing_ok=True)  # leftovers of an earlier run in this dir
    (run_dir / _PAYLOAD_FILE).write_bytes(payload)

    from workbench.compute.gpus import GpuSampler, gpus
    from workbench.train.metrics import MetricsSink

    device = "cpu" if backend == "gloo" else f"cuda ({gpus()[0]['name']})" if gpus() else "cuda"
    info = {"run_id": run_dir.name, "name": name, "backend": backend, "device": device,
            "nprocs": nprocs, "started": time.time(), "run_dir": str(run_dir), **(labels or {})}
    sink = MetricsSink()
    sampler = GpuSampler() if backend == "nccl" else None
    port = free_port()
    procs: list[subprocess.Popen] = []
    try:
        for rank in range(nprocs):
            env = {**os.environ, "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port),
                   "RANK": str(rank), "LOCAL_RANK": str(rank), "WORLD_SIZE": str(nprocs),
                   ENV_METRICS: sink.address, ENV_RUN_DIR: str(run_dir), ENV_BACKEND: backend,
                   ENV_SYS_PATH: json.dumps([p for p in sys.path if p])}
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "workbench.train.runtime",
                 "--payload", str(run_dir / _PAYLOAD_FILE)],
                env=env, start_new_session=True))
    except BaseException:
        _Group(procs, sink, run_dir, info, sampler, None).kill()
        raise
    # Registered as running before the monitor starts (it writes the end): any process can
    # list the run (`wb.runs()`), and tell from the owner's pid whether it is still alive.
    info.update(status="running", pids=[proc.pid for proc in procs], **owner_fields())
    write_atomically(run_dir / JOB_FILE, lambda tmp: tmp.write_text(json.dumps(info)))
    alerts = None
    if rules:  # before the monitor starts: a run that ends at once still finishes its alerts
        from workbench.ops import default_rules
        from workbench.train.alerting import RunAlerts

        alerts = RunAlerts(info["run_id"], rules, receivers, run_dir,
                           built_in=[*default_rules(), *(default_alerts or [])])
    return _Group(procs, sink, run_dir, info, sampler, runs_lake, save, alerts)


class Job:
    """A launched training job: `status`, `wait()`, `stop()`, `metrics`, `summary()`,
    `monitor()`, `run_dir`."""

    def __init__(self, group: _Group) -> None:
        self.name: str = group.info["name"]
        self.backend: str = group.info["backend"]
        self.device: str = group.info["device"]
        self._group = group
        self._result: Any = None
        self._result_loaded = False
        # Kill the workers when the Job is collected or the interpreter exits (finalize runs
        # at exit too). The monitor thread holds the group, never the Job, so collection works.
        self._finalizer = weakref.finalize(self, group.kill)

    @property
    def run_dir(self) -> Path:
        return self._group.run_dir

    @property
    def nprocs(self) -> int:
        return len(self._group.procs)

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self._group.procs]

    @property
    def status(self) -> str:
        """"running", "succeeded", "failed" (a rank failed) or "stopped" (`stop()` ended it)."""
        return self._group.status()

    @property
    def metrics(self) -> pd.DataFrame:
        """Every record the ranks logged: rank, step, time, then the metrics. Live from the
        sink while running; once the job ended, from the JSONL logs, which have every record
        (those the live channel dropped too)."""
        from workbench.train.metrics import read_run

        if self._group.done.is_set():
            return read_run(self.run_dir)
        return self._group.sink.frame()

    @property
    def records(self) -> int:
        """How many records the notebook has received from the ranks so far; cheap (no frame
        is built), for pollers such as the live view."""
        return len(self._group.sink)

    @property
    def gpu_samples(self) -> int:
        """How many GPU samples `gpu` holds so far; cheap (no frame is built)."""
        return 0 if self._group.sampler is None else len(self._group.sampler)

    @property
    def alerts(self) -> pd.DataFrame:
        """The run's alerts, live (rule, severity, run, rank, state, value, threshold, started,
        resolved, message); empty when it runs without rules."""
        from workbench.ops.watch import COLUMNS

        if self._group.alerts is None:
            import pandas as pd

            return pd.DataFrame(columns=list(COLUMNS))
        return self._group.alerts.frame()

    @property
    def error(self) -> WorkerError | None:
        """The failure of a failed job (rank, exit, remote traceback), else None."""
        return self._group.failure if self.status == "failed" else None

    @property
    def gpu(self) -> pd.DataFrame:
        """GPU utilisation and memory, sampled through NVML once a second while the job runs
        (columns of `GpuSampler.COLUMNS`); empty on CPU."""
        from workbench.compute.gpus import GpuSampler

        if self._group.sampler is None:
            import pandas as pd

            return pd.DataFrame(columns=list(GpuSampler.COLUMNS))
        return self._group.sampler.frame()

    def summary(self, flops_per_sample: float | None = None, dtype: Any = "bf16") -> Summary:
        """Throughput, step-time percentiles, data-wait share, straggler ratio, peak memory and
        (given the model's training FLOPs per sample, on a GPU with a known peak for `dtype`)
        MFU; see `workbench.train.summary`. Live while running."""
        from workbench.train.summary import summarize

        name = self.device.partition("(")[2].rstrip(")") or None
        return summarize(self.metrics, flops_per_sample=flops_per_sample, device_name=name,
                         dtype=dtype)

    def monitor(self, **options: Any) -> Any:
        """The live view of this job in the notebook: a `wb.widgets.TrainingMonitor`, found
        through `workbench.display`."""
        return view(self, **options)

    @property
    def recorded(self) -> int | None:
        """The `_runs` table version this run was written as: None while running or when
        `runs_lake=None`; once the job ended, waits for the write. Raises its error if it
        failed."""
        if self._group.done.is_set():
            self._group.recorded_event.wait()
        if self._group.record_error is not None:
            raise self._group.record_error
        return self._group.recorded

    def wait(self, timeout: float | None = None) -> Any:
        """Block until the job ends and is recorded in the lake (a script that exits right
        after must not lose the record); return rank 0's return value (None when stopped before
        rank 0 returned). Raises `WorkerError` when a rank failed, and TimeoutError after
        `timeout` seconds, having terminated the job (no process outlives a lost wait)."""
        if not self._group.done.wait(timeout):
            self._group.kill()
            raise TimeoutError(f"{self.name} was still running after {timeout} s; its "
                               f"{self.nprocs} processes were terminated")
        self._group.recorded_event.wait()  # a local write: no timeout needed
        if self._group.failure is not None and self.status == "failed":
            raise self._group.failure
        if not self._result_loaded:
            path = self.run_dir / RESULT_FILE
            if path.exists():
                import cloudpickle

                self._result = cloudpickle.loads(path.read_bytes())
            self._result_loaded = True
        return self._result

    def stop(self, grace: float = _STOP_GRACE_S) -> None:
        """Ask every rank to stop (`run.should_stop()` turns True) and return at once; ranks
        still running after `grace` seconds are terminated. `wait()` for the end."""
        self._group.request_stop(grace)

    def __enter__(self) -> Job:
        return self

    def __exit__(self, *exc: object) -> None:
        self._group.kill()

    def _ranks(self) -> list[tuple[int, int, str]]:
        codes = self._group.exitcodes()
        return [(rank, proc.pid, "running" if code is None else describe_exit(code))
                for rank, (proc, code) in enumerate(zip(self._group.procs, codes))]

    def __repr__(self) -> str:
        ranks = ", ".join(f"{rank}:{state}" for rank, _, state in self._ranks())
        return (f"<Job {self.name} {self.status} backend={self.backend} ranks=[{ranks}] "
                f"run_dir={str(self.run_dir)!r}>")

    def _repr_html_(self) -> str:
        rows = "".join(f"<tr><td>{rank}</td><td>{pid}</td><td>{html.escape(state)}</td></tr>"
                       for rank, pid, state in self._ranks())
        return (f"<div><b>Job {html.escape(self.name)}</b>: {self.status} "
                f"({self.backend}, {self.nprocs} ranks)<br><code>{html.escape(str(self.run_dir))}"
                f"</code><table><tr><th>rank</th><th>pid</th><th>state</th></tr>{rows}</table>"
                "</div>")


class _Group:
    """The processes of one job and the thread that watches them. Holds no reference to the
    `Job`, so a forgotten Job is collected and its finalizer kills the group."""

    def __init__(self, procs: list[subprocess.Popen], sink: MetricsSink, run_dir: Path,
                 info: dict[str, Any], sampler: GpuSampler | None,
                 lake: Lake | str | os.PathLike[str] | None, save: Save | None = None,
                 alerts: RunAlerts | None = None) -> None:
        self.procs = procs
        self.save = save
        self.alerts = alerts
        self.sink = sink
        self.run_dir = run_dir
        self.info = info
        self.sampler = sampler
        self.lake = lake
        self.recorded: int | None = None
        self.record_error: Exception | None = None
        self.done = threading.Event()
        self.recorded_event = threading.Event()  # set once the lake has the run (or failed to)
        self.failure: WorkerError | None = None
        self._failed_at: float | None = None
        self._stop_at: float | None = None  # when stop() was asked
        self._stop_deadline: float | None = None
        self._lock = threading.Lock()  # one killer at a time
        self._killed = False
        self._thread = threading.Thread(target=self._monitor, daemon=True,
                                        name=f"workbench job monitor {run_dir.name}")
        self._thread.start()

    def exitcodes(self) -> list[int | None]:
        return [proc.poll() for proc in self.procs]

    def status(self) -> str:
        if not self.done.is_set():
            return "running"
        if self._failed_at is not None and (self._stop_at is None
                                            or self._failed_at < self._stop_at):
            return "failed"
        if self._stop_at is not None:
            return "stopped"
        return "succeeded" if all(code == 0 for code in self.exitcodes()) else "failed"

    def request_stop(self, grace: float, *, checkpoint: bool = False) -> None:
        """Ask the ranks to stop through the STOP file (saying "checkpoint" when a checkpoint
        should come first: `run.wants_checkpoint()`), and kill them after `grace` seconds."""
        if self.done.is_set() or self._stop_at is not None:
            return
        (self.run_dir / STOP_FILE).write_text("checkpoint" if checkpoint else "")
        self._stop_at = time.monotonic()
        self._stop_deadline = self._stop_at + grace

    def _monitor(self) -> None:
        while True:
            codes = self.exitcodes()
            if self.failure is None and any(code not in (None, 0) for code in codes):
                self._failed_at = time.monotonic()
                self.failure = self._first_failure(codes)
                self.kill()
            if self._stop_at is None and (self.run_dir / STOP_FILE).exists():
                self.request_stop(_STOP_GRACE_S)  # another process asked (`wb.train.stop_run`)
            if self._stop_deadline is not None and time.monotonic() > self._stop_deadline:
                self.kill()
            if self.alerts is not None:
                gone = [rank for rank, code in enumerate(codes) if code is not None]
                stops = self.alerts.poll(self.sink, time.time(), gone)
                if stops:  # a rule whose action is to stop the run
                    self.request_stop(_STOP_GRACE_S, checkpoint=any(
                        a.action == "checkpoint_stop" for a in stops))
            if all(code is not None for code in codes):
                break
            time.sleep(_POLL_S)
        self._finish()

    def _first_failure(self, codes: list[int | None]) -> WorkerError:
        """The cause among the failed ranks: the earliest written traceback (a rank whose
        collective broke because a peer died fails after it), else the lowest rank."""
        reports: dict[int, dict[str, Any]] = {}
        for rank, code in enumerate(codes):
            path = error_path(self.run_dir, rank)
            if code not in (None, 0) and path.exists():
                reports[rank] = json.loads(path.read_text())
        failures = {rank: (code, reports.get(rank, {}).get("traceback", ""))
                    for rank, code in enumerate(codes) if code not in (None, 0)}
        rank = min(failures, key=lambda r: (reports.get(r, {}).get("time", float("inf")), r))
        return WorkerError(rank, failures[rank][0], failures[rank][1], failures)

    def kill(self, grace: float = _KILL_GRACE_S) -> None:
        """SIGTERM every worker's process group, SIGKILL what is left after `grace` seconds,
        and reap them. Safe to call from any thread, any number of times."""
        with self._lock:
            if self._killed:  # a reaped pid may be reused: never signal its group again
                return
            for proc in self.procs:
                if proc.poll() is None:
                    _signal_group(proc.pid, signal.SIGTERM)
            deadline = time.monotonic() + grace
            for proc in self.procs:
                with suppress(subprocess.TimeoutExpired):
                    proc.wait(max(deadline - time.monotonic(), 0))
            for proc in self.procs:  # also the group's stragglers (a worker's own children)
                _signal_group(proc.pid, signal.SIGKILL)
                proc.wait()
            self._killed = True

    def _finish(self) -> None:
        """End the job, then record it; both events are set whatever fails, so no `wait()`
        hangs (a failure here is raised in this thread and printed by Python)."""
        try:
            self.kill(grace=0)  # nothing of the job may outlive it
            self.sink.close()
            if self.alerts is not None:  # the records of the last poll's gap, then the end
                self.alerts.poll(self.sink, time.time())
                self.alerts.finish()
            if self.sampler is not None:
                self.sampler.stop()
            (self.run_dir / _PAYLOAD_FILE).unlink(missing_ok=True)
        finally:
            self.done.set()
        try:
            self.info.update(ended=time.time(), status=self.status(),
                             error=str(self.failure) if self.status() == "failed" else "")
            write_atomically(self.run_dir / JOB_FILE,
                             lambda tmp: tmp.write_text(json.dumps(self.info)))
            if self.lake is not None:
                self._record()
        finally:
            self.recorded_event.set()

    def _record(self) -> None:
        """The run into the lake's results tables. A failure here does not change the job's
        outcome; it is kept and raised by `Job.recorded`, and printed, never dropped."""
        from workbench.lake import Lake, default_lake
        from workbench.train.metrics import read_run
        from workbench.train.records import save_run
        from workbench.train.summary import summarize

        try:  # resolved here, not at launch: importing the lake takes the first second
            if not hasattr(self.lake, "record"):
                self.lake = default_lake() if self.lake == "default" else Lake(self.lake)
            metrics = read_run(self.run_dir)
            fired = None if self.alerts is None else self.alerts.frame().query(
                "state != 'pending'")  # as Prometheus notifies: a pending one never fired
            if fired is not None and len(fired):
                self.lake.record(ALERTS_TABLE, fired.rename(columns={"run": "run_id"}))
            if self.save is not None:
                self.recorded = self.save(self.lake, self.info, metrics)
                return
            has_steps = "step_s" in metrics and metrics["step_s"].notna().any()
            summary = summarize(metrics) if has_steps else None
            self.recorded = save_run(self.lake, self.info, metrics, summary)
        except Exception as err:
            self.record_error = err
            print(f"workbench: run {self.info['run_id']} could not be written to the lake "
                  f"{getattr(self.lake, 'uri', self.lake)}: {err}", file=sys.stderr)


def _signal_group(pid: int, sig: signal.Signals) -> None:
    """Signal the process group a worker leads; it may be gone already."""
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def describe_exit(code: int) -> str:
    """A process's exit status in words: "exit code 1", "killed by SIGKILL"."""
    if code < 0:
        with suppress(ValueError):
            return f"killed by {signal.Signals(-code).name}"
        return f"killed by signal {-code}"
    return f"exit code {code}"


def _pickle(cloudpickle: Any, fn: Callable[..., Any], args: tuple, kwargs: dict) -> bytes:
    """cloudpickle `(fn, args, kwargs)`, or a TypeError that names what cannot be pickled."""
    try:
        return cloudpickle.dumps((fn, args, kwargs))
    except Exception as err:
        named = itertools.chain(
            ((f"the function {getattr(fn, '__qualname__', fn)!r}", fn),),
            ((f"argument {i} ({type(a).__name__})", a) for i, a in enumerate(args)),
            ((f"keyword argument {k!r} ({type(v).__name__})", v) for k, v in kwargs.items()))
        for what, obj in named:
            try:
                cloudpickle.dumps(obj)
            except Exception as inner:
                if obj is fn:
                    what += _culprit_in_function(cloudpickle, fn)
                raise TypeError(f"{what} cannot be sent to the worker processes: {inner}. "
                                "Pass something picklable instead (e.g. create locks, open "
                                "files and connections inside the function).") from inner
        raise TypeError(f"the launch arguments cannot be pickled: {err}") from err


def _culprit_in_function(cloudpickle: Any, fn: Callable[..., Any]) -> str:
    """Which closure variable or global of `fn` stops it from pickling, as ', via ...'."""
    code = getattr(fn, "__code__", None)
    if code is None:
        return ""
    candidates = []
    for name, cell in zip(code.co_freevars, fn.__closure__ or ()):
        with suppress(ValueError):  # an empty cell: nothing to pickle there
            candidates.append((f"closure variable {name!r}", cell.cell_contents))
    fn_globals = getattr(fn, "__globals__", {})
    candidates += [(f"global {name!r}", fn_globals[name]) for name in code.co_names
                   if name in fn_globals]
    for what, value in candidates:
        try:
            cloudpickle.dumps(value)
        except Exception:  # the one we are looking for
            return f", via its {what} ({type(value).__name__})"
    return ""
