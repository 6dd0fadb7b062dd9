"""Pseudonymisation: keyed tokens before anything is written; no raw PII anywhere in the lake."""

from __future__ import annotations

import json
import os

import pytest

from workbench.lake import PiiKeyError
from workbench.lake.pii import generate_key_file


def emails(n: int, start: int = 0) -> list[str]:
    return [f"person.{i}@example.org" for i in range(start, start + n)]


def test_no_raw_pii_value_in_any_byte_under_the_lake(lake, tmp_path, pii_key):
    people = emails(40)
    lines = ["event_id,email,amount"] + [f"{i},{e},{i * 1.5}" for i, e in enumerate(people)]
    lines[5] = f"4,{people[4]},not-a-number"           # type error: quarantined, raw kept
    lines[9] = f"8,{people[8]},1.0,extra"              # ragged: quarantined, raw withheld
    lines[12] = f'11,"{people[11]},2.0'               # malformed quote: withheld
    (tmp_path / "a.csv").write_text("\n".join(lines) + "\n")
    records = [json.dumps({"event_id": 100 + i, "email": e, "amount": 1.0})
               for i, e in enumerate(emails(10, 100))]
    records[2] = json.dumps({"event_id": 102, "email": "person.102@example.org",
                             "amount": "lots"})  # type error
    records[4] = '{"event_id": 104, "email": "person.104@example.org", '  # malformed JSON
    (tmp_path / "b.jsonl").write_text("\n".join(records) + "\n")

    report = lake.ingest([tmp_path / "a.csv", tmp_path / "b.jsonl"], "events", pii=["email"],
                         dedup=["email"])
    assert report.rows_quarantined == 5
    t = lake.table("events")
    lake.table("events").profile()
    q = t.quarantine()
    assert len(q) == 5
    kept = q[q["raw"].str.startswith(("4,", '{"event_id": 102'))]
    assert len(kept) == 2 and all("@" not in raw for raw in kept["raw"])  # fields tokenised
    every_value = people + emails(10, 100)
    local_parts = [e.split("@")[0] for e in every_value]
    for root, _, files in os.walk(lake.uri):
        for name in files:
            with open(os.path.join(root, name), "rb") as f:
                data = f.read()
            for value in every_value + local_parts:
                assert value.encode() not in data, f"raw PII {value} in {name}"
            assert b"@example.org" not in data, f"raw PII in {name}"
    tokens = t.to_pandas()["email"]
    assert tokens.str.fullmatch(r"[0-9a-f]{16}").all()


def test_same_value_same_token_across_ingests_and_formats(lake, tmp_path, pii_key):
    (tmp_path / "a.csv").write_text("id,email\n1,ann@example.org\n")
    (tmp_path / "b.jsonl").write_text('{"id": 2, "email": "ann@example.org"}\n')
    lake.ingest(tmp_path / "a.csv", "p", pii=["email"])
    lake.ingest(tmp_path / "b.jsonl", "p")  # the table remembers its PII columns
    df = lake.table("p").to_pandas()
    assert df["email"].nunique() == 1 and "@" not in df["email"][0]
    r = lake.ingest(tmp_path / "b.jsonl", "p", dedup=["email"])  # dedup on tokens works
    assert r.duplicates_dropped == 1


def test_ingest_refuses_pii_without_a_key(lake, tmp_path, monkeypatch):
    monkeypatch.delenv("WORKBENCH_PII_KEY", raising=False)
    (tmp_path / "a.csv").write_text("id,email\n1,ann@example.org\n")
    with pytest.raises(PiiKeyError, match="WORKBENCH_PII_KEY"):
        lake.ingest(tmp_path / "a.csv", "p", pii=["email"])
    assert "p" not in lake


def test_key_file_is_used_and_refused_inside_the_lake(lake, tmp_path, monkeypatch):
    monkeypatch.delenv("WORKBENCH_PII_KEY", raising=False)
    key_file = generate_key_file(tmp_path / "keys" / "pii.key")
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    monkeypatch.setenv("WORKBENCH_PII_KEY_FILE", str(key_file))
    (tmp_path / "a.csv").write_text("id,email\n1,ann@example.org\n")
    assert lake.ingest(tmp_path / "a.csv", "p", pii=["email"]).rows_written == 1
    inside = generate_key_file(os.path.join(lake.uri, "pii.key"))
    monkeypatch.setenv("WORKBENCH_PII_KEY_FILE", str(inside))
    with pytest.raises(PiiKeyError, match="inside the lake"):
        lake.ingest(tmp_path / "a.csv", "q", pii=["email"])


def test_a_different_key_is_refused_for_a_pseudonymised_table(lake, tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_PII_KEY", "first")
    (tmp_path / "a.csv").write_text("id,email\n1,ann@example.org\n")
    lake.ingest(tmp_path / "a.csv", "p", pii=["email"])
    monkeypatch.setenv("WORKBENCH_PII_KEY", "second")
    with pytest.raises(PiiKeyError, match="another key"):
        lake.ingest(tmp_path / "a.csv", "p")
