"""GET/DELETE clusters, and the task cluster that ingest and profile tasks run on.

The list is the cluster registry (`wb.clusters()`): ids are looked up among its entries, each
"running" or "stopped" as the registry's probe finds it. ``owned`` is true for a cluster a
workbench process started ("cpu" or "cuda"); one joined by address ("remote") belongs to someone
else, and stopping it is refused. Stopping an owned cluster that has stopped already removes its
entry.

The task cluster is the newest running cluster in the registry, joined by address without a
registry entry of its own (it is listed once already); when none runs, the server starts a local
one for the task, registered so that the sidebar lists it and can stop it. The server never starts
a cluster on its own, only for a task a person asked for.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from workbench.server.encode import cell, epoch
from workbench.server.errors import ApiError

if TYPE_CHECKING:
    from workbench.compute import Cluster

FIELDS = ("id", "address", "kind", "status", "workers", "threads", "memory", "gpus",
          "dashboard_link", "pid")
OWNED_KINDS = ("cpu", "cuda")
_CONNECT_S = 5.0


class ClusterService:
    """The clusters this server started or joined, and the registry's others."""

    def __init__(self) -> None:
        self._started: dict[str, Cluster] = {}  # by registry id: local clusters for tasks
        self._joined: dict[str, Cluster] = {}  # by address: registry clusters tasks ran on
        self._lock = threading.Lock()

    def rows(self) -> list[dict[str, Any]]:
        """Every cluster in the registry whose owner runs, oldest first, with its status (probes
        each: call from a worker thread)."""
        from workbench.compute import clusters

        table = clusters()
        return [{**{k: cell(row[k]) for k in FIELDS}, "created": epoch(row["created"]),
                 "owned": row["kind"] in OWNED_KINDS} for _, row in table.iterrows()]

    def stop(self, cluster_id: str) -> None:
        """Stop an owned cluster, its scheduler and its workers: 404 for an id the registry does
        not list, 409 for a cluster joined by address."""
        from workbench.compute import clusters, registry

        table = clusters()
        found = table[table["id"] == cluster_id]
        if found.empty:
            raise ApiError(404, f"cluster id {cluster_id!r} is not in the registry (it may have "
                                "stopped already); GET clusters lists the running ones")
        entry = found.iloc[0]
        if entry["kind"] not in OWNED_KINDS:
            raise ApiError(409, f"cluster {cluster_id} at {entry['address']} was joined by "
                                f"address (by process {entry['pid']}), not started by "
                                "workbench: stop it where it was started")
        with self._lock:
            mine = self._started.pop(cluster_id, None)
        if mine is not None:
            mine.close()
            return
        if entry["status"] != "running":
            registry.unregister(cluster_id)  # nothing answers to shut down: only its entry is left
            return
        from distributed import Client

        # Started by another process (a notebook): its scheduler shuts itself and its workers
        # down on request, and the owner's handle finds it gone.
        with Client(entry["address"], timeout=_CONNECT_S, set_as_default=False) as client:
            client.shutdown()
        registry.unregister(cluster_id)

    def task_cluster(self) -> Cluster:
        """Make the task cluster this process's current cluster (what ingest and profile run
        on) and return it: the newest registry entry, joined when this process has no handle on
        it yet, or a local cluster started now when the registry lists none."""
        from workbench.compute import cluster, clusters, current_cluster

        with self._lock:
            table = clusters()
            table = table[table["status"] == "running"]
            for address in [a for a in self._joined if a not in set(table["address"])]:
                self._joined.pop(address).close()  # its cluster is gone
            if table.empty:
                started = cluster()
                self._started[started.id] = started
                return started
            newest = table.iloc[-1]
            try:
                current = current_cluster(start=False)
            except LookupError:
                current = None
            if current is not None and newest["address"] == current.address:
                return current
            stale = self._joined.pop(newest["address"], None)
            if stale is not None:
                stale.close()  # joined before a newer one: a fresh handle makes it current
            joined = cluster(newest["address"], register=False)
            self._joined[newest["address"]] = joined
            return joined

    def close(self) -> None:
        """Close the handles the server joined and the clusters it started."""
        with self._lock:
            handles = [*self._joined.values(), *self._started.values()]
            self._joined.clear()
            self._started.clear()
        for handle in handles:
            handle.close()
