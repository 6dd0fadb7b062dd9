"""`prune(model, amount)`: magnitude pruning with ``torch.nn.utils.prune``, made permanent.

Unstructured: the `amount` smallest weights by absolute value across all Linear and Conv layers
together (global L1), so layers that matter less lose more. Structured: per layer, the `amount`
output units (rows, channels) of smallest L2 norm, except in the output layer, whose rows are
the model's outputs (classes). Either way ``prune.remove`` folds the mask into the weight, so
the result is a plain model with zeros in it; dense storage does not shrink, a sparse format or
a smaller architecture would.
"""

from __future__ import annotations

import copy
import numbers
from typing import Any

from workbench.compress.errors import CompressError
from workbench.compress.report import CompressionReport


def prune(model: Any, amount: float, structured: bool = False) -> Any:
    """A pruned copy of `model` (the original is untouched), in eval mode, with a
    `compression_report` of the achieved sparsity per layer and overall (its `figures`
    ["sparsity"] is the share of zero weights in the pruned layers)."""
    import torch.nn.utils.prune as torch_prune
    from torch import nn

    if not isinstance(model, nn.Module):
        raise CompressError(f"prune() needs an nn.Module, not {type(model).__name__}")
    if isinstance(amount, bool) or not isinstance(amount, numbers.Real) or not 0 < amount < 1:
        raise CompressError(f"amount must be the share of weights to remove, 0 < amount < 1, "
                            f"not {amount!r}")
    pruned = copy.deepcopy(model).eval()
    layers = _prunable(pruned)
    if not layers:
        raise CompressError(f"{type(model).__name__} has no Linear or Conv layer with a float "
                            "weight to prune (quantised weights can't be pruned: prune first, "
                            "then quantise)")
    if structured:
        if len(layers) < 2:
            raise CompressError(f"structured pruning removes whole output units, and "
                                f"{type(model).__name__}'s only prunable layer "
                                f"{layers[0][0]!r} is its output layer: use structured=False")
        targets = layers[:-1]  # the last layer's rows are the model's outputs
        for _, module in targets:
            torch_prune.ln_structured(module, "weight", amount=float(amount), n=2, dim=0)
        method = "torch.nn.utils.prune.ln_structured (L2 norm of output units, per layer)"
    else:
        targets = layers
        torch_prune.global_unstructured([(m, "weight") for _, m in targets],
                                        pruning_method=torch_prune.L1Unstructured,
                                        amount=float(amount))
        method = "torch.nn.utils.prune.global_unstructured (L1 magnitude, all layers together)"
    for _, module in targets:
        torch_prune.remove(module, "weight")  # permanent: the mask is folded into the weight

    import pandas as pd

    pruned_names = {name for name, _ in targets}
    rows = []
    for name, module in layers:
        w = module.weight.detach()
        zeros = int((w == 0).sum())
        rows.append({"layer": name, "type": type(module).__name__, "weights": w.numel(),
                     "zeros": zeros, "sparsity": zeros / w.numel(),
                     "pruned": name in pruned_names})
    details = pd.DataFrame(rows)
    done = details[details["pruned"]]
    achieved = float(done["zeros"].sum() / done["weights"].sum())
    kind = "structured" if structured else "unstructured"
    pruned.compression_report = CompressionReport(
        variant="pruned", method=method,
        summary=f"{kind}, target {amount:.0%}: {achieved:.1%} of {int(done['weights'].sum()):,} "
                f"weights in {len(done)} layers are zero",
        details=details, figures={"amount": float(amount), "sparsity": achieved})
    return pruned


def sparsity(model: Any) -> float:
    """Share of zero weights over the model's Linear and Conv layers."""
    layers = _prunable(model)
    if not layers:
        raise CompressError(f"{type(model).__name__} has no Linear or Conv layer to measure")
    zeros = sum(int((m.weight.detach() == 0).sum()) for _, m in layers)
    return zeros / sum(m.weight.numel() for _, m in layers)


def _prunable(model: Any) -> list[tuple[str, Any]]:
    """(name, module) of the Linear and Conv layers with a plain float weight, in model order."""
    from torch import nn

    kinds = (nn.Linear, nn.modules.conv._ConvNd)
    return [(name, m) for name, m in model.named_modules()
            if isinstance(m, kinds) and type(getattr(m, "weight", None)) is nn.Parameter
            and m.weight.is_floating_point()]
