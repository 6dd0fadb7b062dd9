"""Values as JSON can carry them: the REST API's times are unix seconds, missing numbers null,
and a table's cells (preview, profile statistics) plain numbers and text."""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import json
import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go


def epoch(value: Any) -> float | None:
    """A time (datetime, pandas Timestamp, or already unix seconds) as unix seconds; None for a
    missing one (None, NaN, NaT)."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):  # pandas' Timestamp too
        if value != value:  # NaT
            return None
        return value.timestamp() if value.tzinfo else value.replace(
            tzinfo=dt.timezone.utc).timestamp()
    number = float(value)
    return None if math.isnan(number) else number


def cell(value: Any) -> Any:
    """A table cell as JSON: numbers stay numbers (NaN and infinities null), times and dates ISO
    text, durations seconds, bytes base64 text, nested lists and structs recursively."""
    import numpy as np
    import pandas as pd

    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating, decimal.Decimal)):
        number = float(value)
        return number if math.isfinite(number) else None
    if isinstance(value, str):
        return value
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, np.datetime64):
        return None if np.isnat(value) else pd.Timestamp(value).isoformat()
    if isinstance(value, (dt.timedelta, np.timedelta64)):
        seconds = pd.Timedelta(value).total_seconds()
        return None if math.isnan(seconds) else seconds
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, dict):
        return {str(k): cell(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [cell(v) for v in value]
    return str(value)


def records(frame: pd.DataFrame, columns: list[str] | None = None) -> list[dict[str, Any]]:
    """The frame's rows as JSON objects (of ``columns``, default all), cells through `cell`."""
    names = list(frame.columns) if columns is None else columns
    return [{name: cell(value) for name, value in zip(names, row)}
            for row in frame[names].itertuples(index=False, name=None)]


def figure(fig: go.Figure) -> dict[str, Any]:
    """A plotly figure as its JSON object (``{"data": [...], "layout": {...}}``), encoded by
    plotly itself, with its typed arrays (plotly's base64 ``{"dtype", "bdata"}`` for numpy
    data) as plain lists: any plotly.js renders them, and a client can read the points."""
    import plotly.io as pio

    return _plain(json.loads(pio.to_json(fig, validate=False)))


def _plain(obj: Any) -> Any:
    """``obj`` with every typed array decoded to a (nested) list, non-finite numbers null."""
    import numpy as np

    if isinstance(obj, dict):
        if isinstance(obj.get("bdata"), str) and isinstance(obj.get("dtype"), str):
            array = np.frombuffer(base64.b64decode(obj["bdata"]), dtype=obj["dtype"])
            if "shape" in obj:
                array = array.reshape([int(n) for n in str(obj["shape"]).split(",")])
            return cell(array.tolist())
        return {key: _plain(value) for key, value in obj.items()}
    if isinstance(obj, list):
        return [_plain(value) for value in obj]
    return obj
