"""Federated learning: a table partitioned across clients (`partition`), each reading only its
own rows. Loads on first use."""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbench.lazy import lazy_exports

if TYPE_CHECKING:
    from workbench.fl.errors import FederatedError
    from workbench.fl.partition import Partitions, partition

_EXPORTS = {"partition": ".partition", "Partitions": ".partition", "FederatedError": ".errors"}
__all__ = ["FederatedError", "Partitions", "partition"]

__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS)
