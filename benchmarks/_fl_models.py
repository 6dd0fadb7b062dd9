"""The federated benchmark's model, in a module of its own so that runtimes which import the
model function by name (Flower's) can find it; `benchmarks/federated.py` uses it."""

from __future__ import annotations

import torch


def cnn() -> torch.nn.Module:
    """A 2-conv CNN for the 8x8 digits (64 pixel columns scaled to [0, 1]): 16 and 32 3x3
    channels, one 2x2 max-pool, a 64-unit hidden layer; 37,898 parameters."""
    nn = torch.nn
    return nn.Sequential(
        nn.Unflatten(1, (1, 8, 8)),
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(),
        nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(32 * 16, 64), nn.ReLU(),
        nn.Linear(64, 10))
