"""All or nothing: a killed writer leaves the previous version intact; concurrent appends lose
no rows. Writers run in real subprocesses with their own Dask clusters."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

import workbench as wb

WRITER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    import workbench as wb
    from workbench.compute import cluster

    if __name__ == "__main__":
        lake_dir, table, go, *files = sys.argv[1:]
        c = cluster(n_workers=2, threads_per_worker=1, dashboard=False)
        lake = wb.Lake(lake_dir)
        print("READY", flush=True)
        while not Path(go).exists():
            time.sleep(0.01)
        for f in files:
            r = lake.ingest(f, table, progress=False)
            print("WROTE", r.rows_written, flush=True)
        c.close()
""")


def write_events(path: Path, start: int, n: int) -> int:
    ids = np.arange(start, start + n)
    text = "\n".join(f"{i},user{i % 97},{i * 0.5:.1f}" for i in ids)
    path.write_text("id,user,value\n" + text + "\n")
    return n


def start_writer(tmp_path: Path, lake: wb.Lake, table: str, files: list[Path], go: Path):
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    proc = subprocess.Popen([sys.executable, str(script), lake.uri, table, str(go),
                             *map(str, files)], stdout=subprocess.PIPE, text=True,
                            start_new_session=True)
    assert proc.stdout.readline().strip() == "READY"
    return proc


@pytest.mark.slow
def test_writer_killed_mid_ingest_leaves_previous_version(lake, tmp_path, monkeypatch):
    write_events(tmp_path / "v0.csv", 0, 100)
    lake.ingest(tmp_path / "v0.csv", "events")
    big = tmp_path / "big"
    big.mkdir()
    for k in range(24):
        write_events(big / f"part{k:02d}.csv", 1000 + k * 40_000, 40_000)
    go = tmp_path / "go"
    proc = start_writer(tmp_path, lake, "events", [str(big / "*.csv")], go)
    table_dir = Path(lake.uri) / "events"
    before = set(table_dir.glob("*.parquet"))
    go.touch()
    deadline = time.monotonic() + 60
    while not set(table_dir.glob("*.parquet")) - before:  # the workers have started writing
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.005)
    os.killpg(proc.pid, signal.SIGKILL)  # the writer and its whole Dask cluster
    proc.wait()
    assert set(table_dir.glob("*.parquet")) - before, "no partial files: the test proves nothing"

    t = lake.table("events")
    assert t.version == 0
    df = t.to_pandas()
    assert len(df) == 100 and sorted(df["id"]) == list(range(100))
    report = lake.ingest(tmp_path / "v0.csv", "events")  # the table still takes writes
    assert report.version == 1 and len(t.to_pandas()) == 200


@pytest.mark.slow
def test_two_processes_appending_at_once_lose_no_rows(lake, tmp_path):
    write_events(tmp_path / "seed.csv", 0, 10)
    lake.ingest(tmp_path / "seed.csv", "events")
    go = tmp_path / "go"
    procs, expected = [], 10
    for w in range(2):
        files = []
        for k in range(4):
            f = tmp_path / f"w{w}_{k}.csv"
            expected += write_events(f, 10_000 * (w + 1) + k * 1000, 500 + k)
            files.append(f)
        procs.append(start_writer(tmp_path, lake, "events", files, go))
    go.touch()
    for p in procs:
        out, _ = p.communicate(timeout=180)
        assert p.returncode == 0, out
        assert out.count("WROTE") == 4
    df = lake.table("events").to_pandas()
    assert len(df) == expected
    assert df["id"].is_unique
    assert lake.table("events").version == 8
