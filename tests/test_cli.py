"""The `workbench` command, run for real in subprocesses (each ingest or profile starts or joins
a Dask cluster, so the commands are few and share one lake)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

PEOPLE = """id,name,email,age
1,ann,ann@example.com,31
2,bob,bob@example.com,42
2,bob,bob@example.com,42
3,cid,cid@example.com
4,dan,dan@example.com,27
"""


def workbench(*args: object, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run `python -m workbench.cli ARGS` with the test's WORKBENCH_HOME (conftest) and a PII
    key."""
    env = {**os.environ, "WORKBENCH_PII_KEY": "cli-secret"}
    return subprocess.run([sys.executable, "-m", "workbench.cli", *map(str, args)], env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_help_lists_the_commands():
    top = workbench("--help")
    assert top.returncode == 0
    assert "lake" in top.stdout and "env" in top.stdout
    ingest = workbench("lake", "ingest", "--help")
    assert ingest.returncode == 0
    for option in ("--table", "--pii", "--dedup", "--partition-by", "--mode", "--schema-mode",
                   "--encoding", "--delimiter", "--scheduler"):
        assert option in ingest.stdout


def test_ingest_then_tables_history_profile_and_quarantine(dask_cluster, tmp_path):
    source = tmp_path / "people.csv"
    source.write_text(PEOPLE)
    lake = tmp_path / "lake"
    ingest = workbench("lake", "ingest", lake, source, "--table", "people", "--pii", "email",
                       "--dedup", "id")
    assert ingest.returncode == 0, ingest.stderr
    report = [line.split() for line in ingest.stdout.splitlines()]
    for expected in (["table", "people"], ["version", "0"], ["rows", "in", "5"],
                     ["written", "3"], ["quarantined", "1"], ["duplicates", "dropped", "1"]):
        assert expected in report, ingest.stdout

    tables = workbench("lake", "tables", lake)
    assert tables.returncode == 0, tables.stderr
    header, row = tables.stdout.strip().splitlines()
    assert header.split() == ["name", "version", "rows", "bytes", "columns", "quarantined",
                              "updated"]
    assert row.split()[:3] == ["people", "0", "3"] and row.split()[5] == "1"

    history = workbench("lake", "history", lake, "people")
    assert history.returncode == 0, history.stderr
    assert "rows_quarantined" in history.stdout and "CREATE TABLE" in history.stdout

    profile = workbench("lake", "profile", lake, "people", "--scheduler", dask_cluster.address)
    assert profile.returncode == 0, profile.stderr
    lines = profile.stdout.splitlines()
    assert lines[0] == "Profile of people (version 0, 3 rows)"
    assert lines[1].split()[:6] == ["column", "type", "count", "nulls", "null_fraction",
                                    "distinct"]
    assert lines[2].split()[:4] == ["id", "int64", "3", "0"]
    assert "ann@example.com" not in profile.stdout

    quarantine = workbench("lake", "quarantine", lake, "people")
    assert quarantine.returncode == 0, quarantine.stderr
    assert "1 rows quarantined in people" in quarantine.stdout
    assert "expected 4 fields, got 3" in quarantine.stdout
    assert str(source) in quarantine.stdout and "cid@example.com" not in quarantine.stdout


def test_missing_source_is_named_and_exits_2_without_a_traceback(tmp_path):
    missing = tmp_path / "nowhere.csv"
    result = workbench("lake", "ingest", tmp_path / "lake", missing, "--table", "t")
    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and str(missing) in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_or_unknown_table_names_and_missing_lakes_exit_2(tmp_path):
    lake = tmp_path / "lake"
    lake.mkdir()
    bad = workbench("lake", "history", lake, "../etc")
    assert bad.returncode == 2 and "is not a valid table name" in bad.stderr
    unknown = workbench("lake", "quarantine", lake, "nope")
    assert unknown.returncode == 2
    assert "has no table 'nope'" in unknown.stderr and "Traceback" not in unknown.stderr
    nolake = workbench("lake", "tables", tmp_path / "typo")
    assert nolake.returncode == 2 and "no lake at" in nolake.stderr
    assert not (tmp_path / "typo").exists()  # reading never creates a lake


def test_unreachable_scheduler_exits_2(tmp_path):
    source = tmp_path / "people.csv"
    source.write_text(PEOPLE)
    result = workbench("lake", "ingest", tmp_path / "lake", source, "--table", "t",
                       "--scheduler", "tcp://127.0.0.1:9")
    assert result.returncode == 2
    assert result.stderr.startswith("error: Could not connect to a Dask scheduler at "
                                    "'tcp://127.0.0.1:9'")
    assert "Traceback" not in result.stderr


def test_keygen_writes_a_private_key_once(tmp_path):
    path = tmp_path / "keys" / "pii.key"
    first = workbench("lake", "keygen", path)
    assert first.returncode == 0, first.stderr
    assert str(path) in first.stdout
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and len(path.read_text().strip()) == 64
    again = workbench("lake", "keygen", path)
    assert again.returncode == 2 and "already exists" in again.stderr


def test_env_prints_the_environment_table():
    result = workbench("env")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[:3] == ["component", "status", "detail"]
    assert "distributed" in result.stdout and "deltalake" in result.stdout
