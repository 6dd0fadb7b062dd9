"""Deterministic synthetic data for the benchmarks: an event stream written as CSV files.

``event_files(directory, size_gb)`` writes (or finds, cached from an earlier run) CSV files of
about 62.5 MB each, one row per event:

    event_id    int64    unique, except ~2% replayed events that repeat an earlier id
    user_id     int64
    user_email  string   personal data: "user<user_id>@<domain>"
    ts          string   ISO 8601 timestamp with milliseconds, e.g. 2026-01-01T00:00:00.123
    event_type  string   one of 8 short names
    value       float64  2 decimals, ~0.5% empty (null)
    country     string   ISO 3166 alpha-2 code

The same seed and size always give byte-identical files, so a cached directory is reused
when its manifest matches. Nothing here is committed: the files live in /tmp.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

VERSION = 1  # bump when the generator's output changes, so old caches are regenerated
FILE_BYTES = 63 * 2**20  # at most this much per file: one 64 MiB ingest piece per file
DUP_FRACTION = 0.02
NULL_FRACTION = 0.005
USERS = 2_000_000
ID_BASE = 1_000_000_000
TS_START_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z
EVENT_TYPES = ["view", "click", "search", "add_to_cart", "purchase", "login", "logout", "signup"]
EVENT_WEIGHTS = [0.42, 0.25, 0.12, 0.08, 0.04, 0.04, 0.03, 0.02]
COUNTRIES = ["US", "DE", "GB", "FR", "IN", "BR", "JP", "CA", "ES", "IT",
             "NL", "SE", "PL", "MX", "AU", "KR", "CH", "AT", "BE", "NO"]
DOMAINS = ["example.com", "mail.example.org", "corp.example.net", "inbox.example.io"]
COLUMNS = ["event_id", "user_id", "user_email", "ts", "event_type", "value", "country"]


@dataclass
class EventFiles:
    """The generated files and what is known about them without reading them again."""

    directory: Path
    files: list[Path]
    rows: int
    distinct_ids: int
    bytes: int

    @property
    def duplicates(self) -> int:
        return self.rows - self.distinct_ids


def _weights(n: int) -> np.ndarray:
    w = 1.0 / np.arange(1, n + 1)  # a few large countries, a long tail
    return w / w.sum()


def event_table(rows: int, first_row: int, seed: int, index: int) -> pa.Table:
    """``rows`` events, the ``first_row``-th event of the stream first; seeded per file."""
    rng = np.random.default_rng([seed, index])
    global_row = first_row + np.arange(rows, dtype=np.int64)
    event_id = ID_BASE + global_row
    dup = rng.random(rows) < DUP_FRACTION
    # A replayed event repeats the id of an earlier event, possibly one in an earlier file.
    event_id[dup] = ID_BASE + rng.integers(0, np.maximum(global_row[dup], 1))
    user_id = rng.integers(0, USERS, rows, dtype=np.int64)
    domain = pa.array(DOMAINS).take(pa.array(rng.integers(0, len(DOMAINS), rows)))
    email = pc.binary_join_element_wise("user", pc.cast(pa.array(user_id), pa.string()), "@",
                                        domain, "")
    ts_ms = TS_START_MS + global_row * 25 + rng.integers(0, 20_000, rows)
    ts = pc.strftime(pa.array(ts_ms, pa.timestamp("ms")), "%Y-%m-%dT%H:%M:%S")
    kinds = pa.array(EVENT_TYPES).take(pa.array(rng.choice(len(EVENT_TYPES), rows,
                                                           p=EVENT_WEIGHTS)))
    value = np.round(rng.lognormal(3.0, 1.2, rows), 2)
    value_arr = pa.array(value, mask=rng.random(rows) < NULL_FRACTION)
    country = pa.array(COUNTRIES).take(pa.array(rng.choice(len(COUNTRIES), rows,
                                                           p=_weights(len(COUNTRIES)))))
    return pa.table([pa.array(event_id), pa.array(user_id), email, ts, kinds, value_arr,
                     country], names=COLUMNS)


def _csv_bytes(table: pa.Table, header: bool = True) -> bytes:
    sink = pa.BufferOutputStream()
    pcsv.write_csv(table, sink, pcsv.WriteOptions(include_header=header, quoting_style="none",
                                                  quoting_header="none"))
    return sink.getvalue().to_pybytes()


def event_files(directory: str | os.PathLike, size_gb: float = 1.0, seed: int = 0,
                progress: bool = True) -> EventFiles:
    """At least ``size_gb`` GB (10**9 bytes) of event CSV files in ``directory``, cached."""
    directory = Path(directory)
    target = int(size_gb * 1e9)
    n_files = max(1, math.ceil(target / FILE_BYTES))
    per_file = math.ceil(target / n_files)
    manifest_path = directory / "manifest.json"
    params = {"version": VERSION, "seed": seed, "target_bytes": target, "files": n_files}
    cached = _load_manifest(manifest_path, params, directory)
    if cached is not None:
        if progress:
            print(f"data: {len(cached.files)} cached CSV files in {directory} "
                  f"({cached.bytes / 1e9:.2f} GB, {cached.rows:,} rows)")
        return cached

    directory.mkdir(parents=True, exist_ok=True)
    manifest_path.unlink(missing_ok=True)
    sample = event_table(20_000, 0, seed, 10_000)
    row_bytes = len(_csv_bytes(sample, header=False)) / sample.num_rows
    # A little under the budget per file; the last rows are topped up below to reach it.
    rows_per_file = int(per_file / row_bytes * 0.995)

    from tqdm import tqdm

    files, ids, total, first = [], [], 0, 0
    bar = tqdm(total=n_files, unit="file", desc=f"generating {size_gb:g} GB of CSV",
               disable=not progress)
    for i in range(n_files):
        table = event_table(rows_per_file, first, seed, i)
        data = _csv_bytes(table)
        short = per_file - len(data)
        if short > 0:  # top up, so the total is at least the requested size
            extra = event_table(int(short / row_bytes) + 2, first + table.num_rows, seed,
                                100_000 + i)
            table = pa.concat_tables([table, extra])
            data += _csv_bytes(extra, header=False)
        path = directory / f"events-{i:03d}.csv"
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
        files.append(path)
        ids.append(table.column("event_id").to_numpy())
        total += len(data)
        first += table.num_rows
        bar.update(1)
    bar.close()
    all_ids = np.concatenate(ids)
    result = EventFiles(directory, files, rows=len(all_ids),
                        distinct_ids=len(np.unique(all_ids)), bytes=total)
    manifest = {**params, "rows": result.rows, "distinct_ids": result.distinct_ids,
                "sizes": {p.name: p.stat().st_size for p in files}}
    manifest_path.write_text(json.dumps(manifest, indent=1))
    if progress:
        print(f"data: wrote {n_files} CSV files to {directory} ({total / 1e9:.2f} GB, "
              f"{result.rows:,} rows, {result.duplicates:,} duplicate ids)")
    return result


def _load_manifest(path: Path, params: dict, directory: Path) -> EventFiles | None:
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if any(manifest.get(k) != v for k, v in params.items()):
        return None
    files = [directory / name for name in sorted(manifest["sizes"])]
    for f in files:
        if not f.is_file() or f.stat().st_size != manifest["sizes"][f.name]:
            return None
    return EventFiles(directory, files, manifest["rows"], manifest["distinct_ids"],
                      sum(manifest["sizes"].values()))
