"""The view of a federated partition: rows per client and the label mix as a heatmap."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from workbench.widgets.lake_view import dashboard_figure, table_html

if TYPE_CHECKING:
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
