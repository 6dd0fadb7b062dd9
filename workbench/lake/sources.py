"""What an ingest reads: expanding a source into files, sniffing formats and schemas, and
cutting the work into pieces that the Dask cluster parses in parallel."""

from __future__ import annotations

import csv
import dataclasses
import decimal
import glob
import io
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.fs as pafs

from workbench.lake.convert import NULL_VALUES, TooManyFailures, convert_strings
from workbench.lake.errors import SchemaError, SourceError
from workbench.lake.files import filesystem

FORMATS = {".csv": "csv", ".tsv": "csv", ".json": "json", ".jsonl": "json", ".ndjson": "json",
           ".parquet": "parquet", ".pq": "parquet"}
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
    encoding: str = "utf-8"  # of a text file: any Python codec name
    #: Columns whose sampled values hold null words ("NA", "NULL"...): parsed as text, then
    #: converted, since pyarrow's null words would apply to text columns too.
    null_words: tuple[str, ...] = ()

    @property
    def ascii_compatible(self) -> bool:
        """Whether quotes and line breaks are single ASCII bytes (so bytes can be split)."""
        return '"\n\r,\t'.encode(self.encoding, "replace") == b'"\n\r,\t'


@dataclass
class Piece:
    """A unit of parsing work: a byte range of a file, a Parquet row group, or a frame chunk."""

    index: int
    source: SourceFile | None
    start: int = 0
    end: int = 0
    odd_start: bool = False  # an odd number of quote characters precede `start` (CSV)
    odd_end: bool = False
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


def expand(source: Any, encoding: str = "utf-8", delimiter: str | None = None
           ) -> list[SourceFile]:
    """The files a path, glob, directory, URL or list of those names, with their formats;
    ``encoding`` is the text files' (any Python codec name), ``delimiter`` the CSV files' (by
    default a .tsv's is a tab and a .csv's is sniffed: a comma, else ``;``, tab or ``|``)."""
    import codecs

    if delimiter is not None and (not isinstance(delimiter, str) or len(delimiter) != 1
                                  or delimiter in '"\r\n'):
        raise SourceError(f"delimiter={delimiter!r}: give one character other than a quote or "
                          "a line break, e.g. ',', ';', '\\t' or '|'")
    try:
        encoding = codecs.lookup(encoding).name
    except (LookupError, TypeError):
        raise SourceError(f"encoding={encoding!r} is not a text encoding Python knows: use a "
                          "codec name such as 'utf-8', 'latin-1', 'cp1252' or 'utf-16'") from None
    items = list(source) if isinstance(source, (list, tuple)) else [source]
    if not items:
        raise SourceError("source is an empty list: pass a path, a glob, or a list of files")
    files: list[SourceFile] = []
    for item in items:
        if not isinstance(item, (str, os.PathLike)):
            raise SourceError(f"source item {item!r} is not a path: pass paths, globs or URLs, "
                              "or a single pandas or Dask DataFrame")
        files.extend(_expand_one(os.fspath(item)))
    for f in files:
        f.encoding = encoding
        if delimiter is not None:
            f.delimiter = delimiter
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
    delimiter = "\t" if _suffix(path) == ".tsv" else ""  # "": sniffed from the head
    return SourceFile(path=path, format=fmt, size=size, filesystem=fs, delimiter=delimiter)


def read_head(src: SourceFile) -> tuple[str, bool]:
    """The first ``HEAD_BYTES`` of a text file as text, and whether that is the whole file.

    Decoded with the file's encoding; a UTF-8 BOM is dropped. For UTF-8, bytes that do not
    decode are kept as surrogates (Python's ``surrogateescape``): when most lines hold some,
    the file is in another encoding and a clear error says to pass ``encoding=``; otherwise
    those rows are quarantined at parse time and the rest are kept.
    """
    import codecs

    with src.filesystem.open_input_file(src.path) as f:
        data = f.read(min(HEAD_BYTES, src.size))
    whole = len(data) >= src.size
    utf8 = src.encoding in ("utf-8", "utf-8-sig")
    decoder = codecs.getincrementaldecoder("utf-8-sig" if utf8 else src.encoding)(
        "surrogateescape" if utf8 else "strict")
    try:
        text = decoder.decode(data, final=whole)
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise SourceError(f"file {src.path} is not valid {src.encoding} (line {line}: "
                          f"{err.reason}): pass the file's encoding, e.g. encoding='cp1252'"
                          ) from err
    if not whole:
        text = text[: text.rfind("\n") + 1] or text
    if utf8:
        _check_mostly_utf8(src, text)
    return text, whole


def _check_mostly_utf8(src: SourceFile, text: str) -> None:
    if not has_surrogates(text):
        return  # every byte was UTF-8
    lines = [ln for ln in text.splitlines() if ln]
    bad = [i for i, ln in enumerate(lines) if has_surrogates(ln)]
    if bad and (len(bad) * 2 > len(lines) or bad[0] == 0):
        raise SourceError(f"file {src.path} is not UTF-8: {len(bad)} of its first {len(lines)} "
                          f"lines hold bytes that are not (first at line {bad[0] + 1}); pass "
                          "its encoding, e.g. encoding='latin-1' or 'cp1252', or re-encode it "
                          "(`iconv -f latin1 -t utf-8`)")


def has_surrogates(text: str) -> bool:
    """Whether ``text`` holds bytes that were not UTF-8 (kept as surrogates on decoding)."""
    if text.isascii():
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


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
    text, whole = read_head(src)
    if not text or text.isspace():
        raise SourceError(f"file {src.path} holds only blank lines: nothing to ingest")
    if src.format == "csv":
        return _csv_schema(src, text, whole)
    src.rows_estimate = round(text.count("\n") * src.size / max(len(text.encode(
        "utf-8", "surrogateescape")), 1))
    return _json_schema(src, text)


def csv_records(text: str, delimiter: str, limit: int | None = None) -> list[list[str]]:
    """The records of CSV text as RFC 4180 reads them (quoted fields may hold delimiters,
    doubled quotes and line breaks), the first ``limit`` of them; blank lines are skipped, as
    pyarrow skips them."""
    csv.field_size_limit(1 << 30)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
    records: list[list[str]] = []
    while limit is None or len(records) < limit:
        try:
            row = next(reader)
        except StopIteration:
            return records
        except csv.Error:
            continue  # e.g. a NUL byte: the parse quarantines that record
        if row:
            records.append(row)
    return records


#: Records of each file's head that type inference looks at.
SAMPLE_ROWS = 1000


#: Delimiters a .csv may use, in order of preference: a comma unless the head says otherwise.
DELIMITERS = (",", ";", "\t", "|")


def sniff_delimiter(text: str) -> str:
    """The delimiter of CSV text: a comma when the header splits on it into rows of one width;
    else the one of ``;``, tab, ``|`` that does, with the most columns (European exports use
    ``;``); a comma when none does."""
    best, width = ",", 1
    for candidate in DELIMITERS:
        records = csv_records(text, candidate, 51)
        widths = [len(r) for r in records]
        if not widths or widths[0] < 2:
            continue
        agree = sum(w == widths[0] for w in widths[1:])
        if len(widths) > 1 and agree < 0.9 * (len(widths) - 1):
            continue
        if candidate == ",":
            return ","
        if widths[0] > width:
            best, width = candidate, widths[0]
    return best


def _csv_schema(src: SourceFile, text: str, whole: bool) -> pa.Schema:
    if not src.delimiter:
        src.delimiter = sniff_delimiter(text)
    records = csv_records(text, src.delimiter, SAMPLE_ROWS + 2)
    if not whole and SAMPLE_ROWS + 2 > len(records) > 2:
        records = records[:-1]  # the head may end inside a record's quoted line break
    if not records:
        raise SourceError(f"file {src.path}: its first line is not a readable CSV header: "
                          "fix the quoting of the header row")
    header = [h.strip() for h in records[0]]
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
    rows = records[1:SAMPLE_ROWS + 1]
    widths = [len(r) for r in rows]
    if widths:
        common = max(set(widths), key=widths.count)
        # Two rows at least: one quote left open swallows the rest into a single record,
        # which is quarantined, not a reason to refuse the header.
        if common != len(header) and widths.count(common) >= 2 and \
                widths.count(common) > widths.count(len(header)):
            raise SourceError(f"{where} has {len(header)} columns but most rows have {common}: "
                              "fix the header so it names every column")
    src.header = header
    # For sizing the dedup key set only: lines per byte of the head, scaled to the file.
    sample_bytes = len(text.encode("utf-8", "surrogateescape"))
    src.rows_estimate = round(text.count("\n") * src.size / max(sample_bytes, 1))
    body = [r for r in rows if len(r) == len(header)]
    fields, words = [], []
    clean = not has_surrogates(text)
    for i, name in enumerate(header):
        values = [r[i] for r in body if clean or not has_surrogates(r[i])]
        t = infer_text_type(values)
        fields.append((name, t))
        if not pa.types.is_string(t) and any(v in _NULLS and v for v in values):
            words.append(name)
    src.null_words = tuple(words)
    return pa.schema(fields)


#: Types tried, in order, for a text column; the first that (nearly) every value parses as wins.
_CANDIDATES = (pa.int64(), pa.float64(), pa.bool_(), pa.timestamp("us"), pa.date32())
_TIME_CANDIDATES = (pa.timestamp("us"), pa.date32())
_NULLS = frozenset(NULL_VALUES)
_INT = re.compile(r"-?(0|[1-9][0-9]*)")
_DECIMAL = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?")
#: A number whose text a conversion would change: a leading zero or a plus sign.
_PADDED = re.compile(r"\+|-?0[0-9]")
_INT64_DIGITS = 18  # any integer of up to 18 digits fits int64


def infer_text_type(values: list[str] | pa.ChunkedArray | pa.Array,
                    candidates: tuple[pa.DataType, ...] = _CANDIDATES) -> pa.DataType:
    """The type of a column of text values, never one that would change a value.

    A few stragglers do not make a numeric column text: a type wins when at most 1% of the
    sampled values (and at least one, once there are five) fail to parse as it. The stragglers
    are then quarantined row by row, rather than the whole column losing its type. But a
    number written with a leading zero or a plus sign (a zip code ``08123``, a phone number)
    makes the column text, and integers beyond int64 or decimals beyond float64's 15 digits
    make it a decimal (or text, beyond 38 digits), never a float that would round them.
    """
    if not isinstance(values, list):
        values = values.to_pylist()
    present = [v for v in values if v is not None and v not in _NULLS]
    if not present:
        return pa.string()
    allowed = max(len(present) // 100, 1 if len(present) >= 5 else 0)
    numeric = [v for v in present if v[:1] in "+-.0123456789"]
    if len(present) - len(numeric) > allowed:  # numbers and times start with these
        candidates = tuple(t for t in candidates if pa.types.is_boolean(t))
    elif any(_PADDED.match(v) for v in numeric):
        candidates = tuple(t for t in candidates
                           if not (pa.types.is_integer(t) or pa.types.is_floating(t)))
    elif numeric:
        exact = _exact_number_type(numeric)
        if exact is not None:
            return exact
    sample = present[:: max(len(present) // 100, 1)]  # a quick look rules most types out
    for t in candidates:
        try:
            convert_strings(sample, t, limit=max(allowed * len(sample) // len(present), 1))
            convert_strings(present, t, limit=allowed)
            return t
        except TooManyFailures:
            continue
    return pa.string()


def _exact_number_type(values: list[str]) -> pa.DataType | None:
    """int64 or decimal when every value is an integer or plain decimal that float64 or int64
    would not hold exactly; None to let the usual candidates decide."""
    if all(_INT.fullmatch(v) for v in values):
        digits = max(len(v.lstrip("-")) for v in values)
        if digits <= _INT64_DIGITS or all(-2**63 <= int(v) < 2**63 for v in values):
            return None  # int64 holds them: the candidates find it
        return pa.decimal128(38, 0) if digits <= 38 else pa.string()
    if not all(_DECIMAL.fullmatch(v) for v in values):
        return None
    # float64 prints any decimal of up to 15 digits back as written, and longer ones when
    # they are its own shortest form (what Python, pandas and most writers print).
    long = [v for v in values if len(v.lstrip("-").replace(".", "").lstrip("0")) > 15]
    if all(decimal.Decimal(repr(float(v))) == decimal.Decimal(v) for v in long):
        return None
    scale = max(len(v.partition(".")[2]) for v in values)
    whole = max(len(v.lstrip("-").partition(".")[0]) for v in values)
    return pa.decimal128(38, scale) if whole + scale <= 38 else pa.string()


def _looks_numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def json_loads(line: str) -> Any:
    """A JSON value with its decimals as ``Decimal``: a float would round what it cannot hold."""
    return json.loads(line, parse_float=decimal.Decimal)


def _json_schema(src: SourceFile, text: str) -> pa.Schema:
    """Column types from the head's objects, as pyarrow's reader would name them, except that
    numbers int64 or float64 cannot hold exactly become decimals (or text beyond 38 digits)."""
    records = []
    for line in text.splitlines():
        if has_surrogates(line):
            continue  # not UTF-8: that line is quarantined at parse time
        try:
            rec = json_loads(line)
        except ValueError:
            continue
        if isinstance(rec, dict):
            records.append(rec)
    if not records:
        raise SourceError(f"file {src.path}: no line of its head is a JSON object; JSON "
                          "lines files hold one object per line")
    names = list(dict.fromkeys(k for rec in records for k in rec))
    return pa.schema([(n, _infer_values([rec.get(n) for rec in records])) for n in names])


def _infer_values(values: list) -> pa.DataType:
    """The type of a JSON column: its values' type, or, when they disagree, the text type that
    (nearly) all of them parse as, so a few stragglers are quarantined, not the column's type."""
    present = [v for v in values if v is not None]
    kinds = {type(v) for v in present}
    if not present:
        return pa.null()
    if kinds == {str}:  # as pyarrow's JSON reader does: text that is all times is a time
        return infer_text_type(present, _TIME_CANDIDATES)
    if kinds <= {int, decimal.Decimal}:
        exact = _exact_number_type([str(v) for v in present])
        if exact is not None:
            return exact
        return pa.int64() if kinds == {int} else pa.float64()
    if len(kinds) == 1 or kinds & {dict, list}:
        try:
            return pa.array([_floats(v) for v in present]).type
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            if kinds & {dict, list}:
                return pa.string()
    return infer_text_type([v if isinstance(v, str) else json.dumps(_floats(v))
                            for v in present])


def _floats(value: Any) -> Any:
    """``value`` with its decimals as floats, for inferring nested types."""
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, dict):
        return {k: _floats(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_floats(v) for v in value]
    return value


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
    if pa.types.is_decimal(a) or pa.types.is_decimal(b):
        if all(pa.types.is_decimal(t) or pa.types.is_integer(t) for t in (a, b)):
            scale = max(getattr(t, "scale", 0) for t in (a, b))
            return pa.decimal128(38, scale)
        return pa.string()
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


def infer_files(files: list[SourceFile], client: Any = None
                ) -> tuple[list[SourceFile], pa.Schema]:
    """The files with what their heads say filled in (`infer_schema`: header, delimiter, null
    words, row estimate), and their merged schema. With a ``client`` and several files, the
    workers read the heads in parallel (Dask returns each file's copy) rather than the driver
    reading one after another while the cluster waits."""
    if client is None or len(files) < 2:
        return files, merge_schemas([infer_schema(f) for f in files])
    inferred = client.gather(client.map(_inferred, files, pure=False))
    return [f for f, _ in inferred], merge_schemas([schema for _, schema in inferred])


def _inferred(src: SourceFile) -> tuple[SourceFile, pa.Schema]:
    schema = infer_schema(src)
    return src, schema


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


def pieces_for_files(files: list[SourceFile], client: Any = None) -> list[Piece]:
    """Cut files into pieces: byte ranges of ``BLOCK_SIZE`` for text, row groups for Parquet.

    A CSV cut must not land inside a quoted line break, so for a CSV of several blocks the
    quote characters of each block are counted first (on the cluster, when ``client`` is
    given), and each piece carries whether its start and end fall after an odd number: its
    reader then moves each end to the next record boundary. Text in an encoding whose quotes
    and line breaks are not single ASCII bytes (UTF-16) is one piece per file.
    """
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
        step = BLOCK_SIZE if src.ascii_compatible else src.size
        starts = list(range(0, src.size, step))
        odd = (_odd_starts(src, starts, client) if src.format == "csv"
               else [False] * (len(starts) + 1))
        for i, start in enumerate(starts):
            pieces.append(Piece(len(pieces), src, start, min(start + step, src.size),
                                odd_start=odd[i], odd_end=odd[i + 1]))
    return pieces


def _odd_starts(src: SourceFile, starts: list[int], client: Any) -> list[bool]:
    """For each block start and the file's end: whether an odd number of quote characters
    precede it (all False for a file of one block, whose only cuts are its ends)."""
    if len(starts) == 1:
        return [False, False]
    ends = starts[1:] + [src.size]
    if client is not None:
        counts = client.gather(client.map(_quotes_in, [src] * len(starts), starts, ends,
                                          pure=False))
    else:
        counts = [_quotes_in(src, a, b) for a, b in zip(starts, ends)]
    total, odd = 0, [False]
    for n in counts:
        total += n
        odd.append(total % 2 == 1)
    return odd


def _quotes_in(src: SourceFile, start: int, end: int) -> int:
    from workbench.lake.boundaries import count_quotes

    with src.filesystem.open_input_file(src.path) as f:
        return count_quotes(f, start, end)


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
