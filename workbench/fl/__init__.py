"""Federated learning from a notebook: a table partitioned across clients (`partition`), rounds
over real client processes (`launch`) with `FedAvg`, `FedProx` or `FedAdam`, differential
privacy (`DP`) and secure aggregation; `default_rules` are the alert rules a federated run
gets by default. Loads on first use. (The module is `partitions`, so that
importing it never rebinds ``workbench.fl.partition``, the function, to a module.)"""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbench.lazy import lazy_exports

if TYPE_CHECKING:
    from workbench.fl.errors import FederatedError
    from workbench.fl.job import FederatedJob, default_rules, launch
    from workbench.fl.partitions import Partitions, partition
    from workbench.fl.privacy import DP
    from workbench.fl.strategies import FedAdam, FedAvg, FedProx

_EXPORTS = {"partition": ".partitions", "Partitions": ".partitions", "FederatedError": ".errors",
            "launch": ".job", "FederatedJob": ".job", "default_rules": ".job",
            "FedAvg": ".strategies",
            "FedProx": ".strategies", "FedAdam": ".strategies", "DP": ".privacy"}
__all__ = ["DP", "FedAdam", "FedAvg", "FedProx", "FederatedError", "FederatedJob", "Partitions",
           "default_rules", "launch", "partition"]

__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS)
