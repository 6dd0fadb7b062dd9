"""`quantize(model)`: int8 dynamic quantisation of the linear and recurrent layers, with torchao.

Why torchao: in torch 2.13, ``torch.ao.quantization`` (``quantize_dynamic``, the fbgemm LSTM and
Linear modules) is deprecated, and quantised tensor dtypes (``torch.qint8``) with it; its
DeprecationWarning names torchao's ``quantize_`` as the replacement, and that is what this uses:
``Int8DynamicActivationInt8WeightConfig`` (weights int8 per output row, activations quantised
per token at run time). Two consequences, measured and documented in docs/benchmarks.md:

- On CPU, torchao's eager int8 matmul is a reference path (an int32 matmul), so an int8 model
  is smaller but slower than fp32 there; the fast kernels are CUDA's (cuBLAS int8 GEMM).
- torchao has no int8 recurrent layers (the deprecated API had LSTM/GRU ones), so each LSTM,
  GRU and RNN is first rebuilt from Linear layers (`LinearRecurrent`: the same equations, to
  float rounding) and those are quantised like any other. Convolutions and embeddings stay in
  float and are named in the report; a model with nothing to quantise is refused with the list
  of its layers and why.
"""

from __future__ import annotations

import contextlib
import copy
import logging
from collections.abc import Iterator
from typing import Any

from workbench.compress.errors import QuantizationError
from workbench.compress.report import CompressionReport

METHOD = "torchao quantize_, Int8DynamicActivationInt8WeightConfig"
INT8 = "int8: dynamic per-token activations, per-row weights"
INT8_RECURRENT = ("int8: recurrent layer rebuilt from linear layers (input, hidden and "
                  "projection matmuls), dynamic per-token activations, per-row weights")
_CONV = ("kept float: dynamic int8 covers linear layers; a convolution needs static "
         "quantisation with calibration data")
_EMBEDDING = "kept float: an embedding is a table lookup, not a matmul"
_NORM = "kept float: normalisation, elementwise"
_ATTENTION = "kept float: attention's in-projection is a bare parameter, not a Linear layer"
_OUT_PROJ = ("kept float: attention's out_proj, which attention uses through its weight tensor "
             "(torch marks it NonDynamicallyQuantizableLinear)")
_ALREADY = "kept: weight is already quantised"
_OTHER = "kept float: not a linear layer"


def quantize(model: Any) -> Any:
    """An int8 copy of `model` (the original is untouched): every ``nn.Linear`` quantised with
    torchao's dynamic int8 scheme, and every LSTM, GRU and RNN as a `LinearRecurrent` whose
    matmuls are quantised the same way (it takes padded tensors, not PackedSequence), in eval
    mode, with a `compression_report` listing each weighted layer and what happened to it.
    Raises `QuantizationError` (the layers and why) when nothing can be quantised."""
    from torch import nn

    from workbench.compress.recurrent import LinearRecurrent

    if not isinstance(model, nn.Module):
        raise QuantizationError(f"quantize() needs an nn.Module, not {type(model).__name__}: a "
                                "plain function has no layers to quantise")
    plan = _plan(model)
    chosen = {name for name, _, action in plan if action in (INT8, INT8_RECURRENT)}
    if not chosen:
        listed = "; ".join(f"{name or '<root>'!r} ({kind}): {action}"
                           for name, kind, action in plan) or "it has no parameters at all"
        raise QuantizationError(f"cannot quantise {type(model).__name__}: int8 dynamic "
                                f"quantisation applies to linear and recurrent layers and it has "
                                f"none that can be quantised. Its layers: {listed}")
    quantized = copy.deepcopy(model).eval()
    linears = {name for name, _, action in plan if action == INT8}
    for name in sorted(chosen - linears):
        rebuilt = LinearRecurrent(quantized.get_submodule(name))
        quantized.set_submodule(name, rebuilt)
        linears |= {f"{name}.{child}" for child, module in rebuilt.named_modules()
                    if isinstance(module, nn.Linear)}
    with _quiet_import():
        from torchao.quantization import Int8DynamicActivationInt8WeightConfig, quantize_
    # set_inductor_config=False: leave torch.compile's global settings alone.
    config = Int8DynamicActivationInt8WeightConfig(set_inductor_config=False)
    try:
        quantize_(quantized, config, filter_fn=lambda _module, fqn: fqn in linears)
    except Exception as exc:
        raise QuantizationError(f"torchao could not quantise {type(model).__name__}'s linear "
                                f"layers {sorted(chosen)}: {type(exc).__name__}: {exc}") from exc

    import pandas as pd

    from workbench.compress.size import state_dict_bytes

    details = pd.DataFrame(plan, columns=["layer", "type", "action"])
    before = state_dict_bytes(model)
    after = state_dict_bytes(quantized)
    quantized.compression_report = CompressionReport(
        variant="int8", method=METHOD,
        summary=f"{len(chosen)} of {len(plan)} weighted layers to int8; weights "
                f"{before / 1e6:.3g} MB -> {after / 1e6:.3g} MB",
        details=details,
        figures={"quantized_layers": float(len(chosen)), "weight_mb_before": before / 1e6,
                 "weight_mb_after": after / 1e6})
    return quantized


def _plan(model: Any) -> list[tuple[str, str, str]]:
    """(layer name, type, action) for every module that holds parameters of its own."""
    from torch import nn

    rows = []
    for name, module in model.named_modules():
        own = list(module.parameters(recurse=False))
        if not own:
            continue
        kind = type(module).__name__
        if isinstance(module, nn.modules.linear.NonDynamicallyQuantizableLinear):
            rows.append((name, kind, _OUT_PROJ))
        elif isinstance(module, nn.Linear):
            weight = module.weight
            plain = type(weight) is nn.Parameter and weight.is_floating_point()
            rows.append((name, kind, INT8 if plain else _ALREADY))
        elif isinstance(module, nn.RNNBase):
            rows.append((name, kind, INT8_RECURRENT))
        elif isinstance(module, nn.modules.conv._ConvNd):
            rows.append((name, kind, _CONV))
        elif isinstance(module, (nn.Embedding, nn.EmbeddingBag)):
            rows.append((name, kind, _EMBEDDING))
        elif isinstance(module, nn.MultiheadAttention):
            rows.append((name, kind, _ATTENTION))
        elif isinstance(module, (nn.LayerNorm, nn.modules.batchnorm._NormBase, nn.GroupNorm)):
            rows.append((name, kind, _NORM))
        else:
            rows.append((name, kind, _OTHER))
    return rows


@contextlib.contextmanager
def _quiet_import() -> Iterator[None]:
    """Import torchao without its start-up noise: on a CPU-only torch its bundled CUDA kernels
    (mxfp8, CUTLASS) cannot load and it logs a warning per library, and torch's pytree logs
    one about an enum; neither affects the int8 path used here."""
    import torch

    loggers = [logging.getLogger("torch.utils._pytree")]
    if not torch.cuda.is_available():
        loggers.append(logging.getLogger("torchao"))
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)
