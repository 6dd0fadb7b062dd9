"""`wb.fl.launch(..., runtime="flower")`: the same job on Flower's deployment engine (a SuperLink
and one SuperNode per client on loopback) learns what the native runtime learns, fills the same
history, keeps Flower's state in the run directory and leaves no Flower process behind; what it
cannot run is refused in the notebook with a message that says what to do."""

from __future__ import annotations

import time

import pandas as pd
import psutil
import pytest
import torch

import workbench as wb
from workbench.fl import FederatedError

pytest.importorskip("flwr")
from fl_models import mlp  # noqa: E402 (a module file: Flower's processes import it)

STRATEGY = wb.fl.FedAvg(local_epochs=2, batch_size=16, lr=0.1)


def digits(n: int = 900) -> tuple[pd.DataFrame, pd.DataFrame]:
    from sklearn.datasets import load_digits

    data = load_digits()
    frame = pd.DataFrame(data.data / 16.0, columns=[f"p{i}" for i in range(64)])
    frame["digit"] = data.target
    return frame.iloc[:n].reset_index(drop=True), frame.iloc[n:n + 300].reset_index(drop=True)


def flower_processes(home: str) -> list[psutil.Process]:
    """Live Flower processes (flower-superlink/-supernode/-superexec, flwr-serverapp/-clientapp)
    whose FLWR_HOME is `home`, wherever they were reparented."""
    found = []
    for proc in psutil.process_iter(["name"]):
        if not (proc.info["name"] or "").startswith(("flwr-", "flower-")):
            continue
        try:
            if proc.status() != psutil.STATUS_ZOMBIE and \
                    proc.environ().get("FLWR_HOME") == home:
                found.append(proc)
        except psutil.NoSuchProcess:
            continue
    return found


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_flower_learns_what_the_native_runtime_learns_and_leaves_nothing(tmp_path):
    train, test = digits()
    parts = wb.fl.partition(train, clients=3, label="digit", seed=0, path=tmp_path / "parts")
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    jobs = {runtime: wb.fl.launch(mlp, parts, rounds=3, strategy=STRATEGY, test=test, seed=0,
                                  runtime=runtime, runs_lake=None)
            for runtime in ("local", "flower")}  # side by side: the test takes the longer one
    for job in jobs.values():
        job.wait(840)
        assert job.status == "succeeded" and job.outcome == "finished 3 rounds"
    native, flower = jobs["local"].history, jobs["flower"].history
    assert list(flower.columns) == list(native.columns)
    assert list(flower["round"]) == [1, 2, 3]
    assert (flower["completed"] == 3).all() and (flower["dropped"] == 0).all()
    assert (flower["bytes_up"] > 0).all() and (flower["bytes_down"] > 0).all()
    gap = (flower["test_accuracy"] - native["test_accuracy"]).abs().max()
    assert gap <= 0.01, (list(native["test_accuracy"]), list(flower["test_accuracy"]))
    assert flower["test_accuracy"].iloc[-1] > 0.8
    clients = jobs["flower"].clients
    assert list(clients["client"]) == [0, 1, 2]
    assert list(clients["rows"]) == list(parts.table["rows"])
    assert (clients["rounds_completed"] == 3).all() and (clients["state"] == "completed").all()
    # the model is the ServerApp's last global model, and scores what history says
    from workbench.fl.data import tensors

    x, y = tensors(test, jobs["flower"].task)
    with torch.no_grad():
        accuracy = float((jobs["flower"].model(x).argmax(1) == y).float().mean())
    assert accuracy == pytest.approx(flower["test_accuracy"].iloc[-1])
    # Flower's config, installed app and logs live in the run directory, not in ~/.flwr
    run_dir = jobs["flower"].run_dir
    home = run_dir / "flwr"
    assert "127.0.0.1:" in (home / "config.toml").read_text()
    assert list((home / "apps").iterdir())  # where flwr installed the app it was sent
    assert (run_dir / "flower_app" / "fl_models.py").exists()  # the user's module, packaged
    # nothing left: not a descendant of this process, nor a Flower process of this job anywhere
    deadline = time.monotonic() + 10
    while (left := [p for p in psutil.Process().children(recursive=True)
                    if p.pid not in before]) or flower_processes(str(home)):
        assert time.monotonic() < deadline, (left, flower_processes(str(home)))
        time.sleep(0.2)


def test_what_flower_cannot_run_is_refused_in_the_notebook(tmp_path):
    train, _ = digits(90)
    parts = wb.fl.partition(train, clients=3, label="digit", seed=0, path=tmp_path / "parts")

    def notebook_model() -> torch.nn.Module:
        return mlp()

    notebook_model.__module__ = "__main__"  # as a function defined in a notebook cell is
    with pytest.raises(FederatedError, match=r"defined in the notebook .*define it in a module "
                                             r"file \(e\.g\. models\.py beside the notebook\)"):
        wb.fl.launch(notebook_model, parts, rounds=1, runtime="flower")
    with pytest.raises(FederatedError, match="train_fn=.*<lambda>.*define it in a module file"):
        wb.fl.launch(mlp, parts, rounds=1, runtime="flower", train_fn=lambda m, loader, c: {})
    with pytest.raises(FederatedError, match="secure=True .*runtime='local'"):
        wb.fl.launch(mlp, parts, rounds=1, runtime="flower", secure=True)
    with pytest.raises(FederatedError, match="dp= .*runtime='local'"):
        wb.fl.launch(mlp, parts, rounds=1, runtime="flower", dp=wb.fl.DP(epsilon=8.0))
