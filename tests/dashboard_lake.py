"""A results lake for the dashboard tests: `_runs`, `_run_metrics` and `_bench` rows written by
the same functions training and the benchmarks use (`save_run`, `bench_table` + `lake.record`),
so the dashboards are tested on the schemas those produce.

Two runs: ``mlp-wide`` (2 ranks, succeeded, rank 1 a little slower, loss and accuracy logged)
and ``mlp-narrow`` (1 rank, failed an hour earlier, loss only). Benchmarks of two models: a
batch-size sweep of ``demo-mlp`` fp32 (engine ""), an engine comparison of ``demo-mlp``
(`COMPARE`: fp32 on eager, onnxruntime and onnxruntime-int8, int8 and pruned on eager), its
served endpoint at three offered loads, and one result of ``tiny-transformer``. One data
table, ``scores`` (two versions of two rows), for the lake-health dashboard. Two federated runs
of 5 rounds over 4 clients in `_fl_rounds` and `_fl_clients` (``fedavg-iid``, and the later
``fedavg-skew``, with differential privacy, where client 3 drops out), written as the federated
job's rows are.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

RUN_WIDE, RUN_NARROW = "run-wide-0001", "run-narrow-0002"
FL_IID, FL_SKEW = "fl-iid-0001", "fl-skew-0002"
#: The federated runs, oldest first: how `fl_run` makes each.
FL_RUNS = {FL_IID: {"name": "fedavg-iid", "hours": -1.0},
           FL_SKEW: {"name": "fedavg-skew", "dp": True, "dropout": 3, "seed": 1}}
T0 = pd.Timestamp("2026-05-04 09:00:00", tz="UTC")


def run_metrics(ranks: int, steps: int, *, accuracy: bool, seed: int) -> pd.DataFrame:
    """Per-step records of one run: every rank's steps back to back from T0, 32 samples each."""
    rng = np.random.default_rng(seed)
    frames = []
    for rank in range(ranks):
        step_s = 0.05 * (1 + 0.2 * rank) * rng.lognormal(0, 0.15, steps)
        data_s = step_s * rng.uniform(0.05, 0.25, steps)
        frame = pd.DataFrame({
            "rank": np.int64(rank), "step": np.arange(steps, dtype=np.int64),
            "time": T0.timestamp() + np.cumsum(step_s), "samples": np.full(steps, 32.0),
            "step_s": step_s, "data_s": data_s,
            "loss": 2.3 * np.exp(-np.arange(steps) / (steps / 3)) + rng.normal(0, 0.02, steps),
        })
        if accuracy:
            frame["accuracy"] = 1 - frame["loss"] / 2.5
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def save(lake, run_id: str, name: str, status: str, metrics: pd.DataFrame, *,
         hours: float = 0.0, error: str = "") -> None:
    """Record a run as `wb.launch` does when a job ends: its `_runs` row (the summary computed
    from its records) and its `_run_metrics` records."""
    from workbench.train.records import save_run
    from workbench.train.summary import summarize

    started = T0.timestamp() + hours * 3600
    info = {"run_id": run_id, "name": name, "status": status, "started": started,
            "ended": started + float(metrics.groupby("rank")["step_s"].sum().max()) + 1.5,
            "nprocs": metrics["rank"].nunique(), "backend": "gloo", "device": "cpu",
            "error": error, "run_dir": f"/tmp/runs/{run_id}"}
    shifted = metrics.assign(time=metrics["time"] + hours * 3600)
    save_run(lake, info, shifted, summarize(shifted))


def bench_row(bench_id: str, minutes: int, model: str, variant: str, batch_size: int,
              p50_ms: float, *, size_mb: float = float("nan"), params: int = -1,
              metric: float = float("nan"), seed: int = 0, engine: str = "",
              scenario: str = "offline", qps: float = float("nan"),
              parity_ok: bool | None = None, note: str = "") -> dict:
    """One `_bench` row; its percentiles and CDF are those of a lognormal sample around p50.
    A server scenario's throughput is its offered load (`qps` requests of `batch_size`)."""
    from workbench.bench.records import summarize

    rng = np.random.default_rng(seed)
    latencies = p50_ms * rng.lognormal(0, 0.25, 400)
    return {
        "bench_id": bench_id, "time": (T0 + pd.Timedelta(minutes=minutes)).to_pydatetime(),
        "model": model, "variant": variant, "device": "cpu", "scenario": scenario,
        "batch_size": batch_size, "qps": qps, **summarize(latencies),
        "throughput": float(batch_size * (qps if scenario == "server" else
                                          1000 / latencies.mean())), "samples": 400,
        "stable": True, "size_mb": size_mb, "params": params,
        "metric_name": "" if np.isnan(metric) else "accuracy", "metric": metric,
        "engine": engine, "peak_memory_mb": float("nan") if not engine else 2.0,
        "max_abs_diff": float("nan") if parity_ok is None else (0.0 if parity_ok else 0.5),
        "max_rel_diff": float("nan") if parity_ok is None else (0.0 if parity_ok else 0.2),
        "parity_ok": parity_ok, "note": note,
    }


def fl_run(run_id: str, name: str, *, rounds: int = 5, clients: int = 4, hours: float = 0.0,
           dp: bool = False, dropout: int | None = None,
           seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One federated run's `_fl_rounds` and `_fl_clients` rows: every client sampled each
    round, 500 to 900 rows each, accuracy climbing from 0.55 towards 0.9; client ``dropout``
    (if any) drops its update in round 2 and has failed from round 4 on."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(500, 900, clients)
    model_bytes = 404_008
    start = T0.timestamp() + hours * 3600
    round_rows, client_rows = [], []
    done = np.zeros(clients, dtype=np.int64)
    mix = [rng.multinomial(n, rng.dirichlet(np.full(10, 0.5))) for n in sizes]  # label skew
    labels = [json.dumps({str(label): int(k) for label, k in enumerate(m)}) for m in mix]
    for r in range(1, rounds + 1):
        states = ["completed"] * clients
        if dropout is not None and r == 2:
            states[dropout] = "dropped"
        if dropout is not None and r >= 4:
            states[dropout] = "failed"
        seconds = rng.uniform(1.5, 3.0, clients)
        loss = 1.6 * np.exp(-r / 2) + rng.uniform(0.05, 0.15, clients)
        for c, state in enumerate(states):
            done[c] += state == "completed"
            client_rows.append({
                "run_id": run_id, "name": name, "round": np.int64(r), "client": np.int64(c),
                "pid": np.int64(4000 + c), "rows": np.int64(sizes[c]),
                "rounds_completed": np.int64(done[c]), "state": state,
                "last_error": {"dropped": "update arrived after the round's deadline",
                               "failed": "client process exited with code 1"}.get(state, ""),
                "train_loss": float(loss[c]) if state == "completed" else float("nan"),
                "seconds": float(seconds[c]), "labels": labels[c]})
        ok = [c for c, s in enumerate(states) if s == "completed"]
        accuracy = 0.9 - 0.35 * np.exp(-r / 1.5)
        round_rows.append({
            "run_id": run_id, "name": name, "round": np.int64(r), "sampled": np.int64(clients),
            "completed": np.int64(len(ok)), "dropped": np.int64(clients - len(ok)),
            "train_loss": float(np.average(loss[ok], weights=sizes[ok])),
            "test_loss": float(loss.mean() + 0.05), "test_accuracy": float(accuracy),
            "local_accuracy": float(accuracy + rng.uniform(0.01, 0.03)),
            "bytes_up": np.int64(model_bytes * len(ok)),
            "bytes_down": np.int64(model_bytes * clients),
            "seconds": float(seconds.max() + 0.4), "train_seconds": float(seconds.max()),
            "epsilon": 0.6 * np.sqrt(r) if dp else float("nan"),
            "time": start + 3.0 * r})
    return pd.DataFrame(round_rows), pd.DataFrame(client_rows)


def fl_tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every `FL_RUNS` run's `_fl_rounds` and `_fl_clients` rows, as the lake holds them."""
    runs = [fl_run(run_id, **FL_RUNS[run_id]) for run_id in FL_RUNS]
    return (pd.concat([r for r, _ in runs], ignore_index=True),
            pd.concat([c for _, c in runs], ignore_index=True))


#: demo-mlp's engine comparison (wb.bench.compare's rows): variant, engine, p50 (ms), size (MB),
#: parameters, accuracy, note; its int8 engine fails parity.
COMPARE = [("fp32", "eager", 4.4, 1.6, 400_000, 0.91, ""),
           ("fp32", "onnxruntime", 1.6, 1.7, 400_000, 0.91, "fastest offline at batch 8, 2.7x "
            "fp32 eager: pick this"),
           ("fp32", "onnxruntime-int8", 1.4, 0.5, 400_000, 0.62, "parity failed: outputs differ "
            "from eager by 0.2 of their scale (tolerance 0.1)"),
           ("int8", "eager", 2.9, 0.45, 400_000, 0.90, ""),
           ("pruned", "eager", 3.6, 0.9, 200_000, 0.88, "")]


def build_results_lake(path: Path) -> Path:
    """Write `_runs`, `_run_metrics` and `_bench` under ``path`` with the writers training and
    the benchmarks use, and `_fl_rounds` and `_fl_clients` with `lake.record` (`fl_run`'s
    rows); returns ``path``."""
    import workbench as wb
    from workbench.bench.records import bench_table

    lake = wb.Lake(path)
    # The narrow run is older, so the newest (the picker's first choice) is the wide one.
    save(lake, RUN_NARROW, "mlp-narrow", "failed",
         run_metrics(ranks=1, steps=30, accuracy=False, seed=2), hours=-1,
         error="Traceback (most recent call last):\nRuntimeError: loss is NaN")
    save(lake, RUN_WIDE, "mlp-wide", "succeeded",
         run_metrics(ranks=2, steps=60, accuracy=True, seed=1))
    sweep = [bench_row("sweep-1", 1, "demo-mlp", "fp32", b, 2.0 + 0.3 * b, seed=b)
             for b in (1, 8, 32)]
    compare = [bench_row("compare-1", 2, "demo-mlp", v, 8, p50, size_mb=size,
                         params=params, metric=acc, seed=10 + i, engine=engine,
                         parity_ok=engine != "onnxruntime-int8", note=note)
               for i, (v, engine, p50, size, params, acc, note) in enumerate(COMPARE)]
    served = [bench_row("served-1", 4, "demo-mlp", "fp32", 1, p50, seed=20 + i,
                        engine="endpoint", scenario="server", qps=qps)
              for i, (qps, p50) in enumerate([(100.0, 1.2), (400.0, 1.6), (800.0, 3.5)])]
    other = [bench_row("tiny-1", 3, "tiny-transformer", "fp32", 4, 7.5, seed=99)]
    lake.record("_bench", bench_table(sweep + compare + other + served))
    # A data table for the lake-health dashboard, which lists data, not the results above.
    scores = pd.DataFrame({"model": ["demo-mlp", "tiny-transformer"], "accuracy": [0.91, 0.84]})
    lake.record("scores", scores)
    lake.record("scores", scores.assign(accuracy=[0.92, 0.85]))
    rounds, clients = fl_tables()
    lake.record("_fl_rounds", rounds)
    lake.record("_fl_clients", clients)
    return path
