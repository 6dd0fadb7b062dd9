"""Models for the Flower runtime's tests: runtime="flower" imports model_fn from a module file,
which the job packages into the Flower app (a function defined in a test file or a notebook
cannot reach Flower's processes)."""

from __future__ import annotations

import torch


def mlp() -> torch.nn.Module:
    """A small MLP for sklearn's 8x8 digits: 64 pixels in, 10 classes out."""
    return torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10))
