"""Errors of inference: an export the exporter refuses, inputs that do not match a signature,
an engine that is not installed. Each message names the operator, input or extra, and what to
do."""

from __future__ import annotations

from workbench.errors import WorkbenchError


class InferError(WorkbenchError, ValueError):
    """Bad inference input: the root of this package's errors."""


class ExportError(InferError):
    """A model the ONNX exporter cannot handle; the message names the operator or construct
    and says that the `eager` and `compile` engines still run it."""


class SignatureError(InferError):
    """Inputs whose count, shape or dtype do not match an exported signature; the message names
    what was expected and what was given."""


class EngineUnavailable(InferError, ImportError):
    """An engine whose package is not installed (one line naming the extra to install) or that
    this machine cannot run (a GPU engine without a GPU)."""
