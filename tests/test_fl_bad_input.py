"""Bad input to `wb.fl.partition` and `wb.fl.launch`: one clear error naming the argument,
column or client, raised before any process starts or any run directory is made; and a file
path as data, read through the lake's own ingest."""

from __future__ import annotations

import numpy as np
import pandas as pd
import psutil
import pytest
import torch

import workbench as wb
from workbench.fl import FederatedError
from workbench.home import home


def table(n: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(n, 4)), columns=["a", "b", "c", "d"])
    frame["label"] = np.arange(n) % 3
    return frame


def mlp(outputs: int = 3):
    return lambda: torch.nn.Linear(4, outputs)


@pytest.fixture
def parts(tmp_path):
    return wb.fl.partition(table(), clients=3, label="label", seed=0, path=tmp_path / "parts")


@pytest.fixture(autouse=True)
def nothing_started():
    """No child process and no run recorded by a refused launch."""
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    yield
    assert not [p for p in psutil.Process().children(recursive=True) if p.pid not in before]
    assert not list((home() / "runs").glob("*/job.json"))


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"clients": 0}, r"clients=0: give a whole number of clients, at least 1"),
    ({"clients": 61}, r"clients=61 but the data has 60 rows"),
    ({"clients": 3, "label": "diagnosis"},
     r"label='diagnosis' is not a column; the columns are \['a', 'b', 'c', 'd', 'label'\]"),
    ({"clients": 3, "scheme": "dirichlet", "alpha": 0}, r"alpha=0: .* must be > 0"),
    ({"clients": 3, "scheme": "dirichlet", "alpha": -1.0}, r"alpha=-1.0"),
])
def test_partition_refuses_before_writing(tmp_path, kwargs, message):
    with pytest.raises(FederatedError, match=message):
        wb.fl.partition(table(), **{"label": "label", **kwargs}, path=tmp_path / "parts")
    assert not (tmp_path / "parts").exists()


def test_a_missing_label_lists_the_columns(parts):
    with pytest.raises(FederatedError, match=r"label='diagnosis' is not a column of client 0 "
                                             r"\(client-000.parquet\); its columns are \['a', "):
        wb.fl.launch(mlp(), parts, rounds=1, label="diagnosis")


def test_non_numeric_features_are_named_with_what_to_do(tmp_path):
    frame = table().assign(city=["Oslo", "Lima", "Pune"] * 20, day=pd.Timestamp("2026-01-01"))
    parts = wb.fl.partition(frame, clients=2, label="label", seed=0, path=tmp_path / "p")
    with pytest.raises(FederatedError, match=r"client 0 .*: feature columns \['city', 'day'\] "
                                             r"are not numeric; encode them first"):
        wb.fl.launch(lambda: torch.nn.Linear(6, 3), parts, rounds=1)


def test_nan_in_features_names_the_client_column_and_row(tmp_path):
    frame = table()
    frame.loc[frame.index[40], "c"] = np.nan
    parts = wb.fl.partition(frame, clients=3, label="label", seed=0, path=tmp_path / "p")
    owner = next(i for i in range(3) if parts.read(i)["c"].isna().any())
    row = int(parts.read(owner)["c"].isna().to_numpy().argmax())
    with pytest.raises(FederatedError, match=rf"client {owner} \(client-00{owner}.parquet\): "
                                             rf"feature 'c' is nan in row {row}; fill or drop"):
        wb.fl.launch(mlp(), parts, rounds=1)


def test_a_test_set_with_infinity_is_named(parts):
    test = table(9)
    test.loc[2, "a"] = np.inf
    with pytest.raises(FederatedError, match=r"test: feature 'a' is inf in row 2"):
        wb.fl.launch(mlp(), parts, rounds=1, test=test)


def test_min_clients_above_clients(parts):
    with pytest.raises(FederatedError, match=r"min_clients=4 but there are 3 clients"):
        wb.fl.launch(mlp(), parts, rounds=1, min_clients=4)


def test_a_model_whose_outputs_do_not_match_the_classes_names_both(parts):
    with pytest.raises(FederatedError, match=r"gives 5 outputs per row but there are 3 "
                                             r"classes in label 'label'"):
        wb.fl.launch(mlp(5), parts, rounds=1)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"rounds": 0}, r"rounds=0: give a whole number"),
    ({"rounds": 1, "round_timeout": 0}, r"round_timeout=0: give seconds"),
    ({"rounds": 1, "strategy": "fedavg"}, r"strategy='fedavg': give wb.fl.FedAvg\(\)"),
    ({"rounds": 1, "dp": 1.0}, r"dp=1.0: give wb.fl.DP"),
    ({"rounds": 1, "secure": "yes"}, r"secure='yes': give True or False"),
    ({"rounds": 1, "runtime": "ray"}, r"runtime='ray': give one of"),
    ({"rounds": 1, "train_fn": lambda model, loader, config: {},
      "dp": wb.fl.DP(epsilon=1, level="sample")},
     r"cannot wrap a train_fn"),
    ({"rounds": 1, "strategy": wb.fl.FedProx(mu=0.1), "dp": wb.fl.DP(epsilon=1, level="sample")},
     r"cannot add FedProx's proximal term"),
    ({"rounds": 1, "test": [1, 2]}, r"test=list: give a lake table or a DataFrame"),
])
def test_launch_arguments_are_named(parts, kwargs, message):
    with pytest.raises(FederatedError, match=message):
        wb.fl.launch(mlp(), parts, **kwargs)


def test_not_partitions_and_not_a_model(parts):
    with pytest.raises(FederatedError, match=r"parts=DataFrame: give the result of "
                                             r"wb.fl.partition"):
        wb.fl.launch(mlp(), table(), rounds=1)
    with pytest.raises(FederatedError, match=r"model_fn\(\) returned str, not a torch.nn.Module"):
        wb.fl.launch(lambda: "model", parts, rounds=1)


def test_a_csv_path_is_read_by_the_lake_ingest(tmp_path, dask_cluster):
    # RFC 4180: quoted fields with commas, an escaped quote and a line break, CRLF endings
    csv = tmp_path / "patients.csv"
    csv.write_bytes(b'note,age,score,diagnosis\r\n"a, b",41,0.5,1\r\n"say ""hi""",52,1.5,0\r\n'
                    b'"two\r\nlines",33,2.5,1\r\nplain,60,3.5,0\r\n')
    parts = wb.fl.partition(str(csv), clients=2, label="diagnosis", path=tmp_path / "p")
    rows = pd.concat([parts.read(i) for i in range(2)]).sort_values("age")
    assert list(rows["note"]) == ["two\r\nlines", "a, b", 'say "hi"', "plain"]
    assert rows["age"].dtype == "int64" and list(rows["diagnosis"]) == [1, 1, 0, 0]
