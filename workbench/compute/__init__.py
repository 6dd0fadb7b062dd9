"""Where work runs: Dask clusters (local CPU, local CUDA, or an existing scheduler) and the
registry that lets other processes list them."""

from workbench.compute.cluster import Cluster, ClusterConnectionError, cluster, current_cluster
from workbench.compute.gpus import gpus, has_gpu
from workbench.compute.registry import clusters

__all__ = [
    "Cluster",
    "ClusterConnectionError",
    "cluster",
    "clusters",
    "current_cluster",
    "gpus",
    "has_gpu",
]
