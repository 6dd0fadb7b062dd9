"""What of a table's Delta protocol this lake can honour: reader features to read a version,
writer features (and the table properties they activate) to append to it.

Reads go through deltalake's pyarrow reader, or, for column mapping and deletion vectors, which
it does not read, through `workbench.lake.parts`; any other reader feature deltalake's reader
lacks is an `UnsupportedFeatureError` naming it. Writes (``lake.ingest``, ``lake.record``) add
Parquet files with statistics and nothing else: a table whose protocol asks writers for more
(physical column names, CHECK constraints, generated or identity columns, row tracking, ...)
is refused before any file is written, naming what it asks for, rather than written in a way
its other readers and writers would misread.
"""

from __future__ import annotations

import json
from typing import Any

from workbench.lake.errors import UnsupportedFeatureError

# Reader features read by workbench.lake.parts on top of those deltalake's pyarrow reader reads.
FILE_FEATURES = frozenset({"columnMapping", "deletionVectors"})
# Writer features whose requirements an append of new files with statistics meets (deletion
# vectors: new files need none; vacuumProtocolCheck: only vacuum has duties; changeDataFeed:
# an append needs no change files) or that are checked below (appendOnly, invariants,
# checkConstraints, generatedColumns, identityColumns, columnMapping: refused when in use).
WRITER_FEATURES = frozenset({"appendOnly", "invariants", "timestampNtz", "deletionVectors",
                             "changeDataFeed", "vacuumProtocolCheck", "checkConstraints",
                             "generatedColumns", "identityColumns", "columnMapping"})


def _deltalake_features() -> frozenset[str]:
    from deltalake.table import SUPPORTED_READER_FEATURES

    return frozenset(SUPPORTED_READER_FEATURES)


def column_mapping(dt: Any) -> str:
    """The table's column mapping mode (``none``, ``name`` or ``id``), honoured as the protocol
    says: only on reader version 2, or 3 with the ``columnMapping`` feature."""
    protocol = dt.protocol()
    supported = protocol.min_reader_version == 2 or (
        protocol.min_reader_version >= 3 and "columnMapping" in (protocol.reader_features or ()))
    mode = dt.metadata().configuration.get("delta.columnMapping.mode") or "none"
    return mode if supported else "none"


def unreadable_features(reader_version: int, features: Any) -> list[str]:
    """What of a protocol (its reader version, its reader features) neither deltalake's reader
    nor this module reads: feature names, or ``reader version N`` beyond 3."""
    if reader_version > 3:
        return [f"reader version {reader_version}"]
    return sorted(set(features) - _deltalake_features() - FILE_FEATURES)


def check_readable(dt: Any, table: str) -> bool:
    """Raise `UnsupportedFeatureError` when the version ``dt`` of ``table`` needs a reader
    feature that neither deltalake nor this module reads; return whether deltalake's pyarrow
    reader reads it as it is (else read it file by file: `workbench.lake.parts`)."""
    import deltalake

    protocol = dt.protocol()
    features = set(protocol.reader_features or ())
    reader = f"deltalake {deltalake.__version__} with workbench's file reader"
    unsupported = unreadable_features(protocol.min_reader_version, features)
    if unsupported:
        raise UnsupportedFeatureError(table, unsupported, reader)
    mode = column_mapping(dt)
    if mode not in ("none", "name"):
        raise UnsupportedFeatureError(table, [f"columnMapping (mode {mode!r})"], reader)
    return mode == "none" and not features & FILE_FEATURES


def check_writable(dt: Any, table: str, mode: str = "append") -> None:
    """Raise `UnsupportedFeatureError` when appending (or, ``mode="overwrite"``, replacing)
    files of rows to the DeltaTable ``dt`` of ``table`` would break what its protocol asks of
    writers; name what it asks for."""
    protocol = dt.protocol()
    meta = dt.metadata()
    config = meta.configuration
    asks = sorted(set(protocol.writer_features or ()) - WRITER_FEATURES)
    if protocol.min_writer_version > 7:
        asks.append(f"writer version {protocol.min_writer_version}")
    if column_mapping(dt) != "none":
        asks.append(f"columnMapping (mode {column_mapping(dt)!r})")
    if any(k.startswith("delta.constraints.") for k in config):
        asks.append("checkConstraints (CHECK constraints are set)")
    columns = json.loads(dt.schema().to_json())["fields"]
    for key, feature in (("delta.invariants", "invariants"),
                         ("delta.generationExpression", "generatedColumns"),
                         ("delta.identity.start", "identityColumns")):
        used = [c["name"] for c in columns if key in (c.get("metadata") or {})]
        if used:
            asks.append(f"{feature} (on {used})")
    if mode == "overwrite" and config.get("delta.appendOnly", "").lower() == "true":
        asks.append("appendOnly (delta.appendOnly = true: no overwrite)")
    if asks:
        raise UnsupportedFeatureError(table, asks, "this lake's writer", kind="writer")
