"""`OpsBoard`: the ops dashboard of a lake. The alerts open now (firing), every alert on a
timeline across runs, drift by table and version, and utilisation R per run: the `_alerts`,
`_drift` and `_runs` tables drawn by their chart functions. A table that is not there yet (a
fresh lake has no drift reports) is a sentence saying how it comes to be, never a traceback."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from workbench.widgets.lake_view import RUNS, LakeView, dashboard_figure, empty_state, table_html

if TYPE_CHECKING:
    import pandas as pd

    from workbench.lake import Lake
    from workbench.widgets.figure_view import FigureView

ALERTS, DRIFT = "_alerts", "_drift"  # what runs and ingest's drift checks record
#: The open alerts' columns as the table shows them, most telling first.
OPEN_COLUMNS = ["severity", "rule", "run", "rank", "value", "threshold", "started", "message"]
#: Each section's heading, and what it says while its table has nothing to draw.
SECTIONS = {
    "open": ("Open alerts", "No alert fires now."),
    "timeline": ("Alert timeline", "No alert has been recorded in this lake yet: a run records "
                 "its alerts when it ends, and an ingest that finds drift records one."),
    "drift": ("Drift by table and version", "No drift report yet: ingesting a new version of "
              "a table with <code>drift='warn'</code> compares it with the previous one."),
    "utilisation": ("Utilisation R per run", "No run has recorded its utilisation R yet "
                    "(compute over compute plus data, copy and collective time)."),
}


class OpsBoard(LakeView):
    """Alerts, drift and utilisation from the lake. The tables drawn are `alerts`, `drift`
    and `runs` (None where the lake has no such table), and `open_alerts` (the firing ones);
    `figures` holds each chart drawn, by section ("timeline", "drift", "utilisation")."""

    def __init__(self, lake: Lake | str | os.PathLike | None = None, **kwargs: Any) -> None:
        self.figures: dict[str, FigureView] = {}
        super().__init__(lake, **kwargs)

    def refresh(self) -> None:
        """Re-read the three tables and draw every section again."""
        from workbench import charts
        from workbench.charts.alert_timeline import latest
        from workbench.train.alert_log import firing

        self.alerts, self.drift, self.runs = (self._read(name) for name in (ALERTS, DRIFT,
                                                                            RUNS))
        self.figures = {}
        self.heading.value = "<h3>Operations</h3>"
        if self.alerts is None and self.drift is None and self.runs is None:
            self._show_empty(empty_state(
                self.lake, "no alerts, drift reports or runs yet",
                "Train with <code>wb.launch(train)</code>: a run records its alerts and its "
                "utilisation when it ends; ingesting a new version of a table with "
                "<code>drift='warn'</code> records its drift."))
            return
        self.message.value = ""
        alerts = None if self.alerts is None else latest(self.alerts)
        self.open_alerts = None if alerts is None else firing(alerts)
        if self.open_alerts is not None and len(self.open_alerts):
            n = len(self.open_alerts)
            self.heading.value = f"<h3>Operations &middot; {n} alert{'s' * (n != 1)} open</h3>"
        has_r = self.runs is not None and "utilisation" in self.runs and bool(
            self.runs["utilisation"].notna().any())
        drawn = {"timeline": (alerts, charts.alert_timeline),
                 "drift": (self.drift, charts.drift_history),
                 "utilisation": (self.runs if has_r else None, charts.utilisation)}
        parts: list[widgets.Widget] = [*self._section("open", self._open_table())]
        for key, (table, draw) in drawn.items():
            if table is not None and len(table):
                figure = draw(table)
                self.figures[key] = dashboard_figure(
                    figure, "", height=max(320, figure.layout.height or 0))
            parts += self._section(key, self.figures.get(key))
        self.body.children = parts

    def _read(self, name: str) -> pd.DataFrame | None:
        """Table ``name`` of the lake as a frame, None when the lake has none."""
        return self.lake.table(name).to_pandas() if name in self.lake else None

    def _open_table(self) -> widgets.HTML | None:
        """The firing alerts as a table, or None when none fires."""
        import pandas as pd

        if self.open_alerts is None or not len(self.open_alerts):
            return None
        shown = self.open_alerts.rename(columns={"run_id": "run"}).assign(
            started=lambda t: pd.to_datetime(t["started"], unit="s", utc=True),
            rank=lambda t: [None if r < 0 else int(r) for r in t["rank"]])
        return widgets.HTML(table_html(shown[OPEN_COLUMNS], height=260,
                                       classes="workbench-open-alerts"))

    def _section(self, key: str, shown: widgets.Widget | None) -> list[widgets.Widget]:
        """A section's heading and its chart or table, or the sentence saying why not."""
        title, missing = SECTIONS[key]
        body = shown if shown is not None else widgets.HTML(
            f"<p class='workbench-section-empty'>{missing}</p>")
        return [widgets.HTML(f"<h4>{title}</h4>"), body]
