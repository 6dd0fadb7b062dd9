"""`env()`: what this machine and Python environment offer the workbench, as one table.

Answers "why is my cluster CPU-only?" at a glance: GPUs as NVML sees them, the CUDA versions of
the driver and of torch, and the versions of the packages the GPU path needs. Versions come
from package metadata, so a report imports only torch (to ask whether it sees CUDA).
"""

from __future__ import annotations

import html
import importlib.metadata
import importlib.util
import os
import platform
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

NOT_INSTALLED = "not installed"

# Import name -> what the row is called; cupy ships as cupy-cuda12x, cupy-cuda13x, ...
PACKAGES = {
    "dask": "dask",
    "distributed": "distributed",
    "dask_cuda": "dask-cuda",
    "cupy": "cupy",
    "deltalake": "deltalake",
    "pyarrow": "pyarrow",
    "torch": "torch",
    "pynvml": "nvidia-ml-py",
}


@dataclass
class Environment:
    """What `env()` found: `table` (component, status, detail) and `gpus` (one dict per GPU)."""

    table: pd.DataFrame
    gpus: list[dict[str, Any]] = field(default_factory=list)

    @property
    def has_gpu(self) -> bool:
        """Whether any CUDA GPU is visible."""
        return bool(self.gpus)

    def status(self, component: str) -> str:
        """The status column of one component's row, e.g. `status("dask")` -> "2026.7.1"."""
        rows = self.table.loc[self.table["component"] == component, "status"]
        if rows.empty:
            raise KeyError(f"No component {component!r}; known: {list(self.table['component'])}")
        return rows.iloc[0]

    def __repr__(self) -> str:
        return "Environment\n" + self.table.to_string(index=False)

    def _repr_html_(self) -> str:
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>"
            for row in self.table.itertuples(index=False)
        )
        head = "".join(f"<th>{html.escape(c)}</th>" for c in self.table.columns)
        return (
            "<div><strong>Workbench environment</strong>"
            f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"
        )


def env() -> Environment:
    """Report Python, platform, CPUs, memory, GPUs, CUDA and the key package versions."""
    import pandas as pd
    import psutil

    from workbench.compute.gpus import gpus as find_gpus

    owners = importlib.metadata.packages_distributions()
    versions = {name: _version(module, owners) for module, name in PACKAGES.items()}
    # Asked first: once torch is imported, GPU discovery can fall back on it when NVML is absent.
    torch_row = _torch_cuda_row(versions["torch"])
    gpus = find_gpus()
    memory = psutil.virtual_memory()
    rows = [
        ("python", platform.python_version(), sys.executable),
        ("platform", platform.platform(), platform.machine()),
        ("cpus", str(os.cpu_count()), f"{psutil.cpu_count(logical=False)} physical cores"),
        ("memory", _gib(memory.total), f"{_gib(memory.available)} available"),
        *_gpu_rows(gpus),
        (
            "cuda driver",
            (gpus[0]["cuda_driver"] if gpus else None) or "none found",
            "newest CUDA the driver supports",
        ),
        torch_row,
        *[(name, version or NOT_INSTALLED, "") for name, version in versions.items()],
    ]
    table = pd.DataFrame(rows, columns=["component", "status", "detail"])
    return Environment(table=table, gpus=gpus)


def _gpu_rows(gpus: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    if not gpus:
        how = "NVML found none" if importlib.util.find_spec("pynvml") else "no nvidia-ml-py"
        return [("gpus", "none found", how)]
    return [
        (
            f"gpu {gpu['index']}",
            gpu["name"],
            f"{_gib(gpu['memory_total'])}, driver {gpu['driver'] or 'unknown'}",
        )
        for gpu in gpus
    ]


def _torch_cuda_row(torch_version: str | None) -> tuple[str, str, str]:
    """Whether torch can use a GPU now, and which CUDA it was built for."""
    if torch_version is None:
        return ("torch cuda", NOT_INSTALLED, "torch is not installed")
    import torch

    built = torch.version.cuda
    if torch.cuda.is_available():
        return ("torch cuda", "available", f"{torch.cuda.device_count()} device(s), CUDA {built}")
    return ("torch cuda", "not available", f"built for CUDA {built}" if built else "CPU-only build")


def _version(module: str, owners: dict[str, list[str]]) -> str | None:
    """An installed package's version from its metadata, without importing it; `owners` maps
    import names to distributions (cupy's is cupy-cuda12x or the like)."""
    if importlib.util.find_spec(module) is None:
        return None
    for dist in owners.get(module, [module]):
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
    return None


def _gib(n: int) -> str:
    return f"{n / 2**30:.1f} GiB"
