"""Governed ingest: sources -> parse and validate on the Dask cluster -> quarantine, pseudonymise,
dedup -> Parquet files written by the workers -> one Delta commit by the driver."""

from __future__ import annotations

import json
import time
import uuid
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from workbench.lake import pii as pii_mod
from workbench.lake.dedup import dedup_keys
from workbench.lake.errors import DriftError, DriftWarning, LakeError, PiiKeyError, SchemaError
from workbench.lake.files import add_actions, write_files
from workbench.lake.names import check_name, check_new_name
from workbench.lake.parse import Parsed, Spec, parse_piece
from workbench.lake.report import IngestReport
from workbench.lake.sources import (
    Piece,
    check_columns,
    delta_type,
    expand,
    frame_schema,
    infer_files,
    pieces_for_files,
    pieces_for_frame,
)

if TYPE_CHECKING:
    from workbench.lake.drift import DriftReport
    from workbench.lake.lake import Lake

QUARANTINE_SUFFIX = "__quarantine"
QUARANTINE_SCHEMA = pa.schema([
    ("ingest_id", pa.string()), ("source", pa.string()), ("line", pa.int64()),
    ("raw", pa.string()), ("column", pa.string()), ("reason", pa.string()),
    ("ingested_at", pa.timestamp("us", tz="UTC")),
    ("raw_bytes", pa.binary()),  # the record's exact bytes, when they are not UTF-8
])
META = "workbench."  # prefix of the keys an ingest leaves in its Delta commit
DRIFT_TABLE = "_drift"  # each drift-checked ingest's report, one row per column
ALERTS_TABLE = "_alerts"
DRIFT_MODES = (None, "warn", "refuse")


def ingest(lake: Lake, source: Any, table: str, *, schema: Any = None, pii=(), dedup=None,
           partition_by=(), mode: str = "append", schema_mode: str | None = None,
           encoding: str = "utf-8", delimiter: str | None = None, progress: bool = True,
           on_progress: Callable[[int, int], None] | None = None,
           drift: str | None = None) -> IngestReport:
    """Ingest ``source`` into ``table``; see :meth:`workbench.Lake.ingest`."""
    started = time.perf_counter()
    if drift not in DRIFT_MODES:
        raise LakeError(f"drift={drift!r}: use None (no check, the default), 'warn' (commit, "
                        "record the report in _drift and alert) or 'refuse' (commit nothing "
                        "when a column drifts)")
    pii, dedup, partition_by = _check_arguments(table, mode, schema_mode, pii, dedup,
                                                partition_by)
    existing = lake._delta(table)
    if existing is None:
        check_new_name(table)
    pii, key = _governed_pii(lake, table, existing, pii)

    is_frame = hasattr(source, "columns") and hasattr(source, "dtypes")
    source_schema, client, pieces, expected_rows = _sources(source, is_frame, encoding, delimiter)
    target, partition_by = _plan(table, source_schema, existing, schema, schema_mode, pii, dedup,
                                 partition_by)
    spec = Spec(table, target, pii, key, dedup,
                _exact_columns(source_schema, existing, schema, is_frame))
    ingest_id = uuid.uuid4().hex
    uri = lake.table_uri(table)
    # An overwrite replaces the table: dedup then looks at this batch alone.
    # The keys already in the table, read as the table reads (deletion vectors applied).
    old_keys = (lake.table(table).to_arrow(columns=list(dedup))
                if dedup and existing is not None and mode == "append" else None)
    summaries, adds = _run(client, pieces, spec, uri, partition_by, ingest_id, old_keys,
                           progress, table, expected_rows, on_progress)

    drift_report = (_batch_drift(lake, table, existing, adds, target, drift)
                    if drift is not None and existing is not None and adds else None)
    quarantine = _quarantine_rows(pieces, summaries, ingest_id)
    rows_in = sum(s.rows_in for s in summaries)
    rows_written = sum(a["rows"] for a in adds)
    duplicates = rows_in - rows_written - len(quarantine)
    reasons = Counter(reason_kind(r["reason"]) for r in quarantine)
    meta = {
        f"{META}ingest_id": ingest_id,
        f"{META}rows_in": rows_in,
        f"{META}rows_written": rows_written,
        f"{META}rows_quarantined": len(quarantine),
        f"{META}duplicates_dropped": duplicates,
        f"{META}pii": json.dumps(list(pii)),
        f"{META}key_id": pii_mod.key_id(key) if key is not None else "",
    }
    if quarantine:
        _write_quarantine(lake, table, quarantine)
    version = _commit(uri, target, adds, partition_by, mode, meta, existing, ingest_id,
                      lake.storage_options)
    if drift_report is not None:
        drift_report = replace(drift_report, current=version)
        _record_drift(lake, drift_report)
    return IngestReport(
        table=table, version=version, rows_in=rows_in, rows_written=rows_written,
        rows_quarantined=len(quarantine), duplicates_dropped=duplicates,
        bytes_in=sum(s.bytes_in for s in summaries), seconds=time.perf_counter() - started,
        files_written=len(adds), ingest_id=ingest_id, reasons=dict(reasons.most_common()),
        schema=target, drift=drift_report)


def _batch_drift(lake: Lake, table: str, existing: Any, adds: list[dict], schema: pa.Schema,
                 mode: str) -> DriftReport:
    """The drift of the written, uncommitted files ``adds`` from the table's current version
    (whose profile is computed and stored once if missing). With ``mode="refuse"`` a drifted
    batch's files are deleted and a `DriftError` names the columns."""
    from urllib.parse import quote

    from workbench.lake.drift import compare, sketched_profile
    from workbench.lake.files import filesystem
    from workbench.lake.parts import Part, table_root
    from workbench.lake.profile import profile_parts

    reference = sketched_profile(lake.table(table), existing.version())
    root = table_root(lake.uri, table)
    parts = [Part(f"{root}/{quote(a['path'])}" if "://" in root else f"{root}/{a['path']}",
                  a["partition_values"]) for a in adds]
    batch = profile_parts(table, reference.version + 1, parts, schema, schema, None)
    report = replace(compare(reference, batch), current=None)
    if mode == "refuse" and report.drifted:
        fs, path = filesystem(lake.table_uri(table))
        for a in adds:
            fs.delete_file(f"{path}/{a['path']}")
        scores = report.table.set_index("column")["psi"]
        named = ", ".join(f"{c} (PSI {scores[c]:.3g})" for c in report.drifted)
        raise DriftError(
            f"ingest into {table!r} refused (drift='refuse'): the batch drifted from version "
            f"{reference.version} in column(s) {named}, above PSI 0.25; table {table!r} stays "
            f"at version {reference.version}. See the error's .report, or ingest with "
            "drift='warn' to commit it and alert", report)
    return report


def _record_drift(lake: Lake, report: DriftReport) -> None:
    """Append ``report``'s rows to ``_drift``; when a column drifted, record the alert in
    ``_alerts`` and warn (`DriftWarning`) with its message."""
    import pandas as pd

    from workbench.ops.drift import drift_alert

    rows = report.table.copy()
    rows.insert(0, "table", report.name)
    rows.insert(1, "version", report.current)
    rows.insert(2, "reference_version", report.reference)
    rows["time"] = pd.Timestamp.now(tz="UTC").floor("us")
    lake.record(DRIFT_TABLE, rows)
    alert = drift_alert(report.name, report.current, report.table, report.reference)
    if alert is None:
        return
    lake.record(ALERTS_TABLE, pd.DataFrame([{
        "rule": alert.rule, "severity": alert.severity, "run_id": alert.run, "rank": alert.rank,
        "state": alert.state, "value": alert.value, "threshold": alert.threshold,
        "started": alert.started, "resolved": alert.resolved, "message": alert.message,
    }]).astype({"rank": "int64", "value": "float64", "threshold": "float64",
                "started": "float64", "resolved": "float64"}))
    warnings.warn(alert.message, DriftWarning, stacklevel=4)


def _check_arguments(
    table: str, mode: str, schema_mode: str | None, pii: Any, dedup: Any, partition_by: Any,
) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """Refuse a bad table name or option before any work; the column lists as tuples."""
    check_name(table)
    if table.endswith(QUARANTINE_SUFFIX):
        raise LakeError(f"table={table!r}: names ending in {QUARANTINE_SUFFIX!r} are reserved for"
                        " quarantine tables")
    if mode not in ("append", "overwrite"):
        raise LakeError(f"mode={mode!r}: use 'append' or 'overwrite'")
    if schema_mode not in (None, "merge"):
        raise LakeError(f"schema_mode={schema_mode!r}: use None (enforce) or 'merge'")
    return (_names(pii, "pii"), _names(dedup or (), "dedup"),
            _names(partition_by, "partition_by"))


def _governed_pii(lake: Lake, table: str, existing: Any,
                  pii: tuple[str, ...]) -> tuple[tuple[str, ...], bytes | None]:
    """The PII columns (those recorded plus ``pii``) and their key, which must be the table's."""
    governance = _governance(existing)
    pii = tuple(dict.fromkeys(governance.get("pii", []) + list(pii)))
    key = pii_mod.require_key(pii, lake.uri) if pii else None
    if key is not None and governance.get("key_id") not in (None, pii_mod.key_id(key)):
        raise PiiKeyError(f"table {table!r} was pseudonymised with another key (key id "
                          f"{governance['key_id']}); with this key ({pii_mod.key_id(key)}) its "
                          "tokens would not match: configure the table's key")
    return pii, key


def _sources(source: Any, is_frame: bool, encoding: str,
             delimiter: str | None) -> tuple[pa.Schema, Any, list[Piece], int]:
    """(schema, client, pieces, expected rows). Files are checked before a cluster starts; a
    cluster already running reads their heads."""
    from workbench.compute import current_cluster

    if is_frame:
        source_schema = frame_schema(source)
        client = current_cluster().client
        pieces = pieces_for_frame(source, client)
        expected_rows = len(source) if not hasattr(source, "npartitions") else 0
    else:
        files = expand(source, encoding, delimiter)  # checked before any cluster starts
        try:
            running = current_cluster(start=False).client
        except LookupError:
            running = None  # inferred here: a bad file is named before a cluster starts
        files, source_schema = infer_files(files, running)
        expected_rows = sum(f.rows_estimate for f in files)
        client = running or current_cluster().client
        pieces = pieces_for_files(files, client)
    return source_schema, client, pieces, expected_rows


def _plan(table: str, source_schema: pa.Schema, existing: Any, schema: Any,
          schema_mode: str | None, pii: tuple[str, ...], dedup: tuple[str, ...],
          partition_by: tuple[str, ...]) -> tuple[pa.Schema, tuple[str, ...]]:
    """The schema to write and the partition columns, checked against the table's own."""
    target = _target_schema(table, source_schema, existing, schema, schema_mode, pii)
    check_columns(target, list(pii), "pii")
    check_columns(target, list(dedup), "dedup")
    check_columns(target, list(partition_by), "partition_by")
    if existing is not None:
        current = existing.metadata().partition_columns
        if partition_by and list(partition_by) != list(current):
            raise LakeError(f"partition_by={list(partition_by)} differs from table {table!r}'s "
                            f"partitioning {current}: leave it out for an existing table")
        partition_by = tuple(current)
    return target, partition_by


def _exact_columns(source_schema: pa.Schema, existing: Any, schema: Any,
                   is_frame: bool) -> frozenset[str]:
    """Columns typed from text here (not declared, not the table's): parsing keeps values."""
    declared = set(existing.schema().to_arrow().names if existing is not None else ()) | set(
        _as_schema(schema).names if schema is not None else ())
    return frozenset(n for n in source_schema.names if n not in declared and not is_frame)


def _names(value: Any, argument: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    try:
        names = tuple(value)
    except TypeError:
        raise LakeError(f"{argument}={value!r}: pass a list of column names") from None
    if not all(isinstance(n, str) for n in names):
        raise LakeError(f"{argument}={value!r}: pass a list of column names")
    return names


def _governance(dt: Any) -> dict:
    """The PII columns and key id an earlier ingest recorded in the table's history."""
    if dt is None:
        return {}
    for entry in dt.history():
        if f"{META}pii" in entry:
            return {"pii": json.loads(entry[f"{META}pii"]),
                    "key_id": entry.get(f"{META}key_id") or None}
    return {}


def _target_schema(table: str, source: pa.Schema, existing: Any, schema: Any,
                   schema_mode: str | None, pii: tuple[str, ...]) -> pa.Schema:
    if schema is not None:
        schema = _as_schema(schema)
    if existing is not None:
        current = pa.schema(existing.schema().to_arrow())
        if schema is not None and schema != current:
            changed = [f.name for f in schema if f.name in current.names
                       and current.field(f.name).type != f.type]
            if changed:
                raise SchemaError(f"schema= changes the type of column(s) {changed} of table "
                                  f"{table!r}; a table's types are fixed once written")
        base = current
    else:
        base = schema if schema is not None else source
    new = [f for f in (schema or source) if f.name not in base.names]
    if new and existing is None and schema is not None and schema_mode != "merge":
        raise SchemaError(f"the source has column(s) {[f.name for f in new]} that schema= does "
                          "not name: add them to schema=, or pass schema_mode='merge'")
    if new and existing is not None and schema_mode != "merge":
        raise SchemaError(f"the source has new column(s) {[f.name for f in new]} that table "
                          f"{table!r} does not have: pass schema_mode='merge' to add them")
    fields = list(base) + (new if schema_mode == "merge" else [])
    return pa.schema([pa.field(f.name, pa.string()) if f.name in pii else f for f in fields])


def _as_schema(schema: Any) -> pa.Schema:
    if isinstance(schema, pa.Schema):
        return pa.schema([(f.name, delta_type(f.type)) for f in schema])
    if isinstance(schema, dict):
        fields = []
        for name, t in schema.items():
            if isinstance(t, str):
                try:
                    t = pa.type_for_alias(t)
                except ValueError:
                    raise SchemaError(f"schema={{{name!r}: {t!r}}}: unknown type name; use "
                                      "e.g. 'int64', 'float64', 'string', 'bool', "
                                      "'timestamp[us]', 'date32'") from None
            fields.append((name, delta_type(t)))
        return pa.schema(fields)
    raise SchemaError(f"schema={schema!r}: pass a pyarrow.Schema or a dict of column -> type")


def _parse_and_write(piece: Piece, spec: Spec, uri: str, partition_by: tuple[str, ...],
                     prefix: str, data: Any = None) -> tuple[Parsed, list[dict]]:
    parsed = parse_piece(piece, spec, data)
    adds = write_files(parsed.table, uri, partition_by, prefix, spec.pii)
    return parsed.summary(), adds


def _write_kept(parsed: Parsed, keep_bits: np.ndarray, uri: str, partition_by: tuple[str, ...],
                prefix: str, random: tuple[str, ...] = ()) -> list[dict]:
    """Write the rows of ``parsed`` that ``keep_bits`` (a packed bool mask) keeps."""
    keep = np.unpackbits(keep_bits, count=parsed.table.num_rows).view(np.bool_)
    table = parsed.table if keep.all() else parsed.table.filter(pa.array(keep))
    return write_files(table, uri, partition_by, prefix, random)


def _run(client: Any, pieces: list[Piece], spec: Spec, uri: str, partition_by: tuple[str, ...],
         ingest_id: str, old: pa.Table | None, progress: bool, table: str, expected_rows: int,
         on_progress: Callable[[int, int], None] | None):
    """Submit the pieces. With dedup, the driver takes the parsed pieces' keys in source order
    as they arrive and starts each piece's write as soon as its first occurrences are known,
    so writing overlaps parsing and the first of each key (in source order) is the one kept."""
    prefix = f"part-{ingest_id[:12]}"
    bar = _Progress(len(pieces) * (2 if spec.dedup else 1), table, progress, on_progress)
    if not spec.dedup:
        futures = [client.submit(_parse_and_write, p.without_data(), spec, uri, partition_by,
                                 f"{prefix}-{p.index:05d}", p.data, pure=False) for p in pieces]
        for _ in _completed(client, futures, bar):
            pass  # progress; results are gathered in source order below
        bar.close()
        results = client.gather(futures)
        return [r[0] for r in results], [a for r in results for a in r[1]]
    from workbench.kernels import KeySet

    parsed = [client.submit(parse_piece, p.without_data(), spec, p.data, pure=False)
              for p in pieces]
    summaries = [client.submit(Parsed.summary, f, pure=False) for f in parsed]
    order = {f.key: i for i, f in enumerate(summaries)}
    seen = KeySet(expected_rows + (old.num_rows if old is not None else 0))
    if old is not None:
        seen.add(*dedup_keys(old, spec.dedup))
    arrived: dict[int, Parsed] = {}
    done: list[Parsed] = []
    writes = []
    for future in _completed(client, summaries, bar):
        arrived[order[future.key]] = future.result()
        while len(done) in arrived:
            i = len(done)
            done.append(arrived.pop(i))
            # Packed: the task's arguments pass through the scheduler, 1 bit a row is enough.
            keep = np.packbits(seen.add(*done[i].keys))
            # Ahead of the parses still queued: a worker writes and frees a piece's rows
            # before it parses the next, so memory stays small and is reused.
            writes.append(client.submit(_write_kept, parsed[i], keep, uri, partition_by,
                                        f"{prefix}-{i:05d}", spec.pii, pure=False, priority=1))
            parsed[i] = None  # the write task holds the rows now; release them after it
    adds = [a for f in _completed(client, writes, bar) for a in f.result()]
    bar.close()
    return done, adds


def _completed(client: Any, futures: list, bar: _Progress):
    """The futures as they finish; the first failure cancels the rest and re-raises the
    worker's exception with its traceback."""
    from distributed import as_completed

    for future in as_completed(futures):
        if future.status == "error":
            try:
                future.result()
            finally:
                client.cancel(futures)
        bar.update(1)
        yield future


class _Progress:
    """Pieces done out of the total: a tqdm bar (``progress``) and ``on_progress(done, total)``
    for callers that show it elsewhere (the sidebar's task list)."""

    def __init__(self, total: int, table: str, enabled: bool,
                 on_progress: Callable[[int, int], None] | None) -> None:
        from tqdm.auto import tqdm

        self.done, self.total, self.on_progress = 0, total, on_progress
        # delay=1: ingests shorter than a second show no bar at all.
        self.bar = tqdm(total=total, desc=f"ingest {table}", unit="piece", delay=1.0,
                        disable=not enabled)
        self._report()

    def update(self, n: int) -> None:
        self.done += n
        self.bar.update(n)
        self._report()

    def close(self) -> None:
        self.bar.close()

    def _report(self) -> None:
        if self.on_progress is not None:
            self.on_progress(self.done, self.total)


def _quarantine_rows(pieces: list[Piece], summaries: list[Parsed], ingest_id: str) -> list[dict]:
    """All quarantine records, their line numbers made absolute within each text file.

    Pieces number lines from their own start; only a piece with quarantine records needs the
    lines before it, so those are counted here, for those pieces alone (the fast path counts
    no lines at all).
    """
    from workbench.lake.boundaries import lines_before

    now = pa.scalar(time.time_ns() // 1000, pa.timestamp("us", tz="UTC"))
    rows = []
    for piece, s in zip(pieces, summaries):
        offset = 0
        src = piece.source
        if s.quarantine and src is not None and src.format in ("csv", "json") and s.begin:
            with src.filesystem.open_input_file(src.path) as f:
                offset = lines_before(f, s.begin, universal=src.format == "csv")
        for rec in s.quarantine:
            rec = dict(rec)
            rec.pop("_piece")
            rec["line"] += offset
            rec["ingest_id"] = ingest_id
            rec["ingested_at"] = now.as_py()
            rows.append(rec)
    return rows


def reason_kind(reason: str) -> str:
    """A quarantine reason without row-specific detail (the parser's message), for counting."""
    return reason.split(":")[0] if reason.startswith(("malformed", "column")) else reason


def _write_quarantine(lake: Lake, table: str, rows: list[dict]) -> None:
    from deltalake import write_deltalake

    data = pa.Table.from_pylist(rows, schema=QUARANTINE_SCHEMA)
    # merge: quarantine tables written before `raw_bytes` existed gain the column
    write_deltalake(lake.table_uri(table + QUARANTINE_SUFFIX), data, mode="append",
                    schema_mode="merge", storage_options=lake.storage_options)


def _commit(uri: str, schema: pa.Schema, adds: list[dict], partition_by: tuple[str, ...],
            mode: str, meta: dict, existing: Any, ingest_id: str,
            storage_options: dict[str, str] | None) -> int:
    """One Delta transaction for all of the ingest's files; returns the version it made."""
    from deltalake import CommitProperties, DeltaTable
    from deltalake import Schema as DeltaSchema
    from deltalake.exceptions import DeltaError
    from deltalake.transaction import create_table_with_add_actions

    props = CommitProperties(custom_metadata=meta)
    actions = add_actions(adds)
    if existing is None:
        try:
            create_table_with_add_actions(uri, DeltaSchema.from_arrow(schema), actions,
                                          mode="error", partition_by=list(partition_by) or None,
                                          storage_options=storage_options,
                                          commit_properties=props)
            return 0
        except DeltaError:
            # another writer created it first: append to theirs
            existing = DeltaTable(uri, storage_options=storage_options)
    current = pa.schema(existing.schema().to_arrow())
    added = [f for f in schema if f.name not in current.names]
    if added:
        existing.alter.add_columns(DeltaSchema.from_arrow(pa.schema(added)).fields)
        existing = DeltaTable(uri, storage_options=storage_options)
    existing.create_write_transaction(actions, mode=mode, schema=schema,
                                      partition_by=list(partition_by) or None,
                                      commit_properties=props)
    for entry in DeltaTable(uri, storage_options=storage_options).history(limit=50):
        if entry.get(f"{META}ingest_id") == ingest_id:
            return int(entry["version"])
    raise LakeError(f"commit of ingest {ingest_id} into {uri} is not in the table's history")
