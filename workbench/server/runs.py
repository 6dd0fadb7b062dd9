"""GET runs, GET runs/{id}, POST runs/{id}/stop: training runs as `wb.train.runs` lists them.

`wb.train.runs` caches what it parsed of each run's files; the sparkline of each run (its
throughput, at most 60 points) is cached here too, recomputed only when the run's row changed
(steps, status), and for a running run at most once every `SPARK_S` seconds. Run ids are
looked up among the listed runs, never joined into a path.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from workbench.server.encode import cell, epoch, figure
from workbench.server.errors import ApiError

SPARK_POINTS = 60
SPARK_S = 2.0  # a running run's sparkline is recomputed at most this often
FIELDS = ("id", "name", "status", "ranks", "steps", "samples_per_s", "last_loss")


class RunListing:
    """The runs under ``root`` (default ``$WORKBENCH_HOME/runs``) as the REST API shows them."""

    def __init__(self, root: str | None = None) -> None:
        self.root = root
        self._sparks: dict[str, tuple[tuple, float, list[float | None]]] = {}
        self._lock = threading.Lock()

    def rows(self) -> list[dict[str, Any]]:
        """Every run, newest first, with its sparkline (reads: call from a worker thread)."""
        from workbench.train.runs import runs

        table = runs(self.root)
        with self._lock:
            out = [self._row(row, self._sparkline(row)) for row in _dicts(table)]
            listed = {row["id"] for row in out}
            self._sparks = {k: v for k, v in self._sparks.items() if k in listed}
        return out

    def detail(self, run_id: str) -> dict[str, Any]:
        """The run's row plus its traceback, logged metric names and figures; 404 for an id
        that no listed run has."""
        from workbench.charts import loss, throughput
        from workbench.train.metrics import logged_metrics, read_run
        from workbench.train.runs import RunNotFoundError, runs, traceback

        table = runs(self.root)
        found = [row for row in _dicts(table) if row["id"] == run_id]
        if not found:
            raise ApiError(404, f"run id {run_id!r} is not listed (GET runs lists "
                                f"{len(table)}); pass the id of one of them")
        row = found[0]
        try:
            text = traceback(run_id, self.root)
        except RunNotFoundError as err:  # removed since it was listed a moment ago
            raise ApiError(404, str(err)) from err
        records = read_run(row["run_dir"])
        metrics = logged_metrics(records)
        charted = "loss" if "loss" in metrics else (metrics[0] if metrics else "loss")
        series = self._throughput(row)
        with self._lock:
            spark = self._sparkline(row, series)
        return {**self._row(row, spark), "traceback": text, "metrics": metrics,
                "figures": {"throughput": figure(throughput(series)),
                            "loss": figure(loss(records, charted))}}

    def stop(self, run_id: str) -> None:
        """Ask a running run to stop through its stop file: 404 for an unlisted id, 409 when
        the run is not running."""
        from workbench.train.runs import RunNotFoundError, RunNotRunningError, stop_run

        try:
            stop_run(run_id, self.root)
        except RunNotFoundError as err:
            raise ApiError(404, str(err)) from err
        except RunNotRunningError as err:
            raise ApiError(409, str(err)) from err

    def _throughput(self, row: dict[str, Any]) -> Any:
        from workbench.train.runs import throughput

        return throughput(row["run_dir"], SPARK_POINTS)

    def _sparkline(self, row: dict[str, Any], series: Any = None) -> list[float | None]:
        """The run's throughput points, from the cache while its row is unchanged; else from
        ``series`` when the caller already read it, so a run's files are read once."""
        key = (row["status"], row["steps"], cell(row["ended"]))
        cached = self._sparks.get(row["id"])
        now = time.monotonic()
        fresh = cached is not None and (cached[0] == key or (
            row["status"] == "running" and now - cached[1] < SPARK_S))
        if not fresh:
            series = self._throughput(row) if series is None else series
            cached = (key, now, [cell(v) for v in series["samples_per_s"]])
            self._sparks[row["id"]] = cached
        return cached[2]

    @staticmethod
    def _row(row: dict[str, Any], spark: list[float | None]) -> dict[str, Any]:
        import pandas as pd

        error = None
        if isinstance(row["error"], str) and row["error"]:
            rank = row["error_rank"]
            error = {"rank": None if pd.isna(rank) else int(rank), "message": row["error"]}
        alert = None
        if row["alerts"]:
            alert = {"severity": row["alert_severity"], "message": row["alert"]}
        return {**{k: cell(row[k]) for k in FIELDS}, "throughput": spark,
                "started": epoch(row["started"]), "ended": epoch(row["ended"]),
                "error": error, "alerts": int(row["alerts"]), "alert": alert}


def _dicts(table: Any) -> list[dict[str, Any]]:
    return table.to_dict("records")
