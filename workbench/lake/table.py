"""One Delta table of a lake: versions, history, reads, profile, maintenance, quarantine."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa

if TYPE_CHECKING:
    from workbench.lake.lake import Lake
    from workbench.lake.loader import TableLoader
    from workbench.lake.profile import Profile


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
        """One row per version, newest first: time, operation, and the ingest's row accounting."""
        rows = []
        for e in self._at(None).history():
            rows.append({
                "version": e.get("version"),
                "timestamp": pd.Timestamp(e["timestamp"], unit="ms", tz="UTC"),
                "operation": e.get("operation"),
                "rows_in": e.get("workbench.rows_in"),
                "rows_written": e.get("workbench.rows_written"),
                "rows_quarantined": e.get("workbench.rows_quarantined"),
                "duplicates_dropped": e.get("workbench.duplicates_dropped"),
                "ingest_id": e.get("workbench.ingest_id"),
            })
        return pd.DataFrame(rows)

    def files(self, version: int | None = None) -> pd.DataFrame:
        """The data files of a version: path, size_bytes, num_records, partition values."""
        return pa.table(self._at(version).get_add_actions(flatten=True)).to_pandas()

    def to_arrow(self, version: int | None = None, columns: list[str] | None = None) -> pa.Table:
        return pa.table(self._at(version).to_pyarrow_table(columns=columns))

    def to_pandas(self, version: int | None = None, columns: list[str] | None = None
                  ) -> pd.DataFrame:
        """The rows of the latest version, or of an older ``version`` (time travel)."""
        return self.to_arrow(version, columns).to_pandas()

    def head(self, n: int = 50, version: int | None = None) -> pd.DataFrame:
        """The first ``n`` rows of a version, reading data files one at a time until there are
        enough (a preview of a large table reads one file, not the table)."""
        dt = self._at(version)
        schema = pa.schema(dt.schema().to_arrow())
        parts, left = [], n
        for part in file_parts(dt):
            if left <= 0:
                break
            parts.append(read_file(part, schema).slice(0, left))
            left -= parts[-1].num_rows
        return pa.concat_tables(parts).to_pandas() if parts else schema.empty_table().to_pandas()

    def to_dask(self, version: int | None = None, columns: list[str] | None = None):
        """A Dask DataFrame with one partition per data file, read on the cluster."""
        import dask.dataframe as dd

        dt = self._at(version)
        schema = pa.schema(dt.schema().to_arrow())
        if columns:
            schema = pa.schema([schema.field(c) for c in columns])
        meta = schema.empty_table().to_pandas()
        parts = file_parts(dt)
        if not parts:
            return dd.from_pandas(meta, npartitions=1)
        return dd.from_map(_read_pandas, parts, schema=schema, meta=meta,
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


def file_parts(dt: Any) -> list[tuple[str, dict]]:
    """(file URI, partition values) of each data file of a DeltaTable version."""
    actions = pa.table(dt.get_add_actions(flatten=False)).to_pylist()
    root = dt.table_uri.rstrip("/")
    return [(f"{root}/{a['path']}", a.get("partition") or {}) for a in actions]


def read_file(part: tuple[str, dict], schema: pa.Schema) -> pa.Table:
    """One data file's ``schema`` columns, partition columns restored from its values."""
    import pyarrow.parquet as pq

    from workbench.lake.files import filesystem

    uri, values = part
    fs, path = filesystem(uri)
    stored = [n for n in schema.names if n not in values]
    return with_partitions(pq.read_table(path, filesystem=fs, columns=stored), values, schema)


def with_partitions(data: pa.Table, values: dict, schema: pa.Schema) -> pa.Table:
    """``data`` read from one file, with the partition columns its path holds added back as
    constant columns, in ``schema``'s order."""
    for name, value in values.items():
        if name in schema.names:
            t = schema.field(name).type
            # Values come back as text or typed, depending on the table's writer.
            column = (pa.nulls(data.num_rows, t) if value is None
                      else pa.array([value] * data.num_rows).cast(t))
            data = data.append_column(name, column)
    return data.select(schema.names)


def _read_pandas(part: tuple[str, dict], schema: pa.Schema) -> pd.DataFrame:
    return read_file(part, schema).to_pandas()
