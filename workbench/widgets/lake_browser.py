"""`LakeBrowser`: a lake's tables in one widget (schema, versions, preview, profile, quarantine).

Plain ipywidgets and `FigureView` charts, so it renders in JupyterLab and in Voila alike. The
state lives in attributes (`tables`, `selected`, `version_picker`, `preview`, ...) that tests and
dashboards read. Profiles run in a background thread, so the notebook stays usable meanwhile.
Tables scroll inside a fixed frame, long values are summarised, and the lake is named, never
located by the server's path.
"""

from __future__ import annotations

import html
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

    from workbench.lake import Lake, Profile, Table

from workbench.widgets.figure_view import FigureView
from workbench.widgets.lake_view import lake_name, one_sentence, table_html

PREVIEW_ROWS = 50
QUARANTINE_ROWS = 50
EMPTY_MESSAGE = "No tables yet — run <code>lake.ingest(...)</code> to create one."
_TABS = ("Schema", "Versions", "Preview", "Profile", "Quarantine")
_HISTORY_COLUMNS = ["version", "timestamp", "operation", "rows_in", "rows_written",
                    "rows_quarantined", "duplicates_dropped"]
RAW_CHARACTERS = 200  # of a quarantined record's raw text


class LakeBrowser(widgets.VBox):
    """Browse ``lake``: pick a table on the left, read its tabs on the right.

    The version picker drives Preview and Profile; Schema and Quarantine are table-wide.
    ``Refresh`` re-reads the lake (new tables, new versions). ``internal=False`` leaves out the
    results tables (names starting with "_"), as a page for stakeholders does.
    """

    def __init__(self, lake: Lake, *, internal: bool = True, **kwargs: Any) -> None:
        self.lake = lake
        self.internal = internal
        self.tables: pd.DataFrame | None = None
        self.table: Table | None = None
        self.history: pd.DataFrame | None = None
        self.profiles: dict[tuple[str, int], Profile] = {}
        self.profile_view: widgets.Widget | None = None
        self.profile_future: Future | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lake-profile")

        self.title = widgets.HTML(f"<b>Lake</b> <code>{html.escape(lake_name(lake))}</code>")
        self.refresh_button = widgets.Button(description="Refresh", icon="refresh",
                                             tooltip="Re-read the lake's tables and versions")
        self.message = widgets.HTML()
        self.table_picker = widgets.Select(options=[], rows=10,
                                           layout=widgets.Layout(width="240px"))
        self.heading = widgets.HTML()
        self.version_picker = widgets.Dropdown(description="Version",
                                               layout=widgets.Layout(width="420px"))
        self.schema = widgets.HTML()
        self.versions = widgets.HTML()
        self.preview = widgets.HTML()
        self.profile_button = widgets.Button(description="Compute profile", icon="bar-chart",
                                             tooltip="Profile the picked version on the cluster")
        self.profile_status = widgets.HTML()
        self.profile_box = widgets.VBox()
        self.quarantine_summary = widgets.HTML()
        self.quarantine_chart = FigureView(_quarantine_figure(()))
        self.quarantine_chart_box = widgets.Box([self.quarantine_chart])
        self.quarantine_rows = widgets.HTML()
        self.tabs = widgets.Tab(titles=_TABS, children=[
            self.schema,
            self.versions,
            self.preview,
            widgets.VBox([widgets.HBox([self.profile_button, self.profile_status]),
                          self.profile_box]),
            widgets.VBox([self.quarantine_summary, self.quarantine_chart_box,
                          self.quarantine_rows]),
        ])
        self.detail = widgets.VBox([widgets.HBox([self.heading, self.version_picker]),
                                    self.tabs], layout=widgets.Layout(flex="1 1 auto"))
        self.body = widgets.HBox([self.table_picker, self.detail])

        self.refresh_button.on_click(lambda _: self.refresh())
        self._quiet = False  # set while refresh() rewrites the pickers' options
        self.table_picker.observe(self._on_table, names="value")
        self.version_picker.observe(self._on_version, names="value")
        self.profile_button.on_click(lambda _: self.compute_profile())
        super().__init__(children=[widgets.HBox([self.title, self.refresh_button]),
                                   self.message, self.body], **kwargs)
        self.refresh()

    @property
    def selected(self) -> str | None:
        """The name of the table shown, or None when the lake has none."""
        return self.table_picker.value

    @property
    def version(self) -> int | None:
        """The version picked for Preview and Profile."""
        return self.version_picker.value

    def select(self, name: str, version: int | None = None) -> None:
        """Show table ``name`` (at ``version``, default the latest)."""
        names = [] if self.tables is None else list(self.tables["name"])
        if name not in names:
            raise KeyError(f"lake {self.lake.uri} has no table {name!r}; it has {names} "
                           "(refresh() to re-read the lake)")
        self.table_picker.value = name
        if version is not None:
            self.version_picker.value = version

    def refresh(self) -> None:
        """Re-read the lake: the table list, and the selected table's versions and tabs."""
        from workbench.widgets.lake_view import data_tables

        tables = self.lake.tables()
        self.tables = tables if self.internal else data_tables(tables)
        keep = self.selected
        names = list(self.tables["name"])
        options = [(f"{t.name}  (unreadable)" if t.error is not None
                     else f"{t.name}  ({t.rows:,} rows)", t.name)
                   for t in self.tables.itertuples(index=False)]
        self.message.value = "" if names else f"<p>{EMPTY_MESSAGE}</p>"
        self.body.layout.display = None if names else "none"
        self._quiet = True
        try:
            self.table_picker.options = options
            self.table_picker.value = keep if keep in names else (names or [None])[0]
        finally:
            self._quiet = False
        self._show_table(self.selected)

    def compute_profile(self) -> Future:
        """Profile the selected table at the picked version in the background; the result shows
        in the Profile tab and is kept in ``profiles``. Returns the Future of the Profile."""
        table, version = self.table, self.version
        if table is None:
            raise LookupError(f"lake {self.lake.uri} has no tables to profile yet")
        self.profile_button.disabled = True
        self.profile_status.value = (f"Profiling <b>{html.escape(table.name)}</b> version "
                                     f"{version} on the cluster&hellip;")
        self.profile_future = self._executor.submit(self._profile, table, version)
        return self.profile_future

    def _profile(self, table: Table, version: int) -> Profile:
        started = time.perf_counter()
        try:
            profile = table.profile(version)
        except Exception as exc:
            self.profile_status.value = _error(one_sentence(
                f"profile failed: {type(exc).__name__}: {exc}", self.lake))
            raise
        finally:
            self.profile_button.disabled = False
        self.profiles[(table.name, version)] = profile
        self.profile_status.value = (f"Profiled version {version} in "
                                     f"{time.perf_counter() - started:.1f} s")
        if (self.selected, self.version) == (table.name, version):
            self._show_profile()
        return profile

    def _on_table(self, change: dict) -> None:
        if not self._quiet:
            self._show_table(change["new"])

    def _on_version(self, change: dict) -> None:
        if not self._quiet:
            self._show_version()

    def _show_table(self, name: str | None) -> None:
        if name is None:
            self.table = self.history = None
            return
        try:
            table = self.lake.table(name)
            history = table.history()
        except Exception as err:  # a table that cannot be read shows why, in its place
            self._show_unreadable(name, err)
            return
        self.table, self.history = table, history
        self.tabs.layout.display = None
        self.version_picker.layout.display = None
        self.schema.value = _schema_html(table)
        self.versions.value = table_html(history[_HISTORY_COLUMNS], 420)
        self._quiet = True
        try:
            self.version_picker.options = [
                (f"{h.version} · {h.operation} · {h.timestamp:%Y-%m-%d %H:%M:%S}",
                 int(h.version)) for h in history.itertuples(index=False)]
            self.version_picker.value = int(history["version"].max())
        finally:
            self._quiet = False
        self.heading.value = (f"<b>{html.escape(name)}</b> &middot; {len(history)} "
                              f"version{'s' if len(history) != 1 else ''}&nbsp;")
        self._show_quarantine(table.quarantine())
        self._show_version()

    def _show_unreadable(self, name: str, error: BaseException) -> None:
        """The heading says why table ``name`` cannot be read; its tabs are hidden."""
        from workbench.errors import describe

        self.table = self.history = None
        self.heading.value = (f"<b>{html.escape(name)}</b> &middot; "
                              + _error(one_sentence(f"cannot be read: {describe(error)}",
                                                    self.lake)))
        self._quiet = True
        try:
            self.version_picker.options = []
        finally:
            self._quiet = False
        self.version_picker.layout.display = "none"
        self.tabs.layout.display = "none"

    def _show_version(self) -> None:
        if self.table is None or self.version is None:
            return
        try:
            rows = self.table.head(PREVIEW_ROWS, self.version)
        except Exception as err:  # e.g. a reader feature the lake cannot read: say which
            from workbench.errors import describe

            self.preview.value = _error(one_sentence(
                f"version {self.version} cannot be read: {describe(err)}", self.lake))
            self._show_profile()
            return
        caption = (f"<p>First {len(rows):,} rows of version {self.version}</p>"
                   if len(rows) else f"<p>Version {self.version} has no rows.</p>")
        self.preview.value = caption + table_html(rows, 480)
        self._show_profile()

    def _show_profile(self) -> None:
        """The cached profile of the picked version, or an invitation to compute it."""
        from workbench.widgets.profile import ProfileView

        profile = self.profiles.get((self.selected, self.version))
        if profile is None:
            self.profile_view = None
            # No instruction to press a button: a static export leaves buttons out.
            self.profile_box.children = [widgets.HTML(
                f"<i>No profile of version {self.version} is stored yet.</i>")]
        else:
            self.profile_view = ProfileView(profile)
            self.profile_box.children = [self.profile_view]

    def _show_quarantine(self, rows: pd.DataFrame) -> None:
        counts = rows["kind"].value_counts()
        self.quarantine_chart.draw(_quarantine_figure(
            tuple(zip(counts.index, (int(n) for n in counts.to_numpy())))))
        self.quarantine_chart_box.layout.display = None if len(rows) else "none"
        if not len(rows):
            self.quarantine_summary.value = "<p>No rows quarantined: every row fit.</p>"
            self.quarantine_rows.value = ""
            return
        self.quarantine_summary.value = (f"<p>{len(rows):,} rows quarantined "
                                         f"(first {min(len(rows), QUARANTINE_ROWS)} below)</p>")
        shown = rows.sort_values(["ingested_at", "source", "line"]).head(QUARANTINE_ROWS)
        shown = shown[["source", "line", "reason", "raw"]].assign(
            raw=shown["raw"].str.slice(0, RAW_CHARACTERS))
        self.quarantine_rows.value = table_html(shown, 360)


def _quarantine_figure(counts: tuple[tuple[str, int], ...]) -> go.Figure:
    """Quarantined rows by reason, ``counts`` being (reason, rows) pairs, drawn by
    `charts.quarantine` (the quarantine tab's `FigureView` shows it)."""
    import pandas as pd

    from workbench.charts.quarantine import quarantine_reasons

    reasons = pd.DataFrame(list(counts), columns=["reason", "rows"])
    return quarantine_reasons(reasons).update_layout(
        height=260, margin={"l": 50, "r": 20, "t": 30, "b": 40},
        title_text="Quarantined rows by reason")


def _schema_html(table: Table) -> str:
    import pandas as pd

    schema = pd.DataFrame({"column": table.schema.names,
                           "type": [str(t) for t in table.schema.types]})
    parts = table.partition_by
    note = (f"<p>Partitioned by {', '.join(html.escape(p) for p in parts)}</p>" if parts else "")
    return note + schema.to_html(index=False, border=0)


def _error(text: str) -> str:
    return f"<span style='color:#b00020'>{html.escape(text)}</span>"
