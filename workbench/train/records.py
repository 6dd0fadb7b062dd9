"""A run in the lake: its summary as one row of `_runs`, its step records in `_run_metrics`.

The results tables are how the dashboards and a later kernel see a run without the process
that launched it. One `_runs` row per run (also a failed or stopped one: its error is kept);
`_run_metrics` has every record of every rank, with the run's id. Logged metrics become float64
columns (strings stay strings), so runs that log the same name with an int and a float still
share one column; each run adds the columns it logs (the schema merges).
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from workbench.lake import Lake
    from workbench.train.summary import Summary

RUNS_TABLE = "_runs"
METRICS_TABLE = "_run_metrics"
_FIGURES = ("steps", "samples", "samples_per_s", "tokens_per_s", "step_p50_s", "step_p90_s",
            "step_p99_s", "data_wait_share", "straggler_ratio", "peak_memory_bytes", "mfu",
            "compute_s", "transfer_s", "utilisation")


def save_run(lake: Lake, info: dict[str, Any], metrics: pd.DataFrame,
             summary: Summary | None, figures: dict[str, Any] | None = None) -> int:
    """Append a run to the lake: `info` has run_id, name, status, started, ended (unix
    seconds), nprocs, backend, device, error, run_dir; `summary` is None when the run timed no
    steps (its figures are then missing, not zero); `figures` adds or overrides summary
    figures (a federated run's R). Returns the `_runs` version written."""
    import pandas as pd

    figures = {**(summary.to_dict() if summary is not None else {}), **(figures or {})}
    row = {
        "run_id": info["run_id"], "name": info["name"], "status": info["status"],
        "started": _utc(info["started"]), "ended": _utc(info["ended"]),
        "duration_s": float(info["ended"] - info["started"]),
        "nprocs": int(info["nprocs"]), "backend": info["backend"], "device": info["device"],
        **{name: _number(figures.get(name), integer=name in ("steps", "samples",
                                                               "peak_memory_bytes"))
           for name in _FIGURES},
        "error": info.get("error") or "", "run_dir": info["run_dir"],
    }
    if len(metrics):
        lake.record(METRICS_TABLE, _metrics_rows(info["run_id"], metrics))
    return lake.record(RUNS_TABLE, pd.DataFrame([row]))


def _metrics_rows(run_id: str, metrics: pd.DataFrame) -> pd.DataFrame:
    import pandas as pd

    out = metrics.copy()
    for column in out.columns.difference(["rank", "step"]):
        numeric = pd.to_numeric(out[column], errors="coerce")
        # A column is numeric when every value that is there converts; else it stays text.
        if numeric.notna().sum() == out[column].notna().sum():
            out[column] = numeric.astype("float64")
        else:
            out[column] = out[column].astype("string")
    out.insert(0, "run_id", run_id)
    return out.astype({"rank": "int64", "step": "int64"})


def _utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=timezone.utc)


def _number(value: Any, *, integer: bool) -> float | int:
    """Summary figures as table cells: None is NaN for floats and -1 for integer columns."""
    if integer:
        return -1 if value is None else int(value)
    return math.nan if value is None else float(value)
