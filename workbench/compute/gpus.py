"""GPU discovery: which CUDA GPUs this process can see, found cheaply.

One function serves both the cluster choice (`has_gpu`) and the environment report
(`gpus`). NVML (the `nvidia-ml-py` package) answers without creating a CUDA context; torch is
asked only when something else has already imported it, so discovery never pays torch's import.
"""

from __future__ import annotations

import os
import sys
from typing import Any


def gpus() -> list[dict[str, Any]]:
    """The CUDA GPUs visible to this process: index, name, uuid, memory_total (bytes), driver,
    cuda_driver (the newest CUDA the driver supports). An empty list when there are none."""
    found = _nvml_gpus()
    return _torch_gpus() if found is None else _visible(found)


def has_gpu() -> bool:
    """Whether this process can see at least one CUDA GPU."""
    return bool(gpus())


def _nvml_gpus() -> list[dict[str, Any]] | None:
    """GPUs as NVML lists them, or None when NVML (package or driver library) is missing."""
    try:
        import pynvml
    except ImportError:
        return None
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError:
        return None
    try:
        driver = _text(pynvml.nvmlSystemGetDriverVersion())
        cuda = pynvml.nvmlSystemGetCudaDriverVersion()
        found = []
        for index in range(pynvml.nvmlDeviceGetCount()):
            handle = pynvml.nvmlDeviceGetHandleByIndex(index)
            found.append(
                {
                    "index": index,
                    "name": _text(pynvml.nvmlDeviceGetName(handle)),
                    "uuid": _text(pynvml.nvmlDeviceGetUUID(handle)),
                    "memory_total": int(pynvml.nvmlDeviceGetMemoryInfo(handle).total),
                    "driver": driver,
                    "cuda_driver": f"{cuda // 1000}.{cuda % 1000 // 10}",
                }
            )
        return found
    finally:
        pynvml.nvmlShutdown()


def _torch_gpus() -> list[dict[str, Any]]:
    """GPUs as an already-imported torch sees them (it applies CUDA_VISIBLE_DEVICES itself)."""
    torch = sys.modules.get("torch")
    if torch is None or not torch.cuda.is_available():
        return []
    found = []
    for index in range(torch.cuda.device_count()):
        props = torch.cuda.get_device_properties(index)
        found.append(
            {
                "index": index,
                "name": props.name,
                "uuid": f"GPU-{props.uuid}",
                "memory_total": int(props.total_memory),
                "driver": None,
                "cuda_driver": None,
            }
        )
    return found


def _visible(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Keep the GPUs that CUDA_VISIBLE_DEVICES names (by index or uuid prefix), when it is set."""
    spec = os.environ.get("CUDA_VISIBLE_DEVICES")
    if spec is None:
        return found
    wanted = [item.strip() for item in spec.split(",") if item.strip()]
    return [
        gpu
        for gpu in found
        if any(w == str(gpu["index"]) or gpu["uuid"].startswith(w) for w in wanted)
    ]


def _text(value: str | bytes) -> str:
    """NVML strings: older pynvml releases return bytes, newer ones str."""
    return value.decode() if isinstance(value, bytes) else value


class GpuSampler:
    """Samples every visible GPU's utilisation and memory through NVML every `interval` seconds
    on a daemon thread, until `stop()`: what a training job's live view plots. Without NVML
    or GPUs it starts no thread and `frame()` is empty (`available` says which)."""

    COLUMNS = ("time", "gpu", "name", "util", "memory_used_bytes", "memory_total_bytes")

    def __init__(self, interval: float = 1.0) -> None:
        import threading

        self.interval = interval
        self._rows: list[tuple] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = None
        self.available = bool(_nvml_gpus())
        if self.available:
            self._thread = threading.Thread(target=self._sample, daemon=True,
                                            name="workbench GPU sampler")
            self._thread.start()

    def _sample(self) -> None:
        import time

        import pynvml

        pynvml.nvmlInit()
        try:
            wanted = {gpu["uuid"] for gpu in _visible(_nvml_gpus() or [])}
            handles = []
            for index in range(pynvml.nvmlDeviceGetCount()):
                handle = pynvml.nvmlDeviceGetHandleByIndex(index)
                if _text(pynvml.nvmlDeviceGetUUID(handle)) in wanted:
                    handles.append((index, _text(pynvml.nvmlDeviceGetName(handle)), handle))
            while not self._stop.is_set():
                now = time.time()
                rows = []
                for index, name, handle in handles:
                    util = pynvml.nvmlDeviceGetUtilizationRates(handle).gpu
                    memory = pynvml.nvmlDeviceGetMemoryInfo(handle)
                    rows.append((now, index, name, float(util), int(memory.used),
                                 int(memory.total)))
                with self._lock:
                    self._rows.extend(rows)
                self._stop.wait(self.interval)
        finally:
            pynvml.nvmlShutdown()

    def __len__(self) -> int:
        """Samples so far; cheap (no frame is built), for pollers such as the live view."""
        with self._lock:
            return len(self._rows)

    def frame(self) -> Any:
        """The samples so far: a DataFrame with `COLUMNS` (util in percent)."""
        import pandas as pd

        with self._lock:
            rows = list(self._rows)
        return pd.DataFrame(rows, columns=list(self.COLUMNS))

    def stop(self) -> None:
        """Stop sampling (idempotent); the samples stay readable."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def __repr__(self) -> str:
        state = ("no NVML or GPU" if not self.available else
                 "stopped" if self._stop.is_set() else f"every {self.interval} s")
        return f"<GpuSampler {state}, {len(self._rows)} samples>"
