"""What runs on one client's rows: the default supervised loop (SGD, cross-entropy for classes,
MSE for float targets, FedProx's proximal term) and evaluation, which the aggregator also uses
on the held-out test data."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch
    from torch.utils.data import DataLoader

Loss = Callable[[Any, Any], Any]  # (output, target) -> scalar tensor
Fit = Callable[[Any, Any, dict[str, Any]], dict[str, Any]]  # train_fn's (model, loader, config)
EVAL_BATCH = 1024


def default_loss(classification: bool) -> Loss:
    import torch.nn.functional as F

    if classification:
        return F.cross_entropy
    return lambda output, target: F.mse_loss(output.reshape(target.shape), target)


def train(model: torch.nn.Module, loader: DataLoader, config: dict[str, Any], loss: Loss,
          optimizer: Any = None) -> dict[str, float]:
    """`config["local_epochs"]` passes of SGD over `loader`; with ``mu`` > 0 the proximal term
    to the weights the round started from. Returns the mean loss of the last pass."""
    import torch

    if optimizer is None:
        optimizer = torch.optim.SGD(model.parameters(), lr=config["lr"])
    mu = config.get("mu", 0.0)
    anchor = [p.detach().clone() for p in model.parameters()] if mu else []
    model.train()
    total, count = 0.0, 0
    for _ in range(config["local_epochs"]):
        total, count = 0.0, 0
        for x, y in loader:
            optimizer.zero_grad(set_to_none=True)
            value = loss(model(x), y)
            if mu:
                value = value + mu / 2 * sum(((p - a) ** 2).sum()
                                             for p, a in zip(model.parameters(), anchor))
            value.backward()
            optimizer.step()
            total += float(value.detach()) * len(y)
            count += len(y)
    return {"loss": total / count if count else math.nan}


def evaluate(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, loss: Loss,
             classification: bool) -> dict[str, float]:
    """Mean loss and (for classes) accuracy of `model` on `x`, `y`, in batches, no grad."""
    import torch

    model.eval()
    total, correct = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(x), EVAL_BATCH):
            xb, yb = x[start:start + EVAL_BATCH], y[start:start + EVAL_BATCH]
            out = model(xb)
            total += float(loss(out, yb)) * len(yb)
            if classification:
                correct += int((out.argmax(dim=1) == yb).sum())
    n = max(len(x), 1)
    return {"loss": total / n, "accuracy": correct / n if classification else math.nan}


def client_round(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor,
                 weights: dict[str, torch.Tensor], config: dict[str, Any], fit: Fit, *,
                 seed: int, client: int, loss: Loss, classification: bool
                 ) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """One client's part of a round, the same on every runtime: load the global `weights`,
    evaluate them on the client's rows, `fit` (``config["local_epochs"]`` etc.) with batches
    shuffled by a seed of (`seed`, round, client). Returns the update (float tensors as the
    change to the global ones, counters as they are) and its figures: train_loss,
    local_loss, local_accuracy, seconds (training's wall time), cpu_seconds (this process's
    CPU for evaluating and training: the client's work for the round) and metrics."""
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    round_ = config["round"]
    round_seed = (seed * 1_000_003 + round_ * 1009 + client) % 2**63
    torch.manual_seed(round_seed)
    cpu = time.process_time()
    model.load_state_dict(weights)
    local = evaluate(model, x, y, loss, classification)
    loader = DataLoader(TensorDataset(x, y), batch_size=config["batch_size"] or len(x),
                        shuffle=True, generator=torch.Generator().manual_seed(round_seed))
    model.train()
    start = time.perf_counter()
    metrics = fit(model, loader, {**config, "client": client})
    seconds = time.perf_counter() - start
    if not isinstance(metrics, dict):
        raise TypeError(f"train_fn must return a dict of metrics (e.g. {{'loss': ...}}), not "
                        f"{type(metrics).__name__}")
    cpu = time.process_time() - cpu
    state = model.state_dict()
    update = {name: state[name] - weights[name] if torch.is_floating_point(weights[name])
              else state[name] for name in weights}
    numbers = {name: as_number(value) for name, value in metrics.items()}
    return update, {"train_loss": numbers.get("loss", math.nan), "local_loss": local["loss"],
                    "local_accuracy": local["accuracy"], "seconds": seconds,
                    "cpu_seconds": cpu, "metrics": numbers}


def as_number(value: Any) -> float:
    """A metric as a float (tensors and numpy scalars too), NaN when it is not a number."""
    try:
        return float(value.item() if hasattr(value, "item") else value)
    except (TypeError, ValueError):
        return math.nan
