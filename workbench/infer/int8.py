"""int8 for ONNX Runtime: an exported graph quantised by onnxruntime.quantization, dynamically
(weights int8 ahead of time, activations scaled per batch at run time) or statically in QDQ
format, its activation ranges calibrated on rows a user gives (an array, a DataFrame or a lake
table). ONNX Runtime then runs its own int8 kernels (MatMulInteger, QLinear ops), which is
where torch's CPU int8 falls back to reference code."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from workbench.infer.errors import InferError

if TYPE_CHECKING:
    from workbench.infer.exporter import Exported

CALIBRATION_BATCH = 32
CALIBRATION_ROWS = 1024  # at most: MinMax ranges settle long before


def quantize_onnx(exported: Exported, calibration: Any = None) -> tuple[Path, str]:
    """The int8 graph's path (written beside the fp32 one) and a note on how it was made:
    dynamic without `calibration`, static QDQ (per-channel weights, MinMax ranges) with it."""
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_dynamic, quantize_static

    source = exported.path
    if calibration is None:
        target = source.with_suffix(".int8.onnx")
        quantize_dynamic(source, target, weight_type=QuantType.QInt8)
        return target, ("ONNX Runtime dynamic int8 (int8 weights, uint8 activations scaled per "
                        "batch; MatMulInteger kernels)")
    rows = calibration_rows(calibration, exported)
    target = source.with_suffix(".qdq.onnx")
    quantize_static(source, target, _Reader(exported.signature.inputs[0].name, rows),
                    quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
    return target, (f"ONNX Runtime static int8, QDQ calibrated on {len(rows)} rows "
                    "(per-channel weights, MinMax activation ranges)")


def calibration_rows(calibration: Any, exported: Exported) -> np.ndarray:
    """`calibration` as rows of the model's one input, in its dtype: a tensor or array as it is;
    a DataFrame or lake table by its numeric columns, in order, which must number the input's
    features."""
    spec = exported.signature.inputs
    if len(spec) != 1:
        raise InferError(f"calibration= feeds a model of one input; this one takes {len(spec)} "
                         "(quantise it without calibration= for dynamic int8)")
    want = spec[0]
    rows = _as_array(calibration, want.shape)
    if rows.shape[1:] != tuple(d for d in want.shape[1:]) or len(rows) == 0:
        raise InferError(f"calibration: expected rows shaped like {want} (any number of rows), "
                         f"given {list(rows.shape)}")
    return rows[:CALIBRATION_ROWS].astype(want.dtype, copy=False)


def _as_array(calibration: Any, shape: tuple[Any, ...]) -> np.ndarray:
    import pandas as pd

    from workbench.infer.exporter import as_numpy
    from workbench.lake.table import Table

    if isinstance(calibration, Table):
        calibration = calibration.to_pandas()
    if isinstance(calibration, pd.DataFrame):
        numeric = calibration.select_dtypes("number")
        features = shape[1] if len(shape) == 2 else None
        if features is None or numeric.shape[1] != features:
            raise InferError(f"calibration table has {numeric.shape[1]} numeric columns "
                             f"({', '.join(map(str, numeric.columns))}); the model's input takes "
                             f"{features if features is not None else 'a non-tabular shape'}: "
                             "select the feature columns (as the model sees them) or pass an "
                             "array")
        return numeric.to_numpy()
    try:
        return np.asarray(as_numpy(calibration))
    except (AttributeError, TypeError) as exc:
        raise InferError(f"calibration must be a tensor, array, DataFrame or lake table, not "
                         f"{type(calibration).__name__}") from exc


class _Reader:
    """onnxruntime's CalibrationDataReader protocol: one feed dict per call, None at the end."""

    def __init__(self, name: str, rows: np.ndarray) -> None:
        self._name, self._rows = name, rows
        self.rewind()

    def get_next(self) -> dict[str, np.ndarray] | None:
        batch = next(self._batches, None)
        return None if batch is None else {self._name: batch}

    def rewind(self) -> None:
        rows = self._rows
        self._batches: Iterator[np.ndarray] = iter(
            rows[i:i + CALIBRATION_BATCH] for i in range(0, len(rows), CALIBRATION_BATCH))
