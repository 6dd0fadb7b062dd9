"""Bad input gets an error that names the file, table or argument and says what to do."""

from __future__ import annotations

import pytest

from workbench.lake import LakeError, SourceError, TableNotFoundError


@pytest.mark.parametrize("name", ["../x", "..", "a/b", "a\\b", ".hidden", "", "a\nb", None])
def test_table_names_with_path_characters_are_refused(lake, tmp_path, name):
    (tmp_path / "a.csv").write_text("id\n1\n")
    with pytest.raises(LakeError, match="not a valid table name"):
        lake.ingest(tmp_path / "a.csv", name)
    with pytest.raises(LakeError, match="not a valid table name"):
        lake.table(name)
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("name", ["a.b", "1abc", "x y", "sales-2024"])
def test_new_tables_take_identifier_names(lake, tmp_path, name):
    """Such names open when another engine wrote the table; this lake creates none of them."""
    (tmp_path / "a.csv").write_text("id\n1\n")
    with pytest.raises(LakeError, match="a new table's name uses letters, digits"):
        lake.ingest(tmp_path / "a.csv", name)
    with pytest.raises(TableNotFoundError, match=f"has no table {name!r}"):
        lake.table(name)
    assert lake.names() == []


def test_missing_table(lake):
    with pytest.raises(TableNotFoundError, match="has no table 'nope'.*no tables yet"):
        lake.table("nope")


def test_missing_path_and_empty_glob(lake, tmp_path):
    with pytest.raises(SourceError, match=r"missing\.csv does not exist"):
        lake.ingest(tmp_path / "missing.csv", "t")
    with pytest.raises(SourceError, match="matches no file"):
        lake.ingest(str(tmp_path / "*.csv"), "t")


def test_unknown_format(lake, tmp_path):
    (tmp_path / "data.xlsx").write_bytes(b"PK")
    with pytest.raises(SourceError, match=r"unknown format '\.xlsx' for file .*data\.xlsx"):
        lake.ingest(tmp_path / "data.xlsx", "t")


def test_empty_file(lake, tmp_path):
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(SourceError, match=r"empty\.csv is empty"):
        lake.ingest(tmp_path / "empty.csv", "t")


def test_corrupt_parquet(lake, tmp_path):
    (tmp_path / "bad.parquet").write_bytes(b"PAR1 this is not parquet PAR1")
    with pytest.raises(SourceError, match=r"bad\.parquet is not a readable Parquet file"):
        lake.ingest(tmp_path / "bad.parquet", "t")


def test_a_file_in_another_encoding_asks_for_encoding(lake, tmp_path):
    names = ["Jos\u00e9", "Ren\u00e9e", "Fran\u00e7ois", "M\u00fcller"]
    data = ("id,name\n" + "".join(f"{i},{n}\n" for i, n in enumerate(names))).encode("latin-1")
    (tmp_path / "latin.csv").write_bytes(data)
    with pytest.raises(SourceError, match=r"latin\.csv is not UTF-8: 4 of its first 5 lines.*"
                                          r"encoding='latin-1'"):
        lake.ingest(tmp_path / "latin.csv", "t")
    assert "t" not in lake
    report = lake.ingest(tmp_path / "latin.csv", "t", encoding="latin-1")
    assert report.rows_quarantined == 0
    assert lake.table("t").to_pandas().sort_values("id")["name"].tolist() == names


def test_unknown_encoding_is_refused(lake, tmp_path):
    (tmp_path / "a.csv").write_text("id\n1\n")
    with pytest.raises(SourceError, match=r"encoding='klingon' is not a text encoding"):
        lake.ingest(tmp_path / "a.csv", "t", encoding="klingon")


def test_a_stray_byte_quarantines_its_row_with_its_bytes(lake, tmp_path, monkeypatch):
    import workbench.lake.sources as sources

    monkeypatch.setattr(sources, "HEAD_BYTES", 64)  # the bad byte lies beyond the sampled head
    body = "".join(f"{i},name{i}\n" for i in range(50)).encode()
    body += "99,Jos\u00e9\n".encode("latin-1") + "100,Zo\u00eb\n".encode()
    (tmp_path / "late.csv").write_bytes(b"id,name\n" + body)
    report = lake.ingest(tmp_path / "late.csv", "t")
    assert (report.rows_in, report.rows_written, report.rows_quarantined) == (52, 51, 1)
    q = lake.table("t").quarantine()
    assert q["line"].tolist() == [52] and q["column"].tolist() == ["name"]
    assert q["raw_bytes"].tolist() == [b"99,Jos\xe9"] and q["raw"].tolist() == ["99,Jos\\xe9"]
    assert "not UTF-8" in q["reason"][0] and "encoding=" in q["reason"][0]
    assert lake.table("t").to_pandas().set_index("id").loc[100, "name"] == "Zo\u00eb"


def test_ragged_and_missing_headers(lake, tmp_path):
    (tmp_path / "ragged.csv").write_text("a,b\n1,2,3\n4,5,6\n7,8,9\n")
    with pytest.raises(SourceError, match=r"ragged\.csv: header row has 2 columns but most rows "
                                          r"have 3"):
        lake.ingest(tmp_path / "ragged.csv", "t")
    (tmp_path / "nohead.csv").write_text("1,2.5,3\n4,5,6\n")
    with pytest.raises(SourceError, match=r"nohead\.csv: header row looks like data"):
        lake.ingest(tmp_path / "nohead.csv", "t")
    (tmp_path / "dup.csv").write_text("a,a\n1,2\n")
    with pytest.raises(SourceError, match="names column 'a' twice"):
        lake.ingest(tmp_path / "dup.csv", "t")
    (tmp_path / "blank.csv").write_text("a,,c\n1,2,3\n")
    with pytest.raises(SourceError, match="empty column name at position 2"):
        lake.ingest(tmp_path / "blank.csv", "t")


def test_lake_path_that_is_a_file(tmp_path):
    import workbench as wb

    (tmp_path / "f").write_text("x")
    with pytest.raises(LakeError, match="is a file"):
        wb.Lake(tmp_path / "f")
