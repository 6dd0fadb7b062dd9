"""What an ingest reads: expanding a source into files, sniffing formats and schemas, and
cutting the work into pieces that the Dask cluster parses in parallel."""

from __future__ import annotations

import csv
import dataclasses
import glob
import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.fs as pafs

from workbench.lake.errors import SchemaError, SourceError
from workbench.lake.files import filesystem

FORMATS = {".csv": "csv", ".tsv": "csv", ".json": "json", ".jsonl": "json", ".ndjson": "json",
           ".parquet": "parquet", ".pq": "parquet"}
#: Strings read as null in CSV columns that are not strings (pyarrow's defaults, made explicit so
#: the fast and the line-by-line parser agree).
NULL_VALUES = ["", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
               "1.#QNAN", "N/A", "NA", "NULL", "NaN", "n/a", "nan", "null"]
BLOCK_SIZE = 64 << 20  # bytes of CSV or JSON lines per piece
FRAME_ROWS = 1 << 20  # rows of an in-memory DataFrame per piece
HEAD_BYTES = 256 << 10  # bytes read from each file's head to infer its schema


@dataclass
class SourceFile:
    """One input file: where it is, its format, size and (for CSV) its header."""

    path: str
    format: str
    size: int
    filesystem: Any = field(repr=False, default=None)
    header: list[str] | None = None
    delimiter: str = ","
    rows_estimate: int = 0  # from the sampled head (text) or the footer (Parquet)


@dataclass
class Piece:
    """A unit of parsing work: a byte range of a file, a Parquet row group, or a frame chunk."""

    index: int
    source: SourceFile | None
    start: int = 0
    end: int = 0
    row_group: int | None = None
    data: Any = field(default=None, repr=False)  # pa.Table, or a future of a pandas partition
    label: str = ""
    row_offset: int = 0  # first row number of a frame chunk

    @property
    def name(self) -> str:
        return self.source.path if self.source is not None else self.label

    def without_data(self) -> Piece:
        """The piece minus its rows: the rows travel as their own task argument."""
        return dataclasses.replace(self, data=None)


def expand(source: Any) -> list[SourceFile]:
    """The files a path, glob, directory, URL or list of those names, with their formats."""
    items = list(source) if isinstance(source, (list, tuple)) else [source]
    if not items:
        raise SourceError("source is an empty list: pass a path, a glob, or a list of files")
    files: list[SourceFile] = []
    for item in items:
        if not isinstance(item, (str, os.PathLike)):
            raise SourceError(f"source item {item!r} is not a path: pass paths, globs or URLs, "
                              "or a single pandas or Dask DataFrame")
        files.extend(_expand_one(os.fspath(item)))
    return files


def _expand_one(spec: str) -> list[SourceFile]:
    if "://" in spec and not spec.startswith("file://"):
        fs, path = filesystem(spec)
        info = fs.get_file_info(path)
        if info.type == pafs.FileType.NotFound:
            raise SourceError(f"source {spec} does not exist")
        if info.type == pafs.FileType.Directory:
            infos = fs.get_file_info(pafs.FileSelector(path, recursive=True))
            return [_file(i.path, i.size, fs, spec) for i in sorted(infos, key=lambda i: i.path)
                    if i.type == pafs.FileType.File and _suffix(i.path) in FORMATS]
        return [_file(path, info.size, fs, spec)]
    spec = spec.removeprefix("file://")
    if any(ch in spec for ch in "*?["):
        paths = sorted(glob.glob(spec, recursive=True))
        if not paths:
            raise SourceError(f"source glob {spec} matches no file: check the pattern and the "
                              "working directory")
    else:
        p = Path(spec)
        if not p.exists():
            raise SourceError(f"source {spec} does not exist: check the path (relative paths "
                              f"are read from {os.getcwd()})")
        if p.is_dir():
            paths = sorted(str(f) for f in p.rglob("*") if f.is_file()
                           and _suffix(str(f)) in FORMATS)
            if not paths:
                raise SourceError(f"source directory {spec} holds no .csv, .jsonl or .parquet "
                                  "file")
        else:
            paths = [str(p)]
    local = pafs.LocalFileSystem()
    return [_file(os.path.abspath(f), os.path.getsize(f), local, f) for f in paths
            if os.path.isfile(f)]


def _suffix(path: str) -> str:
    return os.path.splitext(path)[1].lower()


def _file(path: str, size: int, fs: Any, shown: str) -> SourceFile:
    fmt = FORMATS.get(_suffix(path))
    if fmt is None:
        raise SourceError(f"unknown format {_suffix(path) or '(no extension)'!r} for file {shown}:"
                          " name it .csv/.tsv (CSV), .jsonl/.json/.ndjson (JSON lines) or "
                          ".parquet")
    if size == 0:
        raise SourceError(f"file {path} is empty: a CSV needs at least a header row, JSON lines "
                          "at least one record, Parquet a footer")
    delimiter = "\t" if _suffix(path) == ".tsv" else ","
    return SourceFile(path=path, format=fmt, size=size, filesystem=fs, delimiter=delimiter)


def read_head(src: SourceFile) -> bytes:
    """The first complete lines of a text file (up to ``HEAD_BYTES``)."""
    with src.filesystem.open_input_file(src.path) as f:
        data = f.read(min(HEAD_BYTES, src.size))
    if len(data) < src.size:
        cut = data.rfind(b"\n")
        data = data[: cut + 1] if cut >= 0 else data
    return data


def infer_schema(src: SourceFile) -> pa.Schema:
    """The schema of one file, from its head (text) or footer (Parquet); checks CSV headers."""
    if src.format == "parquet":
        import pyarrow.parquet as pq

        try:
            with src.filesystem.open_input_file(src.path) as f:
                meta = pq.read_metadata(f)
            src.rows_estimate = meta.num_rows
            return meta.schema.to_arrow_schema()
        except (pa.ArrowInvalid, OSError) as err:
            raise SourceError(f"file {src.path} is not a readable Parquet file ({err}); "
                              "re-export it, or remove it from the source") from err
    head = read_head(src)
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as err:
        line = head[: err.start].count(b"\n") + 1
        raise SourceError(f"file {src.path} is not UTF-8 (invalid byte at line {line}): "
                          "re-encode it as UTF-8, e.g. `iconv -f latin1 -t utf-8`") from err
    if not text.strip():
        raise SourceError(f"file {src.path} holds only blank lines: nothing to ingest")
    src.rows_estimate = round(head.count(b"\n") * src.size / len(head))
    if src.format == "csv":
        return _csv_schema(src, head, text)
    return _json_schema(src, head, text)


def _csv_schema(src: SourceFile, head: bytes, text: str) -> pa.Schema:
    import pyarrow.csv as pcsv

    lines = [ln.removesuffix("\r") for ln in text.split("\n")]
    lines = [ln for ln in lines if ln]
    # Each line on its own: one unclosed quote must not swallow the lines after it.
    rows = [_fields(ln, src.delimiter) for ln in lines[:200]]
    if rows[0] is None:
        raise SourceError(f"file {src.path}: its first line is not a readable CSV header: "
                          "fix the quoting of the header row")
    rows = [r for r in rows if r is not None]
    header = [h.strip() for h in rows[0]]
    where = f"file {src.path}: header row"
    for i, name in enumerate(header):
        if not name:
            raise SourceError(f"{where} has an empty column name at position {i + 1}: name "
                              "every column in the first line")
        if header.index(name) != i:
            raise SourceError(f"{where} names column {name!r} twice: column names must be "
                              "unique")
    if all(_looks_numeric(h) for h in header):
        raise SourceError(f"{where} looks like data ({','.join(header[:4])}...), not column "
                          "names: add a header row naming the columns")
    widths = [len(r) for r in rows[1:]]
    if widths:
        common = max(set(widths), key=widths.count)
        if common != len(header):
            raise SourceError(f"{where} has {len(header)} columns but most rows have {common}: "
                              "fix the header so it names every column")
    src.header = header
    try:
        table = pcsv.read_csv(
            io.BytesIO(head),
            read_options=pcsv.ReadOptions(column_names=header, skip_rows=1, use_threads=False),
            parse_options=pcsv.ParseOptions(delimiter=src.delimiter,
                                            invalid_row_handler=lambda row: "skip"),
            convert_options=pcsv.ConvertOptions(column_types={h: pa.string() for h in header}))
    except pa.ArrowInvalid:  # e.g. a stray carriage return in the head: the Python reader copes
        body = [r for r in rows[1:] if len(r) == len(header)]
        table = pa.table({h: pa.array([r[i] for r in body], pa.string())
                          for i, h in enumerate(header)})
    return pa.schema([(h, infer_text_type(table.column(h))) for h in header])


#: Types tried, in order, for a text column; the first that (nearly) every value parses as wins.
_CANDIDATES = (pa.int64(), pa.float64(), pa.bool_(), pa.timestamp("us"), pa.date32())
_TIME_CANDIDATES = (pa.timestamp("us"), pa.date32())


def infer_text_type(values: pa.ChunkedArray | pa.Array,
                    candidates: tuple[pa.DataType, ...] = _CANDIDATES) -> pa.DataType:
    """The type of a column of text values.

    A few stragglers do not make a numeric column text: a type wins when at most 1% of the
    sampled values (and at least one, once there are five) fail to parse as it. The stragglers
    are then quarantined row by row, rather than the whole column losing its type.
    """
    from workbench.lake.parse import TooManyFailures, convert_strings

    present = [v for v in values.to_pylist() if v is not None and v not in NULL_VALUES]
    if not present:
        return pa.string()
    allowed = max(len(present) // 100, 1 if len(present) >= 5 else 0)
    sample = present[:: max(len(present) // 100, 1)]  # a quick look rules most types out
    for t in candidates:
        try:
            convert_strings(sample, t, limit=max(allowed * len(sample) // len(present), 1))
            convert_strings(present, t, limit=allowed)
            return t
        except TooManyFailures:
            continue
    return pa.string()


def _fields(line: str, delimiter: str) -> list[str] | None:
    try:
        return next(csv.reader([line], delimiter=delimiter, strict=True))
    except csv.Error:
        return None


def _looks_numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _json_schema(src: SourceFile, head: bytes, text: str) -> pa.Schema:
    import pyarrow.json as pjson

    try:
        return pjson.read_json(io.BytesIO(head),
                               read_options=pjson.ReadOptions(use_threads=False)).schema
    except pa.ArrowInvalid:
        records = []
        for line in text.splitlines():
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if isinstance(rec, dict):
                records.append(rec)
        if not records:
            raise SourceError(f"file {src.path}: no line of its head is a JSON object; JSON "
                              "lines files hold one object per line") from None
        names = list(dict.fromkeys(k for rec in records for k in rec))
        return pa.schema([(n, _infer_values([rec.get(n) for rec in records])) for n in names])


def _infer_values(values: list) -> pa.DataType:
    """The type of a JSON column: its values' type, or, when they disagree, the text type that
    (nearly) all of them parse as, so a few stragglers are quarantined, not the column's type."""
    present = [v for v in values if v is not None]
    kinds = {type(v) for v in present}
    if kinds == {str}:  # as pyarrow's JSON reader does: text that is all times is a time
        return infer_text_type(pa.array(present, pa.string()), _TIME_CANDIDATES)
    if len(kinds) == 1 or kinds & {dict, list}:
        try:
            return pa.array(present).type
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            if kinds & {dict, list}:
                return pa.string()
    return infer_text_type(pa.array([v if isinstance(v, str) else json.dumps(v)
                                     for v in present], pa.string()))


def unify_types(a: pa.DataType, b: pa.DataType) -> pa.DataType:
    """The type two samples of one column agree on: nulls give way, numbers widen, else text."""
    if a == b:
        return a
    if pa.types.is_null(a):
        return b
    if pa.types.is_null(b):
        return a
    if pa.types.is_integer(a) and pa.types.is_integer(b):
        return pa.int64()
    numeric = (pa.types.is_integer, pa.types.is_floating)
    if any(f(a) for f in numeric) and any(f(b) for f in numeric):
        return pa.float64()
    if pa.types.is_timestamp(a) and pa.types.is_timestamp(b):
        return pa.timestamp("us", tz=a.tz or b.tz)
    return pa.string()


def delta_type(t: pa.DataType) -> pa.DataType:
    """The Delta-storable type for an inferred Arrow type."""
    if pa.types.is_null(t) or pa.types.is_large_string(t):
        return pa.string()
    if pa.types.is_dictionary(t):
        return delta_type(t.value_type)
    if pa.types.is_unsigned_integer(t):
        return pa.int64() if t.bit_width >= 32 else {8: pa.int16(), 16: pa.int32()}[t.bit_width]
    if pa.types.is_float16(t):
        return pa.float32()
    if pa.types.is_timestamp(t):
        return pa.timestamp("us", tz="UTC" if t.tz else None)
    if pa.types.is_time(t) or pa.types.is_duration(t):
        return pa.string()
    if pa.types.is_large_binary(t):
        return pa.binary()
    if pa.types.is_large_list(t) or pa.types.is_list(t):
        return pa.list_(delta_type(t.value_type))
    if pa.types.is_struct(t):
        return pa.struct([pa.field(f.name, delta_type(f.type)) for f in t])
    return t


def merge_schemas(schemas: list[pa.Schema]) -> pa.Schema:
    """One schema over several files: columns in first-seen order, types unified."""
    columns: dict[str, pa.DataType] = {}
    for schema in schemas:
        for f in schema:
            columns[f.name] = unify_types(columns[f.name], f.type) if f.name in columns else f.type
    return pa.schema([(k, delta_type(v)) for k, v in columns.items()])


def frame_schema(frame: Any) -> pa.Schema:
    """The Arrow schema of a pandas or Dask DataFrame, from its dtypes and, for object columns
    (dates, mixed values), from a sample of its first rows."""
    sample = frame.head(1000, npartitions=1) if hasattr(frame, "npartitions") else \
        frame.head(1000)
    schema = pa.Schema.from_pandas(sample, preserve_index=False)
    return pa.schema([(f.name, delta_type(f.type)) for f in schema])


def pieces_for_files(files: list[SourceFile]) -> list[Piece]:
    """Cut files into pieces: byte ranges of ``BLOCK_SIZE`` for text, row groups for Parquet."""
    pieces: list[Piece] = []
    for src in files:
        if src.format == "parquet":
            import pyarrow.parquet as pq

            with src.filesystem.open_input_file(src.path) as f:
                try:
                    groups = pq.ParquetFile(f).num_row_groups
                except (pa.ArrowInvalid, OSError) as err:
                    raise SourceError(f"file {src.path} is not a readable Parquet file ({err})"
                                      ) from err
            pieces += [Piece(len(pieces) + i, src, row_group=i) for i in range(groups)]
            continue
        for start in range(0, src.size, BLOCK_SIZE):
            pieces.append(Piece(len(pieces), src, start, min(start + BLOCK_SIZE, src.size)))
    return pieces


def pieces_for_frame(frame: Any, client: Any) -> list[Piece]:
    """Pieces of an in-memory pandas DataFrame (scattered) or a Dask DataFrame (its partitions)."""
    if hasattr(frame, "to_delayed"):
        parts = client.compute(frame.to_delayed())
        return [Piece(i, None, data=part, label=f"<dask partition {i}>")
                for i, part in enumerate(parts)]
    if len(frame) == 0:
        return []
    table = pa.Table.from_pandas(frame, preserve_index=False)
    pieces = []
    for i, start in enumerate(range(0, table.num_rows, FRAME_ROWS)):
        chunk = client.scatter(table.slice(start, FRAME_ROWS), hash=False)
        pieces.append(Piece(i, None, data=chunk, label="<pandas DataFrame>", row_offset=start))
    return pieces


def check_columns(schema: pa.Schema, wanted: list[str], argument: str) -> None:
    """A clear error for column names in an argument that the data does not have."""
    missing = [c for c in wanted if c not in schema.names]
    if missing:
        raise SchemaError(f"{argument} names column(s) {missing} that the data does not have; "
                          f"its columns are {schema.names}")
