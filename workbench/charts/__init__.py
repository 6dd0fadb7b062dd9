"""Charts: one module per chart, each a pure function from a result table to a plotly Figure
(``wb.charts.throughput(series)``). Live widgets, dashboards, the static report and the server's
REST figures call the same functions; units, labels and number formats are in `format`."""

from workbench.charts.alert_timeline import alert_timeline
from workbench.charts.compression import compression
from workbench.charts.data_wait import data_wait
from workbench.charts.drift import drift
from workbench.charts.drift_history import drift_history
from workbench.charts.engines import engine_speedup
from workbench.charts.fl_accuracy import fl_accuracy
from workbench.charts.fl_bytes import fl_bytes
from workbench.charts.fl_loss import fl_loss
from workbench.charts.gpu import gpu
from workbench.charts.histogram import histogram
from workbench.charts.label_mix import label_mix
from workbench.charts.latency import latency_cdf, latency_histogram
from workbench.charts.loss import loss
from workbench.charts.participation import participation
from workbench.charts.percentiles import latency_percentiles
from workbench.charts.privacy import privacy_spent
from workbench.charts.quarantine import quarantine_reasons
from workbench.charts.request_split import request_split
from workbench.charts.runs import runs_overlay
from workbench.charts.served_latency import served_latency
from workbench.charts.step_time import step_time
from workbench.charts.table_rows import table_rows
from workbench.charts.throughput import throughput
from workbench.charts.tradeoff import throughput_latency
from workbench.charts.utilisation import utilisation
from workbench.charts.versions import versions

__all__ = ["alert_timeline", "compression", "data_wait", "drift", "drift_history",
           "engine_speedup", "fl_accuracy", "fl_bytes", "fl_loss", "gpu", "histogram",
           "label_mix", "latency_cdf", "latency_histogram", "latency_percentiles", "loss",
           "participation", "privacy_spent", "quarantine_reasons", "request_split",
           "runs_overlay", "served_latency", "step_time", "table_rows", "throughput",
           "throughput_latency", "utilisation", "versions"]
