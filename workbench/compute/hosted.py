"""`HostedCluster`: a local Dask cluster (scheduler, nannies, workers) run in a process of its own.

Why not `LocalCluster` in this process: its nannies start workers with multiprocessing's spawn,
which re-imports this process's ``__main__`` in every worker. From a plain script, that re-runs
the script's top level there, so a script that calls ``lake.ingest(...)`` without an
``if __name__ == "__main__":`` guard started a cluster inside each worker and hung for ever,
leaving workers behind. The cluster's own process (`workbench.compute.host`, started with
``python -m``) is the ``__main__`` that the workers re-import, and it is guarded: scripts with
or without the guard, ``python -c``, ``python -m`` and notebooks all work the same way. It also
keeps the scheduler's work off this process's GIL.

The host never outlives this process: it leads its own session (a terminal's Ctrl-C reaches this
process, whose exit hooks close the cluster), and it closes the cluster and exits once its
stdin, whose other end only this process holds, reaches its end: on `close`, at exit, or when
this process dies, even SIGKILLed. POSIX only, like `wb.launch`.
"""

from __future__ import annotations

import os
import pickle
import select
import signal
import subprocess
import sys
import time
from contextlib import suppress
from typing import Any

# How long `close` waits for the host to close the cluster before killing its process group.
CLOSE_GRACE_S = 15.0
# How long the host's workers and helpers get to follow it out before they are killed.
_GROUP_EXIT_S = 2.0


class HostedCluster:
    """A cluster started in a host process of its own.

    ``HostedCluster(cluster_class, kwargs)`` starts the host and returns at once (this process
    can import what it needs meanwhile); `wait` returns once ``cluster_class(**kwargs)`` runs
    there, or raises what it raised. Then: the scheduler's `address`, `workers` (how many the
    cluster started with), `security` (to connect with). `close()` ends it all.
    """

    def __init__(self, cluster_class: type | str, kwargs: dict[str, Any]) -> None:
        self.address = ""
        self.workers = 0
        self.security: Any = None
        self._reply, write_end = os.pipe()
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "workbench.compute.host", str(write_end)],
                stdin=subprocess.PIPE, pass_fds=(write_end,), start_new_session=True)
        except BaseException:
            os.close(self._reply)
            raise
        finally:
            os.close(write_end)
        try:
            request = _request(cluster_class, kwargs)
            # A host that died before reading says why on stderr, and `wait` its exit code.
            with suppress(BrokenPipeError):
                self._proc.stdin.write(request)
                self._proc.stdin.flush()
        except BaseException:
            os.close(self._reply)
            self.close(grace=1.0)
            raise

    @property
    def pid(self) -> int:
        """The host process's id (it leads its own process group)."""
        return self._proc.pid

    def wait(self, timeout: float) -> None:
        """Return once the cluster runs; raise the host's exception (as its own type, caused
        by the host's traceback), or `TimeoutError` after ``timeout`` seconds."""
        import cloudpickle

        try:
            message = cloudpickle.loads(_read_all(self._reply, self._proc, timeout))
        finally:
            os.close(self._reply)
        if "error" in message:
            cause = RuntimeError(f"in the cluster's process:\n{message['error']}")
            if message["exception"] is None:
                raise cause
            raise cloudpickle.loads(message["exception"]) from cause
        self.address, self.workers = message["address"], message["workers"]
        self.security = message["security"]

    def close(self, grace: float = CLOSE_GRACE_S) -> None:
        """Close the cluster and wait for its processes to end. Safe to call twice."""
        _stop(self._proc, grace)


def _request(cluster_class: type | str, kwargs: dict[str, Any]) -> bytes:
    """What the host reads from stdin (see `workbench.compute.host`)."""
    import cloudpickle
    import dask

    return pickle.dumps((
        list(sys.path),
        cloudpickle.dumps((cluster_class, kwargs, dask.config.global_config)),
    ))


def _read_all(fd: int, proc: subprocess.Popen, timeout: float) -> bytes:
    """Everything the host writes to ``fd`` until it closes its end (or exits)."""
    deadline = time.monotonic() + timeout
    chunks = []
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"the cluster's process (pid {proc.pid}) did not start the "
                               f"cluster within {timeout:g} s")
        readable, _, _ = select.select([fd], [], [], left)
        if not readable:
            continue
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            break
        chunks.append(chunk)
    if not chunks:
        code = proc.wait()
        raise RuntimeError(f"the cluster's process exited (code {code}) before it started the "
                           "cluster; the errors logged above say why")
    return b"".join(chunks)


def _stop(proc: subprocess.Popen, grace: float) -> None:
    """End the host: close its stdin, wait ``grace`` seconds for it to close the cluster (else
    kill its process group), give the processes it had started (workers, multiprocessing's
    resource tracker) a moment to follow, and kill whatever of its group is still running."""
    import psutil

    try:
        started = psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        started = []
    if proc.stdin is not None and not proc.stdin.closed:
        with suppress(BrokenPipeError):  # a host that is gone already has nothing to read
            proc.stdin.close()
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        _kill_group(proc.pid)
        proc.wait()
    deadline = time.monotonic() + _GROUP_EXIT_S
    while any(_running(p) for p in started) and time.monotonic() < deadline:
        time.sleep(0.05)
    _kill_group(proc.pid)


def _running(proc: Any) -> bool:
    """Whether a psutil process still runs: exited ones that no one has reaped yet (zombies,
    e.g. under a container's init that does not reap) count as gone."""
    import psutil

    try:
        return proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _kill_group(pgid: int) -> None:
    """SIGKILL what is left of the host's process group (it leads its own)."""
    with suppress(ProcessLookupError):  # the group is empty: everything in it has exited
        os.killpg(pgid, signal.SIGKILL)
