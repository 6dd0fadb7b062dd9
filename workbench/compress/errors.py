"""Errors of bad compression input; each message names the argument or layers, and what to do."""

from __future__ import annotations

from workbench.bench.errors import BenchError


class CompressError(BenchError):
    """Bad compression input (an amount out of range, a model with nothing to prune, teacher and
    student that disagree on their outputs, an eval_fn that fails)."""


class QuantizationError(CompressError):
    """A model that cannot be quantised; the message lists its layers and why each can't be."""
