"""GET resources: CPU, memory and GPUs, from ONE sampler thread per server shared by every client.

The sampler keeps its state across samples (psutil's ``cpu_percent(interval=None)`` measures
since the previous call of the same thread, so one long-lived thread gives real percentages; a
fresh measurement per request reads 0). It samples once a second while clients have asked in
the last ``idle`` seconds, and otherwise sleeps on an event, costing no CPU at all.

Inside a container the numbers are the container's: CPU percent is of the cores it may use (the
cgroup quota, ``cpu.max`` or v1's ``cpu.cfs_quota_us``), memory is counted against the cgroup's
limit (``memory.max`` or v1's ``memory.limit_in_bytes``). The parsing and the scaling are plain
functions of the files' text, tested on their own.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)
CGROUP = Path("/sys/fs/cgroup")
NO_GPU = "no GPU"


# ---------------------------------------------------------------------------------------------
# The maths: cgroup files' text in, numbers out.


def parse_cpu_max(text: str) -> float | None:
    """Cores allowed by a cgroup v2 ``cpu.max`` ("QUOTA PERIOD" in microseconds, QUOTA "max"
    for none): ``"150000 100000"`` -> 1.5; None when there is no quota."""
    fields = text.split()
    if not fields or fields[0] == "max":
        return None
    period = int(fields[1]) if len(fields) > 1 else 100_000
    return int(fields[0]) / period if period > 0 else None


def parse_cfs_quota(quota: str, period: str) -> float | None:
    """Cores allowed by cgroup v1's ``cpu.cfs_quota_us`` over ``cpu.cfs_period_us`` (a quota of
    -1 means none)."""
    q, p = int(quota.strip()), int(period.strip())
    return q / p if q > 0 and p > 0 else None


def parse_memory_limit(text: str, physical: int) -> int | None:
    """A cgroup memory limit in bytes from ``memory.max`` or ``memory.limit_in_bytes``; None for
    "max" or a value at least the machine's memory (v1 writes a huge number for "no limit")."""
    value = text.strip()
    if value == "max":
        return None
    limit = int(value)
    return limit if 0 < limit < physical else None


def parse_memory_stat(text: str, key: str) -> int:
    """One counter of a cgroup ``memory.stat`` file ("name value" lines); 0 when absent."""
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if name == key:
            return int(value)
    return 0


def scaled_cpu_percent(system_percent: float, host_cores: int, available: float) -> float:
    """System-wide CPU percent (of all ``host_cores``) as a percent of the ``available`` cores
    (the cgroup quota, or the CPUs this process may run on), capped at 100."""
    used_cores = system_percent / 100.0 * host_cores
    return min(100.0, max(0.0, 100.0 * used_cores / available)) if available > 0 else 0.0


def cpu_limit(root: Path = CGROUP) -> float | None:
    """The cgroup's CPU quota in cores (v2, else v1), None when there is none."""
    text = _read(root / "cpu.max")
    if text is not None:
        return parse_cpu_max(text)
    for folder in (root / "cpu", root / "cpu,cpuacct", root):
        quota, period = _read(folder / "cpu.cfs_quota_us"), _read(folder / "cpu.cfs_period_us")
        if quota is not None and period is not None:
            return parse_cfs_quota(quota, period)
    return None


def memory_limit(root: Path, physical: int) -> int | None:
    """The cgroup's memory limit in bytes (v2, else v1), None when there is none."""
    for path in (root / "memory.max", root / "memory" / "memory.limit_in_bytes"):
        text = _read(path)
        if text is not None:
            return parse_memory_limit(text, physical)
    return None


def memory_used(root: Path) -> int | None:
    """Memory the cgroup uses in bytes, less its inactive file cache (which the kernel reclaims
    before it hits the limit, as `docker stats` counts it); None when unreadable."""
    current = _read(root / "memory.current")
    if current is not None:
        stat = _read(root / "memory.stat") or ""
        return int(current) - parse_memory_stat(stat, "inactive_file")
    usage = _read(root / "memory" / "memory.usage_in_bytes")
    if usage is not None:
        stat = _read(root / "memory" / "memory.stat") or ""
        return int(usage) - parse_memory_stat(stat, "total_inactive_file")
    return None


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except OSError:
        return None


def usable_cores() -> int:
    """The CPUs this process may run on (its affinity), else the machine's."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


# ---------------------------------------------------------------------------------------------
# The sampler.


class Sampler:
    """One thread that samples while clients ask (`snapshot`) and sleeps when none has for
    ``idle`` seconds; `close` ends it."""

    def __init__(self, interval: float = 1.0, idle: float = 10.0,
                 cgroup: Path = CGROUP) -> None:
        import psutil

        self.interval, self.idle, self.cgroup = interval, idle, cgroup
        self.samples = 0  # taken so far: a test sees the thread sleep when it stops growing
        self._latest: dict[str, Any] | None = None
        self._latest_at = -float("inf")  # monotonic time of the latest sample
        self._asked = -float("inf")  # monotonic time of the latest snapshot() call
        self._changed = threading.Condition()
        self._wake = threading.Event()
        self._closed = threading.Event()
        self._host_cores = psutil.cpu_count() or 1
        self._thread = threading.Thread(target=self._run, name="workbench resource sampler",
                                         daemon=True)
        self._thread.start()

    def snapshot(self, timeout: float | None = None) -> dict[str, Any]:
        """The latest sample, no older than two intervals: a client arriving after a sleep waits
        for the first fresh one (blocking, so call it from a worker thread)."""
        timeout = 3 * self.interval + 2.0 if timeout is None else timeout
        self._asked = time.monotonic()
        self._wake.set()
        deadline = self._asked + timeout
        with self._changed:
            while (self._latest is None
                   or time.monotonic() - self._latest_at > 2 * self.interval):
                left = deadline - time.monotonic()
                if left <= 0 or self._closed.is_set():
                    break
                self._changed.wait(left)
            if self._latest is None:
                raise TimeoutError(f"the resource sampler took no sample in {timeout:g} s")
            return self._latest

    def close(self) -> None:
        """Stop the thread (idempotent)."""
        self._closed.set()
        self._wake.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        import psutil

        gpus = _Gpus()
        psutil.cpu_percent(interval=None)  # this thread's baseline: the first sample is real
        self._closed.wait(self.interval)
        try:
            while not self._closed.is_set():
                if time.monotonic() - self._asked > self.idle:
                    self._wake.clear()
                    if time.monotonic() - self._asked > self.idle:  # no request since the check
                        self._wake.wait()
                    if self._closed.is_set():
                        break
                    # A fresh baseline: the next sample covers the last interval, not the sleep.
                    psutil.cpu_percent(interval=None)
                    self._closed.wait(self.interval)
                    continue
                try:
                    sample = self._sample(psutil.cpu_percent(interval=None), gpus)
                except (OSError, ValueError) as err:  # an odd cgroup file: say so, keep going
                    log.warning("resource sample failed: %s", err)
                    self._closed.wait(self.interval)
                    continue
                with self._changed:
                    self._latest, self._latest_at = sample, time.monotonic()
                    self.samples += 1
                    self._changed.notify_all()
                self._closed.wait(self.interval)
        finally:
            gpus.close()

    def _sample(self, system_percent: float, gpus: _Gpus) -> dict[str, Any]:
        import psutil

        limit = cpu_limit(self.cgroup)
        cores = usable_cores()
        available = min(cores, limit) if limit is not None else cores
        memory = psutil.virtual_memory()
        mem_limit = memory_limit(self.cgroup, memory.total)
        used = memory_used(self.cgroup) if mem_limit is not None else None
        devices = gpus.sample()
        return {
            "time": time.time(),
            "cpu": {"percent": scaled_cpu_percent(system_percent, self._host_cores, available),
                    "cores": cores, "limit": limit},
            "memory": {"used": int(used if used is not None else memory.total - memory.available),
                       "total": int(memory.total), "limit": mem_limit},
            "gpus": devices,
            "gpu_note": None if devices else NO_GPU,
        }


class _Gpus:
    """The visible GPUs' utilisation and memory through NVML, opened once for the sampler's
    life; no GPUs (nothing sampled) when nvidia-ml-py or the driver is missing."""

    def __init__(self) -> None:
        from workbench.compute.gpus import gpus

        self._handles: list[tuple[int, str, Any]] = []
        self._nvml: Any = None
        visible = gpus()  # CUDA_VISIBLE_DEVICES applied
        if not visible:
            return
        try:
            import pynvml
        except ImportError:
            return  # torch saw GPUs, but without nvidia-ml-py there is nothing to sample with
        try:
            pynvml.nvmlInit()
        except pynvml.NVMLError:
            return
        self._nvml = pynvml
        for gpu in visible:
            handle = pynvml.nvmlDeviceGetHandleByUUID(gpu["uuid"])
            self._handles.append((gpu["index"], gpu["name"], handle))

    def sample(self) -> list[dict[str, Any]]:
        """One row per GPU; a GPU that NVML cannot read now (lost, resetting) has null figures."""
        rows = []
        for index, name, handle in self._handles:
            row = {"index": index, "name": name, "utilization": None, "memory_used": None,
                   "memory_total": None}
            try:
                util = self._nvml.nvmlDeviceGetUtilizationRates(handle).gpu
                memory = self._nvml.nvmlDeviceGetMemoryInfo(handle)
            except self._nvml.NVMLError as err:
                log.warning("GPU %d (%s) could not be sampled: %s", index, name, err)
            else:
                row.update(utilization=float(util), memory_used=int(memory.used),
                           memory_total=int(memory.total))
            rows.append(row)
        return rows

    def close(self) -> None:
        if self._nvml is not None:
            self._nvml.nvmlShutdown()
