"""GET tables/{name} and GET sniff: a table's detail and a file's header, as JSON.

Every number comes from the lake's own functions (`Table.schema`, `head`, `history`,
`quarantine`, `stored_profile`; the sources' sniffing), and every figure from a chart function.
These functions read: the handlers call them from worker threads.
"""

from __future__ import annotations

import glob
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.server.encode import cell, epoch, figure, records
from workbench.server.errors import ApiError

if TYPE_CHECKING:
    from workbench.lake import Lake, Profile, Table

QUARANTINE_ROWS = 100  # rejected rows a table's detail shows (with the total and the reasons)
HISTORY_FIELDS = ("version", "timestamp", "operation", "rows_in", "rows_written",
                  "rows_quarantined", "duplicates_dropped")
QUARANTINE_FIELDS = ("source", "line", "column", "reason", "raw")


def open_table(lake: Lake, name: str) -> Table:
    """Table ``name`` of ``lake``: 400 for a name that cannot be a table, 404 for none."""
    from workbench.lake import LakeError, TableNotFoundError

    try:
        return lake.table(name)
    except TableNotFoundError as err:
        raise ApiError(404, str(err)) from err
    except LakeError as err:  # not a valid table name
        raise ApiError(400, str(err)) from err


def detail(lake: Lake, lake_name: str, name: str, rows: int) -> dict[str, Any]:
    """Schema, the first ``rows`` rows, history, quarantine and the stored profile of the
    table's current version."""
    table = open_table(lake, name)
    version = table.version
    schema = table.schema
    head = table.head(rows)
    history = table.history()
    quarantine = table.quarantine()
    reasons = quarantine["kind"].value_counts(sort=True)
    profile = table.stored_profile()
    return {
        "name": name, "lake": lake_name, "version": version,
        "schema": [{"name": f.name, "type": str(f.type), "nullable": f.nullable}
                   for f in schema],
        "preview": {"columns": list(head.columns),
                    "rows": [[cell(v) for v in row]
                             for row in head.itertuples(index=False, name=None)]},
        "history": records(history.assign(timestamp=history["timestamp"].map(epoch)),
                           list(HISTORY_FIELDS)),
        "quarantine": {
            "total": len(quarantine),
            "reasons": [{"kind": kind, "count": int(count)} for kind, count in reasons.items()],
            "rows": records(quarantine.head(QUARANTINE_ROWS), list(QUARANTINE_FIELDS)),
        },
        "profile": None if profile is None else profile_json(profile),
    }


def profile_json(profile: Profile) -> dict[str, Any]:
    """A stored profile: its statistics table, and a histogram figure per numeric column."""
    from workbench.charts import histogram

    types = dict(zip(profile.table["column"], profile.table["type"]))
    return {
        "version": profile.version, "rows": profile.rows,
        "columns": records(profile.table),
        "figures": {column: figure(histogram(h.edges, h.counts, column=column,
                                             type_name=str(types.get(column, "double"))))
                    for column, h in profile.histograms.items()},
    }


def sniff(root: str, allow_hidden: bool, shown: Any) -> dict[str, Any]:
    """The format and columns (name, inferred type) of the client's file ``shown`` (a path
    relative to ``root``), as an ingest would read them."""
    from workbench.lake import LakeError
    from workbench.lake.sources import FORMATS
    from workbench.server.paths import existing_file

    path = existing_file(root, shown, "path", suffixes=tuple(FORMATS), allow_hidden=allow_hidden)
    try:
        source, schema = _file_schema(path)
    except LakeError as err:
        raise ApiError(400, f"path: {shown!r}: {err}") from err
    return {"path": shown, "format": source.format,
            "columns": [{"name": f.name, "type": str(f.type)} for f in schema]}


def _file_schema(path: Path) -> tuple[Any, Any]:
    """The source of the one file ``path`` and the schema an ingest infers for it (raises
    `LakeError`). Escaped: a name with glob characters is that one file, never a pattern."""
    from workbench.lake.sources import expand, infer_schema

    (source,) = expand([glob.escape(str(path))])
    return source, infer_schema(source)


def source_schema(paths: list[Path], shown: list[str]) -> Any:
    """The schema an ingest of ``paths`` infers (the files' schemas merged), or 400 naming the
    file that cannot be read."""
    from workbench.lake import LakeError
    from workbench.lake.sources import merge_schemas

    schemas = []
    for i, (path, client_path) in enumerate(zip(paths, shown)):
        try:
            schemas.append(_file_schema(path)[1])
        except LakeError as err:
            raise ApiError(400, f"paths[{i}]: {client_path!r}: {err}") from err
    return merge_schemas(schemas)


def check_ingest(root: str, allow_hidden: bool, paths: Any, table: Any, pii: Any,
                 dedup: Any, lake: Lake | None = None
                 ) -> tuple[list[Path], str, list[str], list[str]]:
    """Everything a POST tables names, checked before any work starts: the files (inside the
    root, existing, of a format ingest reads), the table name (any existing table of ``lake``
    takes appends whatever its name, e.g. ``sales-2024``; a new one needs a name this lake
    creates tables under), and the pii and dedup columns (in the files' header). Returns the
    resolved paths, table, pii and dedup."""
    from workbench.lake import LakeError
    from workbench.lake.ingest import QUARANTINE_SUFFIX
    from workbench.lake.names import check_name, check_new_name
    from workbench.lake.sources import FORMATS, check_columns
    from workbench.server.paths import existing_file

    if not isinstance(paths, list) or not paths:
        raise ApiError(400, f"paths: give a list of one or more files, relative to the "
                            f"server's root directory (got {paths!r})")
    resolved = [existing_file(root, p, f"paths[{i}]", suffixes=tuple(FORMATS),
                              allow_hidden=allow_hidden) for i, p in enumerate(paths)]
    try:
        check_name(table)
        if lake is not None and table not in lake:
            check_new_name(table)
    except LakeError as err:  # also a table whose log cannot be read: nothing to append to
        raise ApiError(400, str(err)) from err
    if table.endswith(QUARANTINE_SUFFIX):
        raise ApiError(400, f"table={table!r}: names ending in {QUARANTINE_SUFFIX!r} are "
                            "reserved for quarantine tables; pick another name")
    columns = {}
    for argument, value in (("pii", pii), ("dedup", dedup)):
        value = [] if value is None else value
        if not isinstance(value, list) or not all(isinstance(c, str) for c in value):
            raise ApiError(400, f"{argument}: give a list of column names (got {value!r})")
        columns[argument] = value
    schema = source_schema(resolved, paths)
    for argument, names in columns.items():
        try:
            check_columns(schema, names, argument)
        except LakeError as err:
            raise ApiError(400, str(err)) from err
    return resolved, table, columns["pii"], columns["dedup"]
