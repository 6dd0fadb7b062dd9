"""`LakeHealth`: the lake's tables, their rows, versions and quarantine reasons."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

    from workbench.lake import Lake

from workbench.widgets.lake_view import (
    SCROLL_BOX,
    LakeView,
    bytes_text,
    chart_layout,
    chart_row,
    empty_state,
)


class LakeHealth(LakeView):
    """A lake at a glance: its tables (versions, rows, bytes, quarantined rows), rows per table,
    quarantined rows by reason, every table's versions on a timeline, and a `LakeBrowser` below
    for one table's schema, preview, quarantine and profile."""

    def refresh(self) -> None:
        """Re-read the lake's tables, their histories and quarantine records."""
        import pandas as pd

        from workbench.widgets.lake_browser import LakeBrowser

        self.tables = tables = self.lake.tables()
        self.heading.value = (f"<h3>Lake health &middot; <code>{html.escape(self.lake.uri)}"
                              "</code></h3>")
        if not len(tables):
            self._show_empty(empty_state(
                self.lake, "no tables",
                "Ingest some with <code>lake.ingest(SOURCE, TABLE)</code> or "
                "<code>workbench lake ingest LAKE SOURCE --table TABLE</code>."))
            return
        self.message.value = ""
        # A table that cannot be read is listed with its error and left out of the figures.
        readable = tables[tables["error"].isna()]
        self.unreadable = tables.loc[tables["error"].notna(), ["name", "error"]]
        self.histories = pd.concat(
            [self.lake.table(name).history().assign(table=name) for name in readable["name"]]
            or [pd.DataFrame(columns=["table", "version", "timestamp", "operation",
                                      "rows_written"])], ignore_index=True)
        self.reasons = pd.concat(
            [_reason_counts(self.lake, name) for name in
             readable.loc[readable["quarantined"] > 0, "name"]]
            or [pd.DataFrame(columns=["table", "reason", "rows"])], ignore_index=True)
        broken = (f" &middot; <span style='color:#b00020'>{len(self.unreadable)} unreadable"
                  "</span>" if len(self.unreadable) else "")
        last = (f" &middot; last change {readable['updated'].max():%Y-%m-%d %H:%M} UTC"
                if readable["updated"].notna().any() else "")
        self.summary = widgets.HTML(
            f"<p>{len(tables)} tables &middot; {int(readable['rows'].sum()):,} rows &middot; "
            f"{bytes_text(int(readable['bytes'].sum()))} &middot; "
            f"{int(readable['quarantined'].sum()):,} rows quarantined{last}{broken}</p>")
        self.table_list = widgets.HTML(SCROLL_BOX.format(360, _tables_html(tables)))
        self.rows_chart = _rows_chart(readable)
        self.versions_chart = _versions_chart(self.histories)
        if len(self.reasons):
            self.quarantine_chart: Any = _reasons_chart(self.reasons)
        else:
            self.quarantine_chart = widgets.HTML(
                "<p><i>No rows quarantined in any table: every ingested row fit.</i></p>")
        if getattr(self, "browser", None) is None:  # made once; a refresh re-reads it
            self.browser = LakeBrowser(self.lake)
        else:
            self.browser.refresh()
        self.body.children = [
            self.summary, self.table_list,
            chart_row([self.rows_chart, self.quarantine_chart]),
            self.versions_chart,
            widgets.HTML("<h4>Explore a table</h4>"), self.browser]


def _reason_counts(lake: Lake, name: str) -> pd.DataFrame:
    counts = lake.table(name).quarantine()["kind"].value_counts()
    return counts.rename_axis("reason").reset_index(name="rows").assign(table=name)


def _tables_html(tables: pd.DataFrame) -> str:
    """The tables as an HTML table; a broken table's row shows its error, the others none."""
    shown = tables.assign(bytes=tables["bytes"].map(bytes_text, na_action="ignore"),
                          updated=tables["updated"].dt.strftime("%Y-%m-%d %H:%M:%S"),
                          error=tables["error"].fillna(""))
    return shown.to_html(index=False, border=0, na_rep="", classes="workbench-tables")


def _rows_chart(tables: pd.DataFrame) -> go.FigureWidget:
    import plotly.graph_objects as go

    return go.FigureWidget(
        data=[go.Bar(x=tables["name"], y=tables["rows"], name="rows written",
                     marker_line_width=0),
              go.Bar(x=tables["name"], y=tables["quarantined"], name="quarantined",
                     marker_line_width=0)],
        layout=chart_layout("Rows per table", yaxis_title="rows (log scale)", yaxis_type="log",
                       barmode="group"))


def _reasons_chart(reasons: pd.DataFrame) -> go.FigureWidget:
    """Quarantined rows by reason, a bar segment per table."""
    import plotly.graph_objects as go

    traces = [go.Bar(y=rows["reason"], x=rows["rows"], name=table, orientation="h",
                     marker_line_width=0)
              for table, rows in reasons.groupby("table", sort=True)]
    height = max(300, 120 + 28 * reasons["reason"].nunique())
    return go.FigureWidget(data=traces, layout=chart_layout(
        "Quarantined rows by reason", xaxis_title="rows", barmode="stack", height=height,
        yaxis_automargin=True))


def _versions_chart(histories: pd.DataFrame) -> go.FigureWidget:
    """Every table's versions on a timeline: one row per table, one marker per version."""
    import plotly.graph_objects as go

    traces = []
    for table, history in histories.groupby("table", sort=True):
        written = history["rows_written"].fillna(-1).astype("int64")
        traces.append(go.Scatter(
            x=history["timestamp"], y=[table] * len(history), mode="markers", name=table,
            marker={"size": 11}, customdata=list(zip(history["version"], history["operation"],
                                                     written)),
            hovertemplate=("%{y} v%{customdata[0]}: %{customdata[1]}, %{customdata[2]} rows "
                           "written<br>%{x}<extra></extra>")))
    height = max(260, 110 + 30 * histories["table"].nunique())
    return go.FigureWidget(data=traces, layout=chart_layout(
        "Versions", xaxis_title="commit time (UTC)", height=height, showlegend=False,
        yaxis_automargin=True))

