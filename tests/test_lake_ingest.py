"""Ingest into real Delta tables on a real Dask LocalCluster: row accounting, types,
quarantine, dedup, schema rules, sources and versions."""

from __future__ import annotations

import dask.dataframe as dd
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from workbench.lake import LakeError, SchemaError


def good_csv_rows(start: int, n: int) -> list[str]:
    return [f"{i},name{i},{i / 2}" for i in range(start, start + n)]


def test_csv_and_jsonl_rows_are_written_or_quarantined_with_file_and_line(lake, tmp_path):
    lines = ["id,name,score", *good_csv_rows(1, 10),
             "11,bad-score,x",        # line 12: wrong type in one column
             "12,too,many,fields",    # line 13: ragged
             "",                      # line 14: blank, not a row
             *good_csv_rows(14, 3),   # lines 15-17
             '13,"unclosed,1.0']      # line 18: a quote never closed (RFC 4180: the field
    #                                   would run on to the end of the file, so it goes last)
    (tmp_path / "a.csv").write_text("\n".join(lines) + "\n")
    records = [f'{{"id": {i}, "name": "j{i}", "score": {i}.25}}' for i in range(100, 110)]
    records[3] = "{not json"                                         # line 4
    records[5] = "[1, 2, 3]"                                         # line 6
    records[7] = '{"id": "seven", "name": "x", "score": 1.0}'        # line 8
    (tmp_path / "b.jsonl").write_text("\n".join(records) + "\n")

    report = lake.ingest([tmp_path / "a.csv", tmp_path / "b.jsonl"], "people")

    assert (report.rows_in, report.rows_written, report.rows_quarantined) == (26, 20, 6)
    assert report.rows_in == report.rows_written + report.rows_quarantined + \
        report.duplicates_dropped
    t = lake.table("people")
    assert t.schema.field("id").type == pa.int64()
    assert t.schema.field("score").type == pa.float64()
    ids = sorted(t.to_pandas()["id"])
    assert ids == [*range(1, 11), 14, 15, 16, *[i for i in range(100, 110) if i not in
                                               (103, 105, 107)]]
    q = t.quarantine()
    where = sorted((r.source.rsplit("/", 1)[-1], r.line) for r in q.itertuples())
    assert where == [("a.csv", 12), ("a.csv", 13), ("a.csv", 18), ("b.jsonl", 4),
                     ("b.jsonl", 6), ("b.jsonl", 8)]
    by_line = {(r.source.rsplit("/", 1)[-1], r.line): r for r in q.itertuples()}
    assert by_line[("a.csv", 12)].column == "score"
    assert by_line[("a.csv", 12)].raw == "11,bad-score,x"
    assert "expected 3 fields, got 4" in by_line[("a.csv", 13)].reason
    assert by_line[("b.jsonl", 4)].reason.startswith("malformed JSON")
    assert by_line[("b.jsonl", 8)].column == "id"


def test_type_mismatch_rejects_rows_not_the_batch_on_later_ingests(lake, tmp_path):
    (tmp_path / "v0.csv").write_text("id,amount\n1,10\n2,20\n")
    lake.ingest(tmp_path / "v0.csv", "pay")
    (tmp_path / "v1.csv").write_text("id,amount\n3,30\nfour,40\n5,lots\n6,60\n")
    report = lake.ingest(tmp_path / "v1.csv", "pay")
    assert (report.rows_written, report.rows_quarantined) == (2, 2)
    assert sorted(lake.table("pay").to_pandas()["id"]) == [1, 2, 3, 6]
    reasons = set(lake.table("pay").quarantine()["column"])
    assert reasons == {"id", "amount"}


def test_new_columns_need_schema_merge(lake, tmp_path):
    (tmp_path / "v0.csv").write_text("id,a\n1,x\n")
    lake.ingest(tmp_path / "v0.csv", "t")
    (tmp_path / "v1.csv").write_text("id,a,b\n2,y,2.5\n")
    with pytest.raises(SchemaError, match=r"new column\(s\) \['b'\].*schema_mode='merge'"):
        lake.ingest(tmp_path / "v1.csv", "t")
    assert lake.table("t").version == 0
    report = lake.ingest(tmp_path / "v1.csv", "t", schema_mode="merge")
    df = lake.table("t").to_pandas().sort_values("id")
    assert list(df.columns) == ["id", "a", "b"]
    assert df["b"].isna().tolist() == [True, False]
    assert lake.table("t").schema.field("b").type == pa.float64()
    assert report.rows_written == 1


def test_schema_pins_types_on_first_ingest(lake, tmp_path):
    (tmp_path / "a.csv").write_text("zip,n\n01234,1\n98765,2\n")
    lake.ingest(tmp_path / "a.csv", "zips", schema={"zip": "string", "n": "int32"})
    t = lake.table("zips")
    assert t.schema.field("zip").type == pa.string()
    assert t.schema.field("n").type == pa.int32()
    assert sorted(t.to_pandas()["zip"]) == ["01234", "98765"]


def test_dedup_within_batch_and_against_table(lake, tmp_path):
    (tmp_path / "a.csv").write_text("event_id,v\n1,a\n2,b\n1,c\n3,d\n")
    r0 = lake.ingest(tmp_path / "a.csv", "ev", dedup=["event_id"])
    assert (r0.rows_in, r0.rows_written, r0.duplicates_dropped) == (4, 3, 1)
    assert sorted(lake.table("ev").to_pandas()["v"]) == ["a", "b", "d"]  # first one wins
    (tmp_path / "b.csv").write_text("event_id,v\n3,e\n4,f\n4,g\n5,h\n")
    r1 = lake.ingest(tmp_path / "b.csv", "ev", dedup=["event_id"])
    assert (r1.rows_written, r1.duplicates_dropped) == (2, 2)
    assert sorted(lake.table("ev").to_pandas()["event_id"]) == [1, 2, 3, 4, 5]
    r2 = lake.ingest(tmp_path / "b.csv", "ev", dedup=["event_id"], mode="overwrite")
    assert (r2.rows_written, r2.duplicates_dropped) == (3, 1)  # the old rows are replaced
    assert sorted(lake.table("ev").to_pandas()["event_id"]) == [3, 4, 5]


def test_dedup_on_one_integer_or_time_column_is_exact_and_nulls_are_one_key(lake, tmp_path,
                                                                           monkeypatch):
    """One integer or time column is its own key: ids that differ only beyond float64's 2**53,
    0, negative ids and int64's ends each dedup right within a piece, across pieces and against
    the table, and the empty field (null) is one key, as SQL's DISTINCT has it."""
    import workbench.lake.sources as sources

    monkeypatch.setattr(sources, "BLOCK_SIZE", 64)  # many pieces: duplicates span pieces
    big = 2**62
    first = [0, -1, big, big + 1, "", 0, big + 1, "", -1, 7, -(2**63), 2**63 - 1, 2**63 - 1]
    second = ["", big, 8, big + 2, 8, -(2**63)]

    def write(name, ids):
        rows = [f"{v},2024-01-0{1 + i % 3}T00:00:00,{name}{i}" for i, v in enumerate(ids)]
        (tmp_path / f"{name}.csv").write_text("id,ts,v\n" + "\n".join(rows) + "\n")

    write("a", first)
    write("b", second)
    r0 = lake.ingest(tmp_path / "a.csv", "ids", dedup=["id"])
    assert lake.table("ids").schema.field("id").type == pa.int64()
    kept = list(dict.fromkeys(str(v) for v in first))  # first occurrences, in order
    assert (r0.rows_written, r0.duplicates_dropped) == (len(kept), len(first) - len(kept))
    r1 = lake.ingest(tmp_path / "b.csv", "ids", dedup=["id"])
    assert (r1.rows_written, r1.duplicates_dropped) == (2, 4)  # 8 and big + 2
    df = lake.table("ids").to_pandas()
    assert sorted(df["v"]) == sorted([f"a{first.index(int(k) if k else k)}" for k in kept]
                                     + ["b2", "b3"])
    assert df["id"].isna().sum() == 1
    r2 = lake.ingest(tmp_path / "a.csv", "times", dedup=["ts"])
    assert lake.table("times").schema.field("ts").type == pa.timestamp("us")
    assert (r2.rows_written, r2.duplicates_dropped) == (3, len(first) - 3)
    assert sorted(lake.table("times").to_pandas()["v"]) == ["a0", "a1", "a2"]


def test_dedup_on_several_columns_across_pieces(lake, tmp_path, monkeypatch):
    import workbench.lake.sources as sources

    monkeypatch.setattr(sources, "BLOCK_SIZE", 64)  # many pieces: duplicates span pieces
    rows = [f"{i % 7},{i % 3},{i}" for i in range(60)]
    (tmp_path / "a.csv").write_text("a,b,i\n" + "\n".join(rows) + "\n")
    report = lake.ingest(tmp_path / "a.csv", "pairs", dedup=["a", "b"])
    df = lake.table("pairs").to_pandas()
    expected = pd.DataFrame([r.split(",") for r in rows], columns=["a", "b", "i"]).astype(int)
    expected = expected.drop_duplicates(["a", "b"])
    assert report.rows_written == len(expected) == 21
    assert sorted(df["i"]) == sorted(expected["i"])


def test_large_file_is_split_into_pieces_with_exact_line_numbers(lake, tmp_path, monkeypatch):
    import workbench.lake.sources as sources

    monkeypatch.setattr(sources, "BLOCK_SIZE", 2000)
    lines = ["id,v"] + [f"{i},{i}" if i % 170 else f"{i},bad" for i in range(1, 2000)]
    (tmp_path / "a.csv").write_text("\n".join(lines) + "\n")
    report = lake.ingest(tmp_path / "a.csv", "split")
    assert report.rows_in == 1999 and report.rows_quarantined == 11
    q = lake.table("split").quarantine()
    assert sorted(q["line"]) == [i + 1 for i in range(1, 2000) if i % 170 == 0]
    assert all(raw == f"{line - 1},bad" for raw, line in zip(q["raw"], q["line"]))


def test_pandas_dask_and_parquet_sources(lake, tmp_path):
    df = pd.DataFrame({"k": range(10), "x": [float(i) for i in range(10)]})
    assert lake.ingest(df, "frames").rows_written == 10
    assert lake.ingest(dd.from_pandas(df.assign(k=df.k + 10), npartitions=3),
                       "frames").rows_written == 10
    pq.write_table(pa.Table.from_pandas(df.assign(k=df.k + 20), preserve_index=False),
                   tmp_path / "p.parquet", row_group_size=4)
    report = lake.ingest(tmp_path / "p.parquet", "frames")
    assert report.rows_written == 10 and report.files_written == 3
    assert sorted(lake.table("frames").to_pandas()["k"]) == list(range(30))


def test_frame_values_that_do_not_fit_are_quarantined(lake):
    lake.ingest(pd.DataFrame({"k": [1, 2]}), "typed")
    report = lake.ingest(pd.DataFrame({"k": ["3", "four"]}), "typed")
    assert (report.rows_written, report.rows_quarantined) == (1, 1)
    q = lake.table("typed").quarantine()
    assert q["raw"].tolist() == ['{"k": "four"}'] and q["column"].tolist() == ["k"]


def test_versions_time_travel_and_history(lake, tmp_path):
    (tmp_path / "a.csv").write_text("id\n1\n2\n")
    (tmp_path / "b.csv").write_text("id\n3\n")
    lake.ingest(tmp_path / "a.csv", "tt")
    lake.ingest(tmp_path / "b.csv", "tt")
    t = lake.table("tt")
    assert t.version == 1
    assert sorted(t.to_pandas(version=0)["id"]) == [1, 2]
    assert sorted(t.to_pandas()["id"]) == [1, 2, 3]
    assert sorted(t.to_dask(version=0).compute()["id"]) == [1, 2]
    h = t.history()
    assert h["version"].tolist() == [1, 0]
    assert h["rows_written"].tolist() == [1, 2]
    with pytest.raises(ValueError, match="versions 0..1"):
        t.to_pandas(version=7)
    lake.ingest(tmp_path / "b.csv", "tt", mode="overwrite")
    assert sorted(t.to_pandas()["id"]) == [3]
    assert sorted(t.to_pandas(version=1)["id"]) == [1, 2, 3]


def test_partitioned_table_and_compaction(lake, tmp_path):
    rows = [f"{i},{'ab'[i % 2]},{i * 1.0}" for i in range(20)]
    (tmp_path / "a.csv").write_text("id,part,x\n" + "\n".join(rows) + "\n")
    lake.ingest(tmp_path / "a.csv", "parts", partition_by=["part"])
    lake.ingest(tmp_path / "a.csv", "parts")
    t = lake.table("parts")
    assert t.partition_by == ["part"]
    files_before = len(t.files())
    assert files_before == 4
    df = t.to_pandas()
    assert len(df) == 40 and set(df["part"]) == {"a", "b"}
    assert t.to_dask().compute().groupby("part").size().to_dict() == {"a": 20, "b": 20}
    t.compact()
    assert len(t.files()) == 2
    assert len(t.to_pandas()) == 40
    assert t.version == 2


def test_tables_lists_rows_bytes_and_quarantine(lake, tmp_path):
    (tmp_path / "a.csv").write_text("id,v\n1,2\n2,x\n3,4\n4,5\n5,6\n6,7\n")
    lake.ingest(tmp_path / "a.csv", "alpha")
    lake.ingest(pd.DataFrame({"z": [1.0]}), "beta")
    tables = lake.tables().set_index("name")
    assert list(tables.index) == ["alpha", "beta"]
    assert tables.loc["alpha", "rows"] == 5 and tables.loc["alpha", "quarantined"] == 1
    assert tables.loc["beta", "columns"] == 1 and tables.loc["beta", "bytes"] > 0
    assert "alpha" in lake and "gamma" not in lake


def test_mixed_formats_in_one_glob(lake, tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "a.csv").write_text("id,v\n1,x\n")
    (tmp_path / "d" / "b.jsonl").write_text('{"id": 2, "v": "y"}\n')
    pq.write_table(pa.table({"id": [3], "v": ["z"]}), tmp_path / "d" / "c.parquet")
    report = lake.ingest(str(tmp_path / "d" / "*"), "mixed")
    assert report.rows_written == 3
    assert sorted(lake.table("mixed").to_pandas()["v"]) == ["x", "y", "z"]


def test_bad_arguments_are_named(lake, tmp_path):
    (tmp_path / "a.csv").write_text("id\n1\n")
    with pytest.raises(LakeError, match="mode='upsert'"):
        lake.ingest(tmp_path / "a.csv", "x", mode="upsert")
    with pytest.raises(SchemaError, match=r"dedup names column\(s\) \['nope'\]"):
        lake.ingest(tmp_path / "a.csv", "x", dedup=["nope"])
    with pytest.raises(LakeError, match="reserved"):
        lake.ingest(tmp_path / "a.csv", "x__quarantine")
    assert "x" not in lake


def test_json_lines_with_broken_lines_keep_their_time_column(lake, tmp_path):
    records = [f'{{"id": {i}, "ts": "2026-11-0{1 + i % 9}T10:00:00"}}' for i in range(20)]
    records[4] = '{"id": 4, "ts": "not-a-time"}'
    records[9] = '{"id": 9, "ts": '
    (tmp_path / "a.jsonl").write_text("\n".join(records) + "\n")
    report = lake.ingest(tmp_path / "a.jsonl", "times")
    assert lake.table("times").schema.field("ts").type == pa.timestamp("us")
    assert (report.rows_written, report.rows_quarantined) == (18, 2)


def test_vacuum_removes_files_no_version_needs(lake, tmp_path):
    (tmp_path / "a.csv").write_text("id\n1\n2\n")
    lake.ingest(tmp_path / "a.csv", "vac")
    lake.ingest(tmp_path / "a.csv", "vac", mode="overwrite")
    t = lake.table("vac")
    assert sorted(t.to_pandas(version=0)["id"]) == [1, 2]
    assert t.vacuum(dry_run=True) == []  # within the default 7-day retention: nothing goes
    removed = t.vacuum(retention_hours=0)
    assert len(removed) == 1 and removed[0].endswith(".parquet")
    assert sorted(t.to_pandas()["id"]) == [1, 2]
    with pytest.raises(OSError):
        t.to_pandas(version=0)  # its file is gone: old versions last until vacuumed


def test_progress_bar_only_for_ingests_longer_than_a_second(lake, tmp_path, monkeypatch, capsys):
    import workbench.lake.sources as sources

    (tmp_path / "small.csv").write_text("id\n1\n")
    lake.ingest(tmp_path / "small.csv", "quick")
    assert "ingest quick" not in capsys.readouterr().err
    monkeypatch.setattr(sources, "BLOCK_SIZE", 64)  # hundreds of pieces: well over a second
    (tmp_path / "big.csv").write_text("id\n" + "".join(f"{i}\n" for i in range(10_000)))
    lake.ingest(tmp_path / "big.csv", "slow")
    err = capsys.readouterr().err
    assert "ingest slow" in err and "piece" in err


def test_heads_of_several_files_are_read_by_the_running_cluster(lake, tmp_path, dask_cluster):
    """With a cluster running, the workers infer the files' heads: what each head says (its
    delimiter, header, types) comes back from them, and a bad file is still named."""
    from workbench.lake.errors import SourceError
    from workbench.lake.sources import expand, infer_files

    (tmp_path / "a.csv").write_text("id,zip,when\n1,08123,2024-01-02\n2,10115,2024-01-03\n")
    (tmp_path / "b.csv").write_text("id;zip;when\n3;75001;2024-02-01\n")
    files, schema = infer_files(expand([tmp_path / "a.csv", tmp_path / "b.csv"]),
                                dask_cluster.client)
    assert [f.delimiter for f in files] == [",", ";"]
    assert [f.header for f in files] == [["id", "zip", "when"]] * 2
    assert schema.field("zip").type == pa.string() and schema.field("id").type == pa.int64()
    report = lake.ingest([tmp_path / "a.csv", tmp_path / "b.csv"], "places")
    assert (report.rows_in, report.rows_written) == (3, 3)
    assert sorted(lake.table("places").to_pandas()["zip"]) == ["08123", "10115", "75001"]

    (tmp_path / "c.csv").write_text("1,2,3\n4,5,6\n")  # no header row
    with pytest.raises(SourceError, match=r"c\.csv: header row looks like data"):
        lake.ingest([tmp_path / "a.csv", tmp_path / "c.csv"], "places")
