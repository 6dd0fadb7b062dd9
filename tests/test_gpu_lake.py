"""The lake on a CUDA Dask cluster: the same ingest and profile code on a LocalCUDACluster."""

from __future__ import annotations

import importlib.util

import pytest

import workbench as wb
from workbench.compute import has_gpu

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not has_gpu() or importlib.util.find_spec("dask_cuda") is None,
                       reason="needs a CUDA GPU and dask-cuda"),
]


def test_ingest_and_profile_on_a_cuda_cluster(tmp_path, monkeypatch):
    from workbench.datasets import write_events

    monkeypatch.setenv("WORKBENCH_PII_KEY", "gpu-test")
    paths = write_events(tmp_path / "src", files=2, rows_per_file=20_000)
    with wb.cluster() as c:
        assert c.kind == "cuda"
        lake = wb.Lake(tmp_path / "lake")
        report = lake.ingest(paths, "events", pii=["user_email"], dedup=["event_id"])
        assert report.rows_in == report.rows_written + report.rows_quarantined + \
            report.duplicates_dropped
        assert report.rows_quarantined == 3 * 40
        df = lake.table("events").to_pandas()
        assert df["event_id"].is_unique and len(df) == report.rows_written
        assert not df["user_email"].str.contains("@").any()
        p = lake.table("events").profile()
        assert p.backend == "cupy"  # the CUDA workers ran the CuPy kernels
        assert p.rows == report.rows_written
        stats = p.table.set_index("column")
        assert stats.loc["value", "mean"] == pytest.approx(df["value"].mean())
        assert stats.loc["value", "std"] == pytest.approx(df["value"].std())
        assert p.histograms["value"].counts.sum() == len(df)
