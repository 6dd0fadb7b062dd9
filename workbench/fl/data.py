"""A client's table as tensors: every column but the label is a feature, the label a class index
(classification) or a float target (regression). The same rules check the parts in the notebook
before any process starts, and turn them into tensors in each client.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from workbench.fl.errors import FederatedError

if TYPE_CHECKING:
    import pandas as pd
    import torch


@dataclass(frozen=True)
class Task:
    """What the label is: ``classes`` (sorted label values, their index is the class) for
    classification, None for regression; and the feature columns, in order."""

    label: str
    features: tuple[str, ...]
    classes: tuple[Any, ...] | None

    @property
    def kind(self) -> str:
        return "regression" if self.classes is None else "classification"


def infer_task(frames: dict[str, pd.DataFrame], label: str) -> Task:
    """The task the frames (named for errors: "client 3", "test") agree on; `FederatedError`
    naming the frame and column for a missing label, a non-numeric feature or a NaN."""
    import pandas as pd

    features: tuple[str, ...] | None = None
    values: set[Any] = set()
    regression = None
    for where, frame in frames.items():
        if label not in frame.columns:
            raise FederatedError(f"label={label!r} is not a column of {where}; its columns are "
                                 f"{list(frame.columns)}")
        columns = tuple(c for c in frame.columns if c != label)
        if features is None:
            features = columns
        elif columns != features:
            raise FederatedError(f"{where} has feature columns {list(columns)}, others have "
                                 f"{list(features)}: every part needs the same columns")
        text = [c for c in columns if not (pd.api.types.is_numeric_dtype(frame[c])
                                           or pd.api.types.is_bool_dtype(frame[c]))]
        if text:
            raise FederatedError(f"{where}: feature columns {text} are not numeric; encode them "
                                 "first (e.g. pd.get_dummies or category codes)")
        _check_finite(frame, columns, where)
        if frame[label].isna().any():
            row = int(frame[label].isna().to_numpy().argmax())
            raise FederatedError(f"{where}: label {label!r} is empty in row {row}")
        is_float = pd.api.types.is_float_dtype(frame[label])
        if regression is not None and is_float != regression:
            raise FederatedError(f"{where}: label {label!r} is {frame[label].dtype}, other parts "
                                 "differ; give every part the same label type")
        regression = is_float
        if not is_float:
            values.update(frame[label].unique().tolist())
    if features is None:
        raise FederatedError("there are no parts to train on")
    if not features:
        raise FederatedError(f"the data has no columns besides the label {label!r}")
    classes = None if regression else tuple(_sorted(values))
    return Task(label, features, classes)


def tensors(frame: pd.DataFrame, task: Task) -> tuple[torch.Tensor, torch.Tensor]:
    """Features (float32, one row per row) and targets (int64 class indices, or float32)."""
    import numpy as np
    import torch

    x = torch.from_numpy(frame[list(task.features)].to_numpy(dtype=np.float32, copy=True))
    if task.classes is None:
        y = torch.from_numpy(frame[task.label].to_numpy(dtype=np.float32, copy=True))
    else:
        index = {value: i for i, value in enumerate(task.classes)}
        y = torch.tensor([index[v] for v in frame[task.label].tolist()], dtype=torch.int64)
    return x, y


def _check_finite(frame: pd.DataFrame, columns: tuple[str, ...], where: str) -> None:
    import numpy as np

    for column in columns:
        values = frame[column].to_numpy(dtype=np.float64, na_value=np.nan)
        bad = ~np.isfinite(values)
        if bad.any():
            row = int(bad.argmax())
            raise FederatedError(f"{where}: feature {column!r} is {values[row]} in "
                                 f"row {row}; fill or drop such rows before training")


def _sorted(values: set[Any]) -> list[Any]:
    try:
        return sorted(values)
    except TypeError:
        return sorted(values, key=str)
