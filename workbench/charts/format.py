"""The one place for how numbers look to a person: units, SI prefixes, thousands separators,
durations, sizes, percentages, column labels, and the compact panel layout every chart shares.

Rules (every view follows them, so a number reads the same in a chart, a table and a sentence):
- No scientific notation anywhere a person reads. `number` writes plain decimals with thousands
  separators; chart axes get ``exponentformat="none"`` and a d3 tick format that never writes
  an exponent.
- `digits` significant digits, but whole numbers never lose digits (12,345.6 -> "12,346"), and
  at most 6 decimal places: a non-zero value that rounds to 0 there reads "<0.000001" (its sign in
  front when negative). Where a value has a unit and can be tiny, `si` gives it a prefix instead
  ("850 µs").
- Missing (None, NaN, NA) is "—"; infinities are "∞" and "-∞", without a unit.
- Formatters take base units (seconds, bytes, bytes/s, fractions) and pick what a person reads.
- One unit per quantity across the product (`UNITS`): latency in ms, throughput in samples/s,
  bandwidth in GB/s, memory and sizes in MB (decimal: 1 MB = 1e6 bytes), durations in s. Axis
  titles and table headers name it as "name (unit)", a percentage as "name %". Only prose
  auto-scales: `size` ("12.3 MB", "4.1 GB") and `duration` ("3 min 20 s").
- A number and its unit are separated by a space, an SI prefix joins the unit ("12.3 kB",
  "850 ms"), and "%" joins the number ("12.3%").
"""

from __future__ import annotations

import datetime
import math
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    import plotly.graph_objects as go

UNITS = {"latency": "ms", "throughput": "samples/s", "token throughput": "tokens/s",
         "bandwidth": "GB/s", "memory": "MB", "size": "MB", "duration": "s", "fraction": "%"}
MAX_DECIMALS = 6  # below 10**-6 a plain decimal is a row of zeros: "<0.000001" says it better
MISSING = "—"
PANEL_HEIGHT = 200  # px: a chart in the sidebar or a panel, under its own heading
PANEL_MARGIN = {"l": 48, "r": 8, "t": 8, "b": 36}
SAMPLES_PER_S = UNITS["throughput"]
ELAPSED = f"elapsed ({UNITS['duration']})"
ROWS = "rows"
_PREFIXES = {4: "T", 3: "G", 2: "M", 1: "k", 0: "", -1: "m", -2: "µ", -3: "n"}
_TICKS = ",.6~r"  # d3: thousands separators, 6 significant digits, plain decimals, no exponent
_PERCENT_TICKS = ",.6~%"  # the same for fractions, shown as percentages


def _missing(x: Any) -> bool:
    """Whether ``x`` is no number at all: None, NaN, pandas' NA or NaT."""
    return x is None or bool(pd.isna(x))


def _special(x: Any) -> bool:
    """Whether ``x`` is missing or infinite: `number` writes those alone, without a unit."""
    return _missing(x) or math.isinf(float(x))


def number(x: Any, digits: int = 3) -> str:
    """``x`` as a person reads it, by the module's rules: "12,346", "12.3", "0.0123",
    "<0.000001", "—", "∞"; integers exactly, with thousands separators."""
    if digits < 1:
        raise ValueError(f"number: digits must be at least 1, not {digits}")
    if _missing(x):
        return MISSING
    if isinstance(x, (int, np.integer)):
        return f"{int(x):,}"
    value = float(x)
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    if value == 0:
        return "0"
    decimals = min(max(digits - 1 - math.floor(math.log10(abs(value))), 0), MAX_DECIMALS)
    text = f"{Decimal(repr(value)):,.{decimals}f}"  # the float's shortest digits, no noise
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if text.lstrip("-") == "0":  # too small for MAX_DECIMALS
        return f"{'-' if value < 0 else ''}<{10.0 ** -MAX_DECIMALS:.{MAX_DECIMALS}f}"
    return text


def count(n: Any) -> str:
    """A count, rounded to a whole number, with thousands separators: "12,345"."""
    if isinstance(n, (int, np.integer)) or _special(n):
        return number(n)
    return f"{round(float(n)):,}"


def si(x: Any, unit: str, digits: int = 3) -> str:
    """``x`` (in ``unit``) with the SI prefix (n µ m k M G T) that leaves 1 to 999 before it:
    "850 ms", "12.3 kB"; beyond T or below n the number grows or shrinks instead."""
    if _special(x):
        return number(x)
    value = float(x)
    power = 0 if value == 0 else min(max(math.floor(math.log10(abs(value)) / 3), -3), 4)
    if power < 4 and abs(float(f"{value / 1000.0 ** power:.{digits}g}")) >= 1000:
        power += 1  # 999.96 rounds to 1,000: one prefix up
    return f"{number(value / 1000.0 ** power, digits)} {_PREFIXES[power]}{unit}".rstrip()


def _in_unit(x: Any, factor: float, unit: str, digits: int) -> str:
    """``x`` times ``factor`` as `number`, a space and ``unit``; "—" and "∞" stand alone."""
    if _special(x):
        return number(x)
    return f"{number(float(x) * factor, digits)} {unit}"


def latency_ms(seconds: Any, digits: int = 3) -> str:
    """A latency given in seconds, always in ms (the product's one latency unit): "12.3 ms"."""
    return _in_unit(seconds, 1e3, UNITS["latency"], digits)


def throughput(samples_per_s: Any, digits: int = 3) -> str:
    """A throughput, always in samples/s with thousands separators: "12,346 samples/s"."""
    return _in_unit(samples_per_s, 1.0, UNITS["throughput"], digits)


def bandwidth(bytes_per_s: Any, digits: int = 3) -> str:
    """A bandwidth given in bytes/s, always in GB/s (1 GB = 1e9 bytes): "12.3 GB/s"."""
    return _in_unit(bytes_per_s, 1e-9, UNITS["bandwidth"], digits)


def size(n_bytes: Any, digits: int = 3) -> str:
    """A size in bytes for prose, in decimal units (1 kB = 1,000 B): "512 B", "12.3 MB"."""
    if not _special(n_bytes) and 0 < abs(float(n_bytes)) < 1:
        return f"{number(n_bytes, digits)} B"  # a fraction of a byte, not "500 mB"
    return si(n_bytes, "B", digits)


def percent(fraction: Any, digits: int = 3) -> str:
    """A fraction (0.123) as a percentage to ``digits`` significant digits: "12.3%"."""
    if _special(fraction):
        return number(fraction)
    return f"{number(float(fraction) * 100, digits)}%"


_SPANS = (("d", 86_400, "h", 3_600), ("h", 3_600, "min", 60), ("min", 60, "s", 1))


def duration(seconds: Any) -> str:
    """A duration (seconds, or a timedelta) in the unit that reads best: "850 ms", "12.4 s",
    "3 min 20 s", "2 h 5 min", "3 d 4 h"; from a minute on, rounded to its smaller unit."""
    if isinstance(seconds, datetime.timedelta):
        seconds = seconds.total_seconds()
    if _special(seconds):
        return number(seconds)
    value = float(seconds)
    if value < 0:
        return f"-{duration(-value)}"
    if value < 59.95:  # still under a minute at 3 significant digits: "59.9 s"
        return si(value, "s")
    unit, length, smaller, step = next(  # the largest unit it rounds to at least one of
        span for span in _SPANS if value >= span[1] - span[3] / 2)
    whole, rest = divmod(round(value / step), length // step)
    return f"{whole:,} {unit}" + (f" {rest} {smaller}" if rest else "")


@dataclass(frozen=True)
class Column:
    """A result column as a person sees it: its human ``name``, the ``quantity`` it measures (a
    key of `UNITS`; "" for counts and scores) and the ``factor`` from its stored unit to that."""

    name: str
    quantity: str = ""
    factor: float = 1.0

    @property
    def unit(self) -> str:
        """The product's one unit for this column's quantity; "" when it has none."""
        return UNITS.get(self.quantity, "")

    @property
    def label(self) -> str:
        """The header or axis title: "p50 latency (ms)", "null %", "rows in"."""
        return titled(self.name, self.unit)

    def axis(self) -> dict[str, Any]:
        """A numeric panel axis for this column (`axis`); plot its values times ``factor``."""
        return axis(self.name, self.unit)


COLUMNS = {
    **{f"{p}_ms": Column(f"{p} latency", "latency") for p in ("p50", "p90", "p95", "p99")},
    "max_ms": Column("max latency", "latency"), "mean_ms": Column("mean latency", "latency"),
    "step_s": Column("step time", "latency", 1e3), "data_s": Column("data time", "latency", 1e3),
    **{f"step_{p}_s": Column(f"step {p}", "latency", 1e3) for p in ("p50", "p90", "p99")},
    "throughput": Column("throughput", "throughput"),
    "samples_per_s": Column("throughput", "throughput"),
    "tokens_per_s": Column("throughput", "token throughput"),
    "mb_per_s": Column("bandwidth", "bandwidth", 1e-3),
    "peak_memory_mb": Column("peak memory", "memory"),
    "peak_memory_bytes": Column("peak memory", "memory", 1e-6),
    "size_mb": Column("size", "size"), "bytes_in": Column("input", "size", 1e-6),
    "duration_s": Column("duration", "duration"), "seconds": Column("duration", "duration"),
    "elapsed": Column("elapsed", "duration"), "data_wait": Column("data wait", "fraction"),
    "data_wait_share": Column("data wait", "fraction"),
    "null_fraction": Column("null", "fraction"), "mfu": Column("MFU", "fraction"),
    "accuracy": Column("accuracy", "fraction"),
    "rows_in": Column("rows in"), "rows_written": Column("rows written"),
    "rows_quarantined": Column("rows quarantined"),
    "duplicates_dropped": Column("duplicates dropped"),
    "max_abs_diff": Column("max abs difference"), "straggler_ratio": Column("straggler ratio"),
    "params": Column("parameters"), "batch_size": Column("batch size"),
    "distinct": Column("distinct values"), "std": Column("standard deviation"),
}
_SUFFIXES = {"_ms": ("latency", 1.0), "_mb": ("size", 1.0), "_bytes": ("size", 1e-6),
             "_fraction": ("fraction", 1.0), "_share": ("fraction", 1.0), "_s": ("duration", 1.0)}


def titled(name: str, unit: str) -> str:
    """``name`` with its unit the product's way: "latency (ms)", "null %"; just one if the
    other is empty."""
    if not unit or not name:
        return name or unit
    return f"{name} %" if unit == "%" else f"{name} ({unit})"


def describe(column: str) -> Column:
    """How a person sees ``column``: from `COLUMNS`, else by its unit suffix (``wall_s`` is a
    duration in s, ``rows_per_s`` reads "rows/s"), else with spaces for underscores."""
    if column in COLUMNS:
        return COLUMNS[column]
    if column.endswith("_per_s"):
        return Column(column[: -len("_per_s")].replace("_", " ") + "/s")
    for suffix, (quantity, factor) in _SUFFIXES.items():
        if column.endswith(suffix) and len(column) > len(suffix):
            return Column(column[: -len(suffix)].replace("_", " "), quantity, factor)
    return Column(column.replace("_", " "))


def label(column: str) -> str:
    """A human header or axis title for a snake_case column: "p50_ms" -> "p50 latency (ms)"."""
    return describe(column).label


def axis(title: str = "", unit: str = "", *, numeric: bool = True) -> dict[str, Any]:
    """A panel axis titled ``title`` in ``unit``: a light grid, thousands separators and never an
    exponent; a ``numeric`` one also gets tick and hover formats that write plain decimals (as
    percentages when ``unit`` is "%", its values being fractions). Dates and categories: not
    ``numeric`` (a d3 number format would garble them)."""
    spec: dict[str, Any] = {"gridcolor": "rgba(128,128,128,0.25)", "zeroline": False,
                            "automargin": True, "exponentformat": "none",
                            "separatethousands": True}
    if numeric:
        ticks = _PERCENT_TICKS if unit == "%" else _TICKS
        spec |= {"tickformat": ticks, "hoverformat": ticks}
    if title or unit:
        spec["title"] = {"text": titled(title, unit)}
    return spec


def _numbers(values: Any) -> bool:
    """Whether a trace's coordinates on one axis are numbers (none at all count as numbers)."""
    return values is None or len(values) == 0 or pd.api.types.is_numeric_dtype(pd.Series(values))


def panel_figure(data: list[Any], **layout: Any) -> go.Figure:
    """A figure for a narrow panel: compact margins, small font, no title (the panel's heading
    names the chart), no legend unless ``layout`` turns it on, transparent backgrounds so the
    page's theme shows through, `axis` on both axes (numeric ones where every trace has numbers
    there), and no template (its JSON would outweigh a small chart's data). ``layout`` is merged
    over that (plotly's ``update_layout``)."""
    import plotly.graph_objects as go

    figure = go.Figure(data=data, layout={
        "template": "none", "height": PANEL_HEIGHT, "margin": PANEL_MARGIN,
        "font": {"size": 11}, "showlegend": False, "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)"})
    figure.update_layout({f"{letter}axis": axis(numeric=all(
        _numbers(getattr(trace, letter, None)) for trace in figure.data)) for letter in "xy"})
    return figure.update_layout(**layout)


def values_of(ticks: np.ndarray, type_name: str) -> np.ndarray:
    """Numbers as a column of type ``type_name`` (an Arrow type's name) holds them: profiles count
    timestamp and date columns in integer ticks, shown here as datetimes; others as floats."""
    unit = re.match(r"timestamp\[(\w+)", type_name)
    if unit:
        return pd.to_datetime(ticks, unit=unit.group(1)).to_numpy()
    if type_name.startswith(("date32", "date64")):
        return pd.to_datetime(ticks, unit="D" if type_name.startswith("date32") else "ms"
                              ).to_numpy()
    return np.asarray(ticks, dtype=float)


def value_labels(values: np.ndarray) -> list[str]:
    """Short hover labels: datetimes to the second, numbers as `number` to 6 significant
    digits."""
    if np.issubdtype(values.dtype, np.datetime64):
        return [str(v)[:19].replace("T", " ") for v in values]
    return [number(v, 6) for v in values]
