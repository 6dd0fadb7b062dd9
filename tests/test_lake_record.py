"""lake.record: the results tables (_runs, _bench) append without ingest's governance."""

import pandas as pd
import pytest

import workbench as wb
from workbench.lake import LakeError


def test_record_creates_appends_and_merges_new_columns(tmp_path):
    lake = wb.Lake(tmp_path / "lake")
    first = pd.DataFrame({"run_id": ["a", "b"], "samples_per_s": [10.0, 20.0]})
    assert lake.record("_runs", first) == 0
    assert lake.record("_runs", pd.DataFrame({"run_id": ["c"], "mfu": [0.4]})) == 1
    df = lake.table("_runs").to_pandas().sort_values("run_id").reset_index(drop=True)
    assert df["run_id"].tolist() == ["a", "b", "c"]
    assert df["samples_per_s"].tolist()[:2] == [10.0, 20.0] and pd.isna(df["samples_per_s"][2])
    assert df["mfu"].isna().tolist() == [True, True, False]
    assert "_runs" in lake.names()


def test_record_refuses_bad_names_and_empty_frames(tmp_path):
    lake = wb.Lake(tmp_path / "lake")
    with pytest.raises(LakeError, match="not a valid table name"):
        lake.record("../x", pd.DataFrame({"a": [1]}))
    with pytest.raises(LakeError, match="got no rows"):
        lake.record("_bench", pd.DataFrame({"a": []}))
