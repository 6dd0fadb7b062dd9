"""Ops benchmark (issue 17): the built-in alert rules against injected faults, clean runs, the
cost of evaluating the rules, drift from sketches against a rescan, and utilisation R.

Usage: ``.venv/bin/python benchmarks/ops.py [--parts abcde] [--clean-runs 20]
[--clean-steps 750] [--drift-gb 1.0]``

Every run is `wb.launch` on 2 gloo processes of ``tests/ops_faults.faulty`` (`run.ddp` over a
linear model, a step's compute a sleep of ``step_s``), with ``wb.ops.default_rules()`` as they
ship (no duration cut), ``runs_lake=None``, under a temporary ``WORKBENCH_HOME``.

(a) The eight faults on rank 1 (`ops_faults.FAULTS`): each must fire its rule on rank 1. Each
    fault's run lasts long enough for its rule's ``for_`` and window (the leak's steps are slow
    so that it stays under ~1.5 GB). Latency: from the fault's start (the end of rank 1's step
    ``at - 1``; for the straggler, slow from its first step, the end of that step) to the
    moment ``on_alert`` got the firing alert, in seconds and in rank 1's steps.
(b) ``--clean-runs`` clean runs with different seeds, ``--clean-steps`` steps each (long enough
    for every rule's ``for_``): alerts that fired (target 0).
(c) Rule evaluation: the records of a clean run replayed through `RunAlerts.poll` with the
    default rules (the monitor thread's whole per-poll work: derived figures, every rule, the
    clock), microseconds per record; as a share of step time for a run stepping at 4 Hz and
    for one stepping at the demo model's rate (~1 ms a step). Target <= 1% at 4 Hz.
(d) Drift on a ~``--drift-gb`` table from stored sketches against a full pandas + scipy
    rescan (`benchmarks/_ops_drift.py`; target >= 100x faster) and the largest errors.
(e) Utilisation R of a clean run against one whose rank 1 waits 3x a step for its data.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))  # the faults

from ops_faults import FAULTS, faulty  # noqa: E402

import workbench as wb  # noqa: E402

# fault -> faulty() arguments: long enough for the default rule's window and for_
FAULT_RUNS = {
    "nan": {"steps": 150},
    "spike": {"steps": 150},
    "straggler": {"steps": 500},  # rank 1 at 0.12 s a step: 60 s, for_ is 30 s
    "slowdown": {"steps": 900, "at": 700},  # 28 s of baseline (25 figures), then 24 s slow
    "stall": {"steps": 150, "stall_s": 75.0},  # the stall rule waits 60 s
    "leak": {"steps": 200, "step_s": 0.25, "leak_steps": 120},  # 10 MB a step, 4 steps a s
    "sigstop": {"steps": 150},  # silent after 10 s, then SIGCONT
    "slow_loader": {"steps": 400},  # 3x a step waiting for data from step 50, for_ is 30 s
}


class Fired:
    """An `on_alert` receiver that notes when each alert fired (the wall clock)."""

    def __init__(self) -> None:
        self.times: dict[tuple[str, int], float] = {}

    def __call__(self, alert: wb.ops.Alert) -> None:
        if alert.state == "firing":
            self.times.setdefault((alert.rule, alert.rank), time.time())


def fault_run(fault: str) -> dict:
    """Run one fault with the default rules; its detection figures."""
    options = {"steps": 150, "step_s": 0.04, "at": 50, **FAULT_RUNS[fault]}
    fired = Fired()
    job = wb.launch(faulty, fault, runs_lake=None, on_alert=fired, **options)
    rule = FAULTS[fault]
    if fault == "sigstop":
        def resume() -> None:
            while job.status == "running" and (rule, 1) not in fired.times:
                time.sleep(0.1)
            if job.status == "running":
                os.kill(job.pids[1], signal.SIGCONT)

        threading.Thread(target=resume, daemon=True).start()
    job.wait(600)
    metrics = job.metrics
    steps = metrics[(metrics["rank"] == 1) & metrics["step_s"].notna()].set_index("step")
    at = 0 if fault == "straggler" else options["at"]
    start = steps["time"].get(at - 1, steps["time"].iloc[0]) if at else steps["time"].iloc[0]
    row = {"fault": fault, "rule": rule, "detected": (rule, 1) in fired.times,
           "also": ", ".join(sorted({f"{r}@{k}" for r, k in fired.times} - {f"{rule}@1"})),
           "latency_s": float("nan"), "latency_steps": float("nan")}
    if row["detected"]:
        when = fired.times[rule, 1]
        row["latency_s"] = when - start
        row["latency_steps"] = int((steps["time"] <= when).sum()) - at
    return row


def clean_runs(n: int, steps: int) -> list[dict]:
    rows = []
    for seed in range(n):
        fired = Fired()
        job = wb.launch(faulty, None, runs_lake=None, on_alert=fired, steps=steps,
                        seed=seed)
        job.wait(600)
        rows.append({"seed": seed, "alerts": len(fired.times),
                     "which": ", ".join(f"{r}@{k}" for r, k in fired.times),
                     "seconds": json_seconds(job)})
    return rows


def json_seconds(job: wb.train.Job) -> float:
    info = json.loads((job.run_dir / "job.json").read_text())
    return info["ended"] - info["started"]


class Replay:
    """A sink holding a finished run's records, for `RunAlerts.poll` to read."""

    def __init__(self, records: list[dict]) -> None:
        self._records = records

    def records(self, start: int = 0) -> list[dict]:
        return self._records[start:]


def evaluation_cost(steps: int) -> dict:
    """Microseconds per record of the default rules over a clean run's records."""
    from workbench.train.alerting import RunAlerts

    job = wb.launch(faulty, None, runs_lake=None, alerts=None, steps=steps)
    job.wait(600)
    frame = job.metrics
    records = [{k: v for k, v in row.items() if v == v} for row in frame.to_dict("records")]
    records.sort(key=lambda r: r["time"])
    per_record = []
    for _ in range(5):
        alerts = RunAlerts("replay", wb.ops.default_rules(), [])
        sink = Replay([])
        started = time.perf_counter()
        for i in range(0, len(records), 20):  # the monitor's poll sees a few records at a time
            sink._records = records[:i + 20]
            alerts.poll(sink, records[min(i + 19, len(records) - 1)]["time"])
        per_record.append((time.perf_counter() - started) / len(records))
        alerts.finish()
    us = statistics.median(per_record) * 1e6
    per_step = len(records) / frame["step_s"].notna().sum()  # records per step (heartbeats too)
    return {"records": len(records), "us_per_record": us, "records_per_step": per_step,
            "share_at_4_hz": us * 1e-6 * per_step / 0.25,
            "share_at_1_ms_steps": us * 1e-6 * per_step / 1e-3}


def utilisation_runs() -> list[dict]:
    from workbench.train.summary import utilisation

    rows = []
    for fault in (None, "slow_loader"):
        job = wb.launch(faulty, fault, runs_lake=None, alerts=None, steps=200, at=0)
        job.wait(600)
        r = utilisation(job.metrics).set_index("rank")
        rows.append({"run": "slow loader on rank 1" if fault else "clean",
                     **{f"R rank {k}": float(r.loc[k, "utilisation"]) for k in (0, 1)},
                     "R": float(r.loc["all", "utilisation"]),
                     "compute_s": float(r.loc["all", "compute_s"]),
                     "transfer_s": float(r.loc["all", "transfer_s"])})
    return rows


def machine() -> str:
    return (f"{platform.node()}: {os.cpu_count()} cores ({len(os.sched_getaffinity(0))} usable), "
            f"Python {platform.python_version()}, torch {__import__('torch').__version__}")


def show(title: str, rows: list[dict]) -> None:
    import pandas as pd

    print(f"\n## {title}\n")
    frame = pd.DataFrame(rows)
    cells = [[f"{v:.4g}" if isinstance(v, float) else str(v) for v in row]
             for row in frame.itertuples(index=False)]
    print("| " + " | ".join(frame.columns) + " |")
    print("|" + "---|" * len(frame.columns))
    for row in cells:
        print("| " + " | ".join(row) + " |")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--parts", default="abcde", help="letters of abcde (see the module)")
    parser.add_argument("--clean-runs", type=int, default=20)
    parser.add_argument("--clean-steps", type=int, default=750)
    parser.add_argument("--drift-gb", type=float, default=1.0)
    args = parser.parse_args(argv)
    os.environ["WORKBENCH_HOME"] = tempfile.mkdtemp(prefix="wb-ops-bench-")
    print(f"# benchmarks/ops.py, {time.strftime('%Y-%m-%d %H:%M')} on {machine()}")
    if "a" in args.parts:
        rows = [fault_run(fault) for fault in FAULTS]
        show(f"(a) faults detected: {sum(r['detected'] for r in rows)}/{len(rows)}", rows)
        found = [r for r in rows if r["detected"]]
        for unit in ("s", "steps"):
            values = sorted(r[f"latency_{unit}"] for r in found)
            if values:
                p99 = values[min(len(values) - 1, round(0.99 * (len(values) - 1)))]
                print(f"latency ({unit}): p50 {statistics.median(values):.3g}, p99 {p99:.3g}")
    if "b" in args.parts:
        rows = clean_runs(args.clean_runs, args.clean_steps)
        show(f"(b) clean runs: {sum(r['alerts'] for r in rows)} alerts in {len(rows)} runs",
             rows)
    if "c" in args.parts:
        show("(c) rule evaluation cost", [evaluation_cost(args.clean_steps)])
    if "d" in args.parts:
        from _ops_drift import run as drift

        show(f"(d) drift on a {args.drift_gb} GB table", drift(args.drift_gb))
    if "e" in args.parts:
        show("(e) utilisation R", utilisation_runs())


if __name__ == "__main__":
    main()
