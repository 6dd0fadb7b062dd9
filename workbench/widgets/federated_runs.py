"""`FederatedRuns`: the federated runs recorded in the lake's `_fl_rounds` and `_fl_clients`, a
run picker (the latest first), the picked run's charts (`FL_CHARTS`: accuracy, loss,
participation, traffic, privacy) and a table of every run."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from workbench.widgets.federated import FL_CHARTS, fl_figures, header_html
from workbench.widgets.lake_view import (
    LakeView,
    chart_row,
    dashboard_figure,
    empty_state,
    table_html,
)

if TYPE_CHECKING:
    import pandas as pd

    from workbench.lake import Lake
    from workbench.widgets.figure_view import FigureView

FL_ROUNDS, FL_CLIENTS = "_fl_rounds", "_fl_clients"  # what a federated job records


class FederatedRuns(LakeView):
    """Federated runs from the lake: pick a run (the latest by default) to see its charts; the
    numbers drawn are `rounds` and `clients` (every run's rows) and `runs` (one row a run)."""

    def __init__(self, lake: Lake | str | os.PathLike | None = None, **kwargs: Any) -> None:
        self.run_picker = widgets.Dropdown(description="Run", layout=widgets.Layout(
            width="560px"))
        self.run_info = widgets.HTML()
        self.charts = chart_row()
        self.summary = widgets.HTML()
        self.figures: dict[str, FigureView] = {}  # the picked run's charts, by FL_CHARTS key
        self._figures: dict[str, dict[str, FigureView]] = {}  # run_id -> its charts, kept
        self.run_picker.observe(self._on_run, names="value")
        super().__init__(lake, **kwargs)

    @property
    def run_id(self) -> str | None:
        """The picked run."""
        return self.run_picker.value

    def select(self, run_id: str) -> None:
        """Show run ``run_id``."""
        ids = [] if self.runs is None else list(self.runs["run_id"])
        if run_id not in ids:
            raise KeyError(f"no federated run {run_id!r}; the lake has {ids} (refresh() to "
                           "re-read it)")
        self.run_picker.value = run_id

    def refresh(self) -> None:
        """Re-read both tables; keeps the picked run when it is still there."""
        import pandas as pd

        self.heading.value = "<h3>Federated runs</h3>"
        self.runs: pd.DataFrame | None = None
        rounds = (self.lake.table(FL_ROUNDS).to_pandas() if FL_ROUNDS in self.lake
                  else pd.DataFrame())
        if not len(rounds):
            self._show_empty(empty_state(
                self.lake, "no federated runs yet",
                "Run one with <code>wb.fl.launch(...)</code>: every round of a federated job, "
                "and what each client did in it, is recorded in the default lake."))
            return
        self.message.value = ""
        self.rounds = rounds
        self.clients = (self.lake.table(FL_CLIENTS).to_pandas() if FL_CLIENTS in self.lake
                        else pd.DataFrame(columns=["run_id", "round", "client", "state",
                                                   "last_error"]))
        self.runs = _runs(rounds, self.clients)
        self._figures.clear()
        self.heading.value = (f"<h3>Federated runs &middot; {len(self.runs)} "
                              f"run{'s' * (len(self.runs) != 1)}</h3>")
        self.summary.value = table_html(self.runs, height=300, classes="workbench-fl-runs")
        keep, ids = self.run_id, list(self.runs["run_id"])
        self._quiet = True
        try:
            self.run_picker.options = [(_run_label(r), r.run_id)
                                       for r in self.runs.itertuples(index=False)]
            self.run_picker.value = keep if keep in ids else ids[0]
        finally:
            self._quiet = False
        self.body.children = [self.run_picker, self.run_info, self.charts,
                              widgets.HTML("<h4>All runs</h4>"), self.summary]
        self._show_run()

    def _on_run(self, change: dict) -> None:
        if not self._quiet:
            self._show_run()

    def _show_run(self) -> None:
        """The picked run's header and charts, built once per run and kept."""
        rounds = self.rounds[self.rounds["run_id"] == self.run_id]
        clients = self.clients[self.clients["run_id"] == self.run_id]
        name = str(rounds["name"].iloc[0])
        self.run_info.value = f"<p>{header_html(name, rounds)}</p>"
        if self.run_id not in self._figures:
            self._figures[self.run_id] = {
                key: dashboard_figure(figure, f"{FL_CHARTS[key]} · {name}")
                for key, figure in fl_figures(rounds, clients).items()}
        self.figures = self._figures[self.run_id]
        self.charts.children = list(self.figures.values())


def _runs(rounds: pd.DataFrame, clients: pd.DataFrame) -> pd.DataFrame:
    """One row a run, the latest first: its name, rounds, clients, last round's test accuracy
    and ε, when it ended, its id."""
    import pandas as pd

    last = rounds.sort_values(["run_id", "round"]).groupby("run_id", sort=False).tail(1)
    counts = clients.groupby("run_id")["client"].nunique()
    out = pd.DataFrame({
        "name": last["name"].to_numpy(), "rounds": last["round"].to_numpy(),
        "clients": last["run_id"].map(counts).fillna(last["sampled"]).astype("int64"),
        "accuracy": last["test_accuracy"].to_numpy(), "epsilon": last["epsilon"].to_numpy(),
        "ended": pd.to_datetime(last["time"], unit="s", utc=True).to_numpy(),
        "run_id": last["run_id"].to_numpy()})
    return out.sort_values("ended", ascending=False, ignore_index=True)


def _run_label(run: Any) -> str:
    return (f"{run.name} · {run.rounds:,} rounds · {run.clients} clients · "
            f"{run.ended:%Y-%m-%d %H:%M} · {run.run_id[:8]}")
