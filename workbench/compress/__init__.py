"""Model compression for inference: int8 quantisation, magnitude pruning, knowledge
distillation, and `size_mb`. ``wb.bench.compare`` benchmarks the variants side by side, on
every engine (size, latency, throughput, accuracy, parity) and saves them to the lake's
`_bench` table.

Each compressed model carries a `compression_report` (what was done to which layers). Names
load on first use, so ``import workbench.compress`` loads no torch. (The modules are named
after the techniques, quantization.py, pruning.py, ..., so none shadows its function.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbench.lazy import lazy_exports

if TYPE_CHECKING:
    from workbench.compress.distillation import distill, distillation_loss
    from workbench.compress.errors import CompressError, QuantizationError
    from workbench.compress.pruning import prune, sparsity
    from workbench.compress.quantization import quantize
    from workbench.compress.report import CompressionReport
    from workbench.compress.size import size_mb

_EXPORTS = {
    "quantize": "workbench.compress.quantization",
    "prune": "workbench.compress.pruning",
    "sparsity": "workbench.compress.pruning",
    "distill": "workbench.compress.distillation",
    "distillation_loss": "workbench.compress.distillation",
    "size_mb": "workbench.compress.size",
    "CompressionReport": "workbench.compress.report",
    "CompressError": "workbench.compress.errors",
    "QuantizationError": "workbench.compress.errors",
}

__all__ = ["CompressError", "CompressionReport", "QuantizationError", "distill",
           "distillation_loss", "prune", "quantize", "size_mb", "sparsity"]

__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS)
