"""The views of federated learning: a partition (rows per client, the label mix as a heatmap)
and the live monitor of a federated job (`FederatedMonitor`: accuracy, loss, participation,
traffic and privacy per round, from the job's `history` and `participation` tables)."""

from __future__ import annotations

import html
import threading
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from workbench.widgets.alert_banner import alert_banner_html, job_alerts
from workbench.widgets.lake_view import chart_row, dashboard_figure, dashboard_layout, table_html
from workbench.widgets.training_text import notice_html

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

    from workbench.fl.partitions import Partitions


class PartitionsView(widgets.VBox):
    """`partitions`' table (client, rows, rows per label) beside its label-mix heatmap."""

    def __init__(self, partitions: Partitions, **kwargs: Any) -> None:
        from workbench.charts.label_mix import label_mix

        self.partitions = partitions
        label = f", label {partitions.label}" if partitions.label else ""
        self.header = widgets.HTML(f"<b>{partitions.clients} clients</b> · {partitions.scheme}"
                                   f"{label} · seed {partitions.seed}")
        self.summary = widgets.HTML(table_html(partitions.table, 300))
        children: list[Any] = [self.header, self.summary]
        self.chart = None
        if partitions.label is not None:
            self.chart = dashboard_figure(label_mix(partitions.label_counts()),
                                          "Label mix per client")
            children.append(self.chart)
        super().__init__(children=children, **kwargs)


#: The charts of a federated run, in the order the views show them: key -> heading.
FL_CHARTS = {"accuracy": "Accuracy", "loss": "Loss", "participation": "Participation",
             "labels": "Label mix per client", "bytes": "Traffic per round",
             "privacy": "Privacy spent"}
_MAX_FAILURES = 20  # reads failing in a row before the live view gives up
_STATUS_COLORS = {"running": "#1565c0", "succeeded": "#1a7f37", "failed": "#b00020",
                  "stopped": "#8a6d00"}


def fl_figures(rounds: pd.DataFrame, clients: pd.DataFrame, budget: float | None = None,
               labels: pd.DataFrame | None = None) -> dict[str, go.Figure]:
    """Each `FL_CHARTS` chart of one run's rounds and client rows, drawn by its chart
    function (the live monitor and the dashboard show the same figures). The label mix is
    `labels` (client, label, rows), else read from the client rows; left out where there is
    none (a float target)."""
    from workbench import charts
    from workbench.fl.records import label_counts

    figures = {"accuracy": charts.fl_accuracy(rounds), "loss": charts.fl_loss(rounds),
               "participation": charts.participation(clients)}
    counts = label_counts(clients) if labels is None else labels
    if len(counts):
        figures["labels"] = charts.label_mix(counts)
    return {**figures, "bytes": charts.fl_bytes(rounds),
            "privacy": charts.privacy_spent(rounds, budget)}


def header_html(name: str, rounds: pd.DataFrame, *, status: str | None = None,
                planned: int | None = None, budget: float | None = None,
                outcome: str = "") -> str:
    """One line on a run: its name, status, round k/N, the last round's completed and dropped
    clients, ε spent against ``budget`` (when the run is differentially private), utilisation R
    over the rounds so far (the clients' work against their download and upload), and how the
    rounds ended (``outcome``: why a private run stopped early, say)."""
    import pandas as pd

    from workbench.charts import format as fmt

    parts = [f"<b>Federated {html.escape(name)}</b>"]
    if status is not None:
        colour = _STATUS_COLORS.get(status, "#555")
        parts.append(f"<span style='color:{colour}'><b>{html.escape(status)}</b></span>")
    last = rounds.sort_values("round").iloc[-1] if len(rounds) else None
    done = int(last["round"]) if last is not None else 0
    parts.append(f"round {done:,} / {planned:,}" if planned else f"{done:,} rounds")
    if last is not None:
        parts.append(f"{fmt.count(last['completed'])} of {fmt.count(last['sampled'])} clients "
                     f"completed, {fmt.count(last['dropped'])} dropped this round")
        if not pd.isna(last["epsilon"]):
            spent = f"ε {fmt.number(last['epsilon'])}"
            parts.append(f"{spent} of {fmt.number(budget)} spent" if budget is not None
                         else f"{spent} spent")
    if "compute_s" in rounds and len(rounds):
        compute, transfer = rounds["compute_s"].sum(), rounds["transfer_s"].sum()
        if compute + transfer > 0:
            parts.append(f"R {fmt.percent(compute / (compute + transfer))} "
                         f"(transfer {fmt.number(transfer)} s)")
    if outcome:
        parts.append(html.escape(outcome))
    return " &middot; ".join(parts)


class FederatedMonitor(widgets.VBox):
    """The live view of a federated job (`wb.fl.launch`'s): a header line, then accuracy,
    loss, participation, traffic and privacy charts (`FL_CHARTS`), redrawn as the job's
    `history` and `participation` grow. A daemon thread reads the job every ``interval``
    seconds; once its status is no longer "running" it redraws a final time and stops. When the
    job has `alerts` (as a training `Job` does), those firing show in a banner under the header.

    Read back: `figures` (a `FigureView` per chart), `history`, `participation` (the tables
    drawn), `alerts` (None for a job without them), `status`, `updates` (redraws so far, the
    first at construction), `ended`."""

    def __init__(self, job: Any, interval: float = 1.0, **kwargs: Any) -> None:
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ended = threading.Event()
        self._thread: threading.Thread | None = None
        self._parts: list[widgets.Widget] = []  # what close() closes
        if interval <= 0:
            raise ValueError(f"interval must be a positive number of seconds, not {interval}")
        self.job, self.interval = job, float(interval)
        self.updates = 0
        self._seen: tuple[str, int, int, tuple] | None = None
        self.header = widgets.HTML()
        self.alert_banner = widgets.HTML()  # the job's alerts firing now
        self.notice = widgets.HTML()  # why the view could not refresh, while it retries
        self._read()
        self.figures = {key: dashboard_figure(figure, FL_CHARTS[key])
                        for key, figure in self._figures().items()}
        self._parts = [self.header, self.alert_banner, self.notice, *self.figures.values(),
                       chart_row(list(self.figures.values()))]
        super().__init__(children=[self.header, self.alert_banner, self.notice,
                                   self._parts[-1]], **kwargs)
        self._show(redraw=False)
        if not self.ended:
            self._thread = threading.Thread(target=self._poll, daemon=True,
                                            name=f"FederatedMonitor {job.name}")
            self._thread.start()

    @property
    def ended(self) -> bool:
        """True once the job ended and its final state is drawn."""
        return self._ended.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the job ended and the monitor drew its final state; False on timeout or
        when the monitor was closed or gave up first."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self.ended

    def close(self) -> None:
        """Stop polling and close the monitor's widgets."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=10)
        for part in self._parts:
            part.close()
        super().close()

    def _read(self) -> None:
        """Read the job once: its status first, so an ended job's tables are complete."""
        self.status = str(self.job.status)
        self.history: pd.DataFrame = self.job.history.copy()
        self.participation: pd.DataFrame = self.job.participation.copy()
        self.alerts: pd.DataFrame | None = job_alerts(self.job)
        self._seen = (self.status, len(self.history), len(self.participation),
                      _states(self.alerts))

    def _figures(self) -> dict[str, go.Figure]:
        return fl_figures(self.history, self.participation, self.job.dp_epsilon,
                          getattr(self.job, "label_counts", None))

    def _show(self, redraw: bool = True) -> None:
        """Push what `_read` found: every chart drawn again, then the header."""
        if redraw:
            for key, figure in self._figures().items():
                if key in self.figures:  # the charts are fixed when the monitor is made
                    self.figures[key].draw(dashboard_layout(figure, FL_CHARTS[key]))
        self.header.value = header_html(str(self.job.name), self.history, status=self.status,
                                        planned=int(self.job.rounds),
                                        budget=self.job.dp_epsilon,
                                        outcome=getattr(self.job, "outcome", ""))
        self.alert_banner.value = alert_banner_html(self.alerts)
        self.updates += 1
        if self.status != "running":
            self._ended.set()

    def _poll(self) -> None:
        """Every `interval`: redraw when the job's status or tables changed; stop after the
        redraw that shows its end. A failed read is shown in `notice` and retried."""
        failures = 0
        while not self._stop.wait(self.interval):
            try:
                seen = (str(self.job.status), len(self.job.history),
                        len(self.job.participation), _states(job_alerts(self.job)))
                if seen != self._seen:
                    with self._lock:
                        self._read()
                        self._show()
            except Exception as err:
                failures += 1
                self.notice.value = notice_html(err, failures, _MAX_FAILURES)
                if failures >= _MAX_FAILURES:
                    return
                continue
            if failures:
                failures, self.notice.value = 0, ""
            if self.ended:
                return


def _states(alerts: pd.DataFrame | None) -> tuple:
    """What of a job's alerts, changed, calls for a redraw: each one's rule, rank and state."""
    if alerts is None:
        return ()
    return tuple(zip(alerts["rule"], alerts["rank"], alerts["state"]))
