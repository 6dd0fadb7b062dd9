"""Alerts on a timeline: a bar per alert from when it fired to when it resolved (or now, while it
fires), a row per run and rank, coloured by severity, so a bad hour across runs shows as one
column of bars."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from workbench.charts.format import axis, duration, panel_figure
from workbench.charts.rounds import nothing_yet

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

#: Each alert severity (`wb.ops` rules) with its colour, least severe first.
SEVERITY_COLOURS = {"info": "#1f6feb", "warning": "#e3a008", "critical": "#b00020"}
ROW_HEIGHT = 26  # px per run and rank


def subject(run: str, rank: int) -> str:
    """The row an alert is drawn on: its run, and its rank unless the subject has none (-1: a
    table's drift, a federated round)."""
    return run if rank < 0 else f"{run} · rank {rank}"


def latest(alerts: pd.DataFrame) -> pd.DataFrame:
    """Each alert of ``alerts`` once, in its last row: a table that was appended a firing row
    and later its resolved one holds both. An alert is a (run, rule, rank, started)."""
    run = "run_id" if "run_id" in alerts else "run"
    return alerts.drop_duplicates([run, "rule", "rank", "started"], keep="last")


def alert_timeline(alerts: pd.DataFrame, now: float | None = None) -> go.Figure:
    """A horizontal bar per alert of ``alerts`` (`_alerts` rows: rule, severity, run_id, rank,
    state, started, resolved, message; or a job's `alerts`, with ``run`` for run_id) from
    ``started`` to ``resolved``, an open one to ``now`` (unix seconds; default: the clock).
    Each alert's last row counts (`latest`); pending alerts have not fired and are left out.
    Hovering a bar shows its message."""
    import html

    import pandas as pd
    import plotly.graph_objects as go

    run = "run_id" if "run_id" in alerts else "run"
    alerts = latest(alerts)
    fired = alerts[alerts["state"].isin(["firing", "resolved"])]
    if not len(fired):
        return nothing_yet("No alert has fired")
    now = time.time() if now is None else now
    ends = fired["resolved"].astype("float64").fillna(now)
    starts = fired["started"].astype("float64")
    rows = [subject(str(r), int(k)) for r, k in zip(fired[run], fired["rank"])]
    order = sorted(set(rows))
    bars = []
    for severity, colour in SEVERITY_COLOURS.items():
        mine = (fired["severity"] == severity).to_numpy()
        if not mine.any():
            continue
        hover = [f"{html.escape(str(m))}<br>{state}, {duration(e - s)}"
                 for m, state, s, e in zip(fired["message"][mine], fired["state"][mine],
                                           starts[mine], ends[mine])]
        bars.append(go.Bar(
            base=pd.to_datetime(starts[mine], unit="s", utc=True).dt.tz_localize(None)
            .dt.floor("us").tolist(),  # plotly keeps microseconds, and warns on nanoseconds
            x=((ends[mine] - starts[mine]).clip(lower=0.0) * 1e3).tolist(),  # ms on a date axis
            y=[row for row, keep in zip(rows, mine) if keep], orientation="h", name=severity,
            marker={"color": colour, "line": {"width": 0}}, customdata=hover,
            hovertemplate="%{y}<br>%{customdata}<extra>" + severity + "</extra>"))
    return panel_figure(
        bars, barmode="overlay", showlegend=True,
        xaxis={**axis("time (UTC)", numeric=False), "type": "date"},
        yaxis={**axis(numeric=False), "categoryorder": "array", "categoryarray": order,
               "autorange": "reversed"},
        legend={"orientation": "h", "y": 1.0, "yanchor": "bottom"},
        height=max(200, 90 + ROW_HEIGHT * len(order)))
