"""A federated run as tables: the aggregator's records become `history` (``_fl_rounds``: one row
per round) and `participation` (``_fl_clients``: each client's state after each round), and the
run gets its ``_runs`` row like a training run, so the sidebar and dashboards list it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from workbench.lake import Lake

ROUNDS_TABLE = "_fl_rounds"
CLIENTS_TABLE = "_fl_clients"
ROUND_COLUMNS = ("round", "sampled", "completed", "dropped", "train_loss", "test_loss",
                 "test_accuracy", "local_accuracy", "bytes_up", "bytes_down", "seconds",
                 "train_seconds", "client_cpu_seconds", "epsilon", "compute_s", "transfer_s",
                 "utilisation", "time")
CLIENT_COLUMNS = ("round", "client", "pid", "rows", "rounds_completed", "state", "last_error",
                  "train_loss", "seconds", "cpu_seconds", "transfer_seconds", "labels")
_INTEGERS = {"round", "sampled", "completed", "dropped", "bytes_up", "bytes_down", "client",
             "pid", "rows", "rounds_completed"}


def history(records: pd.DataFrame) -> pd.DataFrame:
    """One row per round (`ROUND_COLUMNS`) from the aggregator's records."""
    return _select(records, "round", ROUND_COLUMNS)


def participation(records: pd.DataFrame) -> pd.DataFrame:
    """Each client's state after each round (`CLIENT_COLUMNS`; round 0 is the start)."""
    return _select(records, "client", CLIENT_COLUMNS)


def label_counts(participation: pd.DataFrame) -> pd.DataFrame:
    """The label mix of one run's clients (client, label, rows; as
    `Partitions.label_counts()`), from the ``labels`` of each client's rows; empty for a
    regression, or rows written before the column existed."""
    import json

    import pandas as pd

    rows = []
    if "labels" in participation:
        latest = participation.sort_values("round").groupby("client").tail(1)
        for client, labels in zip(latest["client"], latest["labels"]):
            counts = json.loads(labels) if isinstance(labels, str) and labels else {}
            rows += [{"client": int(client), "label": label, "rows": int(n)}
                     for label, n in counts.items()]
    return pd.DataFrame(rows, columns=["client", "label", "rows"]).sort_values(
        "client", kind="stable", ignore_index=True)


def outcome(records: pd.DataFrame) -> str:
    """How the rounds ended ("finished 50 rounds", "stopped before round 7: ..."), or ""."""
    if "event" not in records or "outcome" not in records:
        return ""
    ended = records.loc[records["event"] == "end", "outcome"]
    return str(ended.iloc[-1]) if len(ended) else ""


def save_federated(lake: Lake, info: dict[str, Any], records: pd.DataFrame) -> int:
    """The run's rounds and clients into ``_fl_rounds``/``_fl_clients``, then its ``_runs`` row
    (an `workbench.train.launcher.Save`, with the rounds' utilisation R); returns the
    ``_runs`` version."""
    import pandas as pd

    from workbench.train.records import save_run

    rounds = history(records)
    for table, frame in ((ROUNDS_TABLE, rounds.copy()),
                         (CLIENTS_TABLE, participation(records))):
        if len(frame):
            frame.insert(0, "name", info["name"])
            frame.insert(0, "run_id", info["run_id"])
            lake.record(table, frame)
    compute, transfer = rounds["compute_s"].sum(), rounds["transfer_s"].sum()
    busy = compute + transfer
    return save_run(lake, info, pd.DataFrame(), None, figures={
        "compute_s": compute, "transfer_s": transfer,
        "utilisation": compute / busy if busy > 0 else None})


def _select(records: pd.DataFrame, event: str, columns: tuple[str, ...]) -> pd.DataFrame:
    import pandas as pd

    if "event" not in records:
        return pd.DataFrame({c: pd.Series(dtype=_dtype(c)) for c in columns})
    rows = records[records["event"] == event].rename(
        columns={"step": "round", "dropped_clients": "dropped"})
    frame = pd.DataFrame({c: rows[c] if c in rows else pd.Series(dtype=_dtype(c))
                          for c in columns}).reset_index(drop=True)
    return frame.astype({c: _dtype(c) for c in columns})


def _dtype(column: str) -> str:
    if column in _INTEGERS:
        return "int64"
    return "string" if column in ("state", "last_error", "labels") else "float64"
