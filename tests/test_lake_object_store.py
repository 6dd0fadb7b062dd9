"""Object-store lakes go through the same code: a real S3 API (moto's server on loopback)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import pytest

import workbench as wb
from workbench.compute.probe import free_port


@pytest.fixture
def s3(monkeypatch):
    """An S3 endpoint on 127.0.0.1 (moto's server, in its own process: deltalake's client holds
    the GIL while it waits, so a server thread in this process would never answer), with a
    bucket; credentials and endpoint in the environment, where pyarrow's and deltalake's S3
    clients both read them."""
    boto3 = pytest.importorskip("boto3")
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p",
                               str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        for k, v in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                     "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": endpoint,
                     "AWS_ALLOW_HTTP": "true", "AWS_EC2_METADATA_DISABLED": "true"}.items():
            monkeypatch.setenv(k, v)
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "moto's S3 server did not start"
                time.sleep(0.1)
        boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket="lake")
        yield endpoint
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.mark.slow
def test_ingest_versions_and_profile_on_s3(s3, tmp_path, pii_key):
    rows = [f"{i},u{i}@example.org,{i}.5" for i in (1, 3, 5, 6, 7)]
    rows.insert(1, "2,b@example.org,x")  # line 3: not a number
    rows.append("1,u1@example.org,1.5")  # a duplicate event
    (tmp_path / "a.csv").write_text("id,email,v\n" + "\n".join(rows) + "\n")
    (tmp_path / "b.jsonl").write_text('{"id": 4, "email": "d@example.org", "v": 4.0}\n')
    # Threads in this process: the workers see the endpoint set above.
    with wb.cluster(n_workers=1, threads_per_worker=2, processes=False, dashboard=False):
        lake = wb.Lake("s3://lake/warehouse",
                       storage_options={"AWS_S3_ALLOW_UNSAFE_RENAME": "true"})
        r0 = lake.ingest(tmp_path / "a.csv", "events", pii=["email"], dedup=["id"])
        r1 = lake.ingest(tmp_path / "b.jsonl", "events", dedup=["id"])
        assert (r0.rows_written, r0.rows_quarantined, r0.duplicates_dropped) == (5, 1, 1)
        assert r1.version == 1
        assert lake.names() == ["events"]
        t = lake.table("events")
        assert sorted(t.to_pandas()["id"]) == [1, 3, 4, 5, 6, 7]
        assert sorted(t.to_pandas(version=0)["id"]) == [1, 3, 5, 6, 7]
        assert sorted(t.to_dask().compute()["id"]) == [1, 3, 4, 5, 6, 7]
        assert not t.to_pandas()["email"].str.contains("@").any()
        assert t.quarantine()["line"].tolist() == [3]
        assert t.profile().rows == 6
        assert t.stored_profile().rows == 6  # stored in the object store's _profiles
        tables = lake.tables().set_index("name")
        assert list(tables.index) == ["_profiles", "events"]
        assert tables.loc["events", "rows"] == 6
