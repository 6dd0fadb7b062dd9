"""Worker-side parsing: one piece of a source becomes validated, pseudonymised Arrow rows plus
quarantine records, with every input row accounted for.

Each piece first takes the fast path (pyarrow's typed CSV / JSON readers, or one cast). Only a
piece where that fails is parsed again line by line, so a single bad value costs one piece's
re-parse, and it rejects the offending rows rather than the batch.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from workbench.lake import pii as pii_mod
from workbench.lake.errors import SchemaError, SourceError
from workbench.lake.sources import NULL_VALUES, Piece, SourceFile

_NULLS = frozenset(NULL_VALUES)


@dataclass(frozen=True)
class Spec:
    """What every piece of one ingest is checked and transformed against."""

    table: str
    schema: pa.Schema
    pii: tuple[str, ...] = ()
    key: bytes | None = field(default=None, repr=False)
    dedup: tuple[str, ...] = ()


@dataclass
class Parsed:
    """A parsed piece: valid rows (kept on the worker), and what the driver needs to know."""

    table: pa.Table
    quarantine: list[dict]
    rows_in: int
    lines: int = 0
    bytes_in: int = 0
    keys: np.ndarray | None = None

    def summary(self) -> Parsed:
        """The same without the rows: what travels back to the driver."""
        # An empty table of the schema: a zero-row slice would pickle the full buffers.
        return Parsed(self.table.schema.empty_table(), self.quarantine, self.rows_in, self.lines,
                      self.bytes_in, self.keys)


def parse_piece(piece: Piece, spec: Spec, data: Any = None) -> Parsed:
    """Parse, validate, pseudonymise and key one piece (``data``: a frame piece's rows, passed
    apart from the piece so Dask resolves it when it is a future)."""
    if piece.source is None:
        if not isinstance(data, pa.Table):
            data = pa.Table.from_pandas(data, preserve_index=False)
        table, bad, raws = _conform_records(data, spec, piece.row_offset)
        out = _finish(table, bad, raws, piece.label, spec, rows_in=data.num_rows)
        return out
    src = piece.source
    if src.format == "parquet":
        return _parse_parquet(piece, spec)
    data = read_range(src, piece.start, piece.end)
    if src.format == "csv":
        return _parse_csv(data, piece, spec)
    return _parse_json(data, piece, spec)


def read_range(src: SourceFile, start: int, end: int) -> pa.Buffer:
    """The lines that begin in ``[start, end)`` of a text file.

    Standard block splitting: a line belongs to the piece where it starts, so a piece skips a
    partial first line and reads past ``end`` to finish its last one. The bounds are found
    first and the lines read in one go into an Arrow buffer: its pool reuses memory from piece
    to piece, where a fresh ``bytes`` of tens of MB costs a page fault per 4 KB.
    """
    with src.filesystem.open_input_file(src.path) as f:
        begin = 0 if start == 0 else _next_newline(f, start - 1, src.size) + 1
        if begin >= end:
            return pa.py_buffer(b"")
        stop = min(_next_newline(f, end - 1, src.size) + 1, src.size)
        f.seek(begin)
        return f.read_buffer(stop - begin)


def _next_newline(f: Any, pos: int, size: int) -> int:
    """The offset of the first newline at or after ``pos``, or ``size`` when there is none."""
    while pos < size:
        chunk = f.read_at(min(1 << 16, size - pos), pos)
        cut = chunk.find(b"\n")
        if cut >= 0:
            return pos + cut
        pos += len(chunk)
    return size


_SCAN = 1 << 20  # bytes per step of a scan


def _bytes(data: Any) -> np.ndarray:
    return np.frombuffer(data, dtype=np.uint8)


def _count_byte(data: Any, value: int) -> int:
    """How often the byte ``value`` occurs in ``data``, scanned in steps through one reused
    temporary: a fresh one per step would be returned to the OS and fault in again (Dask's
    workers set glibc to trim freed memory eagerly)."""
    buf = _bytes(data)
    hits = np.empty(min(_SCAN, len(buf)), dtype=bool)
    n = 0
    for i in range(0, len(buf), _SCAN):
        step = buf[i:i + _SCAN]
        out = hits[:len(step)]
        np.equal(step, value, out=out)
        n += int(np.count_nonzero(out))
    return n


def count_lines(data: Any) -> int:
    """The number of lines in ``data``, a last one without a newline included."""
    buf = _bytes(data)
    return _count_byte(buf, 10) + (1 if len(buf) and buf[-1] != 10 else 0)


def line_numbers(data: Any) -> np.ndarray:
    """1-based numbers of the non-blank lines in ``data`` (a lone CR counts as blank)."""
    buf = _bytes(data)
    newlines = np.flatnonzero(buf == 10)
    ends = newlines if not len(buf) or buf[-1] == 10 else np.append(newlines, len(buf))
    starts = np.concatenate(([0], newlines + 1))[: len(ends)]
    lengths = ends - starts
    crlf = lengths > 0
    crlf[crlf] = buf[ends[crlf] - 1] == 13
    return np.flatnonzero((lengths - crlf) > 0) + 1


def _parse_csv(data: pa.Buffer, piece: Piece, spec: Spec) -> Parsed:
    import pyarrow.csv as pcsv

    src = piece.source
    assert src is not None and src.header is not None
    first = piece.start == 0
    n_lines = count_lines(data)
    ragged: list[tuple[int, str]] = []

    def on_invalid(row: Any) -> str:
        ragged.append((row.number, row.text))
        return "skip"

    columns = [c for c in src.header if c in spec.schema.names]
    types = {c: pa.string() if c in spec.pii else spec.schema.field(c).type for c in columns}
    try:
        table = pcsv.read_csv(
            pa.BufferReader(data),
            read_options=pcsv.ReadOptions(column_names=src.header, skip_rows=1 if first else 0,
                                          use_threads=False),
            parse_options=pcsv.ParseOptions(delimiter=src.delimiter, newlines_in_values=False,
                                            invalid_row_handler=on_invalid),
            convert_options=pcsv.ConvertOptions(column_types=types, include_columns=columns,
                                                null_values=NULL_VALUES,
                                                strings_can_be_null=False))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return _parse_csv_lines(data, piece, spec, n_lines)
    header = 1 if first else 0
    rows_in = table.num_rows + len(ragged)
    if not _rows_match(rows_in, data, n_lines, header):
        return _parse_csv_lines(data, piece, spec, n_lines)
    numbers = line_numbers(data) if ragged else None
    quarantine = [_record(piece, int(numbers[n - 1]), text, None,
                          f"expected {len(src.header)} fields, got "
                          f"{_field_count(text, src.delimiter)}") for n, text in ragged]
    return _finish(table, {}, {}, src.path, spec, rows_in=rows_in, quarantine=quarantine,
                   lines=n_lines, bytes_in=len(data), piece=piece)


def _rows_match(rows: int, data: pa.Buffer, n_lines: int, header: int = 0) -> bool:
    """Whether a reader's row count is exactly the non-blank lines (less the header).

    Every line a row and no carriage return (which a reader may take for a line break): then
    the count is right without numbering lines. Else number them, and compare.
    """
    if rows == n_lines - header and not _count_byte(data, 13):
        return True
    return rows == len(line_numbers(data)) - header


def _field_count(text: str, delimiter: str) -> int:
    try:
        return len(next(csv.reader([text], delimiter=delimiter)))
    except (csv.Error, StopIteration):
        return 0


def _decode(data: pa.Buffer, piece: Piece) -> str:
    try:
        return data.to_pybytes().decode("utf-8")
    except UnicodeDecodeError as err:
        raise SourceError(f"file {piece.name} is not UTF-8 (invalid byte at offset "
                          f"{piece.start + err.start}): re-encode it as UTF-8, e.g. "
                          "`iconv -f latin1 -t utf-8`") from err


def _lines(text: str):
    """(number, line) of each non-blank line; a trailing carriage return is dropped."""
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.removesuffix("\r")
        if line:
            yield number, line


def _parse_csv_lines(data: pa.Buffer, piece: Piece, spec: Spec, n_lines: int) -> Parsed:
    """The slow path: each line parsed on its own, every failure a quarantine record."""
    src = piece.source
    assert src is not None and src.header is not None
    header = src.header
    quarantine: list[dict] = []
    rows: list[list[str]] = []
    row_lines: list[int] = []
    row_raws: list[str] = []
    rows_in = 0
    for number, line in _lines(_decode(data, piece)):
        if piece.start == 0 and number == 1:
            continue  # the header
        rows_in += 1
        try:
            fields = next(csv.reader([line], delimiter=src.delimiter, strict=True))
        except csv.Error as err:
            quarantine.append(_record(piece, number, line, None, f"malformed CSV line: {err}"))
            continue
        if len(fields) != len(header):
            quarantine.append(_record(piece, number, line, None,
                                      f"expected {len(header)} fields, got {len(fields)}"))
            continue
        rows.append(fields)
        row_lines.append(number)
        row_raws.append(line)
    arrays, names, bad = [], [], {}
    for j, name in enumerate(header):
        if name not in spec.schema.names:
            continue
        target = pa.string() if name in spec.pii else spec.schema.field(name).type
        values, failed = convert_strings([r[j] for r in rows], target)
        for i in failed:
            bad.setdefault(i, (name, f"column {name!r}: cannot convert to {target}"))
        arrays.append(values)
        names.append(name)
    table = pa.Table.from_arrays(arrays, names=names)  # the header's columns are the schema's
    raws = {i: (row_lines[i], row_raws[i]) for i in bad}
    return _finish(table, bad, raws, src.path, spec, rows_in=rows_in, quarantine=quarantine,
                   lines=n_lines, bytes_in=len(data), piece=piece)


def convert_strings(values: list[str], target: pa.DataType,
                    limit: int | None = None) -> tuple[pa.Array, list[int]]:
    """Text values as ``target``; the indices that do not convert become null and are returned.

    With ``limit``, gives up (raising ``TooManyFailures``) once more than ``limit`` values fail.
    """
    if pa.types.is_string(target):
        return pa.array(values, pa.string()), []
    arr = pa.array([None if v in _NULLS else v for v in values], pa.string())
    failed: list[int] = []
    parts = _cast_halving(arr, target, 0, failed, limit)
    out = pa.concat_arrays(parts) if parts else pa.array([], target)
    return out, failed


class TooManyFailures(Exception):
    """More values failed to convert than the caller allows."""


def _cast_halving(arr: pa.Array, target: pa.DataType, offset: int, failed: list[int],
                  limit: int | None) -> list[pa.Array]:
    """Cast ``arr``; where that fails, cast each half, down to single values.

    One vectorised cast per clean stretch: k bad values among n cost O(k log n) casts, not n.
    """
    try:
        return [pc.cast(arr, target)]
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        if len(arr) == 1:
            failed.append(offset)
            if limit is not None and len(failed) > limit:
                raise TooManyFailures from None
            return [pa.nulls(1, target)]
    mid = len(arr) // 2
    return (_cast_halving(arr.slice(0, mid), target, offset, failed, limit)
            + _cast_halving(arr.slice(mid), target, offset + mid, failed, limit))


def convert_values(values: list[Any], target: pa.DataType) -> tuple[pa.Array, list[int]]:
    """Python values (from JSON or a frame) as ``target``, with the indices that do not fit.

    A text column takes any JSON value as its text (``50`` becomes ``"50"``), as a CSV would.
    """
    if pa.types.is_string(target):
        return pa.array([v if v is None or isinstance(v, str) else json.dumps(v, default=str)
                         for v in values], pa.string()), []
    if all(v is None or isinstance(v, str) for v in values):
        return convert_strings(["" if v is None else v for v in values], target)
    whole = _as_array(values, target)
    if whole is not None:
        return whole, []
    out, failed = [], []  # mixed values: one at a time, text parsed as text would be
    for i, v in enumerate(values):
        if isinstance(v, str):
            arr, bad = convert_strings([v], target)
            ok = not bad
            value = arr[0].as_py() if ok else None
        else:
            ok = _as_array([v], target) is not None
            value = v if ok else None
        out.append(value)
        if not ok:
            failed.append(i)
    return pa.array(out, target), failed


def _as_array(values: list[Any], target: pa.DataType) -> pa.Array | None:
    """``values`` as an Arrow array of ``target``, or None when they do not fit it."""
    try:
        return pa.array(values, target)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        return None


def _parse_json(data: pa.Buffer, piece: Piece, spec: Spec) -> Parsed:
    import pyarrow.json as pjson

    n_lines = count_lines(data)
    schema = pa.schema([pa.field(f.name, pa.string() if f.name in spec.pii else f.type)
                        for f in spec.schema])
    try:
        table = pjson.read_json(
            pa.BufferReader(data),
            read_options=pjson.ReadOptions(use_threads=False, block_size=max(len(data), 1) + 1),
            parse_options=pjson.ParseOptions(explicit_schema=schema,
                                             unexpected_field_behavior="infer",
                                             newlines_in_values=False))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        table = None
    if (table is not None and set(table.column_names) <= set(schema.names)
            and _rows_match(table.num_rows, data, n_lines)):
        return _finish(table, {}, {}, piece.name, spec, rows_in=table.num_rows,
                       lines=n_lines, bytes_in=len(data), piece=piece)
    return _parse_json_lines(data, piece, spec, n_lines)


def _parse_json_lines(data: pa.Buffer, piece: Piece, spec: Spec, n_lines: int) -> Parsed:
    quarantine: list[dict] = []
    records: list[dict] = []
    row_lines: list[int] = []
    row_raws: list[str] = []
    rows_in = 0
    names = set(spec.schema.names)
    for number, line in _lines(_decode(data, piece)):
        rows_in += 1
        try:
            record = json.loads(line)
        except ValueError as err:
            quarantine.append(_record(piece, number, line, None, f"malformed JSON: {err}"))
            continue
        if not isinstance(record, dict):
            quarantine.append(_record(piece, number, line, None,
                                      f"expected a JSON object, got {type(record).__name__}"))
            continue
        unknown = [k for k in record if k not in names]
        if unknown:
            quarantine.append(_record(piece, number, line, unknown[0],
                                      f"field {unknown[0]!r} is not in table {spec.table!r}; "
                                      "ingest with schema_mode='merge' to add it"))
            continue
        records.append(record)
        row_lines.append(number)
        row_raws.append(line)
    arrays, bad = [], {}
    for f in spec.schema:
        target = pa.string() if f.name in spec.pii else f.type
        values = [r.get(f.name) for r in records]
        if f.name in spec.pii:
            values = [None if v is None else str(v) for v in values]
        arr, failed = convert_values(values, target)
        for i in failed:
            bad.setdefault(i, (f.name, f"column {f.name!r}: cannot convert to {target}"))
        arrays.append(arr)
    table = pa.Table.from_arrays(arrays, names=spec.schema.names)
    raws = {i: (row_lines[i], row_raws[i]) for i in bad}
    return _finish(table, bad, raws, piece.name, spec, rows_in=rows_in, quarantine=quarantine,
                   lines=n_lines, bytes_in=len(data), piece=piece)


def _parse_parquet(piece: Piece, spec: Spec) -> Parsed:
    import pyarrow.parquet as pq

    src = piece.source
    assert src is not None and piece.row_group is not None
    try:
        with src.filesystem.open_input_file(src.path) as f:
            pf = pq.ParquetFile(f)
            offset = sum(pf.metadata.row_group(i).num_rows for i in range(piece.row_group))
            size = pf.metadata.row_group(piece.row_group).total_byte_size
            data = pf.read_row_group(piece.row_group)
    except (pa.ArrowInvalid, OSError) as err:
        raise SourceError(f"file {src.path}: row group {piece.row_group} cannot be read ({err});"
                          " the file is corrupt: re-export it") from err
    table, bad, raws = _conform_records(data, spec, offset)
    return _finish(table, bad, raws, src.path, spec, rows_in=data.num_rows, bytes_in=size,
                   piece=piece)


def _conform_records(data: pa.Table, spec: Spec, offset: int):
    """Cast typed records (Parquet, DataFrames) to the table's schema, column by column."""
    unknown = [c for c in data.column_names if c not in spec.schema.names]
    if unknown:
        raise SchemaError(f"column(s) {unknown} are not in table {spec.table!r}; ingest with "
                          "schema_mode='merge' to add them")
    arrays, names, bad = [], [], {}
    for name in data.column_names:
        target = pa.string() if name in spec.pii else spec.schema.field(name).type
        col = data.column(name)
        try:
            arr = pc.cast(col, target)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
            values = col.to_pylist()
            if name in spec.pii:
                values = [None if v is None else str(v) for v in values]
            arr, failed = convert_values(values, target)
            for i in failed:
                bad.setdefault(i, (name, f"column {name!r}: cannot convert to {target}"))
        arrays.append(arr)
        names.append(name)
    table = pa.Table.from_arrays(arrays, names=names)
    raws = {}
    if bad:
        rows = data.take(pa.array(sorted(bad))).to_pylist()
        raws = {i: (offset + i + 1, json.dumps(r, default=str)) for i, r in zip(sorted(bad), rows)}
    return table, bad, raws


def _record(piece: Piece, line: int, raw: str, column: str | None, reason: str) -> dict:
    return {"source": piece.name, "line": line, "raw": raw, "column": column, "reason": reason,
            "_piece": piece.index}


def _finish(table: pa.Table, bad: dict, raws: dict, source: str, spec: Spec, *, rows_in: int,
            quarantine: list[dict] | None = None, lines: int = 0, bytes_in: int = 0,
            piece: Piece | None = None) -> Parsed:
    """Drop bad rows into quarantine, conform to the schema, pseudonymise and key the rest."""
    quarantine = list(quarantine or [])
    index = piece.index if piece is not None else 0
    for i in sorted(bad):
        line, raw = raws[i]
        column, reason = bad[i]
        quarantine.append({"source": source, "line": line, "raw": raw, "column": column,
                           "reason": reason, "_piece": index})
    if bad:
        keep = np.ones(table.num_rows, dtype=bool)
        keep[list(bad)] = False
        table = table.filter(pa.array(keep))
    n = table.num_rows
    columns = []
    for f in spec.schema:
        if f.name in table.column_names:
            col = table.column(f.name)
            if f.name in spec.pii:
                assert spec.key is not None
                col = pii_mod.tokens(col, spec.key)
            elif col.type != f.type:
                col = pc.cast(col, f.type)
        else:
            col = pa.nulls(n, f.type)
        columns.append(col)
    table = pa.Table.from_arrays(columns, schema=spec.schema)
    if spec.pii:
        assert spec.key is not None
        for rec in quarantine:
            rec["raw"] = _scrub(rec["raw"], piece, spec)
    keys = dedup_keys(table, spec.dedup) if spec.dedup else None
    return Parsed(table, quarantine, rows_in, lines, bytes_in, keys)


def _scrub(raw: str, piece: Piece | None, spec: Spec) -> str:
    assert spec.key is not None
    src = piece.source if piece is not None else None
    if src is not None and src.format == "csv" and src.header is not None:
        return pii_mod.scrub_csv_line(raw, src.header, spec.pii, spec.key)
    return pii_mod.scrub_record(raw, spec.pii, spec.key)


#: Two public SipHash keys: a row's dedup key is 128 bits, so distinct rows never collide in
#: practice (a 64-bit key would collide once in ~2**32 rows and silently drop a row).
DEDUP_KEYS = (b"workbench-dedup1", b"workbench-dedup2")


def dedup_keys(table: pa.Table, columns: tuple[str, ...]) -> np.ndarray:
    """A (rows, 2) uint64 array: the 128-bit key of each row's ``columns`` values."""
    from workbench.kernels import keyed_hash

    out = np.empty((table.num_rows, 2), dtype=np.uint64)
    for j, key in enumerate(DEDUP_KEYS):
        acc = np.zeros(table.num_rows, dtype=np.uint64)
        for name in columns:
            col = table.column(name).combine_chunks()
            h = np.asarray(keyed_hash(col, key).fill_null(np.uint64(0x9E3779B97F4A7C15)),
                           dtype=np.uint64)
            # Fold the column into the running key and re-hash, so column order matters.
            acc = np.asarray(keyed_hash(acc ^ h, key), dtype=np.uint64)
        out[:, j] = acc
    return out
