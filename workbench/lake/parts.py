"""A Delta table version's data files, read one by one as the table's rows.

Every reader that works file by file (``Table.head``, ``to_dask``, profiles, the torch loader)
goes through here, so all of them honour the Delta protocol the same way, for tables this lake
wrote and for tables any other writer did:

- a file's ``path`` in the log is a URI relative to the table: percent-decoded here (a partition
  value ``a b`` lives in directory ``p=a%20b``, logged as ``p=a%2520b``), or absolute;
- partition values come from the log, never from directory names;
- column mapping (``delta.columnMapping.mode = name``): files hold columns under their physical
  names, nested ones too; they are read by those and shown under the logical ones;
- deletion vectors: the rows a file's vector removes are dropped;
- a column the file lacks (added to the schema after it was written) reads as nulls, and a
  column stored in another type (int32 for a long, INT96 or nanosecond timestamps) is cast to
  the table's type.

deltalake's own ``to_pyarrow_table`` reads neither column mapping nor deletion vectors (and
reads a reader-version-2 table with column mapping as all nulls), so ``Table`` reads such tables
here (`workbench.lake.features` says which).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote, urlparse

import numpy as np
import pyarrow as pa

PHYSICAL_NAME = "delta.columnMapping.physicalName"


@dataclass(frozen=True)
class Part:
    """One data file of a version: its URI (decoded: a local path or an object-store URL), its
    partition values by logical column, and the row indexes its deletion vector removes."""

    uri: str
    values: dict[str, Any] = field(default_factory=dict)
    deleted: np.ndarray | None = None

    def keep(self, start: int, stop: int) -> np.ndarray | None:
        """The mask of rows ``start:stop`` of the file that are live, or None when all are."""
        if self.deleted is None:
            return None
        inside = self.deleted[(self.deleted >= start) & (self.deleted < stop)]
        if not len(inside):
            return None
        mask = np.ones(stop - start, dtype=bool)
        mask[inside - start] = False
        return mask

    def live_rows(self, start: int, stop: int) -> int:
        """How many of rows ``start:stop`` of the file are live."""
        mask = self.keep(start, stop)
        return stop - start if mask is None else int(mask.sum())


def parts(dt: Any, root: str) -> list[Part]:
    """The data files of the DeltaTable version ``dt`` whose files live at ``root`` (see
    `table_root`), in the log's order."""
    actions = pa.table(dt.get_add_actions(flatten=False)).to_pylist()
    deleted = _deleted_rows(dt) if "deletionVectors" in (dt.protocol().reader_features or ()) \
        else {}
    out = []
    for a in actions:
        uri = file_uri(root, a["path"])
        out.append(Part(uri, a.get("partition") or {}, deleted.get(_key(uri))))
    return out


def table_root(lake_uri: str, name: str) -> str:
    """Where table ``name`` of the lake at ``lake_uri`` keeps its files, in the spelling that
    `file_uri` joins to: a local path as it is, a URL with the name percent-encoded (pyarrow
    decodes URLs)."""
    if "://" in lake_uri and not lake_uri.startswith("file://"):
        return f"{lake_uri}/{quote(name, safe='')}"
    return f"{lake_uri.removeprefix('file://')}/{name}"


def select(schema: pa.Schema, physical: pa.Schema, columns: list[str]
           ) -> tuple[pa.Schema, pa.Schema]:
    """``columns`` of a table's schema, and the same fields of its files' (physical) schema."""
    at = [schema.get_field_index(c) for c in columns]
    return pa.schema([schema.field(i) for i in at]), pa.schema([physical.field(i) for i in at])


def json_commits(lake_uri: str, name: str) -> tuple[Any, list[Any]]:
    """The filesystem and the JSON commit files (``FileInfo``, oldest first) of table
    ``name``'s Delta log; none when it has no log."""
    import re

    from pyarrow.fs import FileSelector

    from workbench.lake.files import filesystem

    fs, root = filesystem(table_root(lake_uri, name))
    infos = fs.get_file_info(FileSelector(f"{root}/_delta_log", allow_not_found=True))
    return fs, sorted((i for i in infos if re.fullmatch(r"\d{20}\.json", i.base_name)),
                      key=lambda i: i.base_name)


def file_uri(root: str, path: str) -> str:
    """The location of a data file from its ``path`` in the log (a URI, relative to the table
    or absolute), in ``root``'s spelling (see `table_root`)."""
    if path.startswith("file://"):
        return unquote(urlparse(path).path)
    if "://" in path:
        return path
    return f"{root}/{path}" if "://" in root else f"{root}/{unquote(path)}"


def _key(uri: str) -> str:
    """A data file's location in one spelling, whether a local path or a (file) URL."""
    if uri.startswith("file://"):
        return unquote(urlparse(uri).path)
    return unquote(uri) if "://" in uri else uri


def _deleted_rows(dt: Any) -> dict[str, np.ndarray]:
    """Row indexes removed by each file's deletion vector, by `_key` of the file."""
    out = {}
    for batch in dt.deletion_vectors():
        for row in pa.record_batch(batch).to_pylist():
            keep = np.asarray(row["selection_vector"], dtype=bool)
            out[_key(row["filepath"])] = np.flatnonzero(~keep)
    return out


def physical_schema(schema: pa.Schema, mapped: bool) -> pa.Schema:
    """``schema`` under the names its data files use: the physical names of column mapping
    (at every level) when ``mapped``, else ``schema`` itself."""
    if not mapped:
        return schema
    return pa.schema([_physical_field(f) for f in schema])


def _physical_field(f: pa.Field) -> pa.Field:
    name = (f.metadata or {}).get(PHYSICAL_NAME.encode())
    return pa.field(name.decode() if name else f.name, _physical_type(f.type), f.nullable,
                    f.metadata)


def _physical_type(t: pa.DataType) -> pa.DataType:
    if pa.types.is_struct(t):
        return pa.struct([_physical_field(t.field(i)) for i in range(t.num_fields)])
    if pa.types.is_large_list(t):
        return pa.large_list(_physical_field(t.value_field))
    if pa.types.is_list(t):
        return pa.list_(_physical_field(t.value_field))
    if pa.types.is_map(t):
        return pa.map_(_physical_field(t.key_field), _physical_field(t.item_field),
                       t.keys_sorted)
    return t


def read_part(part: Part, schema: pa.Schema, physical: pa.Schema,
              row_group: int | None = None, metadata: Any = None) -> pa.Table:
    """The rows of one data file (or of one of its row groups) that its deletion vector keeps,
    as ``schema``'s columns: partition columns from the log, the others read under their
    ``physical`` names (see `physical_schema`) and cast to the table's types."""
    import pyarrow.parquet as pq

    from workbench.lake.files import filesystem

    fs, path = filesystem(part.uri)
    with fs.open_input_file(path) as f:
        pf = pq.ParquetFile(f, metadata=metadata, coerce_int96_timestamp_unit="us")
        present = set(pf.schema_arrow.names)
        stored = [p.name for f_, p in zip(schema, physical)
                  if f_.name not in part.values and p.name in present]
        if row_group is None:
            data, start = pf.read(columns=stored), 0
        else:
            data = pf.read_row_group(row_group, columns=stored)
            start = sum(pf.metadata.row_group(g).num_rows for g in range(row_group))
    mask = part.keep(start, start + data.num_rows)
    if mask is not None:
        data = data.filter(pa.array(mask))
    columns = []
    for f_, p in zip(schema, physical):
        if f_.name in part.values:
            columns.append(_constant(part.values[f_.name], f_.type, data.num_rows))
        elif p.name in present:
            columns.append(_as_logical(data.column(p.name), p.type, f_.type))
        else:
            columns.append(pa.nulls(data.num_rows, f_.type))
    return pa.Table.from_arrays(columns, schema=schema)


def _as_logical(column: pa.ChunkedArray, physical: pa.DataType,
                logical: pa.DataType) -> pa.ChunkedArray:
    """A column as read from a file, in the table's type: cast to its physical type (same
    names as in the file), then viewed under the logical names (the same layout)."""
    if column.type != physical:
        column = column.cast(physical)
    if physical == logical:
        return column
    return pa.chunked_array([chunk.view(logical) for chunk in column.chunks], logical)


def _constant(value: Any, t: pa.DataType, n: int) -> pa.Array:
    """A partition column: its value (typed by deltalake, or text) repeated ``n`` times."""
    if value is None:
        return pa.nulls(n, t)
    return pa.repeat(pa.scalar(value).cast(t), n)
