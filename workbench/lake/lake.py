"""A lake: a directory (or object-store prefix) of Delta tables."""

from __future__ import annotations

import html
import os
from collections.abc import Callable
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from workbench.errors import describe
from workbench.lake.errors import (
    LakeError,
    TableNotFoundError,
    TableReadError,
    UnsupportedFeatureError,
)
from workbench.lake.files import filesystem
from workbench.lake.ingest import QUARANTINE_SUFFIX, ingest
from workbench.lake.names import check_name, check_new_name, is_name
from workbench.lake.report import IngestReport
from workbench.lake.table import Table

TABLE_COLUMNS = ["name", "version", "rows", "bytes", "columns", "quarantined", "updated",
                 "error"]


class Lake:
    """Delta tables under one root: ``wb.Lake("lake/")`` or ``wb.Lake("s3://bucket/lake")``.

    Opening a lake writes nothing; the directory appears with its first table.

    The embedded default is a local directory and needs no server; object-store URLs go through
    the same code (pyarrow filesystems and deltalake), with ``storage_options`` passed along.
    """

    def __init__(self, path_or_url: str | os.PathLike, *,
                 storage_options: dict[str, str] | None = None) -> None:
        uri = os.fspath(path_or_url)
        if "://" not in uri or uri.startswith("file://"):
            uri = os.path.abspath(uri.removeprefix("file://"))
            if os.path.exists(uri) and not os.path.isdir(uri):
                raise LakeError(f"lake path {uri} is a file: a lake is a directory of tables")
        self.uri = uri.rstrip("/")
        self.storage_options = storage_options

    def table_uri(self, name: str) -> str:
        return f"{self.uri}/{check_name(name)}"

    def _delta(self, name: str) -> Any:
        """The DeltaTable ``name``, or None when it does not exist; a `TableReadError` (or
        `UnsupportedFeatureError`, naming the reader features) when its log cannot be read."""
        from deltalake import DeltaTable
        from deltalake.exceptions import DeltaError

        uri = self.table_uri(name)
        if not DeltaTable.is_deltatable(uri, storage_options=self.storage_options):
            return None
        try:
            return DeltaTable(uri, storage_options=self.storage_options)
        except (DeltaError, OSError) as err:
            raise unreadable(self, name, err) from err

    def ingest(self, source: Any, table: str, *, schema: Any = None, pii=(), dedup=None,
               partition_by=(), mode: str = "append", schema_mode: str | None = None,
               encoding: str = "utf-8", delimiter: str | None = None, progress: bool = True,
               on_progress: Callable[[int, int], None] | None = None,
               drift: str | None = None) -> IngestReport:
        """Parse, validate, pseudonymise and dedup ``source`` on the Dask cluster and commit it
        to ``table`` in one Delta transaction.

        ``source``: a path, glob, directory or URL of CSV / JSON-lines / Parquet files (mixed
        allowed), a list of those, or a pandas or Dask DataFrame. ``schema`` pins the types on
        the first ingest (a pyarrow schema or ``{"col": "int64"}``); later ingests enforce the
        table's schema and quarantine rows that do not fit. ``pii`` columns are replaced by keyed
        tokens before anything is written. ``dedup`` drops rows whose key repeats in the batch or
        is already in the table. ``encoding`` is the text files' (any Python codec name, e.g.
        ``"latin-1"``); in UTF-8 files, rows holding bytes that are not UTF-8 are quarantined
        with their bytes. ``delimiter``: a .csv's is sniffed from its head (a comma, else
        ``;``, tab or ``|``), a .tsv's is a tab; pass one to choose.
        ``on_progress(done, total)`` is called as pieces of work finish (from the calling
        thread). ``drift`` compares the batch with the table's current version before
        committing it (see `Table.drift`): ``"warn"`` commits, appends the report to ``_drift``
        and, when a column's PSI is above 0.25, records an alert in ``_alerts`` and warns
        (`DriftWarning`); ``"refuse"`` commits nothing when a column drifted and raises a
        `DriftError` naming the columns and their PSI; None (default) checks nothing. Returns
        an :class:`IngestReport` (its ``drift``: the report).
        """
        self._check_writable(table, mode)
        return ingest(self, source, table, schema=schema, pii=pii, dedup=dedup,
                      partition_by=partition_by, mode=mode, schema_mode=schema_mode,
                      encoding=encoding, delimiter=delimiter, progress=progress,
                      on_progress=on_progress, drift=drift)

    def record(self, table: str, rows: pd.DataFrame | pa.Table) -> int:
        """Append result rows (a training run's summary, a benchmark's figures) to ``table``,
        creating it on first use; returns the new version.

        For the workbench's own results tables (``_runs``, ``_bench``), which need none of
        ingest's governance (no raw input, no PII, nothing to dedup): one Delta append, new
        columns merged into the schema, so a later release can add a figure.
        """
        from deltalake import write_deltalake

        if table not in self:
            check_new_name(table)
        self._check_writable(table, "append")
        data = rows if isinstance(rows, pa.Table) else pa.Table.from_pandas(
            rows, preserve_index=False)
        if data.num_rows == 0:
            raise LakeError(f"lake.record({table!r}, ...) got no rows; nothing to append")
        write_deltalake(self.table_uri(table), data, mode="append", schema_mode="merge",
                        storage_options=self.storage_options)
        return self.table(table).version

    def _check_writable(self, table: Any, mode: Any) -> None:
        """Refuse, before anything is written, to write to an existing table whose protocol
        asks writers for what this lake's writer does not do (see `workbench.lake.features`).
        A ``mode`` that is neither is left to ingest's own check."""
        from workbench.lake.features import check_writable

        if mode not in ("append", "overwrite"):
            return
        existing = self._delta(check_name(table))
        if existing is not None:
            check_writable(existing, table, mode)

    def names(self) -> list[str]:
        """Names of the lake's tables (quarantine tables are reached through their table;
        hidden directories, and names that :meth:`table` refuses, are none)."""
        fs, root = filesystem(self.uri)
        from pyarrow.fs import FileSelector, FileType

        infos = fs.get_file_info(FileSelector(root, allow_not_found=True))
        names = []
        for info in sorted(infos, key=lambda i: i.base_name):
            if (info.type != FileType.Directory or info.base_name.endswith(QUARANTINE_SUFFIX)
                    or not is_name(info.base_name)):
                continue
            if fs.get_file_info(f"{info.path}/_delta_log").type == FileType.Directory:
                names.append(info.base_name)
        return names

    def table(self, name: str) -> Table:
        """The table ``name``; a clear error when the lake has none of that name."""
        check_name(name)
        dt = self._delta(name)
        if dt is None:
            names = self.names()
            hint = f"its tables are {names}" if names else "it has no tables yet; ingest first"
            raise TableNotFoundError(f"lake {self.uri} has no table {name!r}: {hint}")
        return Table(self, name, dt)

    def __contains__(self, name: str) -> bool:
        return self._delta(check_name(name)) is not None

    def tables(self) -> pd.DataFrame:
        """One row per table: name, version, rows, bytes, columns, quarantined, updated, and
        ``error``: None, or why the table cannot be read (its figures are then None), so one
        broken table never hides the others."""
        rows = []
        for name in self.names():
            try:
                rows.append(self.table_row(name))
            except Exception as err:  # any failure to read one table is its row's, not ours
                rows.append({**dict.fromkeys(TABLE_COLUMNS), "name": name,
                             "error": describe(err)})
        frame = pd.DataFrame(rows, columns=TABLE_COLUMNS)
        # Counts stay integers next to a broken table's missing ones.
        counts = ["version", "rows", "bytes", "columns", "quarantined"]
        frame[counts] = frame[counts].astype("Int64")
        frame["updated"] = pd.to_datetime(frame["updated"], utc=True)
        frame["error"] = pd.Series([r["error"] for r in rows], dtype=object)  # None if healthy
        return frame

    def table_row(self, name: str) -> dict[str, Any]:
        """Table ``name``'s row of :meth:`tables` (one place computes it, for ``tables()`` and
        for the server's listing, which caches it per Delta log version); raises what reading
        the table raises."""
        t = self.table(name)
        dt = t._dt  # just opened: read its log once, not once per figure
        files = pa.table(dt.get_add_actions(flatten=True))
        deleted = 0  # rows that deletion vectors remove are not the table's
        if "deletionVectors" in (dt.protocol().reader_features or ()):
            deleted = sum(len(p.deleted) for p in t.parts(dt) if p.deleted is not None)
        newest = dt.history(limit=1)  # the newest commit's commitInfo, when it has one
        if newest and newest[0].get("version") == dt.version() and newest[0].get("timestamp"):
            last = pd.Timestamp(newest[0]["timestamp"], unit="ms", tz="UTC")
        else:  # as history() shows a commit without commitInfo: its log file's time
            last = t.commit_times().get(dt.version(), pd.NaT)
        return {
            "name": name, "version": dt.version(),
            "rows": (pc.sum(files["num_records"]).as_py() or 0) - deleted,
            "bytes": pc.sum(files["size_bytes"]).as_py() or 0,
            "columns": len(dt.schema().fields),
            # Counted as t.quarantine() shows them: rows of committed ingests only.
            "quarantined": len(t.quarantine()),
            "updated": None if pd.isna(last) else last.to_pydatetime(),
            "error": None,
        }

    def __repr__(self) -> str:
        return f"Lake({self.uri!r}, tables={self.names()})"

    def _repr_html_(self) -> str:
        return (f"<p><b>Lake</b> <code>{html.escape(self.uri)}</code></p>"
                + self.tables().to_html(index=False))


def unreadable(lake: Lake, name: str, error: BaseException) -> TableReadError:
    """The error for table ``name`` whose log deltalake could not load: the reader features
    (or reader version) its protocol needs that cannot be read, when it needs any, else the
    log's own error."""
    import deltalake

    from workbench.lake.features import unreadable_features

    protocol = log_protocol(lake, name) or {}
    features = unreadable_features(protocol.get("minReaderVersion") or 1,
                                   protocol.get("readerFeatures") or ())
    message = describe(error).split(": ", 1)[-1]
    if features:
        return UnsupportedFeatureError(name, features,
                                       f"deltalake {deltalake.__version__} ({message})")
    return TableReadError(f"table {name!r} of lake {lake.uri} cannot be read: its Delta log "
                          f"is corrupt or unsupported ({message})")


def log_protocol(lake: Lake, name: str) -> dict | None:
    """The newest ``protocol`` action in table ``name``'s JSON commits (read as text, line by
    line, newest commit first, skipping lines that are not JSON), or None when none is found
    (checkpoints are not read: this only names features for an error message)."""
    import json

    from workbench.lake.parts import json_commits

    fs, commits = json_commits(lake.uri, name)
    for info in reversed(commits):
        with fs.open_input_stream(info.path) as f:
            lines = f.read().decode("utf-8", "replace").splitlines()
        for line in lines:
            try:
                action = json.loads(line)
            except ValueError:
                continue
            if isinstance(action, dict) and isinstance(action.get("protocol"), dict):
                return action["protocol"]
    return None
