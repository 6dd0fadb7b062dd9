"""`compare(models, inputs, eval_fn=...)`: model variants side by side, in one table and one
widget: size on disk, parameters, p50 and p99 latency, throughput, and accuracy (or any metric),
with the speed-up and metric change against the first variant; `save(lake)` writes them to the
`_bench` table, one row per variant."""

from __future__ import annotations

import html
import io
import math
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from workbench.compress.errors import CompressError
from workbench.display import view

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from workbench.bench.harness import LatencyResult
    from workbench.lake import Lake


def compare(models: Mapping[str, Any], inputs: Any, *,
            eval_fn: Callable[[Any], float] | None = None, metric_name: str | None = None,
            batch_size: int = 1, min_samples: int = 1000, warmup: int | float | None = None,
            duration: float | None = None, device: Any = None, model_name: str | None = None,
            progress: bool = True) -> CompareResult:
    """Benchmark every model of `models` ({"fp32": m, "int8": q, ...}; the first is the
    baseline) on `inputs` with ``wb.bench.latency`` (single-stream, `batch_size`), measure its
    size (the bytes ``torch.save`` writes for its state dict, in MB = 1e6 bytes) and parameter
    count, and score it with ``eval_fn(model) -> float`` (named `metric_name`, default the
    function's name)."""
    from tqdm.auto import tqdm

    from workbench.bench.harness import describe, latency
    from workbench.bench.records import new_bench_id, utc_now

    if not isinstance(models, Mapping) or not models:
        raise CompressError("models must be a non-empty dict of variant name -> model, e.g. "
                            "{'fp32': model, 'int8': wb.compress.quantize(model)}")
    for variant, model in models.items():
        if not isinstance(variant, str) or not variant:
            raise CompressError(f"variant names must be non-empty strings, got {variant!r}")
        if not callable(model):
            raise CompressError(f"models[{variant!r}] is a {type(model).__name__}, not a model")
    if eval_fn is not None and not callable(eval_fn):
        raise CompressError(f"eval_fn must be a function model -> float, not "
                            f"{type(eval_fn).__name__}")
    if metric_name is None and eval_fn is not None:
        name = getattr(eval_fn, "__name__", "")
        metric_name = name if name and name != "<lambda>" else "metric"

    results: dict[str, LatencyResult] = {}
    sizes: dict[str, float] = {}
    metrics: dict[str, float] = {}
    bar = tqdm(models.items(), desc="compare", unit="variant", delay=1.0, disable=not progress)
    for variant, model in bar:
        bar.set_postfix(variant=variant, refresh=False)
        results[variant] = latency(model, inputs, batch_sizes=(batch_size,),
                                   min_samples=min_samples, warmup=warmup, duration=duration,
                                   device=device, progress=False)
        sizes[variant] = size_mb(model)
        if eval_fn is not None:
            metrics[variant] = _score(eval_fn, model, variant)
    now = utc_now()
    return CompareResult(results, sizes, metrics, metric_name or "",
                         model_name or describe(next(iter(models.values())))[0], batch_size,
                         bench_id=new_bench_id(now), time=now)


class CompareResult:
    """Variants side by side: `table` (one row per variant), `results` (each variant's
    `LatencyResult`), `widget()` and `save(lake)`."""

    def __init__(self, results: dict[str, LatencyResult], sizes: dict[str, float],
                 metrics: dict[str, float], metric_name: str, model: str, batch_size: int, *,
                 bench_id: str, time: Any) -> None:
        self.results = results
        self.sizes = sizes
        self.metrics = metrics
        self.metric_name = metric_name
        self.model = model
        self.batch_size = batch_size
        self.bench_id = bench_id
        self.time = time
        for res in results.values():  # one benchmark: one id and time for all its rows
            res.bench_id, res.time = bench_id, time

    @property
    def baseline(self) -> str:
        return next(iter(self.results))

    @property
    def table(self) -> pd.DataFrame:
        """variant, size_mb, params, p50_ms, p99_ms, throughput, the metric; `speedup` (the
        baseline's p50 over this one's: >1 is faster) and the metric's change from the
        baseline."""
        import pandas as pd

        base = self.baseline
        rows = []
        base_p50 = self.results[base].table["p50_ms"].iloc[0]
        for variant, res in self.results.items():
            row = res.table.iloc[0]
            rows.append({"variant": variant, "size_mb": self.sizes[variant],
                         "params": res.params, "p50_ms": row["p50_ms"],
                         "p99_ms": row["p99_ms"], "throughput": row["throughput"],
                         "speedup": base_p50 / row["p50_ms"]})
            if self.metrics:
                rows[-1][self.metric_name] = self.metrics[variant]
                rows[-1][f"{self.metric_name}_delta"] = (self.metrics[variant]
                                                          - self.metrics[base])
        return pd.DataFrame(rows)

    def records(self, model: str | None = None) -> pa.Table:
        """The rows `save` appends, one per variant, in the `_bench` schema (Arrow)."""
        from workbench.bench.records import bench_table

        rows = []
        for variant, res in self.results.items():
            rows += res._rows(model=model or self.model, variant=variant,
                              size_mb=self.sizes[variant], metric_name=self.metric_name,
                              metric=self.metrics.get(variant, math.nan))
        return bench_table(rows)

    def save(self, lake: Lake, model: str | None = None) -> int:
        """Append one `_bench` row per variant (size, params and metric filled); returns the
        table's new version."""
        from workbench.bench.records import BENCH_TABLE

        return lake.record(BENCH_TABLE, self.records(model))

    def widget(self) -> Any:
        """The table and a bar chart per figure (a `workbench.widgets.CompareView`, found
        through `workbench.display`)."""
        return view(self)

    def _title(self) -> str:
        device = next(iter(self.results.values())).device
        return f"{self.model} on {device}, batch size {self.batch_size}"

    def __repr__(self) -> str:
        return (f"CompareResult({self._title()}, bench_id={self.bench_id!r})\n"
                + self.table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))

    def _repr_html_(self) -> str:
        return (f"<p><b>Compare</b> {html.escape(self._title())} "
                f"<small>({html.escape(self.bench_id)})</small></p>"
                + self.table.to_html(index=False, border=0, float_format=lambda v: f"{v:.4g}"))


def size_mb(model: Any) -> float:
    """Size on disk in MB (1e6 bytes): what ``torch.save(model.state_dict())`` writes; NaN for
    a plain callable."""
    import torch

    if not isinstance(model, torch.nn.Module):
        return math.nan
    return state_dict_bytes(model) / 1e6


def state_dict_bytes(model: Any) -> int:
    import torch

    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    return buffer.getbuffer().nbytes


def _score(eval_fn: Callable[[Any], float], model: Any, variant: str) -> float:
    try:
        value = eval_fn(model)
    except Exception as exc:
        raise CompressError(f"eval_fn failed on variant {variant!r}: {type(exc).__name__}: "
                            f"{exc}") from exc
    try:
        return float(value)  # a number, or a one-element tensor or array
    except (TypeError, ValueError) as exc:
        raise CompressError(f"eval_fn must return a number (accuracy, loss, ...), returned "
                            f"{type(value).__name__} for variant {variant!r}") from exc
