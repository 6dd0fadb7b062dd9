"""What every federated server keeps between rounds, whichever runtime carries the messages: the
global model with its test data (`GlobalModel`), what it knows of each client (`ClientState`),
and the round and client records it reports (the columns of `workbench.fl.records`). The native
aggregator (`workbench.fl.aggregator`) and Flower's ServerApp (`workbench.fl.flower`) both build
on it, so the two runtimes fill the same history the same way."""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

    from workbench.fl.data import Task


@dataclass
class ClientState:
    """What the server knows of one client: never its data, only what it reported."""

    id: int
    rows: int = 0
    pid: int = 0
    ready: bool = False
    failed: bool = False
    rounds_completed: int = 0
    state: str = "starting"
    last_error: str = ""
    train_loss: float = math.nan
    local_accuracy: float = math.nan
    seconds: float = math.nan
    cpu_seconds: float = math.nan
    transfer_seconds: float = math.nan  # the round trip less `seconds`: download and upload
    labels: str = ""  # its rows per label, as JSON (from the partition table): the label mix

    @property
    def alive(self) -> bool:
        return self.ready and not self.failed

    def fail(self, reason: str) -> None:
        self.failed, self.state, self.last_error = True, "failed", reason

    def drop(self, reason: str) -> None:
        """Out of this round (a late, malformed or refused update), back for the next."""
        self.state, self.last_error = "dropped", reason

    def start_round(self) -> None:
        if self.alive:
            self.state, self.train_loss, self.local_accuracy = "idle", math.nan, math.nan
            self.seconds = self.cpu_seconds = self.transfer_seconds = math.nan

    def complete(self, figures: dict[str, Any], round_trip: float = math.nan) -> None:
        """Its update was combined: the figures it sent (train_loss, local_accuracy,
        seconds, cpu_seconds) become its state; the `round_trip` (model sent to update
        received) less its `seconds` of work is its transfer time."""
        self.state = "completed"
        self.rounds_completed += 1
        for name in ("train_loss", "local_accuracy", "seconds", "cpu_seconds"):
            setattr(self, name, float(figures[name]))
        self.transfer_seconds = max(round_trip - self.seconds, 0.0) \
            if math.isfinite(round_trip - self.seconds) else math.nan

    def record(self) -> dict[str, Any]:
        """The ``event="client"`` record's fields."""
        return {"event": "client", "client": self.id, "pid": self.pid, "rows": self.rows,
                "rounds_completed": self.rounds_completed, "state": self.state,
                "last_error": self.last_error, "train_loss": self.train_loss,
                "seconds": self.seconds, "cpu_seconds": self.cpu_seconds,
                "transfer_seconds": self.transfer_seconds, "labels": self.labels}


class GlobalModel:
    """The server's model: `weights` (the global state dict), which of them are floats (the
    averaged ones), the test data, and evaluation on it."""

    def __init__(self, model_fn: Callable[[], Any], loss: Any, task: Task, seed: int,
                 test_path: str | None) -> None:
        import pandas as pd
        import torch

        from workbench.fl.data import tensors
        from workbench.fl.local import default_loss

        self.task = task
        self.classification = task.classes is not None
        self.loss = loss or default_loss(self.classification)
        torch.manual_seed(seed)  # the same initial weights on every runtime
        self.model = model_fn()
        self.weights = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
        self.floats = [n for n in sorted(self.weights) if torch.is_floating_point(self.weights[n])]
        self.test = None if test_path is None else tensors(pd.read_parquet(test_path), task)

    def evaluate(self) -> dict[str, float]:
        """Loss and accuracy of the current weights on the test data (none without it)."""
        from workbench.fl.local import evaluate

        if self.test is None:
            return {}
        self.model.load_state_dict(self.weights)
        return evaluate(self.model, *self.test, self.loss, self.classification)

    def save(self, path: str | os.PathLike[str]) -> None:
        """The weights to `path` (a state dict, for ``weights_only`` loads), whole or not at
        all: a job stopped or killed still has its last round's model."""
        import torch

        from workbench.train.runtime import write_atomically

        write_atomically(Path(path), lambda tmp: torch.save(self.weights, tmp))

    def mean_delta(self, updates: dict[int, dict[str, torch.Tensor]],
                   shares: dict[int, float]) -> dict[str, torch.Tensor]:
        """The updates' float tensors averaged with `shares`; counters (BatchNorm's) follow
        the lowest client's."""
        import torch

        delta = {name: torch.zeros_like(self.weights[name]) for name in self.floats}
        for i in sorted(updates):
            for name in self.floats:
                delta[name] += shares[i] * updates[i][name]
        return self.with_counters(delta, updates)

    def with_counters(self, delta: dict[str, torch.Tensor],
                      updates: dict[int, dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
        """`delta` completed with the non-float entries, as the lowest client sent them (or
        unchanged where none did, as under secure aggregation)."""
        import torch

        first = updates[min(updates)]
        for name in self.weights:
            if name not in delta:
                delta[name] = first[name] - self.weights[name] if name in first else \
                    torch.zeros_like(self.weights[name])
        return delta


def round_record(sampled: int, done: list[ClientState], metrics: dict[str, float],
                 bytes_up: int, bytes_down: int, seconds: float,
                 epsilon: float = math.nan) -> dict[str, Any]:
    """The ``event="round"`` record's fields (``dropped_clients``: ``dropped`` is a name every
    metrics record already carries). ``test_loss`` and ``test_accuracy`` only with test data
    (`metrics` empty without it): a NaN there means a diverged model, never a missing test.
    Utilisation R of the round: the clients' work (``compute_s``) against their download and
    upload (``transfer_s``)."""
    compute = sum(c.seconds for c in done)
    transfer = sum(c.transfer_seconds for c in done)
    test = {"test_loss": metrics["loss"], "test_accuracy": metrics["accuracy"]} if metrics \
        else {}
    return {"event": "round", "sampled": sampled, "completed": len(done),
            "dropped_clients": sampled - len(done),
            "train_loss": weighted_mean([(c.train_loss, c.rows) for c in done]), **test,
            "local_accuracy": weighted_mean([(c.local_accuracy, c.rows) for c in done]),
            "bytes_up": bytes_up, "bytes_down": bytes_down, "seconds": seconds,
            "train_seconds": max((c.seconds for c in done), default=0.0),
            "client_cpu_seconds": sum(c.cpu_seconds for c in done), "epsilon": epsilon,
            "compute_s": compute, "transfer_s": transfer,
            "utilisation": compute / (compute + transfer) if compute + transfer > 0 else math.nan}


def too_few(round_: int, clients: dict[int, ClientState], min_clients: int) -> str:
    """The error of a job with fewer than `min_clients` alive, naming the others and why."""
    alive = sum(c.alive for c in clients.values())
    lines = "\n".join(f"- client {c.id}: {c.last_error or c.state}"
                      for c in clients.values() if not c.alive)
    return (f"round {round_}: {alive} of {len(clients)} clients are alive, fewer than "
            f"min_clients={min_clients}. The others:\n{lines}")


def weighted_mean(pairs: list[tuple[float, int]]) -> float:
    """The row-weighted mean of the finite values."""
    values = [(v, n) for v, n in pairs if isinstance(v, int | float) and math.isfinite(v)]
    if not values:
        return math.nan
    return sum(v * n for v, n in values) / sum(n for _, n in values)
