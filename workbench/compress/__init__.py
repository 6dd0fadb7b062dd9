"""Model compression for inference: int8 quantisation, magnitude pruning, knowledge
distillation, and `compare`, which benchmarks the variants side by side (size, parameters,
latency, throughput, accuracy) and saves them to the lake's `_bench` table.

Each compressed model carries a `compression_report` (what was done to which layers). Names
load on first use, so ``import workbench.compress`` loads no torch. (The modules are named
after the techniques, quantization.py, pruning.py, ..., so none shadows its function.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbench.lazy import lazy_exports

if TYPE_CHECKING:
    from workbench.compress.comparison import CompareResult, compare, size_mb
    from workbench.compress.distillation import distill, distillation_loss
    from workbench.compress.errors import CompressError, QuantizationError
    from workbench.compress.pruning import prune, sparsity
    from workbench.compress.quantization import quantize
    from workbench.compress.report import CompressionReport

_EXPORTS = {
    "quantize": "workbench.compress.quantization",
    "prune": "workbench.compress.pruning",
    "sparsity": "workbench.compress.pruning",
    "distill": "workbench.compress.distillation",
    "distillation_loss": "workbench.compress.distillation",
    "compare": "workbench.compress.comparison",
    "CompareResult": "workbench.compress.comparison",
    "size_mb": "workbench.compress.comparison",
    "CompressionReport": "workbench.compress.report",
    "CompressError": "workbench.compress.errors",
    "QuantizationError": "workbench.compress.errors",
}

__all__ = ["CompareResult", "CompressError", "CompressionReport", "QuantizationError", "compare",
           "distill", "distillation_loss", "prune", "quantize", "size_mb", "sparsity"]

__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS)
