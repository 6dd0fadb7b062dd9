"""What runs on one client's rows: the default supervised loop (SGD, cross-entropy for classes,
MSE for float targets, FedProx's proximal term) and evaluation, which the aggregator also uses
on the held-out test data."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch
    from torch.utils.data import DataLoader

Loss = Callable[[Any, Any], Any]  # (output, target) -> scalar tensor
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
