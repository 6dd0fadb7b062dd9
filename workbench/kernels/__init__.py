"""Hot-path array kernels: keyed hashing, standardisation, moments, histograms, quantiles,
distinct counts, first-occurrence sets for dedup, and the DLPack handoff to torch.

Every function takes numpy or pyarrow input (pandas and cupy too); the backend follows the
array (``array_module``). Submodules load on first use, so ``import workbench.kernels`` stays
cheap and numba compiles (and caches) each loop the first time it runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbench.lazy import lazy_exports

if TYPE_CHECKING:
    from ._backend import array_module, device_module
    from .exact_quantiles import quantiles
    from .hashing import keyed_hash
    from .hexdigits import hex_digits
    from .histograms import Histogram, histogram
    from .hyperloglog import HyperLogLog, approx_distinct
    from .keyset import KeySet
    from .kll import QuantileSketch
    from .moment_stats import Moments, moments
    from .standardize import standardize
    from .torch_handoff import to_torch

_EXPORTS = {
    "array_module": "._backend",
    "device_module": "._backend",
    "keyed_hash": ".hashing",
    "hex_digits": ".hexdigits",
    "Moments": ".moment_stats",
    "moments": ".moment_stats",
    "Histogram": ".histograms",
    "histogram": ".histograms",
    "quantiles": ".exact_quantiles",
    "QuantileSketch": ".kll",
    "KeySet": ".keyset",
    "HyperLogLog": ".hyperloglog",
    "approx_distinct": ".hyperloglog",
    "standardize": ".standardize",
    "to_torch": ".torch_handoff",
}

__all__ = [
    "Histogram",
    "HyperLogLog",
    "KeySet",
    "Moments",
    "QuantileSketch",
    "approx_distinct",
    "array_module",
    "device_module",
    "hex_digits",
    "histogram",
    "keyed_hash",
    "moments",
    "quantiles",
    "standardize",
    "to_torch",
]

__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS)
