"""The numbers of a training run, from its metrics records: `summarize(job.metrics)`.

Throughput is per rank first (its samples over its own time in `run.steps`, which is the sum of
its step times: steps are back to back) and then summed, so the global figure is exactly the sum
over ranks and a rank that started late does not dilute it. Step-time percentiles pool every
rank's steps. The straggler ratio is the slowest rank's median step time over the median of the
ranks' medians: 1.0 when balanced, 1.5 when one rank is half again as slow.

The same numbers over time (each rank's last steps, or time windows of a finished run) are in
`workbench.train.series`, by the same definitions.

Utilisation R = compute / (compute + transfer), per rank and over the run: transfer is the time
a step spends moving data rather than computing with it, i.e. waiting for the loader
(``data_s``), copying to the device (``copy_s``, `run.to_device`) and waiting on collectives
(``comm_s``, `run.ddp`'s communication hook); compute is the rest of the step.

MFU (model FLOPs utilisation) = achieved FLOPs/s / (the devices' dense peak for the dtype): it
needs the FLOPs per sample from the user (a model's forward+backward count) and a known peak, and
is None otherwise (on CPU, where no peak is meaningful, too).
"""

from __future__ import annotations

import html
import math
from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING, Any

from workbench.kernels import quantiles

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["PEAK_TFLOPS", "STEP_QUANTILES", "TRANSFER_FIELDS", "Summary", "peak_tflops",
           "summarize", "utilisation"]

TRANSFER_FIELDS = ("data_s", "copy_s", "comm_s")  # the parts of a step that move data
STEP_QUANTILES = {"p50": 0.5, "p90": 0.9, "p99": 0.99}  # the step-time percentiles reported

# Dense (no structured sparsity) tensor-core peaks in TFLOP/s per GPU, from NVIDIA's data sheets
# (which quote the sparse figure for tensor cores: halved here). fp32 is the non-tensor peak.
# The first key contained in torch.cuda.get_device_name() wins, so specific names come first.
PEAK_TFLOPS: dict[str, dict[str, float]] = {
    "GB200": {"fp8": 5000.0, "bf16": 2500.0, "fp16": 2500.0, "tf32": 1250.0},
    "B200": {"fp8": 4500.0, "bf16": 2250.0, "fp16": 2250.0, "tf32": 1125.0},
    "H100 PCIe": {"fp8": 1513.0, "bf16": 756.5, "fp16": 756.5, "tf32": 378.0, "fp32": 51.2},
    "H100 NVL": {"fp8": 1670.5, "bf16": 835.5, "fp16": 835.5, "tf32": 417.5, "fp32": 60.0},
    "H200 NVL": {"fp8": 1670.5, "bf16": 835.5, "fp16": 835.5, "tf32": 417.5, "fp32": 60.0},
    "GH200": {"fp8": 1979.0, "bf16": 989.5, "fp16": 989.5, "tf32": 494.5, "fp32": 67.0},
    "H200": {"fp8": 1979.0, "bf16": 989.5, "fp16": 989.5, "tf32": 494.5, "fp32": 67.0},
    "H100": {"fp8": 1979.0, "bf16": 989.5, "fp16": 989.5, "tf32": 494.5, "fp32": 67.0},  # SXM
    "A100": {"bf16": 312.0, "fp16": 312.0, "tf32": 156.0, "fp32": 19.5},
    "L40S": {"fp8": 733.0, "bf16": 362.0, "fp16": 362.0, "tf32": 183.0, "fp32": 91.6},
    "L40": {"fp8": 362.0, "bf16": 181.0, "fp16": 181.0, "tf32": 90.5, "fp32": 90.5},
    "L4": {"fp8": 242.5, "bf16": 121.0, "fp16": 121.0, "tf32": 60.0, "fp32": 30.3},
    "A10": {"bf16": 125.0, "fp16": 125.0, "tf32": 62.5, "fp32": 31.2},
    "V100-PCIE": {"fp16": 112.0, "fp32": 14.0},
    "V100": {"fp16": 125.0, "fp32": 15.7},  # SXM2
    "T4": {"fp16": 65.0, "fp32": 8.1},
}
_DTYPES = {"float32": "fp32", "float": "fp32", "tf32": "tf32", "bfloat16": "bf16",
           "bf16": "bf16", "float16": "fp16", "half": "fp16", "fp16": "fp16", "fp32": "fp32",
           "float8": "fp8", "fp8": "fp8", "float8_e4m3fn": "fp8", "float8_e5m2": "fp8"}


def peak_tflops(device_name: str, dtype: Any = "bf16") -> float | None:
    """The dense peak TFLOP/s of one GPU named `device_name` for `dtype` (a torch dtype or a
    name such as "bf16"), or None when the GPU or the dtype is not in `PEAK_TFLOPS`."""
    key = _DTYPES.get(str(dtype).removeprefix("torch."))
    if key is None:
        raise ValueError(f"dtype={dtype!r} is not one of {sorted(set(_DTYPES))}")
    for name, peaks in PEAK_TFLOPS.items():
        if name in device_name:
            return peaks.get(key)
    return None


@dataclass(frozen=True)
class Summary:
    """A run in figures. Times in seconds; `data_wait_share` is data time / step time (how
    input-bound the job is); `utilisation` is R = compute_s / (compute_s + transfer_s),
    summed over ranks (see the module); None where the records do not say (no tokens, no FLOPs)."""

    ranks: int
    steps: int
    samples: int
    samples_per_s: float
    tokens_per_s: float | None
    step_p50_s: float
    step_p90_s: float
    step_p99_s: float
    data_wait_share: float
    straggler_ratio: float
    peak_memory_bytes: int | None
    mfu: float | None
    compute_s: float
    transfer_s: float
    utilisation: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __repr__(self) -> str:
        parts = ", ".join(f"{f.name}={_show(getattr(self, f.name))}" for f in fields(self))
        return f"Summary({parts})"

    def _repr_html_(self) -> str:
        rows = "".join(f"<tr><td>{f.name}</td><td>{html.escape(_show(getattr(self, f.name)))}"
                       "</td></tr>" for f in fields(self))
        return f"<table><tr><th>figure</th><th>value</th></tr>{rows}</table>"


def summarize(metrics: pd.DataFrame, *, flops_per_sample: float | None = None,
              device_name: str | None = None, dtype: Any = "bf16") -> Summary:
    """Summarise the records of a run (`job.metrics`, `read_run(run_dir)`).

    The step records are those `run.steps` wrote (they have `step_s`); `run.log` records add
    nothing here except `peak_memory_bytes`. `flops_per_sample` with a `device_name` whose peak
    is known for `dtype` gives the MFU.
    """
    import numpy as np

    if "step_s" not in metrics or metrics["step_s"].notna().sum() == 0:
        raise ValueError("these metrics have no step records (no 'step_s' values): time the "
                         "training loop with `for batch in run.steps(loader):` to summarise it")
    steps = metrics[metrics["step_s"].notna()]
    by_rank = steps.groupby("rank")
    seconds = by_rank["step_s"].sum()
    samples = by_rank["samples"].sum() if "samples" in steps else seconds * 0
    samples_per_s = float((samples / seconds).sum())
    tokens_per_s = None
    if "tokens" in steps and steps["tokens"].notna().any():
        tokens_per_s = float((by_rank["tokens"].sum() / seconds).sum())
    p50, p90, p99 = quantiles(steps["step_s"].to_numpy(np.float64),
                              list(STEP_QUANTILES.values()))
    medians = by_rank["step_s"].median()
    data_s = steps["data_s"].sum() if "data_s" in steps else 0.0
    peak = None
    if "peak_memory_bytes" in metrics and metrics["peak_memory_bytes"].notna().any():
        peak = int(metrics["peak_memory_bytes"].max())
    r = utilisation(steps).iloc[-1]
    mfu = None
    if flops_per_sample is not None and device_name is not None:
        peak_flops = peak_tflops(device_name, dtype)
        if peak_flops is not None:
            mfu = samples_per_s * flops_per_sample / (peak_flops * 1e12 * len(seconds))
    return Summary(
        ranks=int(len(seconds)), steps=int(by_rank.size().max()), samples=int(samples.sum()),
        samples_per_s=samples_per_s, tokens_per_s=tokens_per_s, step_p50_s=float(p50),
        step_p90_s=float(p90), step_p99_s=float(p99),
        data_wait_share=float(data_s / seconds.sum()),
        straggler_ratio=float(medians.max() / medians.median()), peak_memory_bytes=peak,
        mfu=mfu, compute_s=float(r["compute_s"]), transfer_s=float(r["transfer_s"]),
        utilisation=float(r["utilisation"]))


def utilisation(metrics: pd.DataFrame) -> pd.DataFrame:
    """R per rank and over the run from step records: columns rank, compute_s, transfer_s,
    utilisation; one row per rank, then a row with rank "all" (sums over ranks). A step's
    transfer is its ``data_s + copy_s + comm_s`` (those it has), its compute the rest of
    ``step_s``. Empty ranks' R is NaN."""
    import pandas as pd

    if "step_s" not in metrics:
        metrics = pd.DataFrame({"rank": pd.Series(dtype="int64"), "step_s": []})
    steps = metrics[metrics["step_s"].notna()]
    transfer = sum((steps[name].fillna(0.0) for name in TRANSFER_FIELDS if name in steps),
                   start=pd.Series(0.0, index=steps.index))
    per_step = pd.DataFrame({"rank": steps["rank"], "transfer_s": transfer,
                             "compute_s": (steps["step_s"] - transfer).clip(lower=0.0)})
    table = per_step.groupby("rank")[["compute_s", "transfer_s"]].sum().reset_index()
    table = table.astype({"rank": "object"})
    table.loc[len(table)] = ["all", table["compute_s"].sum(), table["transfer_s"].sum()]
    busy = table["compute_s"] + table["transfer_s"]
    table["utilisation"] = (table["compute_s"] / busy).where(busy > 0)
    return table


def _show(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.4g}" if math.isfinite(value) else str(value)
    return str(value)
