"""Every training run on this machine, live or finished, from its directory: `wb.runs()`.

A run directory (``$WORKBENCH_HOME/runs/<stamp>-<name>-<id>/`` unless `wb.launch` was given
another) is a run once it holds ``job.json``: the launcher writes it at the start (status
"running", the launching process's pid and start time, the ranks' pids) and again at the end
(succeeded, failed or stopped). So any process, a second notebook or the Jupyter server, can list
runs, and a "running" entry whose launching process has gone reads "stopped".

Cheap enough to poll every few seconds over a hundred runs: what is parsed of each file is kept
in this module, keyed by the file's identity, size and modification time. An unchanged file
(every file of a finished run) is only stat'ed; a growing JSONL log is read from where the last
call stopped; the figures of a run are recomputed only when one of its logs changed. The cache
holds only runs that are there: those of the root just listed, and of other roots those whose
directory still exists.

Alerts are read from the run's ``alerts.jsonl`` (`workbench.train.alert_log`) the same way: only
the lines appended since the last call, each (rule, rank) keeping its latest state.

Throughput is `workbench.train.series.total_throughput`: the same per-rank ratio as the run's
summary, over each rank's last `WINDOW` steps.

``wb.train.runs`` is the function `runs`; this module is callable too (as `workbench.publish`
is), so ``wb.train.runs()`` works even where ``import workbench.train.runs`` ran first and the
import system bound the module to that name.
"""

from __future__ import annotations

import json
import math
import os
import sys
import threading
import types
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from workbench.compute.registry import owner_alive
from workbench.errors import WorkbenchError
from workbench.home import home
from workbench.train.alert_log import alerts_path, fold, severity_rank
from workbench.train.metrics import DECODE_NONFINITE, log_path
from workbench.train.runtime import STOP_FILE, error_path

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["COLUMNS", "RunNotFoundError", "RunNotRunningError", "runs", "stop_run",
           "throughput", "traceback"]

JOB_FILE = "job.json"  # as `workbench.train.launcher.JOB_FILE`, without importing torch
WINDOW = 20  # steps per rank that the recent throughput spans
COLUMNS = ("id", "name", "status", "ranks", "steps", "samples_per_s", "last_loss", "started",
           "ended", "error_rank", "error", "alerts", "alert", "alert_severity", "run_dir")
_STATUSES = {"running", "succeeded", "failed", "stopped"}
_RECENT = ("rank", "step", "time", "step_s", "samples")


class RunNotFoundError(WorkbenchError, LookupError):
    """No run with that id is listed under the runs directory."""


class RunNotRunningError(WorkbenchError, RuntimeError):
    """The run exists but is not running, so there is nothing to stop."""


def runs(root: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """One row per run under `root` (default ``$WORKBENCH_HOME/runs``), newest first: what a
    sidebar or another kernel lists, read from the run directories alone.

    Columns `COLUMNS`: `id` (the directory's name), `name`, `status` ("running", "succeeded",
    "failed" or "stopped"), `ranks`, `steps` (steps done: the highest step any rank logged plus
    one), `samples_per_s` (recent throughput summed over ranks), `last_loss` (NaN if none),
    `started` and `ended` (unix seconds; `ended` NaN while running or when the launching
    process died before recording it), `error_rank` (<NA> unless failed), `error`, `alerts`
    (how many of the run's alerts are firing now, from its ``alerts.jsonl``), `alert` and
    `alert_severity` (the message and severity of the most severe of them, the latest among
    equals; '' when none fires), `run_dir`.
    Directories without a ``job.json`` are not runs and are skipped; an unreadable ``job.json``
    is a "failed" row whose `error` says why.
    """
    import pandas as pd

    base = _root(root)
    with _LOCK:
        rows = [row for run_dir in _dirs(base) if (row := _row(run_dir)) is not None]
        listed = {row["run_dir"] for row in rows}
        for key in [key for key in _CACHE if key not in listed and (
                Path(key).parent == base or not os.path.isdir(key))]:
            del _CACHE[key]  # no longer a run here, or (under another root) gone
    rows.sort(key=lambda row: row["_order"], reverse=True)
    table = pd.DataFrame(rows, columns=list(COLUMNS))  # without the sort key
    return table.astype({"ranks": "int64", "steps": "int64", "samples_per_s": "float64",
                         "last_loss": "float64", "started": "float64", "ended": "float64",
                         "error_rank": "Int64", "alerts": "int64"})


def throughput(run_dir: str | os.PathLike[str], points: int = 60) -> pd.DataFrame:
    """The run's total samples/s over time (columns time, samples_per_s; unix seconds), thinned
    to at most `points` evenly spread rows, first and last kept: the data of a sparkline.
    `run_dir` is a listed run's `run_dir` (look a client's id up in `runs()` first)."""
    import numpy as np

    from workbench.train.metrics import read_run
    from workbench.train.series import total_throughput

    if points < 1:
        raise ValueError(f"points must be at least 1, not {points}")
    series = total_throughput(read_run(run_dir), WINDOW)
    if len(series) <= points:
        return series
    keep = np.unique(np.linspace(0, len(series) - 1, points).round().astype(np.int64))
    return series.iloc[keep].reset_index(drop=True)


def stop_run(run_id: str, root: str | os.PathLike[str] | None = None) -> None:
    """Ask a running run to stop, from any process: touch its STOP file, as `job.stop()` does,
    so `run.should_stop()` turns True on every rank and its launcher records it "stopped".

    `run_id` must be the `id` of a listed run (it is never used as a path otherwise): raises
    `RunNotFoundError` for any other, `RunNotRunningError` when that run is not running.
    """
    row = _find(run_id, root)
    if row["status"] != "running":
        raise RunNotRunningError(f"run {run_id!r} is {row['status']}, not running: there is "
                                 "nothing to stop")
    (Path(row["run_dir"]) / STOP_FILE).touch()


def traceback(run_id: str, root: str | os.PathLike[str] | None = None) -> str:
    """The traceback of the rank that failed first in run `run_id` ('' when no rank left one),
    so a list of runs can show why one failed. Raises `RunNotFoundError` for an unlisted id."""
    row = _find(run_id, root)
    report = _first_error(Path(row["run_dir"]), int(row["ranks"]))
    return "" if report is None else str(report[1].get("traceback", ""))


# ---------------------------------------------------------------------------------------------
# The cache: what has been parsed of each run directory.


@dataclass
class _Tail:
    """What is kept of one rank's log: how far it was read, and the figures so far."""

    signature: tuple[int, int, int] = (0, 0, 0)  # inode, size, mtime_ns when last read
    offset: int = 0  # bytes consumed: up to the end of the last complete line
    steps: int = 0  # the highest step seen, plus one
    loss: tuple[float, float] = (-math.inf, math.nan)  # (time, value) of the last loss
    recent: deque[tuple[Any, ...]] = field(  # the last step records: _RECENT's fields
        default_factory=lambda: deque(maxlen=WINDOW))


@dataclass
class _AlertTail:
    """What is kept of a run's alert log: how far it was read, each (rule, rank)'s latest
    record, and the (firing count, most severe message) made from them."""

    signature: tuple[int, int, int] = (0, 0, 0)
    offset: int = 0
    latest: dict[tuple[str, int], dict[str, Any]] = field(default_factory=dict)
    shown: tuple[int, str, str] = (0, "", "")  # firing, the worst's message and severity


@dataclass
class _RunCache:
    """One run directory's parsed job.json and log tails, and the figures made from them."""

    job_signature: tuple[int, int, int] | None = None
    job: dict[str, Any] | None = None
    job_error: str = ""  # why job.json could not be read
    failure: tuple[int | None, str] = (None, "")  # a failed run's first failed rank, message
    tails: dict[int, _Tail] = field(default_factory=dict)
    figures_signature: tuple[tuple[int, int, int], ...] | None = None
    figures: tuple[int, float, float] = (0, math.nan, math.nan)  # steps, samples/s, last loss
    alerts: _AlertTail = field(default_factory=_AlertTail)


_CACHE: dict[str, _RunCache] = {}  # by run directory, as a string
_LOCK = threading.Lock()  # a server may list from several threads


def _root(root: str | os.PathLike[str] | None) -> Path:
    return Path(home() / "runs" if root is None else root).resolve()


def _dirs(base: Path) -> list[Path]:
    """The directories under `base` (none when `base` does not exist)."""
    try:
        entries = list(os.scandir(base))
    except FileNotFoundError:
        return []
    return [Path(entry.path) for entry in entries if entry.is_dir()]


def _signature(stat: os.stat_result) -> tuple[int, int, int]:
    return (stat.st_ino, stat.st_size, stat.st_mtime_ns)


def _row(run_dir: Path) -> dict[str, Any] | None:
    """A run's row (plus `_order`, its sort key), from the cache where its files are unchanged;
    None when the directory is not a run (no job.json)."""
    job_path = run_dir / JOB_FILE
    try:
        stat = job_path.stat()
    except FileNotFoundError:
        return None
    cache = _CACHE.setdefault(str(run_dir), _RunCache())
    if _signature(stat) != cache.job_signature:
        cache.job_signature = _signature(stat)
        cache.job, cache.job_error = _read_job(job_path)
        cache.failure = _failure(run_dir, cache.job, cache.job_error)
    job = cache.job or {}
    ranks = _int(job.get("nprocs"), 0)
    steps, samples_per_s, last_loss = _figures(cache, run_dir, ranks)
    status = job.get("status") if cache.job is not None else "failed"
    error_rank, error = cache.failure
    if status == "running" and not _owner_alive(job):
        status = "stopped"
        error = (f"the launching process (pid {job.get('pid')}) is gone; the run never "
                 "recorded its end")
    elif status not in _STATUSES:
        status, error = "failed", f"{job_path} has an unknown status {status!r}"
    started = _float(job.get("started"))
    firing, alert, severity = _alerts(cache, run_dir)
    return {"id": run_dir.name, "name": str(job.get("name", run_dir.name)), "status": status,
            "ranks": ranks, "steps": steps, "samples_per_s": samples_per_s,
            "last_loss": last_loss, "started": started,
            "ended": math.nan if status == "running" else _float(job.get("ended")),
            "error_rank": error_rank, "error": error, "alerts": firing, "alert": alert,
            "alert_severity": severity, "run_dir": str(run_dir),
            "_order": stat.st_mtime if math.isnan(started) else started}


def _read_job(path: Path) -> tuple[dict[str, Any] | None, str]:
    """A job.json as (its object, '') or (None, why it cannot be read)."""
    try:
        with open(path, "rb") as fh:
            job = json.loads(fh.read())
    except (OSError, ValueError) as err:
        return None, f"{path} cannot be read: {err}"
    if not isinstance(job, dict):
        return None, f"{path} is not a JSON object"
    return job, ""


def _failure(run_dir: Path, job: dict[str, Any] | None, job_error: str) -> tuple[int | None, str]:
    """(first failed rank or None, message) of a run, read once per job.json version: the
    earliest error report's exception, else the first line of job.json's error."""
    if job is None:
        return None, job_error
    message = str(job.get("error") or "").partition("\n")[0]
    if job.get("status") != "failed":
        return None, message
    report = _first_error(run_dir, _int(job.get("nprocs"), 0))
    if report is None:
        return None, message
    return report[0], str(report[1].get("exception") or message)


def _owner_alive(job: dict[str, Any]) -> bool:
    """Whether the process that launched the run still runs (an entry that names no owner
    cannot be told alive, so it is not running)."""
    if _int(job.get("pid"), -1) < 0 or math.isnan(_float(job.get("pid_created"))):
        return False
    return owner_alive(job)


def _figures(cache: _RunCache, run_dir: Path, ranks: int) -> tuple[int, float, float]:
    """(steps, recent samples/s, last loss) of a run, recomputed only when a log changed."""
    signatures = []
    for rank in range(ranks):
        path = log_path(run_dir, rank)
        try:
            stat = path.stat()
            tail = cache.tails.get(rank)
            if tail is None or stat.st_ino != tail.signature[0] or stat.st_size < tail.offset:
                tail = cache.tails[rank] = _Tail()  # new, replaced or cut short: read it all
            if _signature(stat) != tail.signature:
                _read_new(path, tail)
                tail.signature = _signature(stat)
        except FileNotFoundError:  # this rank has logged nothing yet (or its log was removed)
            cache.tails.pop(rank, None)
            continue
        signatures.append(tail.signature)
    key = tuple(signatures)
    if key != cache.figures_signature:
        cache.figures_signature = key
        cache.figures = _compute(cache.tails.values())
    return cache.figures


def _alerts(cache: _RunCache, run_dir: Path) -> tuple[int, str, str]:
    """(alerts firing now, the most severe one's message and severity) of a run: its alert
    log is only stat'ed while unchanged, and read from where the last call stopped when it
    grew."""
    tail = cache.alerts
    path = alerts_path(run_dir)
    try:
        stat = path.stat()
    except FileNotFoundError:  # no alert ever fired (or the log was removed)
        if tail.offset:
            cache.alerts = _AlertTail()
        return cache.alerts.shown
    if stat.st_ino != tail.signature[0] or stat.st_size < tail.offset:
        tail = cache.alerts = _AlertTail()  # new, replaced or cut short: read it all
    if _signature(stat) == tail.signature:
        return tail.shown
    with open(path, "rb") as fh:
        fh.seek(tail.offset)
        data = fh.read()
    end = data.rfind(b"\n") + 1  # a partial last line is still being written: next time
    tail.offset += end
    tail.signature = _signature(stat)
    fold(tail.latest, data[:end])
    now = [record for record in tail.latest.values() if record.get("state") == "firing"]
    worst = max(now, default=None, key=lambda record: (
        severity_rank(record.get("severity")), _float(record.get("started"), -math.inf)))
    tail.shown = (len(now), "", "") if worst is None else (
        len(now), str(worst.get("message") or ""), str(worst.get("severity") or ""))
    return tail.shown


def _read_new(path: Path, tail: _Tail) -> None:
    """Parse the complete lines appended to `path` since `tail.offset` into `tail`. A line cut
    short by a crash, or one that is not a metrics record, is skipped (`read_run` skips the
    first and raises on the second; a listing must go on). Per line only what the figures need
    is looked at: a first listing may parse millions of lines."""
    with open(path, "rb") as fh:
        fh.seek(tail.offset)
        data = fh.read()
    end = data.rfind(b"\n") + 1  # a partial last line is still being written: next time
    tail.offset += end
    steps, (loss_time, loss), recent = tail.steps, tail.loss, tail.recent
    for line in data[:end].splitlines():
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        if type(record) is not dict:
            continue
        rank, step, when = record.get("rank"), record.get("step"), record.get("time")
        if type(rank) is not int or type(step) is not int or type(when) not in (float, int):
            continue
        if step >= steps and "heartbeat" not in record and "exiting" not in record:
            steps = step + 1  # a rank's heartbeats and goodbye carry its step, not a new one
        if "loss" in record and when >= loss_time:
            loss_time, loss = when, _number(record["loss"])
        step_s = _number(record.get("step_s"))
        if not math.isnan(step_s):  # a record of `run.steps`
            recent.append((rank, step, when, step_s, _number(record.get("samples"))))
    tail.steps, tail.loss = steps, (loss_time, loss)


def _compute(tails: Any) -> tuple[int, float, float]:
    """Steps, recent samples/s (the last `total_throughput` value) and the latest loss."""
    import pandas as pd

    from workbench.train.series import total_throughput

    tails = list(tails)
    steps = max((tail.steps for tail in tails), default=0)
    loss = max((tail.loss for tail in tails), default=(-math.inf, math.nan))[1]
    recent = [record for tail in tails for record in tail.recent]
    if not recent:
        return steps, math.nan, loss
    frame = pd.DataFrame.from_records(recent, columns=list(_RECENT))
    series = total_throughput(frame, WINDOW)
    return steps, float(series["samples_per_s"].iloc[-1]), loss


def _first_error(run_dir: Path, ranks: int) -> tuple[int, dict[str, Any]] | None:
    """(rank, report) of the rank that failed first (the earliest report, as the launcher
    decides), or None when no rank left a readable one."""
    reports = []
    for rank in range(ranks):
        try:
            with open(error_path(run_dir, rank), "rb") as fh:
                report = json.loads(fh.read())
        except FileNotFoundError:
            continue
        except (OSError, ValueError) as err:
            report = {"exception": f"error-rank{rank}.json cannot be read: {err}"}
        if isinstance(report, dict):
            reports.append((_float(report.get("time"), math.inf), rank, report))
    if not reports:
        return None
    _, rank, report = min(reports, key=lambda item: item[:2])
    return rank, report


def _find(run_id: str, root: str | os.PathLike[str] | None) -> dict[str, Any]:
    """The listed row whose id is `run_id`, else `RunNotFoundError`."""
    base = _root(root)
    table = runs(base)
    found = table[table["id"] == run_id]
    if found.empty:
        raise RunNotFoundError(f"no run {run_id!r} under {base}: pass the id of a run that "
                               f"wb.runs() lists ({len(table)} there now)")
    return found.iloc[0].to_dict()


def _float(value: Any, default: float = math.nan) -> float:
    """`value` as a float when it is a number (not a bool), else `default`."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return default


def _number(value: Any) -> float:
    """A metric value as a float: numbers, the strings metrics.py writes for non-finite floats;
    NaN for anything else (a missing value, a text metric)."""
    kind = type(value)
    if kind is float:  # the common case, first: this runs for every field of every line
        return value
    if kind is str:
        return DECODE_NONFINITE.get(value, math.nan)
    return _float(value)


def _int(value: Any, default: int) -> int:
    """`value` when it is an int (not a bool), else `default`."""
    return value if isinstance(value, int) and not isinstance(value, bool) else default


class _CallableModule(types.ModuleType):
    """This module, callable as `runs` (see the module docstring)."""

    def __call__(self, root: str | os.PathLike[str] | None = None) -> pd.DataFrame:
        return runs(root)


sys.modules[__name__].__class__ = _CallableModule
