"""Inference engines side by side: each engine's speed-up over the baseline's eager row, per
scenario and batch size, a row whose parity with eager failed marked rather than hidden."""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbench.charts.format import axis, latency_ms, number, panel_figure, throughput
from workbench.charts.lines import PALETTE
from workbench.charts.rounds import nothing_yet

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

SPEEDUP = "speed-up over eager (x)"
PARITY_FAILED = "parity failed"


def engine_speedup(rows: pd.DataFrame) -> go.Figure:
    """One panel per scenario, a group of bars per batch size, one bar per engine (per variant
    and engine when the rows hold several variants): the ``speedup`` of a comparison's rows
    (`bench.records.comparison` or ``Comparison.table``: variant, engine, scenario,
    batch_size, p50_ms, throughput, speedup, parity_ok, note), written on each bar; a dashed
    line at 1 (the baseline's eager). A bar whose parity failed is hatched and says so. Rows
    never timed (no speed-up) are left out; with none timed, the figure says so."""

    timed = rows[rows["speedup"].notna()]
    if not len(timed):
        return nothing_yet("No engine timed yet" if not len(rows) else
                           "No speed-up: the comparison has no eager row of its first variant")
    scenarios = list(dict.fromkeys(timed["scenario"]))
    several = timed["variant"].nunique() > 1
    names = [f"{v} · {e}" if several else e for v, e in zip(timed["variant"], timed["engine"])]
    timed = timed.assign(bar=names, batch=[f"batch {b}" for b in timed["batch_size"]])
    figure = panel_figure([]).set_subplots(rows=1, cols=len(scenarios),
                                           subplot_titles=scenarios, shared_yaxes=True,
                                           horizontal_spacing=0.04)
    shown: set[str] = set()  # one legend entry per bar name, whichever panel has it first
    for i, name in enumerate(dict.fromkeys(names)):
        for col, scenario in enumerate(scenarios, start=1):
            part = timed[(timed["bar"] == name) & (timed["scenario"] == scenario)]
            if len(part):
                figure.add_trace(_bars(part, name, PALETTE[i % len(PALETTE)], name not in shown),
                                 row=1, col=col)
                shown.add(name)
    figure.add_hline(y=1.0, line_dash="dash", line_color="#888888", line_width=1)
    figure.update_yaxes(axis())
    figure.update_yaxes(title_text=SPEEDUP, rangemode="tozero", row=1, col=1)
    figure.update_xaxes(axis(numeric=False))
    return figure.update_layout(barmode="group", showlegend=True, margin={"t": 28},
                                legend={"orientation": "h", "y": -0.2, "yanchor": "top"})


def _bars(part: pd.DataFrame, name: str, color: str, legend: bool) -> go.Bar:
    """One engine's bars in one scenario: its speed-up per batch size, hatched where parity
    failed, its p50, throughput and note on hover."""
    import plotly.graph_objects as go

    failed = part["parity_ok"].eq(False).fillna(False).tolist()  # null: not checked
    texts = [f"{number(s, 2)}x" + (f" · {PARITY_FAILED}" if bad else "")
             for s, bad in zip(part["speedup"], failed)]
    hover = [f"{name}, {batch}: {number(s, 3)}x eager; p50 {latency_ms(p50 / 1e3)}, "
             f"{throughput(rate)}" + (f"<br>{note}" if note else "")
             for batch, s, p50, rate, note in zip(part["batch"], part["speedup"],
                                                  part["p50_ms"], part["throughput"],
                                                  part["note"].fillna(""))]
    return go.Bar(x=part["batch"].tolist(), y=part["speedup"].to_numpy(float), name=name,
                  legendgroup=name, showlegend=legend, text=texts, textposition="auto",
                  marker={"color": color, "line_width": 0,
                          "pattern_shape": ["x" if bad else "" for bad in failed]},
                  customdata=hover, hovertemplate="%{customdata}<extra></extra>")
