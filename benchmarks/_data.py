"""Deterministic synthetic data for the benchmarks: an event stream written as CSV files.

``event_files(directory, size_gb)`` writes (or finds, cached from an earlier run) CSV files of
about 62.5 MB each, one row per event, no value quoted and one line per row:

    event_id    int64    unique, except ~2% replayed events that repeat an earlier id
    user_id     int64
    user_email  string   personal data: "user<user_id>@<domain>"
    ts          string   ISO 8601 timestamp with milliseconds, e.g. 2026-01-01T00:00:00.123
    event_type  string   one of 8 short names
    value       float64  2 decimals, ~0.5% empty (null)
    country     string   ISO 3166 alpha-2 code

``comment_files(directory, size_gb)`` writes the same kind of files (same size, same event
columns) with one more column, ``comment``: free text written as RFC 4180 CSV, quoted only
where it must be (Python's ``csv.QUOTE_MINIMAL``, Excel's export), which is what a real export
holds and what a line-by-line reader gets wrong:

    comment     string   a few words; ~2% empty (null); ~4% with a comma, ~1% with a quoted
                         word (the quotes doubled in the file), and 1% with a line break inside
                         the value (LF or CRLF, mostly mid-text, some at its end)

In that set a record is not a line: ``EventFiles.rows`` counts records (what every reader must
return) and ``EventFiles.lines`` the physical lines under the headers (``rows`` plus one per
line break inside a value), so a reader that counts lines is caught.

The same seed and size always give byte-identical files, so a cached directory is reused
when its manifest matches. Nothing here is committed: the files live in /tmp.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
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

# The comment column of ``comment_files``; fractions are of all rows, drawn independently.
COMMENT_VERSION = 1  # bump when the comments change, so old caches of that set are regenerated
NEWLINE_FRACTION = 0.01  # a line break inside the quoted value: half LF, half CRLF
TRAILING_NEWLINE_FRACTION = 0.2  # of those, the break ends the value ("text\n")
COMMA_FRACTION = 0.04
QUOTE_FRACTION = 0.01  # a quoted word, at the start or the end of the value
EMPTY_FRACTION = 0.02  # an empty field (null), only where no quoting is needed
PHRASES = 1000
PHRASE_STREAM, COMMENT_STREAM = 7_000_001, 7_000_002  # seed streams apart from the events'
WORDS = ["great", "slow", "delivery", "price", "too", "high", "love", "it", "broken", "on",
         "arrival", "would", "buy", "again", "the", "app", "crashed", "after", "update",
         "support", "was", "helpful", "not", "what", "I", "expected", "size", "runs", "small",
         "colour", "looks", "different", "fast", "shipping", "refund", "please", "works",
         "fine", "five", "stars", "missing", "parts", "gift", "for", "my", "sister", "ok",
         "café", "naïve", "déjà", "vu", "größe", "passt", "nicht", "très", "bien", "👍"]


@dataclass
class EventFiles:
    """The generated files and what is known about them without reading them again."""

    directory: Path
    files: list[Path]
    rows: int
    distinct_ids: int
    bytes: int
    lines: int = 0  # physical lines under the headers; rows when no value holds a line break
    newline_rows: int = 0  # records whose comment holds a line break (comment_files only)
    kind: str = "plain"  # "plain" (event_files) or "newlines" (comment_files)

    def __post_init__(self) -> None:
        self.lines = self.lines or self.rows

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


def _phrases(seed: int) -> pa.Array:
    """A fixed pool of short lowercase phrases (2-9 words) that the comments draw from."""
    rng = np.random.default_rng([seed, PHRASE_STREAM])
    words = np.array(WORDS)
    return pa.array([" ".join(words[rng.integers(0, len(words), rng.integers(2, 10))])
                     for _ in range(PHRASES)])


def comment_column(rows: int, seed: int, index: int) -> tuple[pa.Array, int]:
    """``rows`` comments as they are written in the file (a quoted field already escaped, with
    its quotes; a plain one as is; null for an empty field), and how many hold a line break.

    Seeded per file apart from the event columns, so the events of a file depend only on
    ``seed``, the file's index and its row count, as in ``event_files``.
    """
    rng = np.random.default_rng([seed, index, COMMENT_STREAM])
    pool = _phrases(seed)

    def pick() -> pa.Array:
        return pool.take(pa.array(rng.integers(0, len(pool), rows)))

    text = pick()
    comma = rng.random(rows) < COMMA_FRACTION
    text = pc.if_else(pa.array(comma), pc.binary_join_element_wise(text, pick(), ", "), text)
    quote = rng.random(rows) < QUOTE_FRACTION
    quoted_first = rng.random(rows) < 0.5  # '"word" text' or 'text "word"'
    word = pc.binary_join_element_wise('"', pick(), '"', "")
    text = pc.if_else(pa.array(quote & quoted_first),
                      pc.binary_join_element_wise(word, text, " "), text)
    text = pc.if_else(pa.array(quote & ~quoted_first),
                      pc.binary_join_element_wise(text, word, " "), text)
    newline = rng.random(rows) < NEWLINE_FRACTION
    crlf = rng.random(rows) < 0.5
    trailing = rng.random(rows) < TRAILING_NEWLINE_FRACTION
    brk = pc.if_else(pa.array(crlf), "\r\n", "\n")
    tail = pc.if_else(pa.array(trailing), "", pick())
    text = pc.if_else(pa.array(newline),
                      pc.binary_join_element_wise(text, brk, tail, ""), text)
    # RFC 4180: a field holding a comma, a quote or a line break is quoted, its quotes doubled.
    needs_quotes = comma | quote | newline
    escaped = pc.binary_join_element_wise('"', pc.replace_substring(text, '"', '""'), '"', "")
    field = pc.if_else(pa.array(needs_quotes), escaped, text)
    empty = (rng.random(rows) < EMPTY_FRACTION) & ~needs_quotes
    return pc.if_else(pa.array(empty), pa.scalar(None, pa.string()), field), int(newline.sum())


def _append_field(body: bytes, fields: pa.Array) -> bytes:
    """CSV ``body`` (one line per row, no header) with ``fields`` (already CSV text, null for
    empty) added as the last column of each row.

    The rows are cut at each line's end, so that every piece but the first starts with the
    previous line's newline; joining each piece to ``,field`` and concatenating the results
    puts each field right before its row's newline, with no Python loop over rows.
    """
    ends = np.flatnonzero(np.frombuffer(body, np.uint8) == ord("\n"))
    if len(ends) != len(fields) or ends[-1] != len(body) - 1:
        raise ValueError(f"expected {len(fields)} lines, got {len(ends)}")
    offsets = pa.array(np.concatenate([[0], ends]).astype(np.int32))
    lines = pa.StringArray.from_buffers(len(fields), offsets.buffers()[1], pa.py_buffer(body))
    joined = pc.binary_join_element_wise(lines, pc.fill_null(fields, ""), ",")
    off = np.frombuffer(joined.buffers()[1], np.int32)[joined.offset:joined.offset + len(joined)
                                                        + 1]
    return joined.buffers()[2].to_pybytes()[off[0]:off[-1]] + b"\n"


@dataclass
class _Chunk:
    """Rows of one file (or of its top-up) and their CSV text."""

    event_id: np.ndarray
    data: bytes
    newline_rows: int = 0


def _plain_chunk(rows: int, first: int, seed: int, index: int, header: bool) -> _Chunk:
    table = event_table(rows, first, seed, index)
    return _Chunk(table.column("event_id").to_numpy(), _csv_bytes(table, header))


def _comment_chunk(rows: int, first: int, seed: int, index: int, header: bool) -> _Chunk:
    table = event_table(rows, first, seed, index)
    comments, newline_rows = comment_column(rows, seed, index)
    data = _append_field(_csv_bytes(table, header=False), comments)
    if header:
        data = ",".join([*COLUMNS, "comment"]).encode() + b"\n" + data
    return _Chunk(table.column("event_id").to_numpy(), data, newline_rows)


def event_files(directory: str | os.PathLike, size_gb: float = 1.0, seed: int = 0,
                progress: bool = True) -> EventFiles:
    """At least ``size_gb`` GB (10**9 bytes) of event CSV files in ``directory``, cached."""
    params = {"version": VERSION, "seed": seed}
    return _files(Path(directory), size_gb, params, _plain_chunk, "plain", progress)


def comment_files(directory: str | os.PathLike, size_gb: float = 1.0, seed: int = 0,
                  progress: bool = True) -> EventFiles:
    """At least ``size_gb`` GB of event CSV files with a quoted free-text ``comment`` column,
    1% of whose values hold a line break, in ``directory``, cached."""
    params = {"version": VERSION, "comment_version": COMMENT_VERSION, "kind": "newlines",
              "seed": seed}
    return _files(Path(directory), size_gb, params, _comment_chunk, "newlines", progress)


def _files(directory: Path, size_gb: float, params: dict,
           chunk: Callable[[int, int, int, int, bool], _Chunk], kind: str,
           progress: bool) -> EventFiles:
    """Files of ``chunk(rows, first_row, seed, index, header)``'s rows, about ``size_gb`` GB in
    all, each at most ``FILE_BYTES``; found in ``directory`` instead when its manifest matches
    ``params``."""
    seed = params["seed"]
    target = int(size_gb * 1e9)
    n_files = max(1, math.ceil(target / FILE_BYTES))
    per_file = math.ceil(target / n_files)
    manifest_path = directory / "manifest.json"
    params = {**params, "target_bytes": target, "files": n_files}
    cached = _load_manifest(manifest_path, params, directory, kind)
    if cached is not None:
        if progress:
            print(f"data: {len(cached.files)} cached CSV files in {directory} "
                  f"({cached.bytes / 1e9:.2f} GB, {cached.rows:,} rows)")
        return cached

    directory.mkdir(parents=True, exist_ok=True)
    manifest_path.unlink(missing_ok=True)
    sample = chunk(20_000, 0, seed, 10_000, False)
    row_bytes = len(sample.data) / len(sample.event_id)
    # A little under the budget per file; the last rows are topped up below to reach it.
    rows_per_file = int(per_file / row_bytes * 0.995)

    from tqdm import tqdm

    files, ids, total, first, newline_rows = [], [], 0, 0, 0
    bar = tqdm(total=n_files, unit="file", desc=f"generating {size_gb:g} GB of CSV ({kind})",
               disable=not progress)
    for i in range(n_files):
        part = chunk(rows_per_file, first, seed, i, True)
        parts = [part]
        short = per_file - len(part.data)
        if short > 0:  # top up, so the total is at least the requested size
            parts.append(chunk(int(short / row_bytes) + 2, first + len(part.event_id), seed,
                               100_000 + i, False))
        data = b"".join(p.data for p in parts)
        path = directory / f"events-{i:03d}.csv"
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
        files.append(path)
        ids += [p.event_id for p in parts]
        total += len(data)
        first += sum(len(p.event_id) for p in parts)
        newline_rows += sum(p.newline_rows for p in parts)
        bar.update(1)
    bar.close()
    all_ids = np.concatenate(ids)
    result = EventFiles(directory, files, rows=len(all_ids),
                        distinct_ids=len(np.unique(all_ids)), bytes=total,
                        lines=len(all_ids) + newline_rows, newline_rows=newline_rows, kind=kind)
    manifest = {**params, "rows": result.rows, "distinct_ids": result.distinct_ids,
                "sizes": {p.name: p.stat().st_size for p in files}}
    if kind != "plain":  # the plain set's manifest keeps its first form, so its caches hold
        manifest.update(lines=result.lines, newline_rows=newline_rows)
    manifest_path.write_text(json.dumps(manifest, indent=1))
    if progress:
        extra = (f", {newline_rows:,} with a line break in a value ({result.lines:,} lines)"
                 if kind != "plain" else "")
        print(f"data: wrote {n_files} CSV files to {directory} ({total / 1e9:.2f} GB, "
              f"{result.rows:,} rows, {result.duplicates:,} duplicate ids{extra})")
    return result


def _load_manifest(path: Path, params: dict, directory: Path, kind: str) -> EventFiles | None:
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
                      sum(manifest["sizes"].values()), lines=manifest.get("lines", 0),
                      newline_rows=manifest.get("newline_rows", 0), kind=kind)
