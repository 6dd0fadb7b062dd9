"""The error of bad benchmark input (a light module: the CLI catches it without loading torch)."""

from __future__ import annotations

from workbench.errors import WorkbenchError


class BenchError(WorkbenchError, ValueError):
    """Bad benchmark input: a model that fails on the inputs, batch sizes that don't fit them,
    inputs on another device than the model, options that contradict each other. The message
    names the argument and says what to do."""
