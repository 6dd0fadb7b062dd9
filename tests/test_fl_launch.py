"""`wb.fl.launch` with real processes: an aggregator and one client process per partition on
loopback, on scikit-learn's bundled digits. What a user reads (history, clients, the model, the
lake's tables) and what the protocol promises (secure aggregation equals plain FedAvg within the
fixed-point step; DP spends no more than its budget; strategies do what their papers say)."""

from __future__ import annotations

import math
import time

import numpy as np
import pandas as pd
import psutil
import pytest
import torch

import workbench as wb
from workbench.fl import FederatedError
from workbench.fl.strategies import FedAdam

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(autouse=True)
def no_orphans():
    """Every process a test starts is gone when it ends (clients included)."""
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    yield before
    deadline = time.monotonic() + 10
    while left := [p for p in psutil.Process().children(recursive=True) if p.pid not in before]:
        assert time.monotonic() < deadline, left
        time.sleep(0.1)


def digits(n: int = 900) -> tuple[pd.DataFrame, pd.DataFrame]:
    from sklearn.datasets import load_digits

    data = load_digits()
    frame = pd.DataFrame(data.data / 16.0, columns=[f"p{i}" for i in range(64)])
    frame["digit"] = data.target
    return frame.iloc[:n].reset_index(drop=True), frame.iloc[n:n + 300].reset_index(drop=True)


def mlp() -> torch.nn.Module:
    return torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10))


STRATEGY = wb.fl.FedAvg(local_epochs=2, batch_size=16, lr=0.1)


def test_rounds_history_clients_model_and_the_lake(tmp_path):
    train, test = digits()
    parts = wb.fl.partition(train, clients=3, label="digit", seed=0, path=tmp_path / "parts")
    lake = wb.Lake(tmp_path / "lake")
    job = wb.fl.launch(mlp, parts, rounds=3, strategy=STRATEGY, test=test, runs_lake=lake)
    assert job.status == "running"  # returned at once
    model = job.wait(120)
    assert job.status == "succeeded" and job.outcome == "finished 3 rounds"
    history = job.history
    assert list(history["round"]) == [1, 2, 3]
    assert (history["sampled"] == 3).all() and (history["completed"] == 3).all()
    assert (history["dropped"] == 0).all()
    assert history["test_accuracy"].iloc[-1] > 0.8
    assert history["test_loss"].is_monotonic_decreasing
    assert (history["bytes_up"] > 0).all() and (history["bytes_down"] > 0).all()
    assert history["epsilon"].isna().all()  # no DP
    # R: the clients' work against their round trips' rest (download, upload), every round
    assert ((history["compute_s"] > 0) & (history["transfer_s"] > 0)).all()
    assert history["utilisation"].between(0, 1).all()
    assert history["utilisation"].tolist() == pytest.approx(
        (history["compute_s"] / (history["compute_s"] + history["transfer_s"])).tolist())
    clients = job.clients
    assert list(clients["client"]) == [0, 1, 2]
    assert list(clients["rows"]) == list(parts.table["rows"])
    assert (clients["rounds_completed"] == 3).all() and (clients["state"] == "completed").all()
    assert (clients["last_error"] == "").all()
    assert all(not psutil.pid_exists(pid) or psutil.Process(pid).status() == "zombie"
               for pid in clients["pid"])
    # the model is the aggregator's last global model, and scores what history says
    from workbench.fl.data import tensors

    x, y = tensors(test, job.task)
    with torch.no_grad():
        accuracy = float((model(x).argmax(1) == y).float().mean())
    assert accuracy == pytest.approx(history["test_accuracy"].iloc[-1])
    # the lake: _fl_rounds, _fl_clients (a row per client per round, round 0 the start), _runs
    assert job.recorded is not None
    rounds = lake.table("_fl_rounds").to_pandas()
    assert list(rounds["round"]) == [1, 2, 3] and set(rounds["run_id"]) == {job.run_dir.name}
    recorded = lake.table("_fl_clients").to_pandas()
    assert len(recorded) == 3 * 4 and set(recorded["state"]) == {"idle", "completed"}
    # the label mix the views draw: the partition's, known to the aggregator without its rows
    from workbench.fl.records import label_counts

    mix = label_counts(recorded).pivot(index="client", columns="label", values="rows")
    expected = parts.table.set_index("client").drop(columns="rows")
    assert (mix[[c.removeprefix("digit=") for c in expected.columns]].to_numpy()
            == expected.to_numpy()).all()
    assert job.label_counts.equals(label_counts(recorded))
    runs = lake.table("_runs").to_pandas()
    assert runs["utilisation"].iloc[0] == pytest.approx(
        history["compute_s"].sum() / (history["compute_s"] + history["transfer_s"]).sum())
    assert list(runs["run_id"]) == [job.run_dir.name] and runs["status"].iloc[0] == "succeeded"
    assert "federated" in runs["backend"].iloc[0]
    listed = wb.runs()
    assert job.run_dir.name in set(listed["id"])


def test_secure_aggregation_equals_plain_fedavg_within_the_fixed_point_step(tmp_path):
    from workbench.fl.secure import FRACTION_BITS

    train, test = digits(600)
    parts = wb.fl.partition(train, clients=3, label="digit", seed=1, path=tmp_path / "parts")
    plain = wb.fl.launch(mlp, parts, rounds=2, strategy=STRATEGY, test=test, runs_lake=None)
    secure = wb.fl.launch(mlp, parts, rounds=2, strategy=STRATEGY, test=test, runs_lake=None,
                          secure=True)
    a, b = plain.wait(120).state_dict(), secure.wait(120).state_dict()
    step = 2.0 ** -FRACTION_BITS
    for name in a:  # each round adds at most one rounding step per client; SGD amplifies little
        assert torch.allclose(a[name], b[name], atol=50 * 3 * step, rtol=0), name
    assert np.allclose(plain.history["test_accuracy"], secure.history["test_accuracy"],
                       atol=1 / len(test))
    assert (secure.history["completed"] == 3).all()
    # the masked updates are what crossed the wire: their bytes are the float deltas' size
    assert secure.history["bytes_up"].iloc[0] > 0


def test_client_level_dp_spends_within_budget_and_stops_before_exceeding(tmp_path):
    train, test = digits(600)
    parts = wb.fl.partition(train, clients=3, label="digit", seed=0, path=tmp_path / "parts")
    planned = wb.fl.launch(mlp, parts, rounds=3, strategy=STRATEGY, test=test, runs_lake=None,
                           dp=wb.fl.DP(epsilon=3.0, clip=0.5))
    fixed = wb.fl.launch(mlp, parts, rounds=10, strategy=STRATEGY, test=test, runs_lake=None,
                         dp=wb.fl.DP(epsilon=3.0, clip=0.5, noise=2.5))
    planned.wait(120)
    epsilon = planned.history["epsilon"]
    assert len(epsilon) == 3 and epsilon.is_monotonic_increasing
    assert epsilon.iloc[0] > 0 and epsilon.iloc[-1] <= 3.0
    fixed.wait(120)
    spent = fixed.history["epsilon"]
    assert len(spent) == 2 and spent.iloc[-1] <= 3.0  # stopped before the round that exceeds
    assert fixed.outcome.startswith(f"stopped before round {len(spent) + 1}: it would spend "
                                    "epsilon")
    assert "over the budget of 3" in fixed.outcome and fixed.status == "succeeded"
    from opacus.accountants import RDPAccountant

    accountant = RDPAccountant()  # the same figure, from Opacus directly: q = 1, one step a round
    accountant.history = [(2.5, 1.0, len(spent))]
    assert spent.iloc[-1] == pytest.approx(accountant.get_epsilon(1e-5))


def test_sample_level_dp_sgd_with_opacus(tmp_path):
    train, test = digits(600)
    parts = wb.fl.partition(train, clients=2, label="digit", seed=0, path=tmp_path / "parts")
    job = wb.fl.launch(mlp, parts, rounds=2, test=test, runs_lake=None,
                       strategy=wb.fl.FedAvg(local_epochs=1, batch_size=32, lr=0.2),
                       dp=wb.fl.DP(epsilon=8.0, clip=1.0, level="sample"))
    job.wait(120)
    history = job.history
    assert (history["completed"] == 2).all()
    assert 0 < history["epsilon"].iloc[0] < history["epsilon"].iloc[1] <= 8.0


def test_fedprox_and_fedadam_run_and_fraction_samples(tmp_path):
    train, test = digits(600)
    parts = wb.fl.partition(train, clients=4, label="digit", scheme="shards",
                            shards_per_client=2, seed=0, path=tmp_path / "parts")
    prox = wb.fl.launch(mlp, parts, rounds=2, test=test, runs_lake=None,
                        strategy=wb.fl.FedProx(local_epochs=1, batch_size=16, lr=0.1, mu=0.1,
                                               fraction=0.5))
    adam = wb.fl.launch(mlp, parts, rounds=2, test=test, runs_lake=None,
                        strategy=wb.fl.FedAdam(local_epochs=1, batch_size=16, lr=0.1))
    prox.wait(120)
    adam.wait(120)
    assert (prox.history["sampled"] == 2).all()  # half of 4
    grid = prox.participation[lambda f: f["round"] > 0]
    assert (grid.groupby("round")["state"].apply(lambda s: (s == "completed").sum()) == 2).all()
    assert (grid["state"].isin(["completed", "idle"])).all()
    assert (adam.history["completed"] == 4).all()


def test_fedadam_step_is_reddi_et_al_algorithm_2():
    strategy = FedAdam(server_lr=0.1, beta1=0.9, beta2=0.99, tau=1e-3)
    w = {"w": torch.tensor([1.0, -1.0])}
    d1 = {"w": torch.tensor([0.2, 0.0])}
    w1 = strategy.step(w, d1)
    m = 0.1 * d1["w"]
    v = 0.01 * d1["w"] ** 2
    assert torch.allclose(w1["w"], w["w"] + 0.1 * m / (v.sqrt() + 1e-3))
    d2 = {"w": torch.tensor([-0.1, 0.3])}
    w2 = strategy.step(w1, d2)
    m = 0.9 * m + 0.1 * d2["w"]
    v = 0.99 * v + 0.01 * d2["w"] ** 2
    assert torch.allclose(w2["w"], w1["w"] + 0.1 * m / (v.sqrt() + 1e-3))


def test_fedavg_weights_by_examples_and_fedsgd_is_one_full_batch_step():
    fedsgd = wb.fl.FedAvg(local_epochs=1, batch_size=None, lr=0.1)
    assert fedsgd.client_config() == {"local_epochs": 1, "batch_size": None, "lr": 0.1,
                                      "mu": 0.0}
    assert fedsgd.sample_size(10, 1) == 10
    assert wb.fl.FedAvg(fraction=0.1).sample_size(10, 3) == 3  # at least min_clients
    w = {"w": torch.tensor([1.0])}
    assert torch.equal(fedsgd.step(w, {"w": torch.tensor([0.5])})["w"], torch.tensor([1.5]))


@pytest.mark.parametrize(("make", "message"), [
    (lambda: wb.fl.FedAvg(local_epochs=0), "local_epochs=0"),
    (lambda: wb.fl.FedAvg(batch_size=0), "batch_size=0"),
    (lambda: wb.fl.FedAvg(lr=-1), "lr=-1"),
    (lambda: wb.fl.FedAvg(fraction=0), "fraction=0"),
    (lambda: wb.fl.FedProx(mu=-0.1), "mu=-0.1"),
    (lambda: wb.fl.FedAdam(beta1=1.0), "beta1=1.0"),
    (lambda: wb.fl.DP(epsilon=0), "epsilon=0"),
    (lambda: wb.fl.DP(epsilon=1, delta=1.5), "delta=1.5"),
    (lambda: wb.fl.DP(epsilon=1, level="row"), "level='row'"),
])
def test_strategy_and_dp_arguments_are_named(make, message):
    with pytest.raises(FederatedError, match=message.replace("(", r"\(")):
        make()


def test_regression_with_mse_and_a_train_fn(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 3))
    frame = pd.DataFrame(x, columns=["a", "b", "c"])
    frame["target"] = x @ np.array([1.0, -2.0, 0.5]) + 0.3
    parts = wb.fl.partition(frame, clients=2, label="target", seed=0, path=tmp_path / "parts")
    seen = []

    def train_fn(model, loader, config):
        optimizer = torch.optim.SGD(model.parameters(), lr=config["lr"])
        for _ in range(config["local_epochs"]):
            for xb, yb in loader:
                optimizer.zero_grad()
                loss = torch.nn.functional.mse_loss(model(xb).squeeze(1), yb)
                loss.backward()
                optimizer.step()
        seen.append(config)  # in the client process: the notebook's list stays empty
        return {"loss": loss.item()}

    job = wb.fl.launch(lambda: torch.nn.Linear(3, 1), parts, rounds=4, train_fn=train_fn,
                       strategy=wb.fl.FedAvg(local_epochs=5, batch_size=16, lr=0.05),
                       test=frame.iloc[:50], runs_lake=None)
    model = job.wait(120)
    assert seen == []
    assert job.task.kind == "regression"
    assert job.history["test_loss"].iloc[-1] < 0.05
    assert math.isnan(job.history["test_accuracy"].iloc[-1])
    assert torch.allclose(model.weight.detach(), torch.tensor([[1.0, -2.0, 0.5]]), atol=0.1)
