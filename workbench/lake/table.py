"""One Delta table of a lake: versions, history, reads, profile, maintenance, quarantine."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa

from workbench.lake.parts import Part, read_part

if TYPE_CHECKING:
    from workbench.lake.drift import DriftReport
    from workbench.lake.lake import Lake
    from workbench.lake.loader import TableLoader
    from workbench.lake.profile import Profile


HISTORY_COLUMNS = ["version", "timestamp", "operation", "rows_in", "rows_written",
                   "rows_quarantined", "duplicates_dropped", "ingest_id"]


class Table:
    """A lake table: ``lake.table("events")``. Old versions stay readable until vacuumed."""

    def __init__(self, lake: Lake, name: str, dt: Any) -> None:
        self.lake = lake
        self.name = name
        self._dt = dt

    @property
    def uri(self) -> str:
        return self.lake.table_uri(self.name)

    def _at(self, version: int | None) -> Any:
        from deltalake import DeltaTable

        if version is None:
            self._dt.update_incremental()
            return self._dt
        latest = self.version
        if not isinstance(version, int) or not 0 <= version <= latest:
            raise ValueError(f"version={version!r}: table {self.name!r} has versions 0..{latest}")
        return DeltaTable(self.uri, version=version, storage_options=self.lake.storage_options)

    @property
    def version(self) -> int:
        self._dt.update_incremental()
        return self._dt.version()

    @property
    def schema(self) -> pa.Schema:
        return pa.schema(self._at(None).schema().to_arrow())

    @property
    def partition_by(self) -> list[str]:
        return list(self._dt.metadata().partition_columns)

    def history(self) -> pd.DataFrame:
        """One row per version, newest first: time, operation, and the ingest's row accounting.

        A commit without ``commitInfo`` (optional in the protocol; deltalake's history skips
        such commits) is still a row: its time is its log file's modification time, which the
        protocol makes the commit's time then, and the rest is null."""
        dt = self._at(None)
        entries = {e["version"]: e for e in dt.history() if e.get("version") is not None}
        times: dict[int, pd.Timestamp] = {}
        if set(entries) != set(range(dt.version() + 1)):
            times = {v: t for v, t in self.commit_times().items() if v <= dt.version()}
        rows = []
        for version in sorted(set(entries) | set(times), reverse=True):
            e = entries.get(version, {})
            rows.append({
                "version": version,
                "timestamp": (pd.Timestamp(e["timestamp"], unit="ms", tz="UTC")
                              if e.get("timestamp") is not None else times.get(version, pd.NaT)),
                "operation": e.get("operation"),
                "rows_in": e.get("workbench.rows_in"),
                "rows_written": e.get("workbench.rows_written"),
                "rows_quarantined": e.get("workbench.rows_quarantined"),
                "duplicates_dropped": e.get("workbench.duplicates_dropped"),
                "ingest_id": e.get("workbench.ingest_id"),
            })
        return pd.DataFrame(rows, columns=HISTORY_COLUMNS)

    def commit_times(self) -> dict[int, pd.Timestamp]:
        """The version and modification time (UTC) of each JSON commit in the table's log."""
        from workbench.lake.parts import json_commits

        _, infos = json_commits(self.lake.uri, self.name)
        return {int(i.base_name[:20]): _utc(i.mtime) for i in infos}

    def files(self, version: int | None = None) -> pd.DataFrame:
        """The data files of a version: path, size_bytes, num_records, partition values."""
        return pa.table(self._at(version).get_add_actions(flatten=True)).to_pandas()

    def readable(self, version: int | None = None) -> Any:
        """The DeltaTable of a version (latest when None), checked readable: a clear
        `UnsupportedFeatureError` naming the reader features it needs that cannot be read."""
        from workbench.lake.features import check_readable

        dt = self._at(version)
        check_readable(dt, self.name)
        return dt

    def parts(self, dt: Any) -> list[Part]:
        """The data files of the DeltaTable version ``dt`` of this table (see
        `workbench.lake.parts`)."""
        from workbench.lake.parts import parts, table_root

        return parts(dt, table_root(self.lake.uri, self.name))

    def to_arrow(self, version: int | None = None, columns: list[str] | None = None) -> pa.Table:
        """The rows of a version as an Arrow table: deltalake's reader where it reads the
        table as stored, else file by file (column mapping, deletion vectors)."""
        from workbench.lake.features import check_readable

        dt = self._at(version)
        if check_readable(dt, self.name):
            return pa.table(dt.to_pyarrow_table(columns=columns))
        schema, physical = self.read_schemas(dt, columns)
        tables = [read_part(p, schema, physical) for p in self.parts(dt)]
        return pa.concat_tables(tables) if tables else schema.empty_table()

    def read_schemas(self, dt: Any, columns: list[str] | None = None
                     ) -> tuple[pa.Schema, pa.Schema]:
        """The schema of a version (its ``columns``, in that order, when given), and the same
        under the names its data files use (see `workbench.lake.parts.physical_schema`)."""
        from workbench.lake.features import column_mapping
        from workbench.lake.parts import physical_schema

        schema = pa.schema(dt.schema().to_arrow())
        if columns is not None:
            unknown = [c for c in columns if c not in schema.names]
            if unknown:
                raise ValueError(f"columns: unknown column(s) {unknown}; table {self.name!r} "
                                 f"has columns {schema.names}")
            schema = pa.schema([schema.field(c) for c in columns])
        return schema, physical_schema(schema, column_mapping(dt) == "name")

    def to_pandas(self, version: int | None = None, columns: list[str] | None = None
                  ) -> pd.DataFrame:
        """The rows of the latest version, or of an older ``version`` (time travel)."""
        return self.to_arrow(version, columns).to_pandas()

    def head(self, n: int = 50, version: int | None = None) -> pd.DataFrame:
        """The first ``n`` rows of a version, reading data files one at a time until there are
        enough (a preview of a large table reads one file, not the table)."""
        dt = self.readable(version)
        schema, physical = self.read_schemas(dt)
        parts, left = [], n
        for part in self.parts(dt):
            if left <= 0:
                break
            parts.append(read_part(part, schema, physical).slice(0, left))
            left -= parts[-1].num_rows
        return pa.concat_tables(parts).to_pandas() if parts else schema.empty_table().to_pandas()

    def to_dask(self, version: int | None = None, columns: list[str] | None = None):
        """A Dask DataFrame with one partition per data file, read on the cluster. Its dtypes
        follow the schema alone (see `dask_dtype`), so every partition has the same ones."""
        import dask.dataframe as dd

        dt = self.readable(version)
        schema, physical = self.read_schemas(dt, columns)
        meta = schema.empty_table().to_pandas(types_mapper=dask_dtype)
        parts = self.parts(dt)
        if not parts:
            return dd.from_pandas(meta, npartitions=1)
        return dd.from_map(_read_pandas, parts, schema=schema, physical=physical, meta=meta,
                           enforce_metadata=False)

    def profile(self, version: int | None = None, *, bins: int = 30,
                refresh: bool = False) -> Profile:
        """Per-column statistics of a version (see Profile), computed per file on the cluster
        once and stored in the lake's ``_profiles``, then read from there (a version never
        changes); ``refresh=True`` computes and stores it again."""
        from workbench.lake.profile import profile

        return profile(self, version, bins=bins, refresh=refresh)

    def stored_profile(self, version: int | None = None, *, bins: int = 30) -> Profile | None:
        """The stored profile of a version (latest when None), or None when it was never
        computed; reads ``_profiles`` only, so it needs no cluster (the server shows these)."""
        from workbench.lake.profile import stored_profile

        return stored_profile(self, version, bins=bins)

    def drift(self, reference: Any, current: Any = None) -> DriftReport:
        """How the data moved from version ``reference`` to ``current`` (latest when None),
        per column: PSI, KS, Jensen-Shannon, null rates, distinct counts and a verdict (see
        `workbench.lake.drift`). A version is a number or a time (the newest version committed
        by then). Computed from the sketches stored with each version's profile; a version never
        profiled is profiled once, on the cluster, and stored."""
        from workbench.lake.drift import table_drift

        return table_drift(self, reference, current)

    def to_torch(self, features: list[str] | str, label: str, batch_size: int,
                 shuffle: bool = True, seed: int = 0, **options: Any) -> TableLoader:
        """A streaming PyTorch loader of batches ``{"features", "label", "samples"}``, read
        row group by row group, normalised, sharded by rank and reshuffled per ``set_epoch``.
        ``options``: ``version``, ``rank``, ``world_size``, ``normalize``, ``device``,
        ``drop_last``, ``columns_dtype``, ``buffer_rows``, ``cache``; see
        ``workbench.lake.loader``."""
        from workbench.lake.loader import TableLoader

        return TableLoader(self, features, label, batch_size, shuffle, seed, **options)

    def compact(self, target_size: int | None = None) -> dict:
        """Rewrite small files into larger ones (a new version; the data is unchanged)."""
        metrics = self._at(None).optimize.compact(target_size=target_size)
        return dict(metrics)

    def vacuum(self, retention_hours: int = 168, *, dry_run: bool = False) -> list[str]:
        """Delete files no version newer than ``retention_hours`` needs; old versions older than
        that stop being readable. Returns the files removed (or that would be)."""
        enforce = retention_hours >= 168
        return self._at(None).vacuum(retention_hours=retention_hours, dry_run=dry_run,
                                     enforce_retention_duration=enforce)

    def quarantine(self) -> pd.DataFrame:
        """Rows rejected by committed ingests: source, line, raw text (PII tokenised), column,
        reason, and ``kind`` (the reason without row-specific detail, for counting). Records of
        an ingest that never committed (a crash) are left out."""
        from workbench.lake.ingest import QUARANTINE_SCHEMA, QUARANTINE_SUFFIX, reason_kind

        q = self.lake._delta(self.name + QUARANTINE_SUFFIX)
        df = (pa.table(q.to_pyarrow_table()) if q is not None
              else QUARANTINE_SCHEMA.empty_table()).to_pandas()
        committed = set(self.history()["ingest_id"].dropna())
        df = df[df["ingest_id"].isin(committed)].reset_index(drop=True)
        return df.assign(kind=df["reason"].map(reason_kind).astype(object))

    def __repr__(self) -> str:
        return f"Table({self.name!r}, version={self.version}, columns={self.schema.names})"

    def _repr_html_(self) -> str:
        schema = "".join(f"<tr><td>{html.escape(f.name)}</td><td>{html.escape(str(f.type))}"
                         "</td></tr>" for f in self.schema)
        return (f"<p><b>{html.escape(self.name)}</b> version {self.version}</p>"
                f"<table><tr><th>column</th><th>type</th></tr>{schema}</table>")


def _utc(when: Any) -> pd.Timestamp:
    stamp = pd.Timestamp(when)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _read_pandas(part: Part, schema: pa.Schema, physical: pa.Schema) -> pd.DataFrame:
    return read_part(part, schema, physical).to_pandas(types_mapper=dask_dtype)


def dask_dtype(t: pa.DataType) -> Any:
    """The pandas dtype of an Arrow type in a Dask frame, whatever one file's values: nullable
    integers and booleans (a file with a null would make numpy's float or object), Arrow-backed
    dates, decimals, binary and nested values (Dask would take numpy's object columns for text);
    None (pandas' own) for floats, text and timestamps, which hold nulls and any value."""
    if pa.types.is_integer(t):
        return pd.api.types.pandas_dtype(
            f"{'U' if pa.types.is_unsigned_integer(t) else ''}Int{t.bit_width}")
    if pa.types.is_boolean(t):
        return pd.BooleanDtype()
    if (pa.types.is_date(t) or pa.types.is_time(t) or pa.types.is_decimal(t)
            or pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_nested(t)
            or pa.types.is_fixed_size_binary(t)):
        return pd.ArrowDtype(t)
    return None
