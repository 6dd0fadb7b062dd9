"""`compare(models, inputs, engines=..., scenarios=...)`: the one comparison. Model variants
(fp32, int8, pruned, a student) and inference engines (eager, torch.compile, ONNX Runtime fp32
and int8, GPU providers) are both rows, timed by the same harness in the same scenarios, each
checked against eager on the same batch before it is timed.

``res.table`` has one row per variant x engine x scenario x batch size; ``res.fastest`` names
the engine to pick per batch size; ``res.save(lake)`` appends the rows to `_bench`.
"""

from __future__ import annotations

import html
import math
import numbers
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from workbench.bench.errors import BenchError
from workbench.bench.memory import PeakRss
from workbench.display import view
from workbench.errors import describe as describe_error

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from workbench.bench.harness import LatencyResult
    from workbench.lake import Lake

SCENARIO_ORDER = ("offline", "single-stream", "server")  # server's default qps needs offline's
SERVER_LOAD = 0.8  # the server scenario's default: 80% of the offline throughput
# Parity: an engine's largest difference from eager, relative to eager's largest output.
PARITY_TOLERANCE = {"fp": 1e-3, "int8": 0.1}
TABLE_COLUMNS = ["variant", "engine", "scenario", "batch_size", "qps", "p50_ms", "p90_ms",
                 "p99_ms", "throughput", "speedup", "peak_memory_mb", "size_mb", "accuracy",
                 "max_abs_diff", "max_rel_diff", "parity_ok", "note"]


def compare(models: Any, inputs: Any, *, engines: list[str] | tuple[str, ...] = ("eager",),
            scenarios: list[str] | tuple[str, ...] = ("single-stream",),
            batch_sizes: int | tuple[int, ...] | list[int] = (1, 32), eval: Any = None,
            metric_name: str | None = None, qps: float | None = None, calibration: Any = None,
            threads: int | None = None, min_samples: int = 300, warmup: int | float | None = None,
            duration: float | None = None, device: Any = None, model_name: str | None = None,
            progress: bool = True) -> Comparison:
    """Time every model of `models` (a model, or {"fp32": m, "int8": q, ...} whose first is the
    baseline) on every engine of `engines` (see ``wb.infer.ENGINES``), per scenario and batch
    size, on `inputs` (batch first).

    Before timing, each engine's output on a batch is compared with eager's (``max_abs_diff``,
    ``max_rel_diff``, ``parity_ok``; a failing row is marked, not hidden). `eval`: ``(x_test,
    y_test)`` for accuracy (argmax of the outputs), or ``f(model) -> float`` called with each
    engine (named `metric_name`). The ``server`` scenario offers Poisson load at `qps`, default
    80% of the offline throughput measured first. `calibration` makes ``onnxruntime-int8``
    static QDQ; `threads` sets ONNX Runtime's threads. An engine that cannot run (not installed,
    no GPU, a model the exporter refuses) becomes a row whose note says why; the others run.
    """
    from tqdm.auto import tqdm

    from workbench.bench.records import new_bench_id, utc_now

    variants = _variants(models)
    engines = _names(engines, "engines", _engine_names())
    scenarios = _names(scenarios, "scenarios", SCENARIO_ORDER)
    scorer = _scorer(eval, metric_name)
    plan = _Plan(inputs, batch_sizes, scenarios, qps, min_samples, warmup, duration, device,
                 calibration, threads)
    rows: list[dict[str, Any]] = []
    results: list[tuple[dict[str, Any], LatencyResult]] = []
    bar = tqdm(total=len(variants) * len(engines), desc="compare", unit="engine", delay=1.0,
               disable=not progress)
    try:
        for variant, model in variants.items():
            cache: dict[str, Any] = {}
            for name in engines:
                bar.set_postfix(variant=variant, engine=name, refresh=False)
                measured = _measure(model, name, plan, scorer, cache)
                for row, res in measured:
                    rows.append({"variant": variant, "engine": name, **row})
                    if res is not None:
                        results.append((rows[-1], res))
                bar.update()
    finally:
        bar.close()
    now = utc_now()
    name = model_name or _model_name(next(iter(variants.values())))
    return Comparison(rows, results, name, scorer.name if scorer else "",
                      bench_id=new_bench_id(now), time=now)


class _Plan:
    """What every engine of one comparison is timed on, checked once."""

    def __init__(self, inputs: Any, batch_sizes: Any, scenarios: tuple[str, ...], qps: Any,
                 min_samples: int, warmup: Any, duration: Any, device: Any, calibration: Any,
                 threads: Any) -> None:
        from workbench.bench import inputs as _inputs

        arrays = _inputs.as_arrays(inputs, to_tensor=True)
        self.sizes = _inputs.check_batch_sizes(batch_sizes, _inputs.rows(arrays))
        self.inputs = arrays if len(arrays) > 1 else arrays[0]
        self.example = tuple(a[:max(self.sizes)] for a in arrays)
        self.scenarios = tuple(s for s in SCENARIO_ORDER if s in scenarios)
        self.shown = set(scenarios)
        if "server" in scenarios and "offline" not in self.scenarios:
            self.scenarios = ("offline", *self.scenarios)
        if qps is not None and not (isinstance(qps, numbers.Real) and 0 < qps < math.inf):
            raise BenchError(f"qps must be a positive number of queries per second, not {qps!r}")
        self.qps = qps
        self.timing = {"min_samples": min_samples, "warmup": warmup, "duration": duration}
        self.device, self.calibration, self.threads = device, calibration, threads

    def numpy_inputs(self) -> Any:
        """The inputs as numpy arrays (on the host), for engines that take them."""
        from workbench.infer.exporter import as_numpy

        if isinstance(self.inputs, tuple):
            return tuple(as_numpy(a) for a in self.inputs)
        return as_numpy(self.inputs)


def _measure(model: Any, name: str, plan: _Plan, scorer: _Scorer | None,
             cache: dict[str, Any]) -> list[tuple[dict[str, Any], LatencyResult | None]]:
    """One engine's rows: built, checked against eager, scored, then timed per scenario and
    batch size; a single row with the reason when it cannot run."""
    from workbench.infer.errors import InferError

    _export_once(model, name, plan, cache)  # shared by a variant's ONNX engines: not theirs
    with PeakRss() as peak:
        try:
            engine = _build(model, name, plan, cache)
        except (InferError, ImportError) as exc:
            return [(_failed(str(exc)), None)]
        except Exception as exc:  # a third-party engine's own failure: its row says which
            return [(_failed(f"{name} failed to load: {describe_error(exc)}"), None)]
        abs_diff, rel_diff = _parity(engine, model, plan, cache)
        tolerance = PARITY_TOLERANCE["int8" if "int8" in name else "fp"]
        parity_ok = bool(rel_diff <= tolerance)
        accuracy = scorer(engine, name) if scorer else math.nan
        results = _time(engine, plan)
    common = {"peak_memory_mb": peak.mb, "size_mb": getattr(engine, "size_mb", math.nan),
              "accuracy": accuracy, "max_abs_diff": abs_diff, "max_rel_diff": rel_diff,
              "parity_ok": parity_ok, "kernel": getattr(engine, "note", ""),
              "note": "" if parity_ok else f"parity failed: outputs differ from eager by "
                                           f"{rel_diff:.3g} of their scale (tolerance "
                                           f"{tolerance:g})"}
    out = []
    for scenario, res in results:
        for row in res._rows():
            out.append(({**common, "scenario": scenario, "batch_size": row["batch_size"],
                         **{k: row[k] for k in ("qps", "p50_ms", "p90_ms", "p99_ms",
                                                "throughput")}}, res))
    return out


def _build(model: Any, name: str, plan: _Plan, cache: dict[str, Any]) -> Any:
    """The engine for `model`: itself on eager when it is a plain callable; an ONNX export
    shared by a variant's ONNX engines."""
    import torch

    from workbench.infer.engines import ENGINES, engine
    from workbench.infer.errors import InferError

    if not isinstance(model, torch.nn.Module):
        if name != "eager":
            raise InferError(f"a plain callable runs only on 'eager'; {name!r} needs a torch "
                             "module")
        return model
    if plan.device is not None:
        model.to(plan.device)
    source = cache.get("exported") if ENGINES[name].onnx else model
    if isinstance(source, Exception):
        raise source
    return engine(source, name, example=plan.example, threads=plan.threads,
                  calibration=plan.calibration if "int8" in name else None)


def _export_once(model: Any, name: str, plan: _Plan, cache: dict[str, Any]) -> None:
    """Export a module once for all its ONNX engines; an export the exporter refuses is kept
    as the reason each of their rows gives."""
    import torch

    from workbench.infer.engines import ENGINES, require
    from workbench.infer.errors import InferError
    from workbench.infer.exporter import export

    if "exported" in cache or not ENGINES[name].onnx or not isinstance(model, torch.nn.Module):
        return
    try:
        require(name)
        cache["exported"] = export(model, plan.example)
    except InferError as exc:  # EngineUnavailable included
        cache["exported"] = exc


def _parity(engine: Any, model: Any, plan: _Plan, cache: dict[str, Any]) -> tuple[float, float]:
    """The engine's first output against eager's on the same batch (the largest batch size's
    first rows)."""
    from workbench.infer.engines import engine as load
    from workbench.infer.exporter import differences

    if engine is model or getattr(engine, "name", "") == "eager":
        return 0.0, 0.0  # eager itself
    batch = tuple(plan.example)
    if "eager" not in cache:  # through the eager engine: inputs moved and cast as it does
        cache["eager"] = load(model, "eager")(*batch)
    return differences(cache["eager"], engine(*batch))


def _time(engine: Any, plan: _Plan) -> list[tuple[str, LatencyResult]]:
    """The engine's latency per scenario (those asked for), server at `qps` or 80% of the
    offline throughput at each batch size."""
    from workbench.bench.harness import latency

    out: list[tuple[str, LatencyResult]] = []
    offline: dict[int, float] = {}
    inputs = plan.numpy_inputs() if getattr(engine, "takes_numpy", False) else plan.inputs
    for scenario in plan.scenarios:
        if scenario != "server":
            res = latency(engine, inputs, batch_sizes=tuple(plan.sizes), scenario=scenario,
                          device=plan.device, progress=False, **plan.timing)
            if scenario == "offline":
                offline = dict(zip(res.table["batch_size"], res.table["throughput"]))
            if scenario in plan.shown:
                out.append((scenario, res))
            continue
        for b in plan.sizes:
            rate = plan.qps or SERVER_LOAD * offline[b] / b
            out.append((scenario, latency(engine, inputs, batch_sizes=(b,),
                                          scenario="server", qps=rate, device=plan.device,
                                          progress=False, **plan.timing)))
    return out


def _failed(note: str) -> dict[str, Any]:
    return {"scenario": "", "batch_size": 0, "qps": math.nan, "p50_ms": math.nan,
            "p90_ms": math.nan, "p99_ms": math.nan, "throughput": math.nan,
            "peak_memory_mb": math.nan, "size_mb": math.nan, "accuracy": math.nan,
            "max_abs_diff": math.nan, "max_rel_diff": math.nan, "parity_ok": False,
            "kernel": "", "note": note}


class _Scorer:
    """`eval=`: accuracy on (x, y) by the outputs' argmax, or a function of the engine."""

    def __init__(self, fn: Callable[[Any], float] | None, data: tuple[Any, Any] | None,
                 name: str) -> None:
        self.fn, self.data, self.name = fn, data, name

    def __call__(self, engine: Any, engine_name: str) -> float:
        from workbench.infer.exporter import as_numpy

        if self.data is not None:
            x, y = self.data
            predicted = np.concatenate([as_numpy(engine(x[i:i + 256])).argmax(axis=-1)
                                        for i in range(0, len(x), 256)])
            return float((predicted == as_numpy(y).reshape(-1)).mean())
        try:
            value = self.fn(engine)
        except Exception as exc:
            raise BenchError(f"eval failed on engine {engine_name!r}: "
                             f"{describe_error(exc)}") from exc
        try:
            return float(value)  # a number, or a one-element tensor or array
        except (TypeError, ValueError) as exc:
            raise BenchError(f"eval must return a number (accuracy, loss, ...), returned "
                             f"{type(value).__name__} on engine {engine_name!r}") from exc


def _scorer(eval: Any, metric_name: str | None) -> _Scorer | None:
    if eval is None:
        return None
    if callable(eval):
        name = metric_name or getattr(eval, "__name__", "") or "metric"
        return _Scorer(eval, None, "metric" if name == "<lambda>" else name)
    if isinstance(eval, (tuple, list)) and len(eval) == 2:
        import torch

        x, y = (torch.from_numpy(v) if isinstance(v, np.ndarray) else v for v in eval)
        if len(x) != len(y) or not len(x):
            raise BenchError(f"eval=(x_test, y_test) must have as many labels as rows and at "
                             f"least one: {len(x)} rows, {len(y)} labels")
        return _Scorer(None, (x, y), metric_name or "accuracy")
    raise BenchError(f"eval must be (x_test, y_test) or a function model -> float, not "
                     f"{type(eval).__name__}")


def _variants(models: Any) -> dict[str, Any]:
    if not isinstance(models, Mapping):
        from workbench.bench.harness import describe

        return {describe(models)[1] or "model": _callable(models, "models")}
    if not models:
        raise BenchError("models must be a model or a non-empty dict of variant name -> model, "
                         "e.g. {'fp32': model, 'pruned': wb.compress.prune(model, 0.5)}")
    for variant, model in models.items():
        if not isinstance(variant, str) or not variant:
            raise BenchError(f"variant names must be non-empty strings, got {variant!r}")
        _callable(model, f"models[{variant!r}]")
    return dict(models)


def _callable(model: Any, where: str) -> Any:
    if not callable(model):
        raise BenchError(f"{where} is a {type(model).__name__}, not a model")
    return model


def _names(values: Any, what: str, known: tuple[str, ...]) -> tuple[str, ...]:
    values = (values,) if isinstance(values, str) else tuple(values)
    unknown = [v for v in values if v not in known]
    if unknown or not values:
        raise BenchError(f"{what} must be a non-empty list of {list(known)}; unknown: {unknown}")
    return tuple(dict.fromkeys(values))


def _engine_names() -> tuple[str, ...]:
    from workbench.infer.engines import ENGINES

    return tuple(ENGINES)


def _model_name(model: Any) -> str:
    from workbench.bench.harness import describe

    return describe(model)[0]


class Comparison:
    """The rows of one `compare` call: `table`, `fastest` (per scenario and batch size, the
    quickest engine whose parity held), `results` (the harness's results behind the rows),
    `widget()` and `save(lake)`."""

    def __init__(self, rows: list[dict[str, Any]],
                 results: list[tuple[dict[str, Any], LatencyResult]], model: str,
                 metric_name: str, *, bench_id: str, time: Any) -> None:
        from workbench.bench.advice import annotate

        self.rows = annotate(rows)
        self.results = results
        self.model = model
        self.metric_name = metric_name
        self.bench_id = bench_id
        self.time = time
        for _, res in results:  # one benchmark: one id and time for all its rows
            res.bench_id, res.time = bench_id, time

    @property
    def table(self) -> pd.DataFrame:
        """One row per variant x engine x scenario x batch size (`TABLE_COLUMNS`); `accuracy`
        holds the `eval` metric, `speedup` is eager's p50 over this row's (same variant,
        scenario and batch size), `note` says why a row is slow, failed or the one to pick."""
        import pandas as pd

        table = pd.DataFrame(self.rows, columns=TABLE_COLUMNS)
        return table.rename(columns={"accuracy": self.metric_name}) \
            if self.metric_name not in ("", "accuracy") else table

    @property
    def fastest(self) -> pd.DataFrame:
        """Per scenario and batch size, the row with the lowest p50 among those whose parity
        held: the engine (and variant) to pick."""
        from workbench.bench.records import fastest

        return fastest(self.table)

    def records(self, model: str | None = None) -> pa.Table:
        """The rows `save` appends, in the `_bench` schema (Arrow)."""
        from workbench.bench.records import bench_table, failed_row

        timed = {id(row): res for row, res in self.results}
        rows = []
        for row in self.rows:
            engine = {k: row[k] for k in ("engine", "peak_memory_mb", "max_abs_diff",
                                          "max_rel_diff", "parity_ok", "note")}
            res = timed.get(id(row))
            if res is None:  # an engine that could not run: its reason is kept too
                rows.append(failed_row(self.bench_id, self.time, model or self.model,
                                       row["variant"], self.metric_name) | engine)
                continue
            rows += [{**record, **engine} for record in res._rows(
                model=model or self.model, variant=row["variant"], size_mb=row["size_mb"],
                metric_name=self.metric_name, metric=row["accuracy"])
                if record["batch_size"] == row["batch_size"]]
        return bench_table(rows)

    def save(self, lake: Lake, model: str | None = None) -> int:
        """Append one `_bench` row per row of the table (an engine that could not run keeps
        its note, its figures null); returns the table's new version."""
        from workbench.bench.records import BENCH_TABLE

        return lake.record(BENCH_TABLE, self.records(model))

    def widget(self) -> Any:
        """The table and a chart per figure (a `workbench.widgets.CompareView`, found through
        `workbench.display`)."""
        return view(self)

    def _title(self) -> str:
        return f"{self.model}: {len({r['engine'] for r in self.rows})} engine(s)"

    def __repr__(self) -> str:
        return (f"Comparison({self._title()}, bench_id={self.bench_id!r})\n"
                + self.table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))

    def _repr_html_(self) -> str:
        return (f"<p><b>Compare</b> {html.escape(self._title())} "
                f"<small>({html.escape(self.bench_id)})</small></p>"
                + self.table.to_html(index=False, border=0, float_format=lambda v: f"{v:.4g}"))
