"""Charts: one module per chart, each a function from a result table to a plotly Figure, sized
for a sidebar panel. Live widgets, dashboards and the server's REST figures call the same
functions; units and labels are in `format`."""

from workbench.charts.histogram import histogram
from workbench.charts.loss import loss
from workbench.charts.throughput import throughput

__all__ = ["histogram", "loss", "throughput"]
