"""`LakeHealth`: the lake's data tables, their rows, versions and quarantine reasons.

A page for people who read no code: the lake's results tables (``_runs``, ``_bench``, ...) are
the other dashboards' subject and are left out, the lake is named, never located by the server's
path, and a table that cannot be read says why in one sentence.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

if TYPE_CHECKING:
    import pandas as pd

    from workbench.lake import Lake

from workbench.widgets.lake_view import (
    LakeView,
    chart_row,
    dashboard_figure,
    data_tables,
    empty_state,
    lake_name,
    one_sentence,
    table_html,
)


class LakeHealth(LakeView):
    """A lake at a glance: its data tables (versions, rows, size, quarantined rows), rows per
    table, quarantined rows by reason, every table's versions on a timeline, and a `LakeBrowser`
    below for one table's schema, preview, quarantine and profile."""

    def refresh(self) -> None:
        """Re-read the lake's tables, their histories and quarantine records."""
        import pandas as pd

        from workbench.charts import format as fmt
        from workbench.charts.quarantine import quarantine_reasons
        from workbench.charts.table_rows import table_rows
        from workbench.charts.versions import versions
        from workbench.widgets.lake_browser import LakeBrowser

        self.tables = tables = data_tables(self.lake.tables())
        self.heading.value = (f"<h3>Lake health &middot; <code>"
                              f"{html.escape(lake_name(self.lake))}</code></h3>")
        if not len(tables):
            self._show_empty(empty_state(
                self.lake, "no data tables",
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
            f"<p>{_counted(len(tables), 'table')} &middot; "
            f"{_counted(int(readable['rows'].sum()), 'row')} "
            f"&middot; {fmt.size(int(readable['bytes'].sum()))} &middot; "
            f"{fmt.count(int(readable['quarantined'].sum()))} rows quarantined{last}{broken}</p>")
        self.table_list = widgets.HTML(_tables_html(self.lake, tables))
        self.rows_chart = dashboard_figure(table_rows(readable), "Rows per table")
        self.versions_chart = dashboard_figure(versions(self.histories), "Versions")
        if len(self.reasons):
            self.quarantine_chart: Any = dashboard_figure(
                quarantine_reasons(self.reasons), "Quarantined rows by reason")
        else:
            self.quarantine_chart = widgets.HTML(
                "<p><i>No rows quarantined in any table: every ingested row fit.</i></p>")
        if getattr(self, "browser", None) is None:  # made once; a refresh re-reads it
            self.browser = LakeBrowser(self.lake, internal=False)
        else:
            self.browser.refresh()
        self.body.children = [
            self.summary, self.table_list,
            chart_row([self.rows_chart, self.quarantine_chart]),
            self.versions_chart,
            widgets.HTML("<h4>Explore a table</h4>"), self.browser]


def _counted(n: int, noun: str) -> str:
    """``n`` with its noun, singular for one: "1 table", "2,048 rows"."""
    from workbench.charts import format as fmt

    return f"{fmt.count(n)} {noun}{'' if n == 1 else 's'}"


def _reason_counts(lake: Lake, name: str) -> pd.DataFrame:
    counts = lake.table(name).quarantine()["kind"].value_counts()
    return counts.rename_axis("reason").reset_index(name="rows").assign(table=name)


def _tables_html(lake: Lake, tables: pd.DataFrame) -> str:
    """The tables as a scrolling HTML table, sizes in MB or GB; a broken table's row says why
    in one sentence, the others nothing."""
    from workbench.charts.format import size

    shown = tables.assign(
        bytes=tables["bytes"].map(lambda n: size(int(n)), na_action="ignore"),
        error=[one_sentence(e, lake) if isinstance(e, str) else "" for e in tables["error"]]
    ).rename(columns={"bytes": "size"})
    return table_html(shown, 360, "workbench-tables")
