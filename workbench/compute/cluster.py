"""`cluster()`: a Dask cluster to run on, and the `Cluster` handle it returns.

The backend is chosen here, at the edge: an existing scheduler address (how users scale out
with dask-kubernetes, dask-jobqueue or dask-gateway), else one dask-cuda worker per GPU, else
a CPU `LocalCluster` sized to the machine. Everything above only sees a `Cluster`.

A local cluster with worker processes runs in a process of its own (`workbench.compute.hosted`),
never in this one: its workers would re-import this process's ``__main__``, which re-runs a
plain script's unguarded top level (``lake.ingest(...)``) in every worker.
"""

from __future__ import annotations

import atexit
import html
import time
import uuid
from typing import TYPE_CHECKING, Any

from workbench.compute import hosted, registry
from workbench.compute.gpus import has_gpu
from workbench.compute.probe import REPR_PROBE_S, reachable, speaks_dask
from workbench.errors import WorkbenchError

if TYPE_CHECKING:
    import pandas as pd
    from distributed import Client

# Clusters of this process that are still open, oldest first; the last one is "current".
_live: list[Cluster] = []
# The most a local cluster's own process may take to start it (workers included).
START_TIMEOUT_S = 60.0


class ClusterConnectionError(WorkbenchError, ConnectionError):
    """No Dask scheduler could be reached at the address given to `cluster()`."""


class Cluster:
    """A handle on a Dask cluster: its client, dashboard and workers.

    Closing it closes the client and, when this process started the cluster, the cluster too.
    It is a context manager, and renders as a table in a notebook.
    """

    def __init__(
        self, client: Client, kind: str, local: Any = None, *, dashboard: bool = True,
        register: bool = True,
    ) -> None:
        self.client = client
        self.kind = kind
        self._dashboard = dashboard
        self.id = uuid.uuid4().hex[:12]
        self.created = time.time()
        self.closed = False
        self._local = local
        self._address = client.scheduler.address
        self._gpu_names: dict[str, str | None] = {}  # worker address -> the GPU it uses
        self._summary = self._fetch_summary()
        if register:
            registry.register(self._entry())
        _live.append(self)
        # Re-registering keeps our hook last, so it runs before distributed's own exit hooks.
        atexit.unregister(_close_all)
        atexit.register(_close_all)

    @property
    def address(self) -> str:
        """The scheduler's address, as this process reaches it."""
        return self._address

    @property
    def dashboard_link(self) -> str | None:
        """The scheduler's dashboard URL, or None when it runs without one."""
        return self.summary()["dashboard_link"]

    @property
    def workers(self) -> pd.DataFrame:
        """One row per worker: address, name, threads, memory_limit (bytes), gpu (name or None)."""
        import pandas as pd

        _, rows = self._scan()
        return pd.DataFrame(rows, columns=["address", "name", "threads", "memory_limit", "gpu"])

    def summary(self) -> dict[str, Any]:
        """Totals: workers, threads, memory (bytes), gpus (workers that use one),
        dashboard_link. Live while the cluster is open, the last values seen once closed."""
        if not self.closed:
            self._summary = self._fetch_summary()
        return dict(self._summary)

    def close(self) -> None:
        """Close the client, and the cluster if this process started it. Safe to call twice."""
        if self.closed:
            return
        self.closed = True
        if self in _live:
            _live.remove(self)
        registry.unregister(self.id)
        import dask

        # A scheduler stopped from elsewhere (the sidebar's Stop) is not waited for: distributed
        # would retry its address for the whole connect timeout (30 s) before closing.
        gone = not reachable(self._address, timeout=0.5)
        with dask.config.set({"distributed.comm.timeouts.connect": "1s"} if gone else {}):
            self.client.close()
            if self._local is not None:
                self._local.close()

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state, s = self._repr_state()
        return (
            f"<Cluster {state} kind={self.kind!r} address={self.address!r} "
            f"workers={s['workers']} threads={s['threads']} "
            f"memory={_format_bytes(s['memory'])} gpus={s['gpus']}>"
        )

    def _repr_html_(self) -> str:
        state, s = self._repr_state()
        link = s["dashboard_link"]
        if not link:
            dashboard = "none"
        elif state == "running":
            dashboard = f'<a href="{html.escape(link)}" target="_blank">{html.escape(link)}</a>'
        else:
            dashboard = f"{html.escape(link)} ({state})"
        rows = [
            ("Kind", html.escape(self.kind)),
            ("Status", state),
            ("Address", html.escape(self.address)),
            ("Workers", str(s["workers"])),
            ("Threads", str(s["threads"])),
            ("Memory", _format_bytes(s["memory"])),
            ("GPUs", str(s["gpus"])),
            ("Dashboard", dashboard),
        ]
        body = "".join(
            f'<tr><th style="text-align:left">{name}</th><td style="text-align:left">{value}</td>'
            "</tr>"
            for name, value in rows
        )
        return f"<div><strong>Workbench cluster</strong><table>{body}</table></div>"

    def _repr_state(self) -> tuple[str, dict[str, Any]]:
        """"running" and live totals while the scheduler accepts a connection (a probe of at most
        `REPR_PROBE_S`), else "stopped" (or "closed") and the last totals seen: a repr never
        waits on a scheduler that has gone, nor links to its dead dashboard."""
        if self.closed:
            return "closed", dict(self._summary)
        if not reachable(self._address, REPR_PROBE_S):
            return "stopped", dict(self._summary)
        return "running", self.summary()

    def _scan(self) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """The scheduler's identity and one row per worker; each new worker is asked once which
        GPU it uses."""
        from distributed.diagnostics import nvml

        info = self.client.scheduler_info(n_workers=-1)
        new = [address for address in info["workers"] if address not in self._gpu_names]
        # A "cpu" cluster was chosen not to use GPUs, even on a machine that has them.
        if new and self.kind != "cpu":
            # distributed's own probe: importable on any worker, it follows the worker's
            # CUDA_VISIBLE_DEVICES; "no GPU" and "no NVML" come back as exceptions, i.e. None.
            found = self.client.run(nvml.one_time, workers=new, on_error="return")
            self._gpu_names.update(
                {a: r.get("name") if isinstance(r, dict) else None for a, r in found.items()}
            )
        rows = [
            {
                "address": address,
                "name": worker.get("name"),
                "threads": worker.get("nthreads", 0),
                "memory_limit": worker.get("memory_limit") or 0,
                "gpu": self._gpu_names.get(address),
            }
            for address, worker in info["workers"].items()
        ]
        return info, rows

    def _dashboard_link(self) -> str:
        """Dask's dashboard link, through the Jupyter server where users reach only that."""
        import dask

        from workbench.proxy import dask_dashboard_link

        template = dask_dashboard_link()
        with dask.config.set({"distributed.dashboard.link": template} if template else {}):
            return self.client.dashboard_link

    def _fetch_summary(self) -> dict[str, Any]:
        info, rows = self._scan()
        return {
            "workers": len(rows),
            "threads": sum(row["threads"] for row in rows),
            "memory": sum(row["memory_limit"] for row in rows),
            "gpus": sum(1 for row in rows if row["gpu"]),
            "dashboard_link": (
                self._dashboard_link()
                if self._dashboard and "dashboard" in info.get("services", {})
                else None
            ),
        }

    def _entry(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "address": self.address,
            "kind": self.kind,
            **{k: self._summary[k] for k in ("workers", "threads", "memory", "gpus")},
            "dashboard_link": self._summary["dashboard_link"],
            **registry.owner_fields(),
            "created": self.created,
        }


def cluster(
    address: str | None = None,
    *,
    n_workers: int | None = None,
    threads_per_worker: int | None = None,
    memory_limit: str | float | None = None,
    processes: bool = True,
    dashboard: bool = True,
    gpu: bool | None = None,
    timeout: float = 10.0,
    register: bool = True,
    **kwargs: Any,
) -> Cluster:
    """Start or join a Dask cluster and make it this process's current one.

    - `address` ("tcp://host:8786"): connect to a running scheduler (kind "remote"); `kwargs`
      go to `distributed.Client` (e.g. `security=`). Fails within `timeout` seconds.
      With an address, `register=False` joins without a registry entry of its own: for a
      process (the Jupyter server) joining a cluster it found in the registry, listed already.
    - else, with CUDA GPUs and dask-cuda: a `LocalCUDACluster`, one worker per GPU (kind "cuda").
    - else a `LocalCluster` sized to the machine (kind "cpu"); `processes=False` runs threads
      in this process.

    A local cluster with processes (CPU or CUDA) runs, scheduler included, in a process of its
    own that ends with its `close()` or this process, so scripts need no ``__main__`` guard.

    `memory_limit` is per worker (None: the machine's memory split across workers). `gpu`
    forces (True) or forbids (False) the CUDA cluster; None decides from what is installed.
    Remaining `kwargs` go to the local cluster class. `timeout` also bounds the wait for a
    local cluster's workers.
    """
    if address is not None:
        return _connect(address, timeout, register, **kwargs)
    options: dict[str, Any] = {
        "n_workers": n_workers,
        "threads_per_worker": threads_per_worker,
        "memory_limit": memory_limit,
    }
    options = {k: v for k, v in options.items() if v is not None}
    # The scheduler's HTTP server runs even without a dashboard; ":0" gives it a free port, so
    # a second cluster brings no "port 8787 is already in use" warning.
    options["dashboard_address"] = ":0"
    if not dashboard:
        kwargs["scheduler_kwargs"] = {**kwargs.get("scheduler_kwargs", {}), "dashboard": False}
    cuda_cluster = _cuda_cluster_class(gpu, processes)
    kind = "cpu" if cuda_cluster is None else "cuda"
    client, local = _start_local(cuda_cluster, kind, processes, options, kwargs, timeout)
    return Cluster(client, kind, local, dashboard=dashboard)


def _start_local(
    cuda_cluster: Any, kind: str, processes: bool, options: dict[str, Any],
    kwargs: dict[str, Any], timeout: float,
) -> tuple[Client, Any]:
    """Start the local cluster (`cuda_cluster`, else a CPU one) and connect a client once all
    its workers are up: (client, cluster). A failed start closes the cluster, not left running."""
    local: Any
    if cuda_cluster is None and not processes:
        from distributed import Client, LocalCluster

        # Threads alone would default to inproc://, which no other process can reach.
        local = LocalCluster(**{**options, "processes": False, "protocol": "tcp://", **kwargs})
        target, security, workers = local, None, len(local.worker_spec)
    else:
        # Worker processes come from a process of the cluster's own, never spawned from this
        # one: spawn would re-run an unguarded script's top level in each (see `hosted`).
        if cuda_cluster is None:
            options["processes"] = True
        local = hosted.HostedCluster(cuda_cluster or "distributed.LocalCluster",
                                     {**options, **kwargs})
        try:
            from distributed import Client  # imported while the cluster starts

            local.wait(START_TIMEOUT_S)
        except BaseException:
            local.close()
            raise
        target, security, workers = local.address, local.security, local.workers

    try:
        # Results come straight from the workers, not relayed by the scheduler (Dask's
        # default): a local cluster's workers are always reachable from here.
        client = Client(target, security=security, direct_to_workers=True)
        # dask-cuda can return with workers that failed to start: say so now, not hang later.
        client.wait_for_workers(workers, timeout=timeout)
    except TimeoutError as exc:
        local.close()
        raise RuntimeError(
            f"The {kind} cluster's workers did not all start within {timeout:g} s ({exc}); "
            "the errors logged above say why."
        ) from exc
    except BaseException:
        local.close()
        raise
    return client, local


def current_cluster(start: bool = True) -> Cluster:
    """The most recent open cluster of this process; with `start`, `cluster()` when none is."""
    for candidate in reversed(_live):
        if candidate.client.status == "running":
            return candidate
    if not start:
        raise LookupError("No cluster is open in this process: call wb.cluster() first.")
    return cluster()


def _connect(address: str, timeout: float, register: bool, **kwargs: Any) -> Cluster:
    """Join an existing scheduler, failing fast with an error that says what to check."""
    from distributed import Client

    advice = (
        f"Could not connect to a Dask scheduler at {address!r} within {timeout:g} s. Check the "
        "address (e.g. 'tcp://host:8786'), that the scheduler is running and that this machine "
        "can reach it, or call wb.cluster() with no address to start a local cluster."
    )
    # A refused connection fails at once here; distributed itself would retry until timeout.
    if not reachable(address, timeout):
        raise ClusterConnectionError(advice)
    if not speaks_dask(address, timeout):
        raise ClusterConnectionError(
            f"{address!r} accepts connections but is not a Dask scheduler (is it the dashboard's "
            "port? a scheduler listens on 8786 by default). Pass the scheduler's address, as "
            "printed by the scheduler or by your cluster manager's .scheduler_address."
        )
    try:
        client = Client(address, timeout=timeout, **kwargs)
    except (OSError, ValueError) as exc:
        raise ClusterConnectionError(f"{advice} ({exc})") from exc
    return Cluster(client, "remote", register=register)


def _cuda_cluster_class(gpu: bool | None, processes: bool) -> Any:
    """dask-cuda's `LocalCUDACluster` when this cluster should use the GPUs, else None."""
    if gpu is False or (gpu is None and not (processes and has_gpu())):
        return None
    try:
        from dask_cuda import LocalCUDACluster
    except ImportError as exc:
        if gpu:
            raise ImportError(
                "cluster(gpu=True) needs dask-cuda: pip install 'workbench[gpu]'"
            ) from exc
        return None
    return LocalCUDACluster


def _close_all() -> None:
    """At interpreter exit: close this process's clusters, which removes their registry entries."""
    for handle in reversed(list(_live)):
        handle.close()


def _format_bytes(n: int) -> str:
    from dask.utils import format_bytes

    return format_bytes(n)
