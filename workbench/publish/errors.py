"""Errors of publishing: each names the notebook, port or package and says what to do."""

from __future__ import annotations

from workbench.errors import WorkbenchError


class PublishError(WorkbenchError, RuntimeError):
    """A dashboard could not be published or exported as asked."""


class NotebookNotFoundError(PublishError, FileNotFoundError):
    """The notebook to publish or export does not exist."""
