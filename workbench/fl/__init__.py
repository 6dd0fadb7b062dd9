"""Federated learning: a table partitioned across clients (`partition`), each reading only its
own rows. Loads on first use. (The module is `partitions`, so that importing it never rebinds
``workbench.fl.partition``, the function, to a module.)"""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbench.lazy import lazy_exports

if TYPE_CHECKING:
    from workbench.fl.errors import FederatedError
    from workbench.fl.partitions import Partitions, partition

_EXPORTS = {"partition": ".partitions", "Partitions": ".partitions", "FederatedError": ".errors"}
__all__ = ["FederatedError", "Partitions", "partition"]

__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS)
