"""`wb.runs()`: training runs listed from their directories, as another process would see them.

Real runs (two gloo ranks on CPU, started by `wb.launch` in this process) are listed while they
run and after they end, failed with the failing rank's traceback, and stopped through
`stop_run` alone (its STOP file, never `job.stop()`). A run whose launcher died reads "stopped";
ids that are not listed (a path among them) are refused; unchanged files are not read twice.
"""

from __future__ import annotations

import importlib
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pandas as pd
import psutil
import pytest

import workbench as wb
from workbench.train.runs import (
    COLUMNS,
    RunNotFoundError,
    RunNotRunningError,
    stop_run,
    throughput,
    traceback,
)

pytestmark = pytest.mark.timeout(60)
# The module itself: `workbench.train.runs` may be bound to the function of that name.
runs_module = importlib.import_module("workbench.train.runs")


@pytest.fixture(autouse=True)
def no_orphans():
    """Every rank a test started is gone when it ends."""
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    yield
    deadline = time.monotonic() + 5
    while left := [p for p in psutil.Process().children(recursive=True) if p.pid not in before]:
        assert time.monotonic() < deadline, left
        time.sleep(0.05)


def stepping(n_steps: int, delay: float) -> None:
    import torch

    run = wb.train.current()
    for step, _ in enumerate(run.steps([torch.zeros(4, 2)] * n_steps)):
        run.log(loss=1.0 / (step + 1))
        time.sleep(delay)


def failing() -> None:
    if wb.train.current().rank == 1:
        raise ValueError("boom from rank 1")
    time.sleep(60)


def until_stopped() -> None:
    import itertools

    import torch

    run = wb.train.current()
    for _ in run.steps(itertools.repeat(torch.zeros(2, 2))):
        if run.should_stop():
            break
        time.sleep(0.02)


def row_of(run_id: str) -> dict:
    table = wb.runs()
    assert list(table.columns) == list(COLUMNS)
    found = table[table["id"] == run_id]
    assert len(found) == 1, table
    return found.iloc[0].to_dict()


def poll(run_id: str, done, timeout: float = 30.0) -> dict:
    """The run's row once `done(row)` holds (polled as a sidebar would, but faster)."""
    deadline = time.monotonic() + timeout
    while not done(row := row_of(run_id)):
        assert time.monotonic() < deadline, row
        time.sleep(0.1)
    return row



def count_opens(monkeypatch, root: Path) -> list[str]:
    """The files `wb.runs` opens from here on (relative to `root`), as a list that grows."""
    opened: list[str] = []
    real_open = open

    def counting_open(path, *args, **kwargs):
        opened.append(Path(path).relative_to(root).as_posix())
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(runs_module, "open", counting_open, raising=False)
    return opened

def test_a_live_run_is_listed_running_with_rising_steps_then_succeeded(workbench_home):
    job = wb.launch(stepping, 50, 0.04, runs_lake=None)
    run_id = job.run_dir.name
    assert job.run_dir.parent == workbench_home / "runs"  # where wb.runs() looks by default
    launched = json.loads((job.run_dir / "job.json").read_text())
    assert launched["status"] == "running" and launched["pid"] == os.getpid()
    assert launched["pids"] == job.pids and launched["pid_created"] > 0

    first = poll(run_id, lambda row: row["steps"] > 0)
    assert first["status"] == "running" and first["name"] == "stepping" and first["ranks"] == 2
    assert math.isnan(first["ended"]) and first["started"] == pytest.approx(launched["started"])
    later = poll(run_id, lambda row: row["steps"] > first["steps"])
    assert later["status"] == "running" or later["steps"] == 50
    assert later["samples_per_s"] > 0

    job.wait(timeout=45)
    done = row_of(run_id)
    assert done["status"] == "succeeded" and done["steps"] == 50
    assert done["samples_per_s"] > 0 and done["last_loss"] == pytest.approx(1 / 50)
    assert done["ended"] >= done["started"] and done["error"] == ""
    assert pd.isna(done["error_rank"])
    assert done["run_dir"] == str(job.run_dir)
    # The list's figure and the sparkline come from the same function: they end equal.
    series = throughput(job.run_dir)
    assert list(series.columns) == ["time", "samples_per_s"] and len(series) == 60
    assert series["samples_per_s"].iloc[-1] == pytest.approx(done["samples_per_s"])
    short = throughput(job.run_dir, points=10)
    assert len(short) == 10 and short["time"].is_monotonic_increasing
    assert short["time"].iloc[-1] == series["time"].iloc[-1]


def test_a_failing_rank_is_listed_failed_with_its_rank_and_traceback():
    job = wb.launch(failing, runs_lake=None)
    with pytest.raises(wb.train.WorkerError):
        job.wait(timeout=45)
    row = row_of(job.run_dir.name)
    assert row["status"] == "failed" and row["error_rank"] == 1
    assert row["error"] == "ValueError: boom from rank 1" and not math.isnan(row["ended"])
    text = traceback(job.run_dir.name)
    assert text.startswith("Traceback") and "in failing" in text and "boom from rank 1" in text
    with pytest.raises(RunNotRunningError, match="failed, not running"):
        stop_run(job.run_dir.name)


def test_stop_run_stops_a_live_run_through_its_directory_alone():
    job = wb.launch(until_stopped, runs_lake=None)
    run_id = job.run_dir.name
    poll(run_id, lambda row: row["status"] == "running" and row["steps"] > 0)
    assert traceback(run_id) == ""
    asked = time.monotonic()
    stop_run(run_id)  # not job.stop(): what a sidebar in another process does
    job.wait(timeout=10)
    assert time.monotonic() - asked < 10
    assert job.status == "stopped"
    row = row_of(run_id)
    assert row["status"] == "stopped" and row["steps"] > 0 and not math.isnan(row["ended"])
    with pytest.raises(RunNotRunningError, match="stopped, not running"):
        stop_run(run_id)


def write_log(run_dir: Path, rank: int, records: list[dict], tail: bytes = b"") -> None:
    with open(run_dir / f"metrics-rank{rank}.jsonl", "ab") as fh:
        fh.write(b"".join(orjson.dumps(record) + b"\n" for record in records) + tail)


def fake_run(root: Path, name: str, **job) -> Path:
    """A run directory as the launcher leaves it, without starting anything."""
    run_dir = root / name
    run_dir.mkdir(parents=True)
    info = {"run_id": name, "name": name, "nprocs": 2, "started": 100.0, "status": "succeeded",
            "ended": 110.0, "error": "", "run_dir": str(run_dir), **job}
    (run_dir / "job.json").write_text(json.dumps(info))
    return run_dir


def test_a_run_whose_launcher_died_reads_stopped(workbench_home):
    gone = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    created = psutil.Process(gone.pid).create_time()
    gone.kill()
    gone.wait()
    root = workbench_home / "runs"
    fake_run(root, "orphan", status="running", ended=None, pid=gone.pid, pid_created=created,
             pids=[gone.pid])
    row = row_of("orphan")
    assert row["status"] == "stopped" and math.isnan(row["ended"])
    assert f"pid {gone.pid}" in row["error"] and "gone" in row["error"]
    with pytest.raises(RunNotRunningError):
        stop_run("orphan")
    assert not (root / "orphan" / "STOP").exists()
    # Its replay says so too, not the "running" its job.json was left with.
    assert wb.widgets.TrainingMonitor(str(root / "orphan")).status == "stopped"


def test_corrupt_and_foreign_directories(workbench_home):
    root = workbench_home / "runs"
    fake_run(root, "older", started=50.0)
    fake_run(root, "newer", started=200.0)
    (root / "not-a-run").mkdir()  # no job.json: skipped
    (root / "broken").mkdir()
    (root / "broken" / "job.json").write_text('{"status": "runn')  # cut short
    table = wb.runs()
    assert list(table["id"]) == ["broken", "newer", "older"]  # newest first (broken: by mtime)
    broken = table.iloc[0]
    assert broken["status"] == "failed" and "job.json cannot be read" in broken["error"]
    assert broken["ranks"] == 0 and broken["steps"] == 0 and pd.isna(broken["error_rank"])
    assert wb.runs(workbench_home / "nowhere").empty
    # wb.train.runs is the function, or this module bound in its place: callable either way.
    pd.testing.assert_frame_equal(wb.train.runs(), table)
    pd.testing.assert_frame_equal(runs_module(root), table)


def test_ids_that_are_not_listed_are_refused(workbench_home):
    fake_run(workbench_home / "runs", "real")
    fake_run(workbench_home, "x", status="running", pid=os.getpid(),
             pid_created=psutil.Process().create_time())  # a run, but outside the root
    for bad in ("nope", "../x", str(workbench_home / "x"), "", "real/.."):
        with pytest.raises(RunNotFoundError, match="no run"):
            stop_run(bad)
        with pytest.raises(RunNotFoundError):
            traceback(bad)
    assert not (workbench_home / "x" / "STOP").exists()
    assert issubclass(RunNotFoundError, LookupError)
    assert issubclass(RunNotRunningError, RuntimeError)


def test_unchanged_files_are_not_read_again_and_growing_logs_only_from_the_end(
        workbench_home, monkeypatch):
    root = workbench_home / "runs"
    done = fake_run(root, "done")
    live = fake_run(root, "live", started=120.0, status="running", ended=None, pid=os.getpid(),
                    pid_created=psutil.Process().create_time())
    for run_dir in (done, live):
        for rank, (step_s, samples) in enumerate([(0.1, 10), (0.2, 30)]):
            write_log(run_dir, rank, [
                {"rank": rank, "step": step, "time": 100.0 + step + rank / 2, "step_s": step_s,
                 "samples": samples, "loss": 1.0 / (step + 1), "dropped": 0}
                for step in range(4)])
    write_log(live, 0, [], tail=b'{"rank":0,"step":4,"ti')  # a line still being written
    opened = count_opens(monkeypatch, root)
    first = wb.runs(root)
    assert sorted(opened) == sorted(f"{run}/{name}" for run in ("done", "live") for name in
                                    ("job.json", "metrics-rank0.jsonl", "metrics-rank1.jsonl"))
    assert list(first["id"]) == ["live", "done"]
    by_id = first.set_index("id")
    assert by_id.loc["done", "samples_per_s"] == pytest.approx(10 / 0.1 + 30 / 0.2)
    assert by_id.loc["live", "steps"] == 4 and by_id.loc["live", "last_loss"] == 0.25

    opened.clear()
    again = wb.runs(root)
    assert opened == []  # every file unchanged: only stat'ed
    pd.testing.assert_frame_equal(again, first)

    # The writer ends its line and adds a step: only that log is read, from where the last
    # read stopped (the start of the partial line).
    tail = runs_module._CACHE[str(live)].tails[0]
    log = live / "metrics-rank0.jsonl"
    assert log.read_bytes()[tail.offset:] == b'{"rank":0,"step":4,"ti'
    write_log(live, 0, [], tail=b'me":105.0,"step_s":0.1,"samples":10,"dropped":0}\n')
    write_log(live, 0, [{"rank": 0, "step": 5, "time": 106.0, "step_s": 0.1, "samples": 10,
                         "loss": 0.125, "dropped": 0}])
    grown = wb.runs(root).set_index("id")
    assert opened == ["live/metrics-rank0.jsonl"]
    assert tail.offset == log.stat().st_size
    assert grown.loc["live", "steps"] == 6 and grown.loc["live", "last_loss"] == 0.125
    assert grown.loc["done", "samples_per_s"] == by_id.loc["done", "samples_per_s"]

    # The cache holds only the runs present.
    for path in done.iterdir():
        path.unlink()
    done.rmdir()
    assert list(wb.runs(root)["id"]) == ["live"]
    assert str(done) not in runs_module._CACHE and str(live) in runs_module._CACHE


def alert(rule: str, state: str, *, rank: int = 0, severity: str = "warning",
          started: float = 101.0, resolved: float | None = None) -> dict:
    """One line of a run's alerts.jsonl, as the launcher writes a transition."""
    return {"rule": rule, "severity": severity, "run": "live", "rank": rank, "state": state,
            "value": 0.2, "threshold": 0.5, "started": started, "resolved": resolved,
            "message": f"{rule} on rank {rank} of live"}


def write_alerts(run_dir: Path, records: list[dict], tail: bytes = b"") -> None:
    with open(run_dir / "alerts.jsonl", "ab") as fh:
        fh.write(b"".join(orjson.dumps(record) + b"\n" for record in records) + tail)


def test_firing_alerts_are_counted_from_the_alert_log_and_read_only_when_it_grew(
        workbench_home, monkeypatch):
    root = workbench_home / "runs"
    quiet = fake_run(root, "quiet")
    live = fake_run(root, "live", started=120.0)
    write_alerts(live, [alert("throughput_drop", "firing", rank=1),
                        alert("loss_spike", "firing", rank=0, started=102.0)])
    by_id = wb.runs(root).set_index("id")
    assert list(by_id.columns) == list(COLUMNS)[1:] and by_id["alerts"].dtype == "int64"
    assert by_id.loc["quiet", "alerts"] == 0 and by_id.loc["quiet", "alert"] == ""
    assert by_id.loc["quiet", "alert_severity"] == ""
    assert by_id.loc["live", "alerts"] == 2  # two warnings: the latest one is shown
    assert by_id.loc["live", "alert"] == "loss_spike on rank 0 of live"

    # A critical one fires and is shown before the later warnings; a line still being
    # written counts once it is complete; a line that is not an alert is skipped.
    write_alerts(live, [alert("stall", "firing", rank=1, severity="critical", started=90.0)],
                 tail=b'not json\n{"rule": "nonfinite_loss", "sta')
    row = wb.runs(root).set_index("id").loc["live"]
    assert (row["alerts"], row["alert_severity"]) == (3, "critical")
    assert row["alert"] == "stall on rank 1 of live"

    opened = count_opens(monkeypatch, root)
    wb.runs(root)
    assert opened == []  # nothing changed: only stat'ed
    tail = runs_module._CACHE[str(live)].alerts
    assert (live / "alerts.jsonl").read_bytes()[tail.offset:] == b'{"rule": "nonfinite_loss", "sta'
    # The partial line ends (the loss went NaN); then the stall and the drop resolve.
    write_alerts(live, [], tail=b'te": "firing", "rank": 0, "severity": "warning"}\n')
    write_alerts(live, [alert("stall", "resolved", rank=1, severity="critical", started=90.0,
                              resolved=130.0),
                        alert("throughput_drop", "resolved", rank=1, resolved=131.0)])
    row = wb.runs(root).set_index("id").loc["live"]
    assert opened == ["live/alerts.jsonl"]
    assert (row["alerts"], row["alert_severity"]) == (2, "warning")
    assert row["alert"] == "loss_spike on rank 0 of live"  # nonfinite_loss has no start time

    # Every alert resolved: no badge. The log replaced by a shorter one is read anew.
    write_alerts(live, [alert("loss_spike", "resolved", resolved=140.0),
                        alert("nonfinite_loss", "resolved", resolved=141.0)])
    assert wb.runs(root).set_index("id").loc["live", "alerts"] == 0
    (live / "alerts.jsonl").unlink()
    write_alerts(live, [alert("stall", "firing", severity="critical")])
    row = wb.runs(root).set_index("id").loc["live"]
    assert (row["alerts"], row["alert_severity"]) == (1, "critical")
    (live / "alerts.jsonl").unlink()
    assert wb.runs(root).set_index("id").loc["live", "alerts"] == 0
    assert quiet.exists()


def test_read_alerts_gives_each_alert_its_latest_state(tmp_path):
    from workbench.ops.watch import COLUMNS as ALERT_COLUMNS
    from workbench.train.alert_log import firing, read_alerts

    assert read_alerts(tmp_path).empty  # no log: no alerts, the columns still there
    assert list(read_alerts(tmp_path).columns) == list(ALERT_COLUMNS)
    # A log written with json.dumps (as the launcher first did) spells a NaN value bare NaN.
    (tmp_path / "alerts.jsonl").write_text(json.dumps(
        {**alert("loss_spike", "firing"), "value": math.nan}) + "\n")
    write_alerts(tmp_path, [alert("throughput_drop", "firing", rank=1, started=100.0),
                            alert("stall", "firing", rank=0, severity="critical", started=99.0),
                            alert("throughput_drop", "resolved", rank=1, started=100.0,
                                  resolved=105.0),
                            {**alert("nonfinite_loss", "firing", severity="critical"),
                             "value": None, "threshold": None}],
                 tail=b'{"rule": "cut sh')
    alerts = read_alerts(tmp_path)
    assert list(alerts["rule"]) == ["loss_spike", "throughput_drop", "stall",
                                    "nonfinite_loss"]  # in the order they first fired
    assert math.isnan(alerts["value"].iloc[0])
    alerts = alerts.iloc[1:].reset_index(drop=True)
    assert list(alerts["state"]) == ["resolved", "firing", "firing"]
    assert alerts.dtypes["rank"] == "int64" and alerts.dtypes["resolved"] == "float64"
    assert alerts["resolved"].iloc[0] == 105.0 and alerts["resolved"].iloc[1:].isna().all()
    assert math.isnan(alerts["value"].iloc[2]) and math.isnan(alerts["threshold"].iloc[2])
    now = firing(read_alerts(tmp_path))
    assert list(now["rule"]) == ["nonfinite_loss", "stall", "loss_spike"]  # critical first
