"""The process that hosts a local cluster: ``python -m workbench.compute.host REPLY_FD``.

`workbench.compute.hosted` starts it so that a cluster's scheduler and nannies live in a process
whose ``__main__`` is this module, not the user's. Dask's nannies start workers with
multiprocessing's spawn, which re-imports the parent's ``__main__``: run from a user's script,
that re-ran the script's top level in every worker, so an unguarded ``lake.ingest(...)`` started
a cluster inside each worker and hung. Here a re-import finds nothing but the guard below.

The protocol, over the parent's pipes:

- stdin brings one pickle: the parent's ``sys.path`` and a cloudpickled ``(cluster_class,
  kwargs, dask config)`` (the class, or its dotted name). The path is the parent's, as spawn
  gave it to the workers before, so that functions pickled by reference (from modules beside
  the user's script, or test modules) import in the workers.
- ``REPLY_FD`` takes one pickled dict, then closes: ``address``, ``workers`` and ``security``
  once the cluster runs, or ``error`` (the traceback text) and ``exception`` (the exception,
  cloudpickled, or None when it does not pickle).
- stdin's end of file (the parent closed the cluster, or died, even SIGKILLed) closes the
  cluster and ends this process; so do SIGTERM and a scheduler shut down by a client.
"""

from __future__ import annotations

import os
import pickle
import select
import signal
import sys
import traceback
from contextlib import suppress
from typing import Any

CLOSE_TIMEOUT_S = 10  # for the cluster's own close; the parent kills what outlives its grace
_POLL_S = 0.2
# glibc's malloc thresholds for the workers. Dask's nannies give them MALLOC_TRIM_THRESHOLD_=64
# KiB (to hand freed memory back at once), and setting any glibc threshold also freezes the mmap
# threshold at its 128 KiB start (mallopt(3)): every array over 128 KiB became a fresh mmap,
# faulted in page by page and unmapped when freed, and every free at the heap's top trimmed it.
# 32 MiB is where glibc's own dynamic thresholds stop (the trim one at twice that): a worker
# keeps at most 32 MiB of freed heap top. On the lake ingest benchmark: the workers' page faults
# 150k -> 15-25k each, the ingest's CPU time 7.6-8.1 -> 6.4-6.5 s.
WORKER_MALLOC = {"MALLOC_MMAP_THRESHOLD_": 32 << 20, "MALLOC_TRIM_THRESHOLD_": 32 << 20}
DASK_MALLOC = {"MALLOC_TRIM_THRESHOLD_": 65536}  # Dask's own values: replaced unless changed


def main(argv: list[str]) -> int:
    """Start the cluster the parent asked for, report back, and hold it until told to stop.
    Returns the exit status: 0, or 1 when the cluster failed to start."""
    reply_fd = int(argv[1])
    os.set_inheritable(reply_fd, False)  # the workers must not hold the parent's reply open
    signal.signal(signal.SIGTERM, _exit_on_signal)
    # Imported while the parent still prepares the request.
    import cloudpickle
    import dask
    import distributed  # noqa: F401  (what every cluster class needs)
    from distributed.utils import import_term

    sys_path, request = pickle.load(sys.stdin.buffer)
    sys.path[:] = sys_path
    try:
        cluster_class, kwargs, config = cloudpickle.loads(request)
        if isinstance(cluster_class, str):
            cluster_class = import_term(cluster_class)
        # The parent's configuration, `dask.config.set` included, as when the scheduler ran there.
        dask.config.update(dask.config.global_config, config, priority="new")
        _worker_malloc()
        cluster = cluster_class(**kwargs)
    except BaseException as exc:
        _reply(reply_fd, {"error": traceback.format_exc(), "exception": _pickled(exc)})
        return 1
    try:
        _reply(reply_fd, {"address": cluster.scheduler_address,
                          "workers": len(cluster.worker_spec), "security": cluster.security})
        _hold(cluster)
    finally:
        # A scheduler shut down by a client is gone: closing would retry its address for the
        # whole connect timeout (30 s) before giving up.
        gone = not _running(cluster)
        with dask.config.set({"distributed.comm.timeouts.connect": "1s"} if gone else {}):
            cluster.close(timeout=CLOSE_TIMEOUT_S)
    return 0


def _worker_malloc() -> None:
    """Give the nannies' workers `WORKER_MALLOC`, except what the user set: in the environment,
    or in the nannies' ``pre-spawn-environ`` (a trim threshold other than Dask's own)."""
    import dask

    key = "distributed.nanny.pre-spawn-environ"
    environ = dict(dask.config.get(key, default=None) or {})
    for name, value in WORKER_MALLOC.items():
        current = environ.get(name)
        untouched = current is None or str(current) == str(DASK_MALLOC.get(name))
        if name not in os.environ and untouched:
            environ[name] = value
    dask.config.set({key: environ})


def _running(cluster: Any) -> bool:
    """Whether the cluster's scheduler still runs (a client may have shut it down)."""
    from distributed.core import Status

    return cluster.scheduler.status not in (Status.closing, Status.closed, Status.failed)


def _hold(cluster: Any) -> None:
    """Return once stdin reaches its end or the scheduler has stopped (`Client.shutdown`)."""
    stdin = sys.stdin.fileno()
    while _running(cluster):
        readable, _, _ = select.select([stdin], [], [], _POLL_S)
        if readable and not os.read(stdin, 4096):
            return


def _reply(fd: int, message: dict[str, Any]) -> None:
    """Send the parent its one message. A parent that stopped waiting (interrupted) has closed
    its end, and its stdin then ends this process."""
    import cloudpickle

    with suppress(BrokenPipeError), os.fdopen(fd, "wb") as pipe:
        pipe.write(cloudpickle.dumps(message))


def _pickled(exc: BaseException) -> bytes | None:
    """The exception, cloudpickled, when it survives the round trip; else None (the parent
    then raises the traceback's text)."""
    import cloudpickle

    try:
        data = cloudpickle.dumps(exc)
        cloudpickle.loads(data)
    except Exception:  # any failure to pickle means "send the text only"
        return None
    return data


def _exit_on_signal(signum: int, frame: object) -> None:
    """SIGTERM: leave through `main`'s ``finally``, which closes the cluster."""
    raise SystemExit(128 + signum)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
