"""How numbers look to a person (workbench.charts.format): never scientific notation, the stated
precision, one unit per quantity in every label, formatter and chart axis."""

from __future__ import annotations

import datetime
import math
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.charts import format as fmt
from workbench.charts import histogram, loss, throughput

SCIENTIFIC = re.compile(r"\d[eE][-+]?\d|e\+|e-|E")
PREFIXES = {"T": 1e12, "G": 1e9, "M": 1e6, "k": 1e3, "": 1.0, "m": 1e-3, "µ": 1e-6, "n": 1e-9}
TINY = 10.0 ** -fmt.MAX_DECIMALS

magnitudes = st.floats(min_value=1e-12, max_value=1e15)
readable = st.one_of(st.just(0.0), magnitudes, magnitudes.map(lambda x: -x))
FORMATTERS = [fmt.number, fmt.count, lambda x: fmt.si(x, "s"), fmt.size, fmt.duration,
              fmt.percent, fmt.latency_ms, fmt.throughput, fmt.bandwidth,
              lambda x: fmt.number(x, 8), lambda x: fmt.value_labels(np.array([x]))[0]]


def assert_within(text: str, x: float, digits: int = 3) -> None:
    """``text`` (a `number`) is ``x`` to ``digits`` significant digits or 6 decimal places."""
    if "<" in text:  # too small for 6 decimal places, its sign in front
        assert abs(x) < TINY and text.startswith("-") == (x < 0), (text, x)
        return
    allowed = max(0.5 * 10.0 ** (1 - digits) * abs(x), 0.5 * TINY)
    assert abs(float(text.replace(",", "")) - x) <= allowed * (1 + 1e-9), (text, x)


@settings(deadline=None)
@given(readable)
def test_no_formatter_writes_scientific_notation(x):
    for formatter in FORMATTERS:
        assert not SCIENTIFIC.search(formatter(x)), (formatter, x, formatter(x))


@settings(deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False), st.integers(1, 8))
def test_number_never_writes_an_exponent_for_any_finite_float(x, digits):
    assert not SCIENTIFIC.search(fmt.number(x, digits))


@settings(deadline=None)
@given(readable, st.integers(1, 8))
def test_number_round_trips_to_its_digits_or_six_decimals(x, digits):
    assert_within(fmt.number(x, digits), x, digits)


@settings(deadline=None)
@given(readable)
def test_si_round_trips_to_three_significant_digits(x):
    mantissa, rest = fmt.si(x, "B").split(" ")
    prefix = rest[:-1]
    assert rest.endswith("B") and prefix in PREFIXES
    if x:
        assert 1 <= abs(float(mantissa.replace(",", ""))) < 1000 or prefix in ("T", "n")
    assert_within(mantissa, x / PREFIXES[prefix])


def seconds_of(text: str) -> float:
    """The seconds a `duration` stands for: "3 min 20 s" -> 200, "850 ms" -> 0.85."""
    units = {"d": 86_400, "h": 3_600, "min": 60}
    parts = text.lstrip("-").split(" ")
    if len(parts) == 2 and parts[1] not in units:  # si: "850 ms"
        total = float(parts[0].replace(",", "")) * PREFIXES[parts[1][:-1]]
    else:
        total = sum(float(n.replace(",", "")) * units.get(u, 1)
                    for n, u in zip(parts[::2], parts[1::2]))
    return -total if text.startswith("-") else total


@settings(deadline=None)
@given(readable)
def test_duration_round_trips_to_its_smaller_unit(x):
    text = fmt.duration(x)
    if abs(x) < 59.95:
        allowed = max(0.005 * abs(x), 0.5e-15)
    else:
        allowed = 0.5 * (3_600 if " d" in text else 60 if " h" in text else 1)
    assert abs(seconds_of(text) - x) <= allowed * (1 + 1e-9), (text, x)


@settings(deadline=None)
@given(readable)
def test_quantities_keep_their_one_unit_and_round_trip(x):
    for formatter, quantity, factor in ((fmt.latency_ms, "latency", 1e3),
                                        (fmt.throughput, "throughput", 1.0),
                                        (fmt.bandwidth, "bandwidth", 1e-9)):
        value, unit = formatter(x).split(" ")
        assert unit == fmt.UNITS[quantity]
        assert_within(value, x * factor)
    assert fmt.percent(x).endswith("%")
    assert_within(fmt.percent(x)[:-1], x * 100)
    assert fmt.count(x).replace(",", "") == str(round(x))


@pytest.mark.parametrize("x, digits, text", [
    (0, 3, "0"), (0.0, 3, "0"), (-0.0, 3, "0"), (1.0, 3, "1"), (12.345, 3, "12.3"),
    (12345.6, 3, "12,346"), (0.0123456, 3, "0.0123"), (2.5, 3, "2.5"), (9.996, 3, "10"),
    (999.6, 3, "1,000"), (-1234.56, 3, "-1,235"), (0.1 + 0.2, 3, "0.3"), (3e-4, 3, "0.0003"),
    (1e15, 3, "1,000,000,000,000,000"), (1e23, 3, "100,000,000,000,000,000,000,000"),
    (7e-7, 3, "0.000001"), (1e-7, 3, "<0.000001"), (-1e-7, 3, "-<0.000001"),
    (10**20, 3, "100,000,000,000,000,000,000"), (np.int64(-5), 3, "-5"),
    (np.float32(0.1), 6, "0.1"), (1234.5678, 6, "1,234.57"), (None, 3, "—"),
    (math.nan, 3, "—"), (pd.NA, 3, "—"), (math.inf, 3, "∞"), (-math.inf, 3, "-∞")])
def test_number_examples(x, digits, text):
    assert fmt.number(x, digits) == text


def test_number_needs_a_digit():
    with pytest.raises(ValueError, match="digits must be at least 1, not 0"):
        fmt.number(1.0, 0)


@pytest.mark.parametrize("formatter, x, text", [
    (fmt.count, 12345, "12,345"), (fmt.count, 2.6, "3"), (fmt.count, np.int64(10**6),
                                                        "1,000,000"),
    (fmt.count, None, "—"), (fmt.count, math.inf, "∞"),
    (fmt.si, 0.00085, "850 µs"), (fmt.si, 12_345, "12.3 ks"), (fmt.si, 0.99996, "1 s"),
    (fmt.si, 0, "0 s"), (fmt.si, -0.5, "-500 ms"), (fmt.si, 2e-7, "200 ns"),
    (fmt.si, 1e15, "1,000 Ts"), (fmt.si, math.nan, "—"), (fmt.si, -math.inf, "-∞"),
    (fmt.size, 512, "512 B"), (fmt.size, 12_345_678, "12.3 MB"), (fmt.size, 999.96, "1 kB"),
    (fmt.size, 4.1e9, "4.1 GB"), (fmt.size, 0.5, "0.5 B"), (fmt.size, 0, "0 B"),
    (fmt.size, None, "—"),
    (fmt.duration, 0.85, "850 ms"), (fmt.duration, 12.44, "12.4 s"),
    (fmt.duration, 59.94, "59.9 s"), (fmt.duration, 59.95, "1 min"),
    (fmt.duration, 200, "3 min 20 s"), (fmt.duration, 7_500, "2 h 5 min"),
    (fmt.duration, 3 * 86_400 + 4 * 3_600, "3 d 4 h"), (fmt.duration, 3_599.7, "1 h"),
    (fmt.duration, 2e-6, "2 µs"), (fmt.duration, 0, "0 s"), (fmt.duration, -200, "-3 min 20 s"),
    (fmt.duration, datetime.timedelta(days=400), "400 d"), (fmt.duration, 1e9, "11,574 d 2 h"),
    (fmt.duration, pd.NaT, "—"),
    (fmt.percent, 0.123, "12.3%"), (fmt.percent, 1, "100%"), (fmt.percent, 0.5, "50%"),
    (fmt.percent, 1e-12, "<0.000001%"), (fmt.percent, None, "—"),
    (fmt.latency_ms, 0.0123, "12.3 ms"), (fmt.latency_ms, 12.3456, "12,346 ms"),
    (fmt.latency_ms, 4e-7, "0.0004 ms"), (fmt.latency_ms, math.nan, "—"),
    (fmt.throughput, 12_345.6, "12,346 samples/s"), (fmt.throughput, 0.5, "0.5 samples/s"),
    (fmt.bandwidth, 12.3e9, "12.3 GB/s"), (fmt.bandwidth, 2.5e6, "0.0025 GB/s"),
    (fmt.bandwidth, math.inf, "∞")])
def test_formatter_examples(formatter, x, text):
    assert (formatter(x, "s") if formatter is fmt.si else formatter(x)) == text


@pytest.mark.parametrize("column, text", [
    ("p50_ms", "p50 latency (ms)"), ("p99_ms", "p99 latency (ms)"),
    ("throughput", "throughput (samples/s)"), ("samples_per_s", "throughput (samples/s)"),
    ("peak_memory_mb", "peak memory (MB)"), ("peak_memory_bytes", "peak memory (MB)"),
    ("step_s", "step time (ms)"), ("data_wait", "data wait %"), ("rows_in", "rows in"),
    ("null_fraction", "null %"), ("size_mb", "size (MB)"),
    ("max_abs_diff", "max abs difference"), ("accuracy", "accuracy %"),
    ("mb_per_s", "bandwidth (GB/s)"), ("duration_s", "duration (s)"),
    ("wall_s", "wall (s)"), ("cold_start_ms", "cold start (ms)"), ("rows_per_s", "rows/s"),
    ("weights_bytes", "weights (MB)"), ("loss", "loss"), ("learning_rate", "learning rate")])
def test_label_examples(column, text):
    assert fmt.label(column) == text


def test_columns_convert_their_stored_unit_to_the_shown_one():
    assert fmt.describe("step_s").factor == 1e3 and fmt.describe("p50_ms").factor == 1.0
    assert fmt.describe("peak_memory_bytes").factor == 1e-6
    assert fmt.describe("mb_per_s").factor == 1e-3 and fmt.describe("x_bytes").factor == 1e-6


def test_every_label_of_a_quantity_uses_its_one_unit():
    units: dict[str, set[str]] = {}
    for name, column in fmt.COLUMNS.items():
        assert column.quantity == "" or column.quantity in fmt.UNITS, name
        unit = fmt.UNITS.get(column.quantity, "")
        assert column.unit == unit and fmt.label(name) == fmt.titled(column.name, unit)
        if unit:
            suffix = " %" if unit == "%" else f" ({unit})"
            assert fmt.label(name).endswith(suffix), name
        units.setdefault(column.quantity, set()).add(unit)
    assert all(len(found) == 1 for found in units.values()), units
    assert fmt.UNITS["latency"] == "ms" and fmt.UNITS["throughput"] == "samples/s"
    assert fmt.UNITS["bandwidth"] == "GB/s" and fmt.UNITS["memory"] == fmt.UNITS["size"] == "MB"
    assert fmt.UNITS["duration"] == "s"
    assert fmt.label("samples_per_s") == f"throughput ({fmt.SAMPLES_PER_S})"
    assert fmt.label("elapsed") == fmt.ELAPSED


def chart_figures() -> list:
    day_us = 86_400 * 10**6
    records = pd.DataFrame({"rank": [0, 0], "step": [0, 1], "loss": [1.0, 0.5]})
    return [histogram(np.array([0.0, 1.0, 3.0]), np.array([5, 7]), column="age"),
            histogram(np.array([0, day_us, 2 * day_us], dtype=float), np.array([1, 2]),
                      column="when", type_name="timestamp[us, tz=UTC]"),
            loss(records),
            throughput(pd.DataFrame({"time": [100.0, 101.0], "samples_per_s": [10.0, 2e7]}))]


def test_every_chart_axis_writes_plain_numbers_in_the_products_units():
    for figure in chart_figures():
        for ax in (figure.layout.xaxis, figure.layout.yaxis):
            assert ax.exponentformat == "none" and ax.separatethousands
            assert ax.tickformat is None or ax.tickformat[-1] in "r%"  # d3: no e, g or s
            title = ax.title.text or ""
            for unit in re.findall(r"\(([^)]*)\)$", title):
                assert unit in fmt.UNITS.values(), title
    (_, dates, _, rate) = chart_figures()
    assert dates.layout.xaxis.tickformat is None  # a number format would garble dates
    assert dates.layout.yaxis.tickformat == ",.6~r"
    assert rate.layout.yaxis.title.text == fmt.UNITS["throughput"]
    assert rate.layout.xaxis.title.text == f"elapsed ({fmt.UNITS['duration']})"


def test_panel_figure_axes_never_show_an_exponent():
    import plotly.graph_objects as go

    figure = fmt.panel_figure([go.Scatter(x=[1e-9, 2e-9], y=[1e12, 2e12])])
    for ax in (figure.layout.xaxis, figure.layout.yaxis):
        assert ax.exponentformat == "none" and ax.separatethousands
        assert ax.tickformat == ax.hoverformat == ",.6~r"
    words = fmt.panel_figure([go.Bar(x=["a", "b"], y=[1, 2])], yaxis=fmt.axis("share", "%"))
    assert words.layout.xaxis.tickformat is None and words.layout.xaxis.exponentformat == "none"
    assert words.layout.yaxis.tickformat == ",.6~%" and words.layout.yaxis.title.text == "share %"
    assert fmt.panel_figure([]).layout.yaxis.exponentformat == "none"


def test_axis_titles_a_column_in_its_unit():
    assert fmt.describe("p99_ms").axis()["title"] == {"text": "p99 latency (ms)"}
    assert fmt.axis()["exponentformat"] == "none" and "title" not in fmt.axis()
    assert fmt.axis("", "ms")["title"] == {"text": "ms"}
    assert "tickformat" not in fmt.axis("when", numeric=False)


def test_value_labels_read_as_numbers_and_datetimes():
    assert fmt.value_labels(np.array([0.0, 1234567.0, 1e-9, np.nan])) == [
        "0", "1,234,567", "<0.000001", "—"]
    assert fmt.value_labels(np.array(["2024-01-02T03:04:05.678"], dtype="datetime64[ms]")) == [
        "2024-01-02 03:04:05"]
