"""`RunComparisonView`: a `RunComparison` (`wb.train.compare(runs)`) as a stakeholder reads it: a
line per run saying how it compares with the first, the table, and overlay charts of throughput,
the compared metric (the loss) and step-time p99, one line per run. The training dashboard shows
the same view for the runs picked to compare."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from workbench.widgets.lake_view import chart_row, dashboard_figure, table_html

if TYPE_CHECKING:
    import pandas as pd

    from workbench.train.comparison import RunComparison
    from workbench.widgets.figure_view import FigureView

#: The overlays drawn, by series name and title; the comparison's logged metric comes between.
THROUGHPUT, STEP_P99 = ("throughput", "Throughput"), ("step_p99", "Step time p99")
VERDICT = {"samples_per_s": "throughput", "step_p99_s": "step p99", "duration_s": "duration"}


class RunComparisonView(widgets.VBox):
    """Runs side by side: `verdicts` (each run against the first), `stats` (the comparison's
    table) and `figures` (overlay charts by series name: "throughput", the metric, "step_p99")
    in `charts`."""

    def __init__(self, comparison: RunComparison, **kwargs: Any) -> None:
        self.comparison = comparison
        first = html.escape(comparison.labels[0])
        self.header = widgets.HTML(f"<b>{len(comparison.labels)} runs side by side</b>, "
                                   f"against the first: <b>{first}</b>")
        self.verdicts = widgets.HTML(verdicts_html(comparison))
        self.stats = widgets.HTML(comparison_table_html(comparison.table))
        self.figures = overlay_figures(comparison)
        self.charts = chart_row(list(self.figures.values()))
        super().__init__(children=[self.header, self.verdicts, self.stats, self.charts],
                         **kwargs)


def overlay_figures(comparison: RunComparison) -> dict[str, FigureView]:
    """The overlay charts of a comparison, by series name: throughput, its metric (when a run
    logged it) and step p99, each drawn by `runs_overlay` with a line per run."""
    from workbench.charts.runs import runs_overlay

    overlays = [THROUGHPUT, STEP_P99]
    if comparison.metric in comparison.logged:
        overlays.insert(1, (comparison.metric, comparison.metric))
    count = f"{len(comparison.labels)} runs"
    return {name: dashboard_figure(runs_overlay(comparison.series(name), name,
                                                runs=comparison.labels), f"{title} · {count}")
            for name, title in overlays}


def verdicts_html(comparison: RunComparison) -> str:
    """A sentence per run after the first: its throughput, step p99, final metric and duration
    as ratios to the first run's, from the table's ``*_vs_first`` columns."""
    from workbench.charts import format as fmt

    table = comparison.table
    names = {**VERDICT, f"final_{comparison.metric}": f"final {comparison.metric}"}
    lines = []
    for index, label in enumerate(comparison.labels[1:], start=1):
        parts = [f"{said} {fmt.number(table.at[index, f'{column}_vs_first'])}×"
                 for column, said in names.items() if f"{column}_vs_first" in table]
        lines.append(f"<li><b>{html.escape(label)}</b>: {', '.join(parts)}</li>")
    return f"<ul class='workbench-verdicts'>{''.join(lines)}</ul>"


def comparison_table_html(table: pd.DataFrame) -> str:
    """The comparison's table as `table_html` writes it, the run id last and each ratio headed
    "<figure> × first"."""
    from workbench.charts.format import describe

    ratios = [c for c in table.columns if c.endswith("_vs_first")]
    shown = table[[c for c in table.columns if c != "run_id" and c not in ratios]
                  + ratios + ["run_id"]]
    return table_html(shown.rename(columns={
        c: f"{describe(c.removesuffix('_vs_first')).name} × first" for c in ratios}),
        height=300, classes="workbench-run-comparison")
