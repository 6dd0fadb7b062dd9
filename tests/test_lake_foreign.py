"""Tables this lake did not write, and what other Delta readers see of the tables it did.

Foreign tables are written by deltalake's own ``write_deltalake``, or, for the features its
writer cannot make (column mapping, deletion vectors, reader features it cannot read), by
writing ``_delta_log`` commits by hand as the Delta protocol (PROTOCOL.md of delta-io/delta)
specifies them, with Parquet files from pyarrow. Each is read through our ``Table`` every way
(``to_pandas``, ``to_dask``, ``head``, ``history``, time travel, ``profile``, the torch loader)
and compared with what deltalake reads. The last tests replay our own tables' logs with a
reader written here from the spec alone.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import struct
import time
import urllib.parse
import uuid
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable, write_deltalake
from pytest_jupyter.jupyter_server import *  # noqa: F403  (its fixtures, for the server test)

from workbench.lake import LakeError, SchemaError
from workbench.lake.errors import TableReadError, UnsupportedFeatureError

FOREIGN_NAMES = ["sales-2024", "events.v2", "x y", "1abc", "it's"]
UTC = dt.timezone.utc


# ---------------------------------------------------------------------------------------------
# A Delta log written by hand, from the protocol.


def commit(table: Path, version: int, actions: list[dict]) -> None:
    """Delta file ``version``: one JSON action per line, named by the zero-padded version."""
    log = table / "_delta_log"
    log.mkdir(parents=True, exist_ok=True)
    (log / f"{version:020d}.json").write_text("".join(json.dumps(a) + "\n" for a in actions))


def protocol(reader: int = 1, writer: int = 2, reader_features=None, writer_features=None):
    p = {"minReaderVersion": reader, "minWriterVersion": writer}
    if reader_features is not None:
        p["readerFeatures"] = reader_features
    if writer_features is not None:
        p["writerFeatures"] = writer_features
    return {"protocol": p}


def features(*names: str) -> dict:
    """A protocol on reader version 3 and writer version 7 with ``names`` as reader (and, as
    the spec requires, writer) features."""
    return protocol(3, 7, list(names), list(names))


def metadata(fields: list[dict], partition_by=(), configuration=None) -> dict:
    return {"metaData": {
        "id": str(uuid.uuid4()), "format": {"provider": "parquet", "options": {}},
        "schemaString": json.dumps({"type": "struct", "fields": fields}),
        "partitionColumns": list(partition_by), "configuration": configuration or {},
        "createdTime": int(time.time() * 1000)}}


def column(name: str, type_, meta: dict | None = None) -> dict:
    return {"name": name, "type": type_, "nullable": True, "metadata": meta or {}}


def add(table: Path, directory: str, data: pa.Table, partition_values=None,
        deletion_vector=None, **parquet) -> dict:
    """Write ``data`` as a Parquet file under ``directory`` (a real directory name) and return
    its add action: the path percent-encoded, as the spec's URI paths are."""
    name = f"part-{uuid.uuid4().hex}.parquet"
    (table / directory).mkdir(parents=True, exist_ok=True)
    pq.write_table(data, table / directory / name, **parquet)
    path = urllib.parse.quote(f"{directory}/{name}" if directory else name)
    action = {"path": path, "partitionValues": partition_values or {},
              "size": (table / directory / name).stat().st_size,
              "modificationTime": int(time.time() * 1000), "dataChange": True,
              "stats": json.dumps({"numRecords": data.num_rows})}
    if deletion_vector is not None:
        action["deletionVector"] = deletion_vector
    return {"add": action}


def remove(add_action: dict) -> dict:
    a = add_action["add"]
    return {"remove": {"path": a["path"], "deletionTimestamp": int(time.time() * 1000),
                       "dataChange": True, "partitionValues": a["partitionValues"],
                       "size": a["size"]}}


Z85 = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#"


def z85(data: bytes) -> str:
    """Z85 (the spec's Base85 for inline deletion vectors): 4 bytes, big endian, to 5 digits."""
    assert len(data) % 4 == 0
    out = []
    for i in range(0, len(data), 4):
        value, digits = int.from_bytes(data[i:i + 4], "big"), []
        for _ in range(5):
            value, digit = divmod(value, 85)
            digits.append(Z85[digit])
        out.append("".join(reversed(digits)))
    return "".join(out)


def roaring32(values: list[int]) -> bytes:
    """A 32-bit RoaringBitmap (RoaringFormatSpec): cookie 12346 (no run containers), the
    container count, each container's key and cardinality - 1, their offsets, then one array
    container of sorted 16-bit values per key (all little endian)."""
    containers: dict[int, list[int]] = {}
    for v in sorted(values):
        containers.setdefault(v >> 16, []).append(v & 0xFFFF)
    head = struct.pack("<II", 12346, len(containers))
    for key, low in containers.items():
        head += struct.pack("<HH", key, len(low) - 1)
    offsets, body = b"", b""
    start = len(head) + 4 * len(containers)
    for low in containers.values():
        offsets += struct.pack("<I", start + len(body))
        body += struct.pack(f"<{len(low)}H", *low)
    return head + offsets + body


def deletion_vector(rows: list[int]) -> dict:
    """An inline deletion vector removing ``rows``: the magic number 1681511377, then the
    portable 64-bit RoaringBitmap (bucket count, then each bucket's high 32 bits and its 32-bit
    bitmap), Z85-encoded (padded to 4 bytes; ``sizeInBytes`` is the unpadded size)."""
    buckets: dict[int, list[int]] = {}
    for r in sorted(rows):
        buckets.setdefault(r >> 32, []).append(r & 0xFFFFFFFF)
    raw = struct.pack("<IQ", 1681511377, len(buckets))
    for key, low in buckets.items():
        raw += struct.pack("<I", key) + roaring32(low)
    return {"storageType": "i", "pathOrInlineDv": z85(raw + b"\0" * (-len(raw) % 4)),
            "sizeInBytes": len(raw), "cardinality": len(rows)}


# ---------------------------------------------------------------------------------------------
# Comparing reads.


def records(data) -> list[dict]:
    """Rows as plain Python values (nulls None), in a canonical order, for comparing reads
    that order rows differently or type them alike but not identically."""
    if isinstance(data, pd.DataFrame):
        data = pa.Table.from_pandas(data, preserve_index=False)
    rows = pa.table(data).to_pylist()
    return sorted(rows, key=lambda r: json.dumps(r, sort_keys=True, default=repr))


def deltalake_rows(path: Path, version: int | None = None) -> list[dict]:
    """What deltalake reads: its pyarrow reader where it can, else its own engine (``scan``:
    column mapping, deletion vectors)."""
    table = DeltaTable(str(path), version=version)
    try:
        return records(table.to_pyarrow_table())
    except Exception:  # DeltaProtocolError: a reader feature its pyarrow reader lacks
        return records(pa.table(table.scan()))


def reads_every_way(table, expected: list[dict], version: int | None = None) -> None:
    """``table`` reads ``expected`` through to_pandas, to_dask, head and (all-row) arrow."""
    assert records(table.to_pandas(version)) == expected
    assert records(table.to_dask(version).compute()) == expected
    assert records(table.head(10_000, version)) == expected
    if expected:
        assert table.to_pandas(version).columns.tolist() == list(expected[0])


def loader_rows(table, features: list[str], label: str, version: int | None = None) -> int:
    loader = table.to_torch(features, label, batch_size=3, shuffle=True, normalize=False,
                            version=version)
    return sum(int(b["samples"]) for b in loader)


# ---------------------------------------------------------------------------------------------
# Foreign tables under any directory name.


def test_foreign_tables_open_under_any_name_and_take_appends(lake):
    root = Path(lake.uri)
    v0 = pa.table({"id": [1, 2, 3], "amount": [1.5, 2.5, None], "who": ["a", "b", "c"]})
    v1 = pa.table({"id": [4], "amount": [4.5], "who": ["d"]})
    for name in FOREIGN_NAMES:
        write_deltalake(str(root / name), v0)
        write_deltalake(str(root / name), v1, mode="append")
    assert lake.names() == sorted(FOREIGN_NAMES)
    for name in FOREIGN_NAMES:
        t = lake.table(name)
        assert name in lake and t.version == 1
        assert t.history()["version"].tolist() == [1, 0]
        reads_every_way(t, deltalake_rows(root / name))
        reads_every_way(t, records(v0), version=0)  # time travel
        assert loader_rows(t, ["amount"], "id") == 4
        profile = t.profile()
        assert profile.rows == 4
        stats = profile.table.set_index("column")
        assert stats.loc["id", "min"] == 1 and stats.loc["id", "max"] == 4
        assert t.stored_profile().table.equals(profile.table)  # stored in _profiles, by name

    # Appends keep the table's schema: a wrong type is quarantined, a new column refused.
    report = lake.ingest(pd.DataFrame({"id": [5, 6], "amount": [5.5, 6.5], "who": ["e", "f"]}),
                         "sales-2024", progress=False)
    assert (report.version, report.rows_written) == (2, 2)
    with pytest.raises(SchemaError, match="new column"):
        lake.ingest(pd.DataFrame({"id": [7], "extra": [1]}), "x y", progress=False)
    t = lake.table("sales-2024")
    assert sorted(t.to_pandas()["id"]) == [1, 2, 3, 4, 5, 6]
    assert records(t.to_pandas()) == deltalake_rows(root / "sales-2024")
    assert len(t.quarantine()) == 0

    # A new table keeps the stricter name, and says so; path tricks never open anything.
    with pytest.raises(LakeError, match="letters, digits and underscores"):
        lake.ingest(pd.DataFrame({"id": [1]}), "sales-2025", progress=False)
    for trick in ("../x y", ".hidden", "a/b", "a\\b", "bad\x01name", ""):
        with pytest.raises(LakeError, match="not a valid table name"):
            lake.table(trick)
    write_deltalake(str(root / ".hidden"), v1)  # a hidden directory is no table
    assert lake.names() == sorted([*FOREIGN_NAMES, "_profiles"]) == list(lake.tables()["name"])


def test_partition_values_of_every_kind_read_as_deltalake_reads_them(lake):
    path = Path(lake.uri) / "parts"
    data = pa.table({
        "id": list(range(9)),
        "x": [float(i) / 2 for i in range(9)],
        "p": ["a b", "x/y", "k=v", "50%", "é☃", "", None, "a b", "%2F"],
        "n": pa.array([1, 1, 2, None, 2, 3, 3, 1, 2], pa.int32()),
        "d": pa.array([dt.date(2024, 1, 1)] * 4 + [dt.date(1, 1, 1)] * 4 + [None]),
        "ts": pa.array([dt.datetime(2024, 1, 1, 12, 30, tzinfo=UTC)] * 8 + [None],
                       pa.timestamp("us", tz="UTC")),
        "b": [True, False, None, True, False, True, None, True, False],
    })
    write_deltalake(str(path), data, partition_by=["p", "n", "d", "ts", "b"])
    t = lake.table("parts")
    expected = deltalake_rows(path)
    assert len(expected) == 9
    reads_every_way(t, expected)
    # "" and null are one partition value in Delta (the spec: an empty string is null)
    assert sorted(r["id"] for r in expected if r["p"] is None) == [5, 6]
    assert loader_rows(t, ["x", "n"], "id") == 9
    profile = t.profile().table.set_index("column")
    assert profile.loc["p", "nulls"] == 2 and profile.loc["id", "count"] == 9
    assert profile.loc["d", "min"] == dt.date(1, 1, 1)


def test_checkpoints_and_time_travel_read_every_version(lake):
    path = Path(lake.uri) / "many"
    for i in range(12):
        write_deltalake(str(path), pa.table({"i": [i], "sq": [i * i]}), mode="append")
        if i == 8:
            DeltaTable(str(path)).create_checkpoint()
    write_deltalake(str(path), pa.table({"i": [100], "sq": [0]}), mode="overwrite")
    assert (path / "_delta_log" / "_last_checkpoint").exists()
    t = lake.table("many")
    assert t.version == 12 and len(t.history()) == 13
    for version in (0, 5, 8, 9, 11, 12):
        reads_every_way(t, deltalake_rows(path, version), version)
    assert max(t.to_pandas(11)["i"]) == 11 and t.to_pandas(11)["sq"].sum() == 506
    # the spec's reader (below) starts from the checkpoint and reads the same
    assert read_as_the_spec_says(path)[1] == deltalake_rows(path) == [{"i": 100, "sq": 0}]
    assert t.profile(11).rows == 12 and t.profile().rows == 1


def test_timestamps_at_the_ends_of_the_range(lake):
    path = Path(lake.uri) / "edges"
    lo, hi = dt.datetime(1, 1, 1), dt.datetime(9999, 12, 31, 23, 59, 59, 999999)
    data = pa.table({
        "id": [1, 2, 3],
        "tz": pa.array([lo.replace(tzinfo=UTC), None, hi.replace(tzinfo=UTC)],
                       pa.timestamp("us", tz="UTC")),
        "ntz": pa.array([lo, hi, None], pa.timestamp("us")),
        "day": pa.array([dt.date(1, 1, 1), dt.date(9999, 12, 31), None]),
    })
    write_deltalake(str(path), data)
    t = lake.table("edges")
    expected = deltalake_rows(path)
    assert expected == records(data)
    reads_every_way(t, expected)
    stats = t.profile().table.set_index("column")
    assert stats.loc["tz", "min"] == pd.Timestamp(lo, tz="UTC")
    assert stats.loc["tz", "max"] == pd.Timestamp(hi, tz="UTC")
    assert stats.loc["ntz", "max"] == pd.Timestamp(hi)
    assert stats.loc["day", "min"] == dt.date(1, 1, 1)
    stored = t.stored_profile().table.set_index("column")  # the stored form round-trips
    assert stored.loc["tz", "min"] == pd.Timestamp(lo, tz="UTC")
    assert stored.loc["ntz", "max"] == pd.Timestamp(hi)


# ---------------------------------------------------------------------------------------------
# Features deltalake's writer cannot make: column mapping, deletion vectors.


def mapped(name: str, type_, id_: int, physical: str) -> dict:
    return column(name, type_, {"delta.columnMapping.id": id_,
                                "delta.columnMapping.physicalName": physical})


def physical_field(name: str, type_: pa.DataType, id_: int) -> pa.Field:
    """A Parquet column under its physical name, with its column mapping id as field_id."""
    return pa.field(name, type_, metadata={b"PARQUET:field_id": str(id_).encode()})


@pytest.mark.parametrize("version", [2, 3])
def test_column_mapping_by_name_reads_logical_columns(lake, version):
    """Files hold physical names (nested too); the partition value is keyed by the physical
    name; a column added after the first file reads as nulls there."""
    path = Path(lake.uri) / f"mapped v{version}"
    struct_type = {"type": "struct", "fields": [mapped("a", "long", 3, "col-sa"),
                                                mapped("b c", "string", 4, "col-sb")]}
    fields = [mapped("id", "long", 1, "col-id"), mapped("amount usd", "double", 2, "col-am"),
              mapped("s", struct_type, 5, "col-s"), mapped("p", "string", 6, "col-p")]
    inner = pa.struct([physical_field("col-sa", pa.int64(), 3),
                       physical_field("col-sb", pa.string(), 4)])
    schema = pa.schema([physical_field("col-id", pa.int64(), 1),
                        physical_field("col-am", pa.float64(), 2),
                        physical_field("col-s", inner, 5)])
    first = pa.table({"col-id": [1, 2, 3], "col-am": [1.5, None, 3.5],
                      "col-s": [{"col-sa": 1, "col-sb": "x"}, None,
                                {"col-sa": 3, "col-sb": None}]}, schema=schema)
    mode = {"delta.columnMapping.mode": "name", "delta.columnMapping.maxColumnId": "6"}
    proto = features("columnMapping") if version == 3 else protocol(2, 5)
    commit(path, 0, [proto, metadata(fields, ["p"], mode),
                     add(path, "col-p=one", first, {"col-p": "one"})])
    late = fields + [mapped("late", "long", 7, "col-late")]
    second = pa.table({"col-id": [4], "col-am": [4.5], "col-s": [None], "col-late": [44]},
                      schema=schema.append(physical_field("col-late", pa.int64(), 7)))
    commit(path, 1, [metadata(late, ["p"], {**mode, "delta.columnMapping.maxColumnId": "7"}),
                     add(path, "col-p=two", second, {"col-p": "two"})])

    t = lake.table(path.name)
    assert t.schema.names == ["id", "amount usd", "s", "p", "late"]
    expected = records(pa.table(DeltaTable(str(path)).scan()))
    assert {r["id"]: r["s"] for r in expected}[1] == {"a": 1, "b c": "x"}
    assert {r["id"]: r["late"] for r in expected} == {1: None, 2: None, 3: None, 4: 44}
    reads_every_way(t, expected)
    reads_every_way(t, [{k: v for k, v in r.items() if k != "late"} for r in expected
                        if r["id"] < 4], version=0)
    assert loader_rows(t, ["amount usd"], "id") == 4
    stats = t.profile().table.set_index("column")
    assert stats.loc["amount usd", "max"] == 4.5 and stats.loc["late", "nulls"] == 3
    assert stats.loc["p", "distinct"] == 2


def test_deletion_vectors_drop_their_rows_everywhere(lake):
    """Version 1 replaces a file by the same file with a deletion vector (as a DELETE does):
    its rows 1, 3, 4 and 9, spread over the file's row groups, are gone; version 0 has all."""
    path = Path(lake.uri) / "deleted"
    a = pa.table({"id": list(range(10)), "x": [float(i) for i in range(10)]})
    b = pa.table({"id": [10, 11], "x": [10.0, 11.0]})
    first = add(path, "p=one", a, {"p": "one"}, row_group_size=4)
    fields = [column("id", "long"), column("x", "double"), column("p", "string")]
    commit(path, 0, [features("deletionVectors"), metadata(fields, ["p"]), first,
                     add(path, "p=two", b, {"p": "two"})])
    again = json.loads(json.dumps(first))
    again["add"]["deletionVector"] = deletion_vector([1, 3, 4, 9])
    commit(path, 1, [remove(first), again])

    t = lake.table("deleted")
    expected = records(pa.table(DeltaTable(str(path)).scan()))
    assert sorted(r["id"] for r in expected) == [0, 2, 5, 6, 7, 8, 10, 11]
    reads_every_way(t, expected)
    reads_every_way(t, records(pa.table(DeltaTable(str(path), version=0).scan())), version=0)
    assert len(t.to_pandas(0)) == 12
    assert loader_rows(t, ["x"], "id") == 8 and loader_rows(t, ["x"], "id", version=0) == 12
    stats = t.profile().table.set_index("column")
    assert stats.loc["id", "count"] == 8 and stats.loc["x", "max"] == 11.0
    assert lake.tables().set_index("name").loc["deleted", "rows"] == 8


# ---------------------------------------------------------------------------------------------
# What cannot be read says so, and never takes the listing down.


def test_reader_features_that_cannot_be_read_are_named(lake):
    root = Path(lake.uri)
    fields = [column("id", "long")]
    one = pa.table({"id": [1]})
    # deltalake loads these logs, but reads no data of them
    for name, feature in (("wide", "typeWidening"), ("v2", "v2Checkpoint"),
                          ("guarded", "vacuumProtocolCheck")):
        commit(root / name, 0, [features(feature), metadata(fields), add(root / name, "", one)])
        t = lake.table(name)
        assert t.history()["version"].tolist() == [0]  # the log itself reads
        for read in (t.to_pandas, t.to_dask, t.head, t.profile,
                     lambda t=t: t.to_torch(["id"], "id", 1)):
            with pytest.raises(UnsupportedFeatureError, match=rf"{name!r}.*'{feature}'"):
                read()
    # nor these logs
    for name, proto in (("madeup", features("madeUpFeature")),
                        ("catalog", features("catalogManaged")),
                        ("future", protocol(4, 7))):
        commit(root / name, 0, [proto, metadata(fields), add(root / name, "", one)])
        with pytest.raises(UnsupportedFeatureError, match=name) as caught:
            lake.table(name)
        assert caught.value.features == {"madeup": ["madeUpFeature"],
                                         "catalog": ["catalogManaged"],
                                         "future": ["reader version 4"]}[name]


def broken_table(root: Path, name: str) -> None:
    """A table whose second commit is not JSON."""
    commit(root / name, 0, [protocol(), metadata([column("id", "long")]),
                            add(root / name, "", pa.table({"id": [1]}))])
    (root / name / "_delta_log" / f"{1:020d}.json").write_text("{this is not a commit\n")


def test_one_broken_table_never_breaks_the_listing(lake):
    from workbench.server.listings import LakeListing
    from workbench.widgets.lake_browser import LakeBrowser
    from workbench.widgets.lake_health import LakeHealth

    root = Path(lake.uri)
    broken_table(root, "a broken")
    commit(root / "b-future", 0, [protocol(4, 7), metadata([column("id", "long")])])
    lake.ingest(pd.DataFrame({"v": [1.0, 2.0]}), "healthy", progress=False)

    with pytest.raises(TableReadError, match="'a broken'.*corrupt"):
        lake.table("a broken")
    tables = lake.tables().set_index("name")
    assert list(tables.index) == ["a broken", "b-future", "healthy"]
    assert tables.loc["healthy", "rows"] == 2 and tables.loc["healthy", "error"] is None
    assert tables.loc["a broken", "error"].startswith("TableReadError: table 'a broken'")
    assert "needs Delta reader feature(s) reader version 4" in tables.loc["b-future", "error"]
    assert tables.loc[["a broken", "b-future"], ["version", "rows", "bytes", "updated"]
                      ].isna().all().all()

    rows = {r["name"]: r for r in LakeListing(lake.uri).rows()}
    assert rows["healthy"]["rows"] == 2 and rows["healthy"]["error"] is None
    assert "corrupt" in rows["a broken"]["error"] and rows["a broken"]["rows"] is None

    browser = LakeBrowser(lake)  # the first table, the broken one, is picked
    assert browser.table is None and "cannot be read" in browser.heading.value
    browser.select("healthy")
    assert browser.table.name == "healthy" and "2 rows" in browser.table_picker.label
    health = LakeHealth(lake)
    assert "3 tables &middot; 2 rows" in health.summary.value
    assert "2 unreadable" in health.summary.value
    assert "corrupt" in health.table_list.value
    assert health.histories["table"].unique().tolist() == ["healthy"]


# ---------------------------------------------------------------------------------------------
# Our own tables, as a reader written from the spec alone reads them.


SPEC_TYPES = {"long": pa.int64(), "integer": pa.int32(), "double": pa.float64(),
              "string": pa.string(), "boolean": pa.bool_(), "date": pa.date32(),
              "timestamp": pa.timestamp("us", tz="UTC"), "timestamp_ntz": pa.timestamp("us")}


def replay(table: Path) -> tuple[dict, dict, list[dict]]:
    """The protocol, metadata and live add actions of a table's latest version: the newest
    checkpoint named by ``_last_checkpoint`` if any, then every later JSON commit in version
    order; an add makes its path live, a remove takes it away."""
    log = table / "_delta_log"
    live: dict[str, dict] = {}
    state: dict[str, dict] = {}
    first = 0
    if (log / "_last_checkpoint").exists():
        version = json.loads((log / "_last_checkpoint").read_text())["version"]
        for part in sorted(log.glob(f"{version:020d}.checkpoint*.parquet")):
            for row in pq.read_table(part).to_pylist():
                if row.get("add"):
                    live[row["add"]["path"]] = {**row["add"], "partitionValues": dict(
                        row["add"]["partitionValues"] or {})}
                for kind in ("protocol", "metaData"):
                    if row.get(kind):
                        state[kind] = row[kind]
        first = version + 1
    commits = sorted(log.glob("*.json"))
    assert [int(p.stem) for p in commits] == list(range(len(commits)))  # no version missing
    for path in commits[first:]:
        for line in path.read_text().splitlines():
            action = json.loads(line)
            assert len(action) == 1, action  # one action per line
            (kind, body), = action.items()
            if kind == "add":
                live[body["path"]] = body
            elif kind == "remove":
                live.pop(body["path"], None)
            elif kind in ("protocol", "metaData"):
                state[kind] = body
    return state["protocol"], state["metaData"], list(live.values())


def read_as_the_spec_says(table: Path) -> tuple[pa.Schema, list[dict]]:
    """The table's schema and rows from `replay`: each live file read with pyarrow, its
    partition columns added from ``partitionValues`` (strings; empty or null is null)."""
    _, meta, adds = replay(table)
    fields = json.loads(meta["schemaString"])["fields"]
    schema = pa.schema([(f["name"], SPEC_TYPES[f["type"]]) for f in fields])
    rows = []
    for a in adds:
        data = pq.read_table(table / urllib.parse.unquote(a["path"]))
        for name in schema.names:  # a column added after the file was written: nulls
            if name not in data.column_names and name not in meta["partitionColumns"]:
                data = data.append_column(name, pa.nulls(data.num_rows, schema.field(name).type))
        for name in meta["partitionColumns"]:
            text = a["partitionValues"][name]
            value = None if text in (None, "") else pa.scalar(text).cast(
                schema.field(name).type)
            data = data.append_column(name, pa.array([value] * data.num_rows,
                                                     schema.field(name).type))
        rows += data.select(schema.names).cast(schema).to_pylist()
    return schema, sorted(rows, key=lambda r: json.dumps(r, sort_keys=True, default=repr))


def check_protocol_and_stats(table: Path) -> int:
    """Every commit of ``table`` is protocol-conform and every live file carries correct
    statistics; returns how many live files were checked."""
    proto, meta, adds = replay(table)
    schema = json.loads(meta["schemaString"])["fields"]
    if any(f["type"] == "timestamp_ntz" for f in schema):
        assert "timestampNtz" in proto.get("readerFeatures", []), proto
    for a in adds:
        assert set(a["partitionValues"]) == set(meta["partitionColumns"])
        assert isinstance(a["modificationTime"], int) and a["dataChange"] is True
        file = table / urllib.parse.unquote(a["path"])
        assert file.stat().st_size == a["size"]
        stats = json.loads(a["stats"])
        data = pq.read_table(file)
        assert stats["numRecords"] == data.num_rows
        for name in data.column_names:
            col = data.column(name)
            assert stats["nullCount"][name] == col.null_count, (a["path"], name)
            if name not in stats["minValues"]:
                continue
            lo, hi = pc.min_max(col).values()
            low, high = stats["minValues"][name], stats["maxValues"][name]
            if pa.types.is_timestamp(col.type) or pa.types.is_date(col.type):
                as_text = pa.scalar(low).cast(col.type), pa.scalar(high).cast(col.type)
                assert as_text == (lo, hi), (name, low, high)
            else:
                assert (low, high) == (lo.as_py(), hi.as_py()), (name, low, high)
    return len(adds)


def test_our_tables_read_the_same_with_a_reader_written_from_the_spec(lake, tmp_path):
    (tmp_path / "a.csv").write_text(
        "id,region,score,seen\n1,north east,1.5,2024-01-01\n2,50% off,-2,2024-01-02\n"
        "3,north east,,2024-01-03\n4,,7.25,2024-01-04\n")
    lake.ingest(tmp_path / "a.csv", "sales", partition_by=["region"], progress=False)
    frame = pd.DataFrame({"id": [5, 6], "region": ["k=v/é", "north east"],
                          "score": [float("nan"), 3.0], "seen": pd.to_datetime(
                              ["2024-02-01", "2024-02-02"]).date})
    lake.ingest(frame, "sales", progress=False)  # an append
    events = pd.DataFrame({
        "n": [1, 2, 3, 4], "flag": [True, False, True, None],
        "at": pd.to_datetime(["2024-01-01 12:30:00.5", "2024-01-01 00:00:00",
                              "2024-03-01 08:00:00", "2024-03-01 08:00:00"], utc=True,
                             format="ISO8601"),
        "local": pd.to_datetime(["2024-01-01 12:30", "1999-12-31 23:59:59.999999",
                                 "2024-03-01 08:00", None], format="ISO8601"),
        "text": ["a", "b", None, "d" * 40],
    })
    lake.ingest(events, "events", partition_by=["flag", "at"], progress=False)
    lake.ingest(events.iloc[:2], "events", mode="overwrite", progress=False)
    lake.record("_bench", pd.DataFrame({"engine": ["eager"], "ms": [1.25]}))
    lake.record("_bench", pd.DataFrame({"engine": ["onnx"], "ms": [0.5], "batch": [8]}))

    checked = 0
    for name, rows in (("sales", 6), ("events", 2), ("_bench", 2)):
        schema, expected = read_as_the_spec_says(Path(lake.uri) / name)
        ours = lake.table(name).to_arrow()
        assert ours.schema.names == schema.names
        assert records(ours.cast(schema)) == expected and len(expected) == rows, name
        checked += check_protocol_and_stats(Path(lake.uri) / name)
    assert checked >= 6  # sales: 3 regions + 2; events: 2 partitions; _bench: 2

    # The NaN score and the 40-character text have no bounds; the others do, and deltalake
    # reads them as the same values (its own parsing of our statistics).
    adds = pa.table(DeltaTable(str(Path(lake.uri) / "sales")).get_add_actions(flatten=True))
    assert sorted(zip(adds["min.id"].to_pylist(), adds["max.id"].to_pylist())) == [
        (1, 3), (2, 2), (4, 4), (5, 5), (6, 6)]
    events_adds = pa.table(DeltaTable(str(Path(lake.uri) / "events")).get_add_actions(
        flatten=True)).to_pylist()
    assert sorted(a["min.local"] for a in events_adds) == [
        dt.datetime(1999, 12, 31, 23, 59, 59, 999999), dt.datetime(2024, 1, 1, 12, 30)]
    assert {a["partition.flag"] for a in events_adds} == {True, False}
    assert sorted(a["partition.at"] for a in events_adds) == [
        dt.datetime(2024, 1, 1, tzinfo=UTC), dt.datetime(2024, 1, 1, 12, 30, 0, 500000,
                                                          tzinfo=UTC)]


def test_statistics_leave_out_what_json_cannot_hold_exactly(tmp_path):
    from workbench.lake.files import write_files

    data = pa.table({
        "f": [1.0, float("inf")], "g": [1.0, float("nan")], "ok": [0.5, -1.0],
        "dec": pa.array([Decimal("1.25"), Decimal("2.5")], pa.decimal128(10, 2)),
        "odd": pa.array([Decimal("0.10"), Decimal("0.20")], pa.decimal128(10, 2)),
        "s": pa.array([{"a": 1}, {"a": 2}]), "after": [7, 9],
    })
    (a,) = write_files(data, str(tmp_path / "t"), (), "part")
    stats = json.loads(a["stats"])  # strict JSON: no NaN or Infinity
    assert stats["numRecords"] == 2
    assert stats["minValues"] == {"ok": -1.0, "dec": 1.25, "after": 7}
    assert stats["maxValues"] == {"ok": 0.5, "dec": 2.5, "after": 9}
    assert stats["nullCount"]["after"] == 0 and "s" not in stats["nullCount"]
    assert np.isclose(stats["maxValues"]["ok"], 0.5)


# ---------------------------------------------------------------------------------------------
# The server: table names in URLs, and POST ingest into a foreign table.


@pytest.fixture
def jp_server_config(tmp_path):
    from traitlets.config import Config

    return Config({"ServerApp": {"jpserver_extensions": {"workbench.server": True}},
                   "WorkbenchServer": {"lakes": {"default": str(tmp_path / "lake")},
                                       "listing_fresh": 0.0}})


@pytest.fixture
def server(jp_serverapp, http_server_client, jp_asyncio_loop, jp_base_url):
    """``server(method, path, body=None) -> (status, JSON)`` against the extension's API,
    with the server's token; its state closed after the test."""
    token = jp_serverapp.identity_provider.token

    def call(method: str, path: str, body=None):
        response = jp_asyncio_loop.run_until_complete(http_server_client.fetch(
            f"{jp_base_url}workbench/api/{path}", method=method, raise_error=False,
            headers={"Authorization": f"token {token}"}, request_timeout=60,
            body=None if body is None and method == "GET" else json.dumps(body or {})))
        return response.code, json.loads(response.body)

    yield call
    jp_serverapp.web_app.settings["workbench"].close()


def wait(server, task_id: str) -> dict:
    deadline = time.monotonic() + 60
    while True:
        code, task = server("GET", f"tasks/{task_id}")
        if task["state"] in ("done", "failed") or time.monotonic() > deadline:
            return task
        time.sleep(0.1)


def test_the_server_takes_any_table_name_url_encoded(server, lake, registered, jp_root_dir):
    root = Path(lake.uri)
    for name in ("x y", "events.v2", "sales-2024"):
        write_deltalake(str(root / name), pa.table({"id": [1, 2], "v": [0.5, 1.5]}))
    broken_table(root, "a broken")

    code, listing = server("GET", "tables")
    rows = {t["name"]: t for t in listing["lakes"][0]["tables"]}
    assert code == 200 and sorted(rows) == ["a broken", "events.v2", "sales-2024", "x y"]
    assert rows["x y"]["rows"] == 2 and rows["x y"]["error"] is None
    assert "corrupt" in rows["a broken"]["error"]

    for name in ("x y", "events.v2"):
        code, detail = server("GET", f"tables/{urllib.parse.quote(name, safe='')}?rows=1")
        assert code == 200 and detail["name"] == name and detail["preview"]["rows"] == [[1, 0.5]]
    code, answer = server("GET", "tables/a%2Fb")
    assert code == 400 and "not a valid table name" in answer["message"]
    code, answer = server("GET", f"tables/{urllib.parse.quote('a broken')}")
    assert code == 400 and "'a broken'" in answer["message"]

    code, answer = server("POST", "tables/x%20y/profile")
    assert code == 202 and wait(server, answer["task"])["state"] == "done"
    assert lake.table("x y").stored_profile().rows == 2

    (jp_root_dir / "more.csv").write_text("id,v\n3,2.5\n4,oops\n")
    code, answer = server("POST", "tables", {"paths": ["more.csv"], "table": "sales-2024"})
    assert code == 202, answer
    task = wait(server, answer["task"])
    assert task["state"] == "done", task
    assert task["result"]["version"] == 1 and task["result"]["rows_quarantined"] == 1
    assert sorted(lake.table("sales-2024").to_pandas()["id"]) == [1, 2, 3]


def test_appends_honour_what_a_foreign_protocol_asks_of_writers(lake):
    """Column mapping (files under physical names) and CHECK constraints are refused before a
    file is written; deletion vectors need nothing of an append or an overwrite."""
    root = Path(lake.uri)
    row = pd.DataFrame({"id": [5]})
    commit(root / "mapped", 0, [
        features("columnMapping"),
        metadata([mapped("id", "long", 1, "col-id")], [],
                 {"delta.columnMapping.mode": "name", "delta.columnMapping.maxColumnId": "1"}),
        add(root / "mapped", "", pa.table({"col-id": [1]}))])
    commit(root / "checked", 0, [protocol(1, 3), metadata([column("id", "long")], [],
                                                          {"delta.constraints.pos": "id > 0"})])
    for name, asks in (("mapped", "columnMapping (mode 'name')"),
                       ("checked", "checkConstraints")):
        before = sorted(p.name for p in (root / name).iterdir())
        with pytest.raises(UnsupportedFeatureError,
                           match=rf"'{name}'.*writer.*{re.escape(asks)}"):
            lake.ingest(row, name, progress=False)
        with pytest.raises(UnsupportedFeatureError,
                           match=rf"'{name}'.*writer.*{re.escape(asks)}"):
            lake.record(name, row)
        assert sorted(p.name for p in (root / name).iterdir()) == before  # nothing written
        assert lake.table(name).version == 0

    commit(root / "dv", 0, [features("deletionVectors"), metadata([column("id", "long")]),
                            add(root / "dv", "", pa.table({"id": [1, 2]}),
                                deletion_vector=deletion_vector([0]))])
    lake.ingest(row, "dv", progress=False)
    assert records(lake.table("dv").to_pandas()) == records(
        pa.table(DeltaTable(str(root / "dv")).scan())) == [{"id": 2}, {"id": 5}]
    lake.ingest(pd.DataFrame({"id": [7]}), "dv", mode="overwrite", progress=False)
    assert records(pa.table(DeltaTable(str(root / "dv")).scan())) == [{"id": 7}]
    assert records(lake.table("dv").to_pandas()) == [{"id": 7}]
