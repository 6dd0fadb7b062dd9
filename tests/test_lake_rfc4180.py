"""CSV and JSON lines read exactly as their specifications write them (RFC 4180, RFC 8259 and
JSON Lines): every value round-trips, whatever the quoting, line ends or piece boundaries."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import workbench as wb
from workbench.lake import SourceError

settings_ = settings(max_examples=25, deadline=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture,
                                            HealthCheck.too_slow])


def arrow(table) -> pa.Table:
    """What deltalake itself reads from the table: an independent reader's view."""
    from deltalake import DeltaTable

    return DeltaTable(table.uri).to_pyarrow_table()


def rfc4180(rows: list[list[str | None]], eol: str = "\r\n", final: bool = True,
            quote_all: bool = False) -> str:
    """CSV as RFC 4180 section 2 writes it; None is an empty unquoted field, "" a quoted one."""
    def field(v: str | None) -> str:
        if v is None:
            return ""
        if quote_all or v == "" or any(c in v for c in ',"\r\n'):
            return '"' + v.replace('"', '""') + '"'
        return v
    text = eol.join(",".join(field(v) for v in row) for row in rows)
    return text + (eol if final else "")


def test_the_rfc_4180_examples(lake, tmp_path):
    # Section 2, rules 1-7: CRLF ends, no final break, a header, quoted fields holding commas,
    # CRLF and doubled quotes.
    text = ('field_name,field_name2,field_name3\r\n'
            'aaa,bbb,ccc\r\n'
            '"aaa","b\r\nbb","ccc"\r\n'
            '"aaa","b""bb","ccc"\r\n'
            'zzz,"y,y",xxx')
    (tmp_path / "rfc.csv").write_bytes(text.encode())
    report = lake.ingest(tmp_path / "rfc.csv", "rfc")
    assert (report.rows_in, report.rows_written, report.rows_quarantined) == (4, 4, 0)
    df = lake.table("rfc").to_pandas()
    assert df.values.tolist() == [["aaa", "bbb", "ccc"], ["aaa", "b\r\nbb", "ccc"],
                                  ["aaa", 'b"bb', "ccc"], ["zzz", "y,y", "xxx"]]
    assert report.schema == pa.schema([(f, pa.string()) for f in
                                       ("field_name", "field_name2", "field_name3")])


def test_quoted_line_breaks_in_the_first_rows_keep_the_header(lake, tmp_path):
    rows = [["id", "address"], ["1", "1 Main St\nSpringfield"], ["2", "2 Side St\r\nShelbyville"],
            ["3", "plain"]]
    (tmp_path / "a.csv").write_bytes(rfc4180(rows, eol="\n").encode())
    report = lake.ingest(tmp_path / "a.csv", "addresses")
    assert (report.rows_in, report.rows_written) == (3, 3)
    df = lake.table("addresses").to_pandas().sort_values("id")
    assert df["address"].tolist() == [r[1] for r in rows[1:]]


def test_empty_fields_bom_and_whitespace(lake, tmp_path):
    text = '\ufeffname,note,n\n a ,"",1\nb,,\n" c","  ",3\n'
    (tmp_path / "a.csv").write_bytes(text.encode())
    lake.ingest(tmp_path / "a.csv", "t")
    t = lake.table("t")
    assert t.schema.names == ["name", "note", "n"]  # no BOM in the first name
    got = arrow(t).sort_by("name").to_pylist()
    assert got == [{"name": " a ", "note": "", "n": 1}, {"name": " c", "note": "  ", "n": 3},
                   {"name": "b", "note": None, "n": None}]


def test_a_bad_record_after_a_multiline_one_is_reported_at_its_physical_line(lake, tmp_path):
    text = 'id,v\n1,"a\nb\nc"\n2,x,extra\n3,"d\r\ne"\nfour,y\n'
    (tmp_path / "a.csv").write_bytes(text.encode())
    report = lake.ingest(tmp_path / "a.csv", "t", schema={"id": "int64", "v": "string"})
    assert (report.rows_in, report.rows_written, report.rows_quarantined) == (4, 2, 2)
    q = lake.table("t").quarantine().sort_values("line")
    assert q["line"].tolist() == [5, 8]
    assert q["raw"].tolist() == ["2,x,extra", "four,y"]
    assert [c if isinstance(c, str) else None for c in q["column"]] == [None, "id"]


values = st.one_of(st.none(), st.text(st.sampled_from('ab ,"\r\n\u00e9\u4e2d\t;'), max_size=8))


@settings_
@given(rows=st.lists(st.lists(values, min_size=3, max_size=3), min_size=1, max_size=25),
       eol=st.sampled_from(["\r\n", "\n"]), final=st.booleans(), quote_all=st.booleans(),
       bom=st.booleans(), block=st.integers(8, 400))
def test_every_value_round_trips_whatever_the_quoting_and_the_pieces(
        dask_cluster, tmp_path_factory, monkeypatch, rows, eol, final, quote_all, bom, block):
    """Any text (quotes, delimiters, CR, LF, CRLF, non-ASCII) in any column, cut into pieces
    at any byte: the table holds exactly the values, quoted empty as "" and unquoted as null."""
    import workbench.lake.sources as sources

    monkeypatch.setattr(sources, "BLOCK_SIZE", block)
    # A record of one null field would be a blank line, which is no record at all.
    rows = [r if any(v is not None for v in r) else ["", *r[1:]] for r in rows]
    text = rfc4180([["a", "b", "c"], *rows], eol, final or not rows, quote_all)
    tmp = tmp_path_factory.mktemp("rt")
    (tmp / "in.csv").write_bytes(("\ufeff" if bom else "").encode() + text.encode())
    lake = wb.Lake(tmp / "lake")
    report = lake.ingest(tmp / "in.csv", "t", schema={c: "string" for c in "abc"},
                         progress=False)
    assert (report.rows_in, report.rows_written, report.rows_quarantined) == (len(rows),) * 2 \
        + (0,)
    got = arrow(lake.table("t")).to_pylist()
    assert sorted(map(repr, ([r["a"], r["b"], r["c"]] for r in got))) == sorted(map(repr, rows))


@settings(max_examples=200, deadline=None)
@given(rows=st.lists(st.lists(values, min_size=2, max_size=2), max_size=12),
       block=st.integers(1, 60), eol=st.sampled_from(["\r\n", "\n"]))
def test_pieces_hold_whole_records_exactly_once(tmp_path_factory, rows, block, eol):
    """Cut at any block size, the quote-aware pieces tile the file, each beginning at a
    record boundary: parsing them one by one gives the file's records."""
    import pyarrow.fs as pafs

    from workbench.lake.parse import read_range
    from workbench.lake.sources import SourceFile, _odd_starts

    data = rfc4180(rows, eol).encode()
    path = tmp_path_factory.mktemp("split") / "f.csv"
    path.write_bytes(data)
    src = SourceFile(str(path), "csv", len(data), pafs.LocalFileSystem())
    starts = list(range(0, len(data), block)) or [0]
    odd = _odd_starts(src, starts, None)
    pieces = [read_range(src, s, min(s + block, len(data)), odd[i], odd[i + 1])
              for i, s in enumerate(starts)]
    assert b"".join(p[0].to_pybytes() for p in pieces) == data

    def parse(b: bytes) -> list[list[str]]:
        return [r for r in csv.reader(io.StringIO(b.decode(), newline="")) if r]
    assert [r for p in pieces for r in parse(p[0].to_pybytes())] == parse(data)


@pytest.mark.parametrize("column, values, expected", [
    ("zip", ["08123", "10001", "00501"], pa.string()),
    ("phone", ["+4420", "+331", "+1"], pa.string()),
    ("code", ["007", "7", "70"], pa.string()),
    ("big", ["123456789012345678901", "1"], pa.decimal128(38, 0)),
    ("huge", ["1" * 40, "2"], pa.string()),
    ("precise", ["0.1000000000000000055511", "1.5"], pa.decimal128(38, 22)),
    ("id", ["0", "-0", "12", "-7"], pa.int64()),
    ("x", ["0.5", "-0.25", "3"], pa.float64()),
])
def test_inferred_types_never_change_a_value(lake, tmp_path, column, values, expected):
    (tmp_path / "a.csv").write_text(f"{column}\n" + "\n".join(values) + "\n")
    report = lake.ingest(tmp_path / "a.csv", column)
    assert report.schema.field(column).type == expected
    got = arrow(lake.table(column))[column].to_pylist()
    if pa.types.is_string(expected):
        assert got == values
    elif pa.types.is_decimal(expected):
        assert got == [Decimal(v) for v in values]
    else:
        assert [float(v) for v in got] == [float(v) for v in values]


def test_a_leading_zero_beyond_the_sample_is_quarantined_naming_the_column(lake, tmp_path,
                                                                           monkeypatch):
    import workbench.lake.sources as sources

    monkeypatch.setattr(sources, "HEAD_BYTES", 64)
    monkeypatch.setattr(sources, "BLOCK_SIZE", 200)
    lines = [f"{i},{10000 + i}" for i in range(100)] + ["100,08123", "101,+5"]
    (tmp_path / "a.csv").write_text("id,zip\n" + "\n".join(lines) + "\n")
    report = lake.ingest(tmp_path / "a.csv", "t")
    assert report.schema.field("zip").type == pa.int64()
    assert (report.rows_written, report.rows_quarantined) == (100, 2)
    q = lake.table("t").quarantine().sort_values("line")
    assert q["line"].tolist() == [102, 103] and set(q["column"]) == {"zip"}
    assert "'08123' would lose its text" in q["reason"].iloc[0]
    # A declared type is the user's choice: it converts.
    report = lake.ingest(tmp_path / "a.csv", "declared", schema={"id": "int64", "zip": "int64"})
    assert report.rows_quarantined == 0


def test_quarantined_bytes_keep_pii_pseudonymised(lake, tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_PII_KEY", "k" * 32)
    body = b"id,email,city\n" + b"".join(b"%d,u%d@x.org,Paris\n" % (i, i) for i in range(20))
    body += b"20,secret@x.org,Z\xfcrich\n"
    (tmp_path / "a.csv").write_bytes(body)
    report = lake.ingest(tmp_path / "a.csv", "t", pii=["email"])
    assert report.rows_quarantined == 1
    q = lake.table("t").quarantine()
    assert b"secret" not in q["raw_bytes"][0] and b"Z\xfcrich" in q["raw_bytes"][0]
    assert "secret" not in q["raw"][0]


def test_json_lines_keep_nesting_and_exact_numbers(lake, tmp_path):
    # RFC 8259 section 13's example object, nested objects and arrays, and numbers beyond
    # float64 and int64; the spec's second example (an array) is valid JSON but no record.
    image = {"Image": {"Width": 800, "Height": 600, "Title": "View from 15th Floor",
                       "Thumbnail": {"Url": "http://www.example.com/image/481989943",
                                     "Height": 125, "Width": 100},
                       "Animated": False, "IDs": [116, 943, 234, 38793]}}
    lines = [json.dumps({"id": 1, **image, "big": 12345678901234567890,
                         "exact": "0.1000000000000000055511"}).replace(
                             '"0.1000000000000000055511"', "0.1000000000000000055511"),
             json.dumps([{"precision": "zip", "Latitude": 37.7668}]),
             json.dumps({"id": 2, **image, "big": 1, "exact": 2.5})]
    (tmp_path / "a.jsonl").write_text("\n".join(lines) + "\n")
    report = lake.ingest(tmp_path / "a.jsonl", "j")
    assert (report.rows_in, report.rows_written, report.rows_quarantined) == (3, 2, 1)
    assert report.schema.field("big").type == pa.decimal128(38, 0)
    assert pa.types.is_struct(report.schema.field("Image").type)
    rows = sorted(arrow(lake.table("j")).to_pylist(), key=lambda r: r["id"])
    assert rows[0]["Image"] == image["Image"] and rows[0]["Image"]["IDs"] == [116, 943, 234,
                                                                             38793]
    assert rows[0]["big"] == Decimal("12345678901234567890")
    assert rows[0]["exact"] == Decimal("0.1000000000000000055511")
    q = lake.table("j").quarantine()
    assert q["line"].tolist() == [2] and q["reason"][0] == "expected a JSON object, got list"


def test_non_utf8_json_line_is_quarantined(lake, tmp_path):
    data = b"".join(b'{"id": %d, "name": "n%d"}\n' % (i, i) for i in range(10))
    data += b'{"id": 10, "name": "Jos\xe9"}\n'
    (tmp_path / "a.jsonl").write_bytes(data)
    report = lake.ingest(tmp_path / "a.jsonl", "t")
    assert (report.rows_written, report.rows_quarantined) == (10, 1)
    assert lake.table("t").quarantine()["raw_bytes"][0] == b'{"id": 10, "name": "Jos\xe9"}'


def test_a_tsv_in_latin_1(lake, tmp_path):
    (tmp_path / "a.tsv").write_bytes("id\tname\n1\tJos\u00e9\n2\t\u00c5sa\n".encode("latin-1"))
    with pytest.raises(SourceError, match="encoding="):
        lake.ingest(tmp_path / "a.tsv", "t")
    lake.ingest(tmp_path / "a.tsv", "t", encoding="latin-1")
    assert sorted(lake.table("t").to_pandas()["name"]) == ["Jos\u00e9", "\u00c5sa"]


def test_utf_16_files_read_whole(lake, tmp_path):
    (tmp_path / "a.csv").write_bytes('id,name\n1,"a\nb"\n2,\u00e9\n'.encode("utf-16"))
    lake.ingest(tmp_path / "a.csv", "t", encoding="utf-16")
    assert lake.table("t").to_pandas().sort_values("id")["name"].tolist() == ["a\nb", "\u00e9"]


def test_blank_lines_before_the_header_are_not_rows(lake, tmp_path):
    (tmp_path / "a.csv").write_bytes(b"\r\n\nid,v\n1,a\nx,b\n")
    report = lake.ingest(tmp_path / "a.csv", "t", schema={"id": "int64", "v": "string"})
    assert (report.rows_in, report.rows_written, report.rows_quarantined) == (2, 1, 1)
    q = lake.table("t").quarantine()
    assert q["line"].tolist() == [5] and q["raw"].tolist() == ["x,b"]


def test_a_quoted_value_of_megabytes_is_one_value(lake, tmp_path):
    big = "line\r\n" * 500_000  # 3 MB with 500,000 line breaks, in one field
    (tmp_path / "a.csv").write_bytes(f'id,v\n1,"{big}"\n2,b\n'.encode())
    report = lake.ingest(tmp_path / "a.csv", "t")
    assert (report.rows_in, report.rows_written, report.rows_quarantined) == (2, 2, 0)
    assert arrow(lake.table("t")).sort_by("id")["v"].to_pylist() == [big, "b"]


def test_a_quote_inside_an_unquoted_field_is_a_character(lake, tmp_path):
    """Not RFC 4180, but every reader takes it literally: the rows around it stay whole, and
    a bad row after it is still reported at its own line (the csv module decides there)."""
    (tmp_path / "a.csv").write_bytes(b'id,v\n1,5" screen\nx,ok\n3,b\n')
    report = lake.ingest(tmp_path / "a.csv", "t", schema={"id": "int64", "v": "string"})
    assert (report.rows_in, report.rows_written, report.rows_quarantined) == (3, 2, 1)
    assert arrow(lake.table("t")).sort_by("id")["v"].to_pylist() == ['5" screen', "b"]
    q = lake.table("t").quarantine()
    assert q["line"].tolist() == [3] and q["raw"].tolist() == ["x,ok"]


@pytest.mark.parametrize("delimiter", [";", "|", "\t"])
def test_a_csv_with_another_delimiter_is_sniffed(lake, tmp_path, delimiter):
    # European exports: ';' between fields, ',' as the decimal mark stays text.
    rows = [["id", "name", "amount"], ["1", "a, b", "1,5"], ["2", 'say "hi"', "2,25"],
            ["3", "line\nbreak", "3"]]
    (tmp_path / "a.csv").write_text(rfc4180(rows, eol="\n").replace(",", delimiter).replace(
        f"a{delimiter} b", "a, b").replace(f"1{delimiter}5", "1,5").replace(
        f"2{delimiter}25", "2,25"))
    report = lake.ingest(tmp_path / "a.csv", "t")
    assert report.schema.names == ["id", "name", "amount"]
    got = arrow(lake.table("t")).sort_by("id").to_pylist()
    assert [(r["name"], r["amount"]) for r in got] == [("a, b", "1,5"), ('say "hi"', "2,25"),
                                                       ("line\nbreak", "3")]


def test_a_comma_stays_the_delimiter_when_the_header_splits_on_it(lake, tmp_path):
    (tmp_path / "a.csv").write_text("id,note\n1,a;b;c\n2,d;e;f\n")
    lake.ingest(tmp_path / "a.csv", "t")
    assert arrow(lake.table("t")).sort_by("id")["note"].to_pylist() == ["a;b;c", "d;e;f"]
    with pytest.raises(SourceError, match="header row has 1 columns but most rows have 3"):
        lake.ingest(tmp_path / "a.csv", "u", delimiter=";")  # told otherwise, it obeys


def test_a_bad_delimiter_is_refused(lake, tmp_path):
    (tmp_path / "a.csv").write_text("id\n1\n")
    with pytest.raises(SourceError, match=r"delimiter='ab': give one character"):
        lake.ingest(tmp_path / "a.csv", "t", delimiter="ab")
