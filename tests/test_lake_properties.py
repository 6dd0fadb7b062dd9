"""Property: whatever broken lines a file holds, every input row is written or quarantined."""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import workbench as wb
from workbench.lake import SourceError

# Any single-line text, including quotes, delimiters, control characters and non-ASCII.
junk = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\n"),
               max_size=30)
good_csv = st.builds(lambda i, s, x: f"{i},{s},{x}", st.integers(-10**6, 10**6),
                     st.text("abcxyz", min_size=1, max_size=5),
                     st.floats(-1e6, 1e6, allow_nan=False).map(lambda v: f"{v:.3f}"))
broken_csv = st.one_of(
    junk,
    st.builds(lambda i: f"{i},only-two", st.integers()),                 # ragged
    st.builds(lambda i: f"{i},a,b,c", st.integers()),                    # ragged
    st.builds(lambda s: f"1,x,{s}", st.text("qwerty!", min_size=1)),     # bad float
    st.builds(lambda s: f'1,"{s},2.0', st.text("ab,", max_size=4)),      # unclosed quote
    st.just(""),                                                         # blank line
)
settings_ = settings(max_examples=25, deadline=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture,
                                            HealthCheck.too_slow])


def splice(good: list[str], broken_lines, data) -> list[str]:
    """The good lines with fewer broken ones drawn and inserted at random places."""
    lines = list(good)
    for b in data.draw(st.lists(broken_lines, max_size=len(good) - 1)):
        lines.insert(data.draw(st.integers(0, len(lines))), b)
    return lines


def rows(lines: list[str]) -> int:
    """A row is a non-blank line (a lone carriage return also ends a line for readers)."""
    return sum(1 for ln in lines if ln.strip("\r") != "")


def records(text: str) -> int:
    """The non-blank records of CSV text as Python's csv module reads it (RFC 4180: a quote
    left open runs on, line breaks and all, to the next quote or the end of the file)."""
    return sum(1 for r in csv.reader(io.StringIO(text, newline=""), strict=False) if r)


def check_accounting(lake, report, table, expected_rows):
    assert report.rows_in == expected_rows
    assert report.rows_in == report.rows_written + report.rows_quarantined + \
        report.duplicates_dropped
    t = lake.table(table)
    assert len(t.to_pandas()) == report.rows_written
    assert len(t.quarantine()) == report.rows_quarantined


@settings_
@given(good=st.lists(good_csv, min_size=3, max_size=30), data=st.data())
def test_csv_row_accounting_with_random_broken_lines(dask_cluster, tmp_path_factory, good,
                                                     data):
    lines = splice(good, broken_csv, data)
    tmp = tmp_path_factory.mktemp("csv")
    text = "id,name,x\n" + "\n".join(lines) + "\n"
    (tmp / "in.csv").write_text(text, encoding="utf-8", newline="")
    lake = wb.Lake(tmp / "lake")
    try:
        report = lake.ingest(tmp / "in.csv", "t", dedup=["id"], progress=False)
    except SourceError as err:
        # Refused only when the rows mostly disagree with the header, as the error says.
        widths = Counter(len(r) for r in csv.reader(io.StringIO(text, newline=""),
                                                    strict=False) if r)
        widths[3] -= 1  # the header
        common = int(re.search(r"header row has 3 columns but most rows have (\d+)",
                               str(err)).group(1))
        assert widths[common] >= 2 and widths[common] > widths[3]
        return
    check_accounting(lake, report, "t", records(text) - 1)


good_json = st.builds(lambda i, s: json.dumps({"id": i, "name": s}), st.integers(-10**6, 10**6),
                      st.text(max_size=8))
broken_json = st.one_of(
    junk.filter(lambda s: s.strip() != ""),
    st.builds(lambda i: json.dumps({"id": str(i) + "x", "name": "n"}), st.integers()),
    st.builds(lambda i: json.dumps([i]), st.integers()),
    st.builds(lambda i: json.dumps({"id": i, "extra": 1}), st.integers()),
    st.builds(lambda i: json.dumps({"id": i, "name": "n"})[:-1], st.integers()),
)


@settings_
@given(good=st.lists(good_json, min_size=3, max_size=30), data=st.data())
def test_jsonl_row_accounting_with_random_broken_lines(dask_cluster, tmp_path_factory, good,
                                                       data):
    lines = splice(good, broken_json, data)
    tmp = tmp_path_factory.mktemp("json")
    (tmp / "in.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    lake = wb.Lake(tmp / "lake")
    report = lake.ingest(tmp / "in.jsonl", "t", schema={"id": "int64", "name": "string"},
                         progress=False)
    check_accounting(lake, report, "t", rows(lines))


@settings(max_examples=200, deadline=None)
@given(lines=st.lists(st.text("ab\r", max_size=6), max_size=12), trailing=st.booleans(),
       block=st.integers(1, 20))
def test_pieces_split_text_files_into_whole_lines_exactly_once(tmp_path_factory, lines,
                                                               trailing, block):
    """Cut at any block size, a file's pieces hold every line once and whole: each line is in
    the piece where it starts, and the pieces concatenate to the file."""
    import pyarrow.fs as pafs

    from workbench.lake.parse import read_range
    from workbench.lake.sources import SourceFile

    text = "\n".join(lines) + ("\n" if trailing and lines else "")
    path = tmp_path_factory.mktemp("split") / "f.csv"
    path.write_bytes(text.encode())
    src = SourceFile(str(path), "csv", len(text), pafs.LocalFileSystem())
    pieces = [read_range(src, s, min(s + block, len(text)))[0].to_pybytes()
              for s in range(0, len(text), block)]
    data = text.encode()
    assert b"".join(pieces) == data
    begin = 0
    for s, piece in zip(range(0, len(data), block), pieces):
        if piece:  # it starts a line inside its block and ends at a line's end
            assert s <= begin < s + block
            assert begin == 0 or data[begin - 1:begin] == b"\n"
            assert piece.endswith(b"\n") or begin + len(piece) == len(data)
        begin += len(piece)
