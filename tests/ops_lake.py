"""The ops results for the dashboard and chart tests, in the schemas their writers use:
`_alerts` (what a run and a table's drift check persist), `_drift` (one row per column of a
drift report) and `_runs` rows that carry utilisation R (compute_s, transfer_s, utilisation).

Alerts: run ``mlp-wide`` had a throughput drop on rank 1 (resolved after 5 min) and a stall
on rank 0 that still fires; run ``mlp-narrow`` a critical non-finite loss (still firing); the
table ``events`` drifted at version 3 (a drift alert on ``events@v3``, rank -1, resolved).
Drift: ``events`` versions 2 and 3 against version 1 (``amount`` drifts at 3), and ``scores``
version 2 against 1, all stable.
"""

from __future__ import annotations

import pandas as pd

T0 = pd.Timestamp("2026-05-04 09:00:00", tz="UTC").timestamp()
NAN = float("nan")


def alert_row(rule: str, severity: str, run_id: str, rank: int, state: str, started: float,
              resolved: float = NAN, value: float = 0.2, threshold: float = 0.5) -> dict:
    return {"rule": rule, "severity": severity, "run_id": run_id, "rank": rank, "state": state,
            "value": value, "threshold": threshold, "started": started, "resolved": resolved,
            "message": f"{rule} on rank {rank} of {run_id}"}


def alerts_table() -> pd.DataFrame:
    return pd.DataFrame([
        alert_row("throughput_drop", "warning", "run-wide-0001", 1, "resolved", T0 + 60,
                  T0 + 360),
        alert_row("stall", "critical", "run-wide-0001", 0, "firing", T0 + 600, value=75.0,
                  threshold=60.0),
        alert_row("nonfinite_loss", "critical", "run-narrow-0002", 0, "firing", T0 - 1800,
                  value=NAN, threshold=NAN),
        alert_row("drift", "warning", "events@v3", -1, "resolved", T0 + 900, T0 + 960,
                  value=0.31, threshold=0.25),
    ]).astype({"rank": "int64"})


def drift_row(table: str, version: int, column: str, psi: float, verdict: str,
              minutes: float) -> dict:
    return {"table": table, "version": version, "reference_version": 1, "column": column,
            "kind": "numeric", "psi": psi, "ks": psi / 2, "js": psi / 4, "null_rate_ref": 0.0,
            "null_rate_cur": 0.01, "distinct_ref": 100, "distinct_cur": 104,
            "verdict": verdict,
            "time": pd.Timestamp(T0 + 60 * minutes, unit="s", tz="UTC")}


def drift_table() -> pd.DataFrame:
    return pd.DataFrame([
        drift_row("events", 2, "amount", 0.04, "stable", 10),
        drift_row("events", 2, "country", 0.12, "moderate", 10),
        drift_row("events", 3, "amount", 0.31, "drift", 20),
        drift_row("events", 3, "country", 0.05, "stable", 20),
        drift_row("scores", 2, "accuracy", 0.01, "stable", 30),
    ]).astype({"version": "int64", "reference_version": "int64"})


def runs_table() -> pd.DataFrame:
    """`_runs` rows as training records them, with R; the oldest run from before R was
    recorded (NaN)."""
    rows = []
    for i, (run_id, name, compute, transfer) in enumerate([
            ("run-old-0000", "mlp-old", NAN, NAN),
            ("run-narrow-0002", "mlp-narrow", 1.2, 0.8),
            ("run-wide-0001", "mlp-wide", 5.4, 0.6)]):
        rows.append({"run_id": run_id, "name": name, "status": "succeeded",
                     "started": pd.Timestamp(T0 + 3600 * i, unit="s", tz="UTC"),
                     "compute_s": compute, "transfer_s": transfer,
                     "utilisation": compute / (compute + transfer)})
    return pd.DataFrame(rows)


def add_ops_tables(lake, *, alerts: bool = True, drift: bool = True, runs: bool = True) -> None:
    """Record the chosen tables in ``lake`` (`lake.record`, as their writers do)."""
    if alerts:
        lake.record("_alerts", alerts_table())
    if drift:
        lake.record("_drift", drift_table())
    if runs:
        lake.record("_runs", runs_table())
