"""Demo data: real datasets shipped with plotly, and a generated event stream with the flaws a
governed ingest must handle (PII, duplicate events, malformed lines). Deterministic by seed."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

#: plotly.data datasets written out for the demo, and the format each is written in.
PLOTLY_DATASETS = {"gapminder": "csv", "tips": "jsonl", "stocks": "csv", "wind": "jsonl",
                   "iris": "csv", "election": "jsonl", "carshare": "csv"}
EVENT_TYPES = np.array(["view", "click", "add_to_cart", "purchase", "search", "logout"])
COUNTRIES = np.array(["NO", "PE", "IN", "DE", "BR", "JP", "US", "KE", "FR", "AU"])


def write_plotly_datasets(directory: str | Path) -> list[Path]:
    """Write plotly's bundled datasets as CSV or JSON-lines files; returns their paths."""
    import plotly.data

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, fmt in PLOTLY_DATASETS.items():
        frame = getattr(plotly.data, name)()
        path = directory / f"{name}.{fmt}"
        if fmt == "csv":
            frame.to_csv(path, index=False)
        else:
            frame.to_json(path, orient="records", lines=True)
        paths.append(path)
    return paths


def events(n: int, *, seed: int = 0, start_id: int = 0, duplicate_rate: float = 0.02,
           users: int = 5000) -> pd.DataFrame:
    """``n`` clickstream events; about ``duplicate_rate`` of them repeat an earlier event_id
    (the same event delivered twice, as at-least-once pipelines do)."""
    rng = np.random.default_rng(seed)
    ids = np.arange(start_id, start_id + n, dtype=np.int64)
    dup = rng.random(n) < duplicate_rate
    dup[0] = False
    ids[dup] = ids[(rng.random(dup.sum()) * np.flatnonzero(dup)).astype(np.int64)]
    user = rng.integers(0, users, n)
    ts = np.datetime64("2026-11-01T00:00:00") + np.sort(rng.integers(0, 30 * 86400, n)).astype(
        "timedelta64[s]")
    return pd.DataFrame({
        "event_id": ids,
        "user_email": [f"user{u}@example.com" for u in user],
        "ts": pd.to_datetime(ts),
        "event_type": EVENT_TYPES[rng.integers(0, len(EVENT_TYPES), n)],
        "value": np.round(rng.gamma(2.0, 12.5, n), 2),
        "country": COUNTRIES[rng.integers(0, len(COUNTRIES), n)],
    })


def malformed_lines(rng: np.random.Generator, k: int, fmt: str) -> list[str]:
    """``k`` broken lines of the kinds real feeds carry (each holds an email, as PII would)."""
    kinds_csv = ["{i},broken{i}@example.com,2026-11-02T10:00:00,view",              # ragged
                 "{i},typo{i}@example.com,not-a-time,click,1.5,NO",                 # bad ts
                 "{i},quote{i}@example.com,2026-11-02T10:00:00,\"view,3.0,DE",      # quoting
                 "{i},amount{i}@example.com,2026-11-02T10:00:00,view,twelve,PE"]    # bad value
    kinds_json = ['{{"event_id": {i}, "user_email": "cut{i}@example.com", "ts": ',  # truncated
                  '{{"event_id": "x{i}", "user_email": "id{i}@example.com"}}']      # bad type
    kinds = kinds_csv if fmt == "csv" else kinds_json
    return [kinds[j % len(kinds)].format(i=10**9 + int(rng.integers(10**6)))
            for j in range(k)]


def write_events(directory: str | Path, *, files: int = 4, rows_per_file: int = 25_000,
                 malformed_per_file: int = 40, seed: int = 0) -> list[Path]:
    """Write the event stream: CSV files plus one JSON-lines file, each with malformed lines
    spliced in at random places, and duplicates across files. Returns the paths."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for f in range(files + 1):
        fmt = "jsonl" if f == files else "csv"
        # Files overlap by 1% of their ids: redelivered events that dedup drops against the table.
        start = f * rows_per_file - (rows_per_file // 100 if f else 0)
        frame = events(rows_per_file, seed=seed + f, start_id=start)
        if fmt == "csv":
            lines = frame.to_csv(index=False, date_format="%Y-%m-%dT%H:%M:%S").splitlines()
            header, body = lines[0], lines[1:]
        else:
            frame["ts"] = frame["ts"].dt.strftime("%Y-%m-%dT%H:%M:%S")
            header, body = None, [json.dumps(r) for r in frame.to_dict("records")]
        for line in malformed_lines(rng, malformed_per_file, "csv" if fmt == "csv" else "json"):
            body.insert(int(rng.integers(0, len(body) + 1)), line)
        path = directory / f"events_{f:03d}.{fmt}"
        path.write_text("\n".join(([header] if header else []) + body) + "\n")
        paths.append(path)
    return paths
