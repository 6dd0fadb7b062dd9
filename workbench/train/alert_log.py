"""A run's alert log, read back: ``alerts.jsonl`` in its run directory.

The launcher appends one JSON object per alert transition (to firing, or to resolved) with the
keys of `workbench.ops.watch.COLUMNS`; the latest line of each (rule, rank) is that alert's
state now. Reading it here, on the data side, lets every view that has only the directory (a
replayed run, the sidebar's runs list, another kernel) show the same alerts as `job.alerts`.

`fold` is the one parser: `read_alerts` runs it over the whole file, and `wb.train.runs`
over the lines appended since its last listing.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from workbench.ops.rules import SEVERITIES
from workbench.ops.watch import COLUMNS

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ALERTS_FILE", "COLUMNS", "alert_marks", "alerts_path", "firing", "fold", "read_alerts",
           "severity_rank"]

ALERTS_FILE = "alerts.jsonl"
_DTYPES = {"rank": "int64", "value": "float64", "threshold": "float64", "started": "float64",
           "resolved": "float64"}


def alerts_path(run_dir: str | os.PathLike[str]) -> Path:
    """Where the alerts of the run in `run_dir` are logged."""
    return Path(run_dir) / ALERTS_FILE


def fold(latest: dict[tuple[str, int], dict[str, Any]], data: bytes) -> None:
    """Update `latest` ((rule, rank) -> its last record) with the complete lines of `data`.
    A line that is not a JSON object with a rule name (cut short by a crash, written by
    something else) is skipped: the log is read while it is written, and a view must go on.
    A line that spells a NaN value ``NaN``, as ``json.dumps`` writes it (the launcher's logs
    did before it wrote with orjson, which writes null), is parsed by `json` instead."""
    for line in data.splitlines():
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError:
            try:
                record = json.loads(line)
            except ValueError:
                continue
        if type(record) is not dict or not isinstance(record.get("rule"), str):
            continue
        rank = record.get("rank")
        latest[(record["rule"], rank if type(rank) is int else -1)] = record


def read_alerts(run_dir: str | os.PathLike[str]) -> pd.DataFrame:
    """Every alert of the run, each in its latest state (`COLUMNS`, typed as `job.alerts`:
    started and resolved unix seconds, resolved NaN while open), in the order they first
    fired. No log (a run without alerts, or from before alerts were logged): no rows."""
    import pandas as pd

    latest: dict[tuple[str, int], dict[str, Any]] = {}
    try:
        with open(alerts_path(run_dir), "rb") as fh:
            data = fh.read()
    except FileNotFoundError:
        data = b""
    fold(latest, data[: data.rfind(b"\n") + 1])  # a last line still being written: not yet
    rows = [{column: _cell(column, record.get(column)) for column in COLUMNS}
            for record in latest.values()]
    return pd.DataFrame(rows, columns=list(COLUMNS)).astype(_DTYPES)


def firing(alerts: pd.DataFrame) -> pd.DataFrame:
    """The alerts of `alerts` (`job.alerts`, `read_alerts`) that are firing now, the most
    severe first, then the latest."""
    now = alerts[alerts["state"] == "firing"]
    order = now.assign(_severity=now["severity"].map(severity_rank))
    return order.sort_values(["_severity", "started"], ascending=[False, False],
                             kind="stable").drop(columns="_severity").reset_index(drop=True)


def severity_rank(severity: Any) -> int:
    """How severe `severity` is: its index in `workbench.ops.rules.SEVERITIES` (info lowest);
    -1 for one it does not know."""
    return SEVERITIES.index(severity) if severity in SEVERITIES else -1


def _cell(column: str, value: Any) -> Any:
    """A record's value as its column holds it: numbers as floats (None, text: NaN), rank an
    int (-1 when absent), text columns as strings."""
    if column == "rank":
        return value if type(value) is int else -1
    if column in _DTYPES:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        return math.nan
    return "" if value is None else str(value)


def alert_marks(alerts: pd.DataFrame, metrics: pd.DataFrame, t0: float) -> pd.DataFrame:
    """Where each alert that fired (firing or resolved) began on a run's charts: columns rule,
    severity, rank, time (seconds since `t0`, the charts' clock) and step (the last step its
    rank, or any rank for a subject without one, had logged by then; 0 before the first).
    The marks a monitor draws, computed here so the view only places them."""
    import numpy as np
    import pandas as pd

    fired = alerts[alerts["state"].isin(["firing", "resolved"])]
    steps = []
    for rank, started in zip(fired["rank"], fired["started"]):
        mine = metrics if rank < 0 or "rank" not in metrics else metrics[metrics["rank"] == rank]
        before = mine["step"][mine["time"] <= started] if "step" in mine else mine.iloc[:0]
        steps.append(int(before.max()) if len(before) else 0)
    return pd.DataFrame({"rule": fired["rule"].to_numpy(str),
                         "severity": fired["severity"].to_numpy(str),
                         "rank": fired["rank"].to_numpy(np.int64),
                         "time": fired["started"].to_numpy(float) - t0,
                         "step": np.asarray(steps, dtype=np.int64)})
