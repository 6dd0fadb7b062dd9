"""Faults of a federated job, each with real processes: a client SIGKILLed mid-round, a client
whose code raises, fewer than `min_clients` alive, a client sending a poisoned update, the
aggregator killed, the launching kernel killed, and `job.stop()` during a round. Nothing may
outlive a test."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import psutil
import pytest
import torch

import workbench as wb
from workbench.fl import FederatedError

pytestmark = pytest.mark.timeout(180)
GONE_WITHIN_S = 10.0


@pytest.fixture(autouse=True)
def no_orphans():
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    yield
    deadline = time.monotonic() + GONE_WITHIN_S
    while left := [p for p in psutil.Process().children(recursive=True) if p.pid not in before]:
        assert time.monotonic() < deadline, left
        time.sleep(0.1)


def frame(n: int = 240) -> pd.DataFrame:
    from sklearn.datasets import load_digits

    data = load_digits()
    out = pd.DataFrame(data.data[:n] / 16.0, columns=[f"p{i}" for i in range(64)])
    out["digit"] = data.target[:n]
    return out


def mlp() -> torch.nn.Module:
    return torch.nn.Sequential(torch.nn.Linear(64, 16), torch.nn.ReLU(), torch.nn.Linear(16, 10))


def misbehaving(marker: str, *, sleep_in: tuple[int, int] | None = None,
                raise_in: tuple[int, int] | None = None, poison_in: tuple[int, int] | None = None):
    """A train_fn that trains normally, except for (client, round): sleeps a minute after
    touching `marker`, raises, or returns NaN weights."""

    def train_fn(model, loader, config):
        from workbench.fl.local import default_loss, train

        at = (config["client"], config["round"])
        if at == sleep_in:
            Path(marker).touch()
            time.sleep(60)
        if at == raise_in:
            raise ValueError(f"bad batch in client {config['client']}")
        metrics = train(model, loader, config, default_loss(True))
        if at == poison_in:
            with torch.no_grad():
                for p in model.parameters():
                    p.fill_(float("nan"))
        return metrics

    return train_fn


def wait_for(predicate, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def all_gone(pids: list[int], within: float = GONE_WITHIN_S) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        alive = [pid for pid in pids if psutil.pid_exists(pid)
                 and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE]
        if not alive:
            return True
        time.sleep(0.05)
    return False


def launch(tmp_path, train_fn, clients: int = 3, **kwargs):
    parts = wb.fl.partition(frame(), clients=clients, label="digit", seed=0,
                            path=tmp_path / "parts")
    options = {"rounds": 3, "round_timeout": 60, "runs_lake": None, "train_fn": train_fn,
               "strategy": wb.fl.FedAvg(local_epochs=1, batch_size=16, lr=0.1), **kwargs}
    return wb.fl.launch(mlp, parts, **options)


def test_a_client_killed_mid_round_the_round_completes_with_the_others(tmp_path):
    marker = tmp_path / "sleeping"
    job = launch(tmp_path, misbehaving(str(marker), sleep_in=(1, 2)))
    wait_for(marker.exists)
    victim = int(job.clients.set_index("client").loc[1, "pid"])
    os.kill(victim, signal.SIGKILL)
    job.wait(120)
    history = job.history.set_index("round")
    assert history.loc[2, "completed"] == 2 and history.loc[2, "dropped"] == 1
    assert history.loc[2, "seconds"] < 30  # not round_timeout (60 s): the death is seen at once
    assert history.loc[3, "sampled"] == 2 and history.loc[3, "completed"] == 2
    killed = job.clients.set_index("client").loc[1]
    assert killed["state"] == "failed" and "SIGKILL" in killed["last_error"]
    assert job.status == "succeeded"


def test_a_client_lost_after_the_key_exchange_restarts_the_secure_round_without_it(tmp_path):
    marker = tmp_path / "sleeping"
    job = launch(tmp_path, misbehaving(str(marker), sleep_in=(1, 1)), secure=True, rounds=2)
    wait_for(marker.exists)  # client 1 has sent its public key and is training
    os.kill(int(job.clients.set_index("client").loc[1, "pid"]), signal.SIGKILL)
    job.wait(120)
    history = job.history.set_index("round")
    assert history.loc[1, "sampled"] == 3 and history.loc[1, "completed"] == 2
    assert history.loc[2, "completed"] == 2
    # Masks that did not cancel would leave weights of the order of 2**11: these are a model's.
    weights = torch.cat([p.flatten() for p in job.model.parameters()])
    assert torch.isfinite(weights).all() and weights.abs().max() < 10
    assert job.clients.set_index("client").loc[1, "state"] == "failed"


def test_raising_model_fn_and_train_fn_are_named_with_their_tracebacks(tmp_path):
    def model_fn():
        if os.environ.get("WORKBENCH_FL_CLIENT") == "3":
            raise RuntimeError("no weights file on this site")
        return mlp()

    parts = wb.fl.partition(frame(), clients=4, label="digit", seed=0, path=tmp_path / "parts")
    job = wb.fl.launch(model_fn, parts, rounds=2, runs_lake=None,
                       train_fn=misbehaving("", raise_in=(2, 1)),
                       strategy=wb.fl.FedAvg(local_epochs=1, batch_size=16, lr=0.1))
    job.wait(120)
    clients = job.clients.set_index("client")
    assert clients.loc[3, "state"] == "failed"
    assert "RuntimeError: no weights file on this site" in clients.loc[3, "last_error"]
    assert "Traceback" in clients.loc[3, "last_error"] and "model_fn" in \
        clients.loc[3, "last_error"]
    assert clients.loc[2, "state"] == "failed"
    assert "ValueError: bad batch in client 2" in clients.loc[2, "last_error"]
    assert "train_fn" in clients.loc[2, "last_error"]
    history = job.history.set_index("round")
    assert history.loc[1, "sampled"] == 3 and history.loc[1, "completed"] == 2
    assert history.loc[2, "sampled"] == 2 and history.loc[2, "completed"] == 2


def test_fewer_than_min_clients_fails_with_one_error_naming_them(tmp_path):
    job = launch(tmp_path, misbehaving("", raise_in=(2, 1)), min_clients=3)
    with pytest.raises(FederatedError) as caught:
        job.wait(120)
    message = str(caught.value)
    assert "2 of 3 clients are alive, fewer than min_clients=3" in message
    assert "client 2: ValueError: bad batch in client 2" in message
    assert job.status == "failed" and len(job.history) == 1


def test_a_poisoned_update_drops_that_client_for_the_round_only(tmp_path):
    told = []
    job = launch(tmp_path, misbehaving("", poison_in=(0, 1)), rounds=2, on_alert=told.append)
    job.wait(120)
    # The default federated rules saw the drop (fired at round 1, resolved at round 2).
    assert [(a.rule, a.state) for a in told] == [("clients_dropped", "firing"),
                                                 ("clients_dropped", "resolved")]
    assert job.alerts[["rule", "state", "value"]].values.tolist() == [
        ["clients_dropped", "resolved", 1.0]]
    history = job.history.set_index("round")
    assert history.loc[1, "completed"] == 2 and history.loc[1, "dropped"] == 1
    assert history.loc[2, "completed"] == 3  # back the next round
    rounds = job.participation.set_index(["round", "client"])
    assert rounds.loc[(1, 0), "state"] == "dropped"
    assert "non-finite values" in rounds.loc[(1, 0), "last_error"]
    assert rounds.loc[(2, 0), "state"] == "completed"
    assert torch.isfinite(torch.cat([p.flatten() for p in job.model.parameters()])).all()


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"alerts": ["clients_droped"]}, r"no built-in rule is named 'clients_droped'; the "
                                     r"built-in rules are \['accuracy_drop', "),
    ({"on_alert": "mailto:ops@example.org"}, r"on_alert='mailto:ops@example.org'"),
])
def test_bad_alerts_are_refused_before_any_process_starts(tmp_path, kwargs, message):
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    with pytest.raises((wb.ops.RuleError, TypeError), match=message):
        launch(tmp_path, None, **kwargs)
    assert {p.pid for p in psutil.Process().children(recursive=True)} == before


def test_killing_the_aggregator_leaves_no_client(tmp_path):
    marker = tmp_path / "sleeping"
    job = launch(tmp_path, misbehaving(str(marker), sleep_in=(0, 1)))
    wait_for(marker.exists)
    clients = [int(pid) for pid in job.clients["pid"]]
    os.kill(job.pids[0], signal.SIGKILL)
    assert all_gone(clients), "a client outlived its aggregator"
    with pytest.raises(wb.train.WorkerError):
        job.wait(30)
    assert job.status == "failed"


def test_stop_during_a_round_ends_every_process_within_10_s(tmp_path):
    marker = tmp_path / "sleeping"
    job = launch(tmp_path, misbehaving(str(marker), sleep_in=(2, 1)), rounds=50)
    wait_for(marker.exists)
    pids = [*job.pids, *(int(pid) for pid in job.clients["pid"])]
    job.stop()
    assert all_gone(pids), "a process outlived job.stop() by 10 s"
    job.wait(30)
    assert job.status == "stopped" and job.outcome == "stopped by the notebook"


KERNEL = textwrap.dedent("""
    import json, sys, time
    import pandas as pd, torch
    import workbench as wb
    sys.path.insert(0, {tests!r})
    from test_fl_faults import frame, misbehaving, mlp

    parts = wb.fl.partition(frame(), clients=3, label="digit", seed=0, path={parts!r})
    job = wb.fl.launch(mlp, parts, rounds=50, runs_lake=None,
                       train_fn=misbehaving({marker!r}, sleep_in=(1, 1)))
    while not __import__("os").path.exists({marker!r}):
        time.sleep(0.05)
    print(json.dumps([*job.pids, *map(int, job.clients["pid"])]), flush=True)
    time.sleep(600)
""")


def test_the_launching_kernel_dies_and_no_process_survives_10_s(tmp_path):
    marker = tmp_path / "sleeping"
    script = KERNEL.format(tests=str(Path(__file__).parent), parts=str(tmp_path / "parts"),
                           marker=str(marker))
    kernel = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        pids = json.loads(kernel.stdout.readline())
        assert len(pids) == 4
        kernel.send_signal(signal.SIGKILL)
        kernel.wait()
        assert all_gone(pids), "the aggregator or a client outlived the kernel by 10 s"
    finally:
        kernel.kill()
        kernel.wait()
