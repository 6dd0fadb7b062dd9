"""`latency()`: how fast a model answers, per batch size: percentiles, throughput, stability.

Requests are timed one by one (``perf_counter_ns`` on CPU, CUDA events on GPU) in measurement
windows after a warm-up; like perf_analyzer, a batch size is `stable` when its last three
windows agree within 10% (median latency and throughput), and more windows are measured (up to
ten) until they do. The figures are those of the last three windows.
"""

from __future__ import annotations

import html
import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from workbench.bench import inputs as _inputs
from workbench.bench.errors import BenchError
from workbench.bench.records import (
    BENCH_TABLE,
    bench_table,
    new_bench_id,
    summarize,
    utc_now,
)
from workbench.bench.scenarios import SCENARIOS, Arrivals, CudaEvents, Window
from workbench.display import view

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from workbench.lake import Lake

STABLE_WINDOWS = 3
STABLE_TOLERANCE = 0.10
MAX_WINDOWS = 10
DEFAULT_WARMUP_CALLS = 10
DEFAULT_WARMUP_S = 0.1
TABLE_COLUMNS = ["batch_size", "scenario", "qps", "p50_ms", "p90_ms", "p95_ms", "p99_ms",
                 "max_ms", "mean_ms", "throughput", "samples", "stable"]
_DTYPE_VARIANTS = {"float32": "fp32", "float16": "fp16", "bfloat16": "bf16", "float64": "fp64"}


def latency(model: Callable[..., Any], inputs: Any, *,
            batch_sizes: int | tuple[int, ...] | list[int] = (1, 8, 32, 128),
            scenario: str = "single-stream", warmup: int | float | None = None,
            min_samples: int = 1000, duration: float | None = None, qps: float | None = None,
            device: Any = None, seed: int = 0, progress: bool = True) -> LatencyResult:
    """Time `model` (an ``nn.Module`` or any callable) on batches of `inputs`, per batch size.

    `inputs`: a tensor, a numpy array, or a tuple of them, whose first dimension is the batch; a
    request of batch size b takes the next b rows, cycling through them, and calls
    ``model(*parts)``. `scenario`: "single-stream", "offline" or "server" (Poisson arrivals at
    `qps` queries per second, latency from arrival, so queueing counts). `warmup`: calls (int)
    or seconds (float) before timing, default at least 10 calls and 0.1 s. `min_samples`: timed
    requests per batch size (in three windows); `duration`: seconds per batch size at least.
    `model` may also be a served endpoint (``wb.infer.serve``'s result, or its URL) in the
    server scenario: requests go over HTTP (see `workbench.bench.http`).
    `device`: where to run; the model is moved there (in place, as ``Module.to`` does) and the
    inputs copied; by default the model's device, and the inputs must be on it. Floating inputs
    are cast once to a Module's floating dtype (so one set of inputs serves fp32, bf16 and fp16
    variants). Calls run under ``torch.inference_mode()``, a Module in eval mode (its training
    flag is restored afterwards).
    """
    import torch
    from tqdm.auto import tqdm

    from workbench.bench.http import endpoint_latency, is_endpoint

    if is_endpoint(model):
        return LatencyResult(**endpoint_latency(
            model, inputs, batch_sizes=batch_sizes, scenario=scenario,
            qps=_check_qps(qps, scenario), min_samples=_positive_int(min_samples, "min_samples"),
            duration=duration, seed=seed))
    qps, min_samples, (warm_calls, warm_ns) = _check_options(model, scenario, qps, min_samples,
                                                             duration, warmup)
    module = isinstance(model, torch.nn.Module)
    arrays, sizes, run_device = _prepare(model, inputs, batch_sizes, device, module)
    timing = _Timing(scenario=scenario, qps=qps, seed=seed,
                     count=math.ceil(min_samples / STABLE_WINDOWS),
                     min_ns=int(duration * 1e9 / STABLE_WINDOWS) if duration else 0,
                     warm_calls=warm_calls, warm_ns=warm_ns,
                     events=CudaEvents() if run_device.type == "cuda" else None)
    samples: dict[int, np.ndarray] = {}
    windows: dict[int, list[Window]] = {}
    stable: dict[int, bool] = {}
    was_training = model.training if module else None
    bar = tqdm(total=len(sizes) * STABLE_WINDOWS, desc=f"latency {scenario}", unit="window",
               delay=1.0, disable=not progress)
    try:
        if module:
            model.eval()
        with torch.inference_mode():
            for b in sizes:
                bar.set_postfix(batch_size=b, refresh=False)
                windows[b] = _time_batch_size(model, arrays, b, timing, bar)
                last = windows[b][-STABLE_WINDOWS:]
                samples[b] = np.concatenate([w.latencies_ms for w in last])
                stable[b] = _agree(last, b)
    finally:
        bar.close()
        if module:
            model.train(was_training)
    name, variant, params = describe(model)
    return LatencyResult(samples=samples, windows=windows, stable=stable, scenario=scenario,
                         qps=qps, device=device_label(run_device), model=name, variant=variant,
                         params=params)


@dataclass(frozen=True)
class _Timing:
    """How every batch size of one `latency()` call is timed."""

    scenario: str
    qps: float | None
    seed: int
    count: int  # timed requests per window
    min_ns: int  # nanoseconds per window, at least
    warm_calls: int
    warm_ns: int
    events: CudaEvents | None  # on a GPU; None on a CPU


def _check_options(model: Any, scenario: str, qps: Any, min_samples: Any, duration: Any,
                   warmup: Any) -> tuple[float | None, int, tuple[int, int]]:
    """`latency()`'s checked options: qps, min_samples and (calls, nanoseconds) of warm-up."""
    if not callable(model):
        raise BenchError(f"model must be an nn.Module or a callable, not {type(model).__name__}")
    if scenario not in SCENARIOS:
        raise BenchError(f"scenario must be one of {list(SCENARIOS)}, not {scenario!r}")
    qps = _check_qps(qps, scenario)
    min_samples = _positive_int(min_samples, "min_samples")
    if duration is not None and not (isinstance(duration, numbers.Real) and duration > 0):
        raise BenchError(f"duration must be a positive number of seconds or None, not "
                         f"{duration!r}")
    return qps, min_samples, _warmup(warmup)


def _prepare(model: Any, inputs: Any, batch_sizes: Any, device: Any,
             module: bool) -> tuple[tuple[Any, ...], list[int], Any]:
    """The inputs as arrays on the run's device (cast to a Module's floating dtype), the checked
    batch sizes, and that device; a Module is moved there when `device` is given."""
    arrays = _inputs.as_arrays(inputs, to_tensor=module)
    sizes = _inputs.check_batch_sizes(batch_sizes, _inputs.rows(arrays))
    run_device = _place(model, arrays, device)
    if device is not None:
        arrays = _inputs.to_device(arrays, run_device)
        if module:
            model.to(run_device)
    if module:
        arrays = _inputs.to_dtype(arrays, _float_dtype(model))
    return arrays, sizes, run_device


def _time_batch_size(model: Callable[..., Any], arrays: tuple[Any, ...], b: int,
                     timing: _Timing, bar: Any) -> list[Window]:
    """Every measurement window of batch size `b`: a checked first call and the warm-up, then
    windows until the last three agree (or `MAX_WINDOWS`); `bar` counts the windows."""
    cycle = _inputs.batches(arrays, b)
    _check_call(model, cycle[0], b)
    pos = 1 % len(cycle)
    if timing.events is not None:
        import torch

        torch.cuda.synchronize()
    _, pos = _run(model, cycle, pos, "single-stream", timing.warm_calls, timing.warm_ns,
                  timing.events, None)
    arrivals = Arrivals(timing.qps, timing.seed) if timing.scenario == "server" else None
    done: list[Window] = []
    while True:
        window, pos = _run(model, cycle, pos, timing.scenario, timing.count, timing.min_ns,
                           timing.events, arrivals)
        done.append(window)
        bar.update()
        if len(done) >= STABLE_WINDOWS:
            if _agree(done[-STABLE_WINDOWS:], b) or len(done) >= MAX_WINDOWS:
                return done
            bar.total += 1
            bar.refresh()


class LatencyResult:
    """The figures of one `latency()` call: `table` (one row per batch size), `samples` (batch
    size -> the timed requests' latencies in ms), `windows` (per batch size, every measurement
    window), `widget()`, and `save(lake)` into the `_bench` table."""

    def __init__(self, *, samples: dict[int, np.ndarray], windows: dict[int, list[Window]],
                 stable: dict[int, bool], scenario: str, qps: float | None, device: str,
                 model: str, variant: str, params: int, time: datetime | None = None,
                 bench_id: str | None = None, engine: str = "") -> None:
        self.samples = samples
        self.windows = windows
        self.stable = stable
        self.scenario = scenario
        self.qps = qps
        self.device = device
        self.model = model
        self.variant = variant
        self.params = params
        self.engine = engine
        self.time = time or utc_now()
        self.bench_id = bench_id or new_bench_id(self.time)
        self._summaries = {b: summarize(s) for b, s in samples.items()}

    @property
    def batch_sizes(self) -> list[int]:
        return list(self.samples)

    @property
    def table(self) -> pd.DataFrame:
        """One row per batch size: percentiles, max and mean (ms), throughput (samples/s),
        the number of timed requests and whether the last windows agreed."""
        import pandas as pd

        rows = [{k: v for k, v in r.items() if k in TABLE_COLUMNS} for r in self._rows()]
        return pd.DataFrame(rows, columns=TABLE_COLUMNS)

    def _rows(self, model: str | None = None, variant: str | None = None,
              size_mb: float = math.nan, metric_name: str = "",
              metric: float = math.nan) -> list[dict[str, Any]]:
        rows = []
        for b, s in self.samples.items():
            summary = self._summaries[b]
            wall = sum(w.wall_s for w in self.windows[b][-STABLE_WINDOWS:])
            rows.append({
                "bench_id": self.bench_id, "time": self.time,
                "model": model or self.model, "variant": self.variant if variant is None
                else variant, "device": self.device, "scenario": self.scenario,
                "batch_size": b, "qps": math.nan if self.qps is None else float(self.qps),
                **{k: summary[k] for k in ("p50_ms", "p90_ms", "p95_ms", "p99_ms", "max_ms",
                                           "mean_ms")},
                "throughput": len(s) * b / wall if wall > 0 else math.nan,
                "samples": len(s), "stable": bool(self.stable[b]), "size_mb": float(size_mb),
                "params": int(self.params), "metric_name": metric_name, "metric": float(metric),
                "cdf_ms": summary["cdf_ms"], "engine": self.engine, "peak_memory_mb": math.nan,
                "max_abs_diff": math.nan, "max_rel_diff": math.nan, "parity_ok": None,
                "note": "",
            })
        return rows

    def records(self, model: str | None = None, variant: str | None = None) -> pa.Table:
        """The rows `save` appends, in the `_bench` schema (Arrow)."""
        return bench_table(self._rows(model, variant))

    def save(self, lake: Lake, model: str | None = None, variant: str | None = None) -> int:
        """Append one row per batch size to `lake`'s `_bench` table (created on first use);
        `model` and `variant` override the names found (class name, parameter dtype). Returns
        the table's new version."""
        return lake.record(BENCH_TABLE, self.records(model, variant))

    def widget(self) -> Any:
        """Latency histogram and CDF per batch size, the percentiles, and throughput against
        p99 latency across batch sizes (a `workbench.widgets.LatencyView`, found through
        `workbench.display`)."""
        return view(self)

    def _title(self) -> str:
        variant = f" [{self.variant}]" if self.variant else ""
        qps = f" at {self.qps:g} qps" if self.qps is not None else ""
        return f"{self.model}{variant} on {self.device}, {self.scenario}{qps}"

    def __repr__(self) -> str:
        return (f"LatencyResult({self._title()}, bench_id={self.bench_id!r})\n"
                + self.table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))

    def _repr_html_(self) -> str:
        return (f"<p><b>Latency</b> of {html.escape(self._title())} "
                f"<small>({html.escape(self.bench_id)})</small></p>"
                + self.table.to_html(index=False, float_format=lambda v: f"{v:.4g}",
                                     border=0))


def describe(model: Any) -> tuple[str, str, int]:
    """A model's name (class or function), its variant (set by wb.compress, else the parameters'
    dtype: "fp32", "bf16", ...; "" for a plain callable) and its parameter count (-1: not a
    Module)."""
    import torch

    report = getattr(model, "compression_report", None)
    if isinstance(model, torch.nn.Module):
        name = type(model).__name__
        params = sum(p.numel() for p in model.parameters())
        dtypes = [p.dtype for p in model.parameters() if p.is_floating_point()]
        variant = _DTYPE_VARIANTS.get(str(dtypes[0]).removeprefix("torch."), "") if dtypes \
            else ""
    else:
        name = getattr(model, "__qualname__", None) or type(model).__name__
        params, variant = -1, ""
    if report is not None:
        variant = report.variant
    return name, variant, int(params)


def _float_dtype(model: Any) -> Any:
    """The dtype of a Module's first floating parameter (None without one)."""
    return next((p.dtype for p in model.parameters() if p.is_floating_point()), None)


def device_label(device: Any) -> str:
    """"cpu", or "cuda:0 (NVIDIA H100 80GB HBM3)": the device and what it is."""
    import torch

    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    return str(device)


def module_device(model: Any) -> Any:
    """The device of a Module's first parameter or buffer; None for a callable or an empty
    Module."""
    import torch

    if not isinstance(model, torch.nn.Module):
        return None
    for tensor in (*model.parameters(), *model.buffers()):
        return _inputs.normalize(tensor.device)
    return None


def _place(model: Any, arrays: tuple[Any, ...], device: Any) -> Any:
    """Where the benchmark runs: `device` if given, else the model's device, which the inputs
    must share."""
    if device is not None:
        try:
            return _inputs.normalize(device)
        except (RuntimeError, TypeError) as exc:
            raise BenchError(f"device {device!r} is not a torch device: {exc}") from exc
    where = _inputs.device_of(arrays)
    model_at = module_device(model)
    if model_at is not None and model_at != where:
        raise BenchError(f"the inputs are on {where} but the model is on {model_at}: move them "
                         f"(inputs.to('{model_at}')), or pass device='{model_at}' to move both")
    return model_at or where


def _check_call(model: Callable[..., Any], batch: tuple[Any, ...], b: int) -> None:
    """Run the first request untimed: a model that fails on the inputs fails here, clearly."""
    try:
        model(*batch)
    except Exception as exc:
        raise BenchError(f"the model failed on a batch of {b} rows (batch size {b}): "
                         f"{type(exc).__name__}: {exc}") from exc


def _run(model: Callable[..., Any], cycle: list[tuple[Any, ...]], pos: int, scenario: str,
         count: int, min_ns: int, events: CudaEvents | None,
         arrivals: Arrivals | None) -> tuple[Window, int]:
    from workbench.bench import scenarios

    if scenario == "server":
        sync = None
        if events is not None:
            import torch

            sync = torch.cuda.synchronize
        return scenarios.server(model, cycle, pos, count, min_ns, arrivals, sync)
    if events is not None:
        return scenarios.cuda_stream(model, cycle, pos, count, min_ns, events,
                                     sync_each=scenario == "single-stream")
    return scenarios.cpu_stream(model, cycle, pos, count, min_ns)


def _agree(windows: list[Window], b: int) -> bool:
    """perf_analyzer's stability rule: the windows' median latency and throughput each lie
    within 10% of their mean over the windows."""
    from workbench.kernels import quantiles

    medians = [float(quantiles(w.latencies_ms, 0.5)) for w in windows]
    rates = [w.throughput(b) for w in windows]
    return all(_within(values, STABLE_TOLERANCE) for values in (medians, rates))


def _within(values: list[float], tolerance: float) -> bool:
    mean = sum(values) / len(values)
    return mean > 0 and max(abs(v - mean) for v in values) <= tolerance * mean


def _check_qps(qps: Any, scenario: str) -> float | None:
    if scenario != "server":
        if qps is not None:
            raise BenchError(f"qps={qps!r} only applies to scenario='server' (Poisson arrivals at "
                             f"qps queries per second); scenario={scenario!r} ignores it: drop "
                             "qps or pass scenario='server'")
        return None
    if qps is None:
        raise BenchError("scenario='server' needs qps=..., the mean arrival rate in queries "
                         "(batches) per second")
    if isinstance(qps, bool) or not isinstance(qps, numbers.Real) or not 0 < qps < math.inf:
        raise BenchError(f"qps must be a positive number of queries per second, not {qps!r}")
    return float(qps)


def _positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise BenchError(f"{name} must be a positive int, not {value!r}")
    return int(value)


def _warmup(warmup: Any) -> tuple[int, int]:
    """(calls, nanoseconds) of warm-up: an int is calls, a float seconds."""
    if warmup is None:
        return DEFAULT_WARMUP_CALLS, int(DEFAULT_WARMUP_S * 1e9)
    if isinstance(warmup, bool) or not isinstance(warmup, numbers.Real) or warmup < 0:
        raise BenchError(f"warmup must be a number of calls (int) or seconds (float) >= 0, "
                         f"not {warmup!r}")
    if isinstance(warmup, numbers.Integral):
        return int(warmup), 0
    return 0, int(warmup * 1e9)
