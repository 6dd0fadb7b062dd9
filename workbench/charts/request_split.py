"""Where a served request's time goes: HTTP (client, network and the server's HTTP layer),
decoding the body, waiting in the batch queue, the model, and encoding the answer."""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbench.charts.format import UNITS, axis, latency_ms, number, panel_figure
from workbench.charts.rounds import nothing_yet

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

PARTS = {"http_ms": "HTTP", "decode_ms": "decode", "queue_ms": "queue", "model_ms": "model",
         "encode_ms": "encode"}
COLORS = {"http_ms": "#7f7f7f", "decode_ms": "#17becf", "queue_ms": "#ff7f0e",
          "model_ms": "#1f77b4", "encode_ms": "#bcbd22"}


def request_split(rows: pd.DataFrame) -> go.Figure:
    """A stacked bar per row (its ``label``, else its offered ``qps``): the mean time of a
    request in each part it has of `PARTS` (columns ``http_ms``, ``decode_ms``, ``queue_ms``,
    ``model_ms``, ``encode_ms``; e.g. ``LoadResult.summary()`` per load), in ms. Without rows
    or parts, the figure says so."""
    import plotly.graph_objects as go

    parts = [c for c in PARTS if c in rows and rows[c].notna().any()]
    if not len(rows) or not parts:
        return nothing_yet("No request timings yet")
    x = (rows["label"].astype(str).tolist() if "label" in rows
         else [f"{number(q)} requests/s offered" for q in rows["qps"]])
    bars = [go.Bar(x=x, y=rows[c].to_numpy(float), name=PARTS[c], marker_color=COLORS[c],
                   marker_line_width=0, customdata=[latency_ms(v / 1e3) for v in rows[c]],
                   hovertemplate=f"%{{x}}: {PARTS[c]} %{{customdata}}<extra></extra>")
            for c in parts]
    return panel_figure(bars, barmode="stack", showlegend=True,
                        xaxis=axis(numeric=False),
                        yaxis=axis("mean time of a request", UNITS["latency"]),
                        legend={"orientation": "h", "y": 1.0, "yanchor": "bottom",
                                "traceorder": "normal"})
