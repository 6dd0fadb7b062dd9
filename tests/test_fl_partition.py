"""`wb.fl.partition`: a table cut into one Parquet file per client, by the schemes of the
federated literature (IID; Dirichlet label skew, Hsu et al. 2019; label-sorted shards, McMahan
et al. 2017), deterministic per seed, with every row in exactly one part; and its view."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import workbench as wb
from workbench.charts.label_mix import label_mix
from workbench.fl import FederatedError


def labelled(rows_per_label: int = 20, labels: int = 10) -> pd.DataFrame:
    n = rows_per_label * labels
    return pd.DataFrame({"row": np.arange(n), "x": np.linspace(0, 1, n),
                         "y": np.repeat(np.arange(labels), rows_per_label)})


def parts_of(p) -> list[pd.DataFrame]:
    return [p.read(i) for i in range(p.clients)]


def assert_every_row_once(p, frame: pd.DataFrame) -> None:
    rows = np.concatenate([part["row"].to_numpy() for part in parts_of(p)])
    assert sorted(rows) == sorted(frame["row"]), "a row is lost or in two parts"


def test_iid_deals_near_equal_parts_deterministically(tmp_path):
    frame = labelled()
    p = wb.fl.partition(frame, 7, label="y", seed=3, path=tmp_path / "a")
    assert p.clients == 7 and [f.name for f in p.paths][:2] == ["client-000.parquet",
                                                                 "client-001.parquet"]
    assert p.table["rows"].max() - p.table["rows"].min() <= 1
    assert p.table["rows"].sum() == len(frame)
    assert_every_row_once(p, frame)
    again = wb.fl.partition(frame, 7, label="y", seed=3, path=tmp_path / "b")
    other = wb.fl.partition(frame, 7, label="y", seed=4, path=tmp_path / "c")
    assert all(a.equals(b) for a, b in zip(parts_of(p), parts_of(again)))
    assert not all(a.equals(b) for a, b in zip(parts_of(p), parts_of(other)))
    # The table counts each client's labels, in columns that name the label.
    assert list(p.table.columns) == ["client", "rows", *[f"y={k}" for k in range(10)]]
    for i, part in enumerate(parts_of(p)):
        counts = part["y"].value_counts()
        assert [p.table.loc[i, f"y={k}"] for k in range(10)] == [counts.get(k, 0)
                                                                 for k in range(10)]


def skew(p) -> float:
    """The mean, over clients, of the largest label's share of the client's rows."""
    labels = p.table.drop(columns=["client", "rows"]).to_numpy()
    return float((labels.max(axis=1) / labels.sum(axis=1)).mean())


def test_dirichlet_skews_labels_more_as_alpha_shrinks(tmp_path):
    frame = labelled(rows_per_label=100)
    narrow = wb.fl.partition(frame, 10, label="y", scheme="dirichlet", alpha=0.1, seed=0,
                             path=tmp_path / "narrow")
    wide = wb.fl.partition(frame, 10, label="y", scheme="dirichlet", alpha=100, seed=0,
                           path=tmp_path / "wide")
    for p in (narrow, wide):
        assert_every_row_once(p, frame)
        assert p.table["rows"].min() > 0
        assert p.table.drop(columns=["client", "rows"]).sum().tolist() == [100] * 10
    assert skew(narrow) > 0.6 > 0.25 > skew(wide)


def test_shards_give_each_client_its_shards_labels(tmp_path):
    frame = labelled(rows_per_label=20, labels=10)  # 20 shards of 10 rows: one label each
    p = wb.fl.partition(frame, 10, label="y", scheme="shards", shards_per_client=2, seed=0,
                        path=tmp_path / "s")
    assert_every_row_once(p, frame)
    assert p.table["rows"].tolist() == [20] * 10
    labels_per_client = (p.table.drop(columns=["client", "rows"]) > 0).sum(axis=1)
    assert labels_per_client.max() <= 2 and labels_per_client.min() >= 1


def test_a_lake_table_is_partitioned_too(tmp_path):
    lake = wb.Lake(tmp_path / "lake")
    lake.record("patients", labelled(rows_per_label=5, labels=4))
    p = wb.fl.partition(lake.table("patients"), 3, label="y", path=tmp_path / "p")
    assert p.table["rows"].sum() == 20 and p.directory == tmp_path / "p"


def test_the_default_place_is_a_run_directory(workbench_home):
    p = wb.fl.partition(labelled(), 2)
    assert p.directory.parent.parent == workbench_home / "runs"
    assert p.directory.name == "partitions" and "-fl-" in p.directory.parent.name
    assert list(p.table.columns) == ["client", "rows"]  # no label: rows only


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"clients": 0}, r"clients=0: give a whole number of clients, at least 1"),
    ({"clients": 2.5}, r"clients=2.5: give a whole number"),
    ({"clients": 201}, r"clients=201 but the data has 200 rows"),
    ({"clients": 2, "label": "diagnosis"},
     r"label='diagnosis' is not a column; the columns are \['row', 'x', 'y'\]"),
    ({"clients": 2, "scheme": "dirichlet"}, r"scheme='dirichlet' deals rows out by label: "
                                            r"give label="),
    ({"clients": 2, "scheme": "random"}, r"scheme='random': give one of \['iid', "),
    ({"clients": 2, "label": "y", "scheme": "dirichlet", "alpha": 0},
     r"alpha=0: the Dirichlet concentration must be > 0"),
    ({"clients": 150, "label": "y", "scheme": "shards"},
     r"clients=150 x shards_per_client=2 shards but the data has 200 rows"),
])
def test_bad_input_is_named_before_anything_is_written(tmp_path, kwargs, message):
    with pytest.raises(FederatedError, match=message):
        wb.fl.partition(labelled(), path=tmp_path / "never", **kwargs)
    assert not (tmp_path / "never").exists()


def test_bad_data_is_named(tmp_path):
    with pytest.raises(FederatedError, match=r"data=list: give a lake table"):
        wb.fl.partition([1, 2, 3], 2)
    frame = labelled().astype({"y": float})
    frame.loc[7, "y"] = np.nan
    with pytest.raises(FederatedError, match=r"label column 'y' is empty in row 7"):
        wb.fl.partition(frame, 2, label="y", path=tmp_path / "n")
    with pytest.raises(FederatedError, match=r"left a client with no rows .* larger alpha"):
        wb.fl.partition(labelled(rows_per_label=4, labels=1), 4, label="y",
                        scheme="dirichlet", alpha=0.001, path=tmp_path / "d")


def test_the_label_mix_chart_and_the_view(tmp_path):
    p = wb.fl.partition(labelled(rows_per_label=4, labels=3), 3, label="y", scheme="shards",
                        shards_per_client=1, seed=0, path=tmp_path / "v")
    counts = p.label_counts()
    assert list(counts.columns) == ["client", "label", "rows"] and len(counts) == 9
    fig = label_mix(counts)
    (heat,) = fig.data
    assert heat.type == "heatmap" and list(heat.x) == ["0", "1", "2"]
    assert list(heat.y) == ["client 0", "client 1", "client 2"]
    assert np.asarray(heat.z).sum() == 12 and sorted(np.asarray(heat.z).max(axis=1)) == [4] * 3
    assert fig.layout.xaxis.title.text == "label" and "rows" in heat.hovertemplate
    assert heat.colorbar.title.text == "rows"

    view = p.widget()
    assert type(view).__name__ == "PartitionsView"
    assert view.chart.figure.data[0].type == "heatmap"
    assert "3 clients" in view.header.value and "shards" in view.header.value
    assert "Partitions(3 clients, scheme='shards', label='y', seed=0)" in repr(p)
    assert wb.fl.partition(labelled(), 2, path=tmp_path / "nolabel").widget().chart is None
