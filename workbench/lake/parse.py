"""Worker-side parsing: one piece of a source becomes validated, pseudonymised Arrow rows plus
quarantine records, with every input row accounted for.

Each piece first takes the fast path (pyarrow's typed CSV / JSON readers, or one cast). Only a
piece where that fails is parsed again line by line, so a single bad value costs one piece's
re-parse, and it rejects the offending rows rather than the batch.
"""

from __future__ import annotations

import csv
import decimal
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from workbench.lake import pii as pii_mod
from workbench.lake.boundaries import count_lines, record_spans, record_start
from workbench.lake.convert import NOT_UTF8, convert_text, convert_values
from workbench.lake.dedup import RowKeys, dedup_keys
from workbench.lake.errors import SchemaError, SourceError
from workbench.lake.sources import Piece, SourceFile, csv_records, has_surrogates, json_loads


@dataclass(frozen=True)
class Spec:
    """What every piece of one ingest is checked and transformed against."""

    table: str
    schema: pa.Schema
    pii: tuple[str, ...] = ()
    key: bytes | None = field(default=None, repr=False)
    dedup: tuple[str, ...] = ()
    #: Columns whose type was inferred from text in this ingest: a later value that the type
    #: would change (a leading zero, a plus sign) is quarantined rather than converted.
    exact: frozenset[str] = frozenset()


@dataclass
class Parsed:
    """A parsed piece: valid rows (kept on the worker), and what the driver needs to know."""

    table: pa.Table
    quarantine: list[dict]
    rows_in: int
    begin: int = 0  # a text piece's first byte in its file (line numbers count from there)
    bytes_in: int = 0
    keys: RowKeys | None = None

    def summary(self) -> Parsed:
        """The same without the rows: what travels back to the driver."""
        # An empty table of the schema: a zero-row slice would pickle the full buffers.
        return Parsed(self.table.schema.empty_table(), self.quarantine, self.rows_in, self.begin,
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
    data, begin = read_range(src, piece.start, piece.end, piece.odd_start, piece.odd_end)
    if src.format == "csv":
        return _parse_csv(data, piece, spec, begin)
    return _parse_json(data, piece, spec, begin)


def read_range(src: SourceFile, start: int, end: int, odd_start: bool = False,
               odd_end: bool = False) -> tuple[pa.Buffer, int]:
    """The records that begin in ``[start, end)`` of a text file, and the offset of the first.

    Standard block splitting, made quote-aware: a record belongs to the piece where it starts,
    so a piece skips to the first record boundary at or after ``start`` and reads on to the
    first one at or after ``end`` (``odd_*``: whether an odd number of quote characters come
    before that offset, so a line break there sits inside a quoted field). The bytes are read
    in one go into an Arrow buffer: its pool reuses memory from piece to piece, where a fresh
    ``bytes`` of tens of MB costs a page fault per 4 KB.
    """
    quoted = src.format == "csv"
    with src.filesystem.open_input_file(src.path) as f:
        begin = record_start(f, start, odd_start, src.size, quoted)
        if begin >= end:
            return pa.py_buffer(b""), begin
        stop = record_start(f, end, odd_end, src.size, quoted)
        f.seek(begin)
        return f.read_buffer(stop - begin), begin


def _utf8(data: pa.Buffer, piece: Piece, begin: int) -> pa.Buffer:
    """The piece's bytes as UTF-8: transcoded from the file's encoding, a leading BOM dropped.

    UTF-8 input is not checked here: bytes that are not UTF-8 quarantine their rows later.
    """
    src = piece.source
    assert src is not None
    if src.encoding not in ("utf-8", "utf-8-sig"):
        raw = data.to_pybytes()
        try:
            text = raw.decode(src.encoding)
        except UnicodeDecodeError as err:
            raise SourceError(f"file {src.path} is not valid {src.encoding} (invalid bytes at "
                              f"offset {begin + err.start}): pass the file's encoding") from err
        return pa.py_buffer(text.removeprefix("\ufeff").encode("utf-8"))
    if begin == 0 and data.size >= 3 and data[:3].to_pybytes() == b"\xef\xbb\xbf":
        return data.slice(3)
    return data


def _parse_csv(data: pa.Buffer, piece: Piece, spec: Spec, begin: int) -> Parsed:
    """A CSV piece through pyarrow's reader (quoted line breaks allowed); conversions checked
    column by column, so one bad value quarantines its row and nothing else."""
    src = piece.source
    assert src is not None and src.header is not None
    size = data.size
    data = _utf8(data, piece, begin)
    if data.size and data[-1] not in (10, 13):
        # A file's last record without a line break: pyarrow (26) reads an empty last field
        # after a quoted one as "" rather than null, so the break is added.
        data = pa.py_buffer(data.to_pybytes() + b"\n")
    first, skipped = begin == 0, 0
    if first:  # blank lines before the header: pyarrow's skip_rows would take one for it
        head = data.slice(0, min(4096, data.size)).to_pybytes()
        lead = len(head) - len(head.lstrip(b"\r\n"))
        skipped = count_lines(head[:lead])
        data = data.slice(lead)
    columns = [c for c in src.header if c in spec.schema.names]
    # Integers inferred here are read as text and checked: pyarrow would read "08123" as
    # 8123. Other types cannot lose a zip code's zero and are read typed, the fast way.
    exact = {c for c in spec.exact & set(columns)
             if pa.types.is_integer(spec.schema.field(c).type)}
    as_text = set(src.null_words) | exact | set(spec.pii)
    types = {c: pa.string() if c in as_text else spec.schema.field(c).type for c in columns}
    try:
        table, ragged = _read_csv(data, src, first, columns, types)
    except pa.ArrowInvalid:  # a value that does not convert, or bytes that are not UTF-8
        try:
            table, ragged = _read_csv(data, src, first, columns,
                                      {c: pa.binary() for c in columns})
        except pa.ArrowInvalid:
            return _parse_csv_records(data, piece, spec, begin, size, first, skipped)
        as_text = set(columns)
    bad: dict[int, tuple[str | None, str]] = {}
    arrays = []
    for name in columns:
        col = table.column(name)
        if name in as_text:
            target = pa.string() if name in spec.pii else spec.schema.field(name).type
            col, failed = convert_text(col, target, exact=name in spec.exact)
            for i, why in failed:
                bad.setdefault(i, (name, f"column {name!r}: {why}"))
        arrays.append(col)
    table = pa.Table.from_arrays(arrays, names=columns)
    rows_in = table.num_rows + len(ragged)
    if bad or ragged:
        located = _locate(data, first, table.num_rows, ragged, skipped)
        if located is None:  # pyarrow and the quote scan disagree: let the csv module decide
            return _parse_csv_records(data, piece, spec, begin, size, first, skipped)
        lines, raws, ragged_at = located
        quarantine = [_record(piece, lines[k], raws[k], None,
                              f"expected {len(src.header)} fields, got "
                              f"{_field_count(raws[k], src.delimiter)}") for k in ragged_at]
        raw_rows = {i: (lines[k], raws[k]) for i, k in _row_records(bad, ragged_at)}
        _check_not_mostly_bad(piece, bad, rows_in)
    else:
        quarantine, raw_rows = [], {}
    return _finish(table, bad, raw_rows, src.path, spec, rows_in=rows_in, quarantine=quarantine,
                   begin=begin, bytes_in=size, piece=piece)


def _read_csv(data: pa.Buffer, src: SourceFile, first: bool, columns: list[str],
              types: dict[str, pa.DataType]) -> tuple[pa.Table, list[int]]:
    """pyarrow's reader over one piece: the table, and the record numbers (1-based, the
    header counted) of rows with the wrong number of fields, which it skips."""
    import pyarrow.csv as pcsv

    ragged: list[int] = []

    def on_invalid(row: Any) -> str:
        ragged.append(row.number)
        return "skip"

    table = pcsv.read_csv(
        pa.BufferReader(data),
        # One block for the whole piece: a record longer than a block (a quoted value of
        # megabytes) would stop the reader; parsing is as fast either way.
        read_options=pcsv.ReadOptions(column_names=src.header, skip_rows=1 if first else 0,
                                      use_threads=False, block_size=max(data.size + 1, 1 << 20)),
        parse_options=pcsv.ParseOptions(delimiter=src.delimiter, newlines_in_values=True,
                                        invalid_row_handler=on_invalid),
        # An unquoted empty field is null, a quoted one "" (as PostgreSQL's COPY reads CSV);
        # words such as "NA" are null only in typed columns (see SourceFile.null_words).
        convert_options=pcsv.ConvertOptions(column_types=types, include_columns=columns,
                                            null_values=[""], strings_can_be_null=True,
                                            quoted_strings_can_be_null=False))
    return table, ragged


def _locate(data: pa.Buffer, first: bool, rows: int, ragged: list[int], skipped: int = 0):
    """Each data record's physical line (1-based, within the piece) and raw text, and the
    indices of the ragged ones among them; None when the quote scan counts other records than
    pyarrow (whose ragged row numbers count from 1 and include a header it skipped)."""
    starts, ends, lines = record_spans(data)
    skip = 1 if first else 0
    if len(starts) - skip != rows + len(ragged):
        return None
    raw = data.to_pybytes()
    texts = [raw[a:b].decode("utf-8", "surrogateescape")
             for a, b in zip(starts[skip:], ends[skip:])]
    return [int(n) + 1 + skipped for n in lines[skip:]], texts, [n - 1 - skip for n in ragged]


def _row_records(bad: dict, ragged_at: list[int]) -> list[tuple[int, int]]:
    """(table row, record index) for the rows in ``bad``: the table holds, in order, the
    records that were not ragged."""
    rows = sorted(bad)
    if not rows:
        return []
    kept = np.setdiff1d(np.arange(rows[-1] + len(ragged_at) + 1), ragged_at)
    return [(i, int(kept[i])) for i in rows]


def _check_not_mostly_bad(piece: Piece, bad: dict, rows: int) -> None:
    """A file whose rows mostly hold bytes that are not UTF-8 is in another encoding: say so,
    rather than quarantining most of it."""
    invalid = sum(1 for _, why in bad.values() if why.endswith(NOT_UTF8))
    if invalid >= 2 and invalid * 2 > rows:
        raise SourceError(f"file {piece.name} is not UTF-8: {invalid} of {rows} rows from offset "
                          f"{piece.start} hold bytes that are not; pass its encoding, e.g. "
                          "encoding='latin-1' or 'cp1252'")


def _field_count(text: str, delimiter: str) -> int:
    return len((csv_records(text, delimiter, 1) or [[""]])[0])


def _parse_csv_records(data: pa.Buffer, piece: Piece, spec: Spec, begin: int,
                       size: int, first: bool, skipped: int = 0) -> Parsed:
    """The careful path, for what pyarrow's reader refuses: the csv module reads record by
    record (quoted line breaks included), every failure a quarantine record."""
    import io

    src = piece.source
    assert src is not None and src.header is not None
    header = src.header
    text = data.to_pybytes().decode("utf-8", "surrogateescape")
    lines = list(io.StringIO(text, newline=""))
    reader = csv.reader(iter(lines), delimiter=src.delimiter, strict=True)
    quarantine: list[dict] = []
    rows: list[list[str]] = []
    located: list[tuple[int, str]] = []
    rows_in, done = 0, skipped
    while True:
        try:
            fields = next(reader)
            error = None
        except StopIteration:
            break
        except csv.Error as err:
            fields, error = None, f"malformed CSV record: {err}"
        number = done + 1
        raw = "".join(lines[done - skipped:reader.line_num]).rstrip("\r\n")
        done = reader.line_num + skipped
        if fields == []:
            continue  # a blank line
        if first:
            first = False
            continue  # the header
        rows_in += 1
        if error is None and len(fields) != len(header):
            error = f"expected {len(header)} fields, got {len(fields)}"
        if error is not None:
            quarantine.append(_record(piece, number, raw, None, error))
            continue
        rows.append(fields)
        located.append((number, raw))
    arrays, names, bad = [], [], {}
    for j, name in enumerate(header):
        if name not in spec.schema.names:
            continue
        target = pa.string() if name in spec.pii else spec.schema.field(name).type
        col = pa.array([r[j] for r in rows], pa.binary()) if rows else pa.array([], pa.binary())
        values, failed = convert_text(col, target, exact=name in spec.exact)
        for i, why in failed:
            bad.setdefault(i, (name, f"column {name!r}: {why}"))
        arrays.append(values)
        names.append(name)
    table = pa.Table.from_arrays(arrays, names=names)
    _check_not_mostly_bad(piece, bad, rows_in)
    raws = {i: located[i] for i in bad}
    return _finish(table, bad, raws, src.path, spec, rows_in=rows_in, quarantine=quarantine,
                   begin=begin, bytes_in=size, piece=piece)


def _parse_json(data: pa.Buffer, piece: Piece, spec: Spec, begin: int) -> Parsed:
    import pyarrow.json as pjson

    size = data.size
    data = _utf8(data, piece, begin)
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
    # pyarrow skips blank lines silently: the rows must be every other line, or each line is
    # read on its own so that none is lost.
    if (table is not None and set(table.column_names) <= set(schema.names)
            and table.num_rows == len(_json_lines(data)) and _valid_text(table, data)):
        return _finish(table, {}, {}, piece.name, spec, rows_in=table.num_rows, begin=begin,
                       bytes_in=size, piece=piece)
    return _parse_json_lines(data, piece, spec, begin, size)


def _valid_text(table: pa.Table, data: pa.Buffer) -> bool:
    """Whether the text pyarrow's JSON reader made is UTF-8: it does not check, so a piece with
    bytes beyond ASCII is validated (one quick scan says whether there are any)."""
    if not np.any(np.frombuffer(data, dtype=np.uint8) >= 0x80):
        return True
    try:
        table.validate(full=True)
    except pa.ArrowInvalid:
        return False
    return True


def _json_lines(data: Any) -> np.ndarray:
    """1-based numbers of the non-blank lines of JSON lines text (LF ends a line; a CR before
    it, or on its own, is blank space)."""
    buf = np.frombuffer(data, dtype=np.uint8)
    newlines = np.flatnonzero(buf == 10)
    ends = newlines if not len(buf) or buf[-1] == 10 else np.append(newlines, len(buf))
    starts = np.concatenate(([0], newlines + 1))[: len(ends)]
    lengths = ends - starts
    crlf = lengths > 0
    crlf[crlf] = buf[ends[crlf] - 1] == 13
    return np.flatnonzero((lengths - crlf) > 0) + 1


def _parse_json_lines(data: pa.Buffer, piece: Piece, spec: Spec, begin: int,
                      size: int) -> Parsed:
    quarantine: list[dict] = []
    records: list[dict] = []
    row_lines: list[int] = []
    row_raws: list[str] = []
    rows_in = 0
    names = set(spec.schema.names)
    text = data.to_pybytes().decode("utf-8", "surrogateescape")
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.removesuffix("\r")
        if not line.strip("\r"):
            continue
        rows_in += 1
        if has_surrogates(line):
            quarantine.append(_record(piece, number, line, None, NOT_UTF8))
            continue
        try:
            record = json_loads(line)
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
        values = [_decimals_for(r.get(f.name), target) for r in records]
        if f.name in spec.pii:
            values = [None if v is None else str(v) for v in values]
        arr, failed = convert_values(values, target)
        for i in failed:
            bad.setdefault(i, (f.name, f"column {f.name!r}: cannot convert to {target}"))
        arrays.append(arr)
    table = pa.Table.from_arrays(arrays, names=spec.schema.names)
    raws = {i: (row_lines[i], row_raws[i]) for i in bad}
    return _finish(table, bad, raws, piece.name, spec, rows_in=rows_in, quarantine=quarantine,
                   begin=begin, bytes_in=size, piece=piece)


def _decimals_for(value: Any, target: pa.DataType) -> Any:
    """A JSON value read with exact decimals, as ``target`` takes it: a float for a float
    column, the number's own text for a text column."""
    if isinstance(value, decimal.Decimal):
        if pa.types.is_floating(target):
            return float(value)
        if pa.types.is_string(target):
            return str(value)
    return value



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
            quarantine: list[dict] | None = None, begin: int = 0, bytes_in: int = 0,
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
    for rec in quarantine:
        if spec.pii:
            rec["raw"] = _scrub(rec["raw"], piece, spec)
        _keep_bytes(rec)
    keys = dedup_keys(table, spec.dedup) if spec.dedup else None
    return Parsed(table, quarantine, rows_in, begin, bytes_in, keys)


def _keep_bytes(rec: dict) -> None:
    """A raw record with bytes that are not UTF-8 keeps them exactly in ``raw_bytes``; its
    ``raw`` text shows them as ``\\xNN`` escapes."""
    raw = rec["raw"]
    rec["raw_bytes"] = None
    if has_surrogates(raw):
        rec["raw_bytes"] = raw.encode("utf-8", "surrogateescape")
        rec["raw"] = rec["raw_bytes"].decode("utf-8", "backslashreplace")


def _scrub(raw: str, piece: Piece | None, spec: Spec) -> str:
    assert spec.key is not None
    src = piece.source if piece is not None else None
    if src is not None and src.format == "csv" and src.header is not None:
        return pii_mod.scrub_csv_line(raw, src.header, spec.pii, spec.key, src.delimiter)
    return pii_mod.scrub_record(raw, spec.pii, spec.key)
