"""The federated package's errors."""

from __future__ import annotations

from workbench.errors import WorkbenchError


class FederatedError(WorkbenchError, ValueError):
    """A federated job or partition that cannot be made as asked; says which argument, column
    or client, and what to do."""
