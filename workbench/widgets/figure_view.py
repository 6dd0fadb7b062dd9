"""`FigureView`: a plotly figure shown as plotly's mimetype output inside an `ipywidgets.Output`.

Why not a `go.FigureWidget`: plotly's FigureWidget is an anywidget whose state carries a 5 MB
JavaScript bundle (plotly.js inside), sent over the websocket once per chart on top of the
plotly.js the page already loads. An ``application/vnd.plotly.v1+json`` output is drawn by the
page's mime renderer instead (jupyterlab-plotly in JupyterLab; on a Voila dashboard, the
Voila-only renderer of widgets/voila, with plotly.js's cartesian bundle): one plotly.js per
page. The output is set as the Output's ``outputs`` trait, which is widget state: it is there
before a front end connects (Voila, a reloaded page, a static export's widget state), and `draw`
replaces it to redraw.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

if TYPE_CHECKING:
    import plotly.graph_objects as go

PLOTLY_JSON = "application/vnd.plotly.v1+json"
#: Plotly.js options: follow the page's width when it changes, no plotly logo in the mode bar.
CONFIG = {"responsive": True, "displaylogo": False}


class FigureView(widgets.Output):
    """Shows `figure` (a `go.Figure` that a `workbench.charts` function drew) in a box
    ``width`` wide (CSS, never wider than the page); the chart fills that width and keeps the
    height its layout sets."""

    def __init__(self, figure: go.Figure, width: str = "100%", **kwargs: Any) -> None:
        kwargs.setdefault("layout", widgets.Layout(width=width, max_width="100%"))
        super().__init__(**kwargs)
        self._figure = figure
        self.draw(figure)

    @property
    def figure(self) -> go.Figure:
        """The figure shown (read its ``data`` and ``layout``; `draw` shows another)."""
        return self._figure

    def draw(self, figure: go.Figure) -> None:
        """Show ``figure`` instead of the one shown now."""
        self._figure = figure
        self.outputs = ({"output_type": "display_data", "data": figure_bundle(figure),
                         "metadata": {}},)


def figure_bundle(figure: go.Figure) -> dict[str, Any]:
    """``figure`` as plotly's mimetype bundle, with a one-line text/plain (its title and trace
    count) for front ends that cannot draw it, instead of the figure's JSON."""
    import plotly.io as pio

    bundle = pio.renderers["plotly_mimetype"].to_mimebundle(figure.to_dict())
    bundle[PLOTLY_JSON]["config"] = dict(CONFIG)
    title = figure.layout.title.text or "untitled"
    traces = len(figure.data)
    bundle["text/plain"] = f"<plotly figure: {title}, {traces} trace{'s' * (traces != 1)}>"
    return bundle
