"""Inference benchmarks: latency percentiles and throughput of a model or any callable, per batch
size, in the MLPerf LoadGen scenarios (single-stream, offline, server); and the one comparison
of model variants and inference engines side by side.

``res = wb.bench.latency(model, inputs)``; ``res.table``, ``res.widget()``, ``res.save(lake)``.
``cmp = wb.bench.compare(model, x, engines=["eager", "onnxruntime", "onnxruntime-int8"])``;
``cmp.table``, ``cmp.fastest``.
The harness lives in ``harness.py`` (a module named ``latency`` would shadow the function).
Names load on first use, so ``import workbench.bench`` loads no torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbench.lazy import lazy_exports

if TYPE_CHECKING:
    from workbench.bench.comparison import Comparison, compare
    from workbench.bench.errors import BenchError
    from workbench.bench.harness import LatencyResult, latency
    from workbench.bench.records import BENCH_COLUMNS, BENCH_TABLE, CDF_QUANTILES
    from workbench.bench.scenarios import SCENARIOS

_EXPORTS = {
    "latency": "workbench.bench.harness",
    "compare": "workbench.bench.comparison",
    "Comparison": "workbench.bench.comparison",
    "LatencyResult": "workbench.bench.harness",
    "BenchError": "workbench.bench.errors",
    "SCENARIOS": "workbench.bench.scenarios",
    "BENCH_COLUMNS": "workbench.bench.records",
    "BENCH_TABLE": "workbench.bench.records",
    "CDF_QUANTILES": "workbench.bench.records",
}

__all__ = ["BENCH_COLUMNS", "BENCH_TABLE", "CDF_QUANTILES", "SCENARIOS", "BenchError",
           "Comparison", "LatencyResult", "compare", "latency"]

__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS)
