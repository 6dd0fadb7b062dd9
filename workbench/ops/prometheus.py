"""`serve_metrics`: the live runs' metrics and alert states in Prometheus' exposition format,
so a team with Prometheus and Grafana scrapes Workbench.

Each scrape reads the runs registered in `workbench.ops.live` at that moment:

- ``workbench_<metric>{run, rank}``: a gauge per numeric metric of each rank's last record (the
  name made valid for Prometheus; ``time`` becomes ``workbench_record_timestamp_seconds``);
- ``ALERTS{alertname, alertstate, severity, run, rank} 1`` per pending or firing alert, the
  series Prometheus itself exposes for its alerting rules;
- ``workbench_runs_watched``: how many runs are registered.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from workbench.errors import WorkbenchError
from workbench.ops import live

_INVALID = re.compile(r"[^a-zA-Z0-9_]")  # colons are valid but reserved for recording rules
_RENAMED = {"time": "record_timestamp_seconds"}  # unix seconds, as Prometheus names them
_LABELS = ("run", "rank")  # a record's labels, not its metrics
_RUNS = "workbench_runs_watched"


class MetricsError(WorkbenchError, ValueError):
    """A metrics server that cannot start as asked; says which argument and what to give."""


def metric_name(metric: str) -> str:
    """The Prometheus name of a record's metric: ``workbench_`` and the name with each
    character Prometheus does not allow made ``_`` (``loss/val`` -> ``workbench_loss_val``)."""
    return "workbench_" + _INVALID.sub("_", _RENAMED.get(metric, metric))


class _LiveCollector(Collector):
    """A prometheus_client collector over `workbench.ops.live`, read afresh at each scrape."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """The metric families of every run registered now."""
        runs = live.sources()
        gauges: dict[str, GaugeMetricFamily] = {}
        seen: set[tuple[str, str, str]] = set()  # a name two metrics sanitise to: first wins
        alerts = GaugeMetricFamily("ALERTS", "Workbench's pending and firing alerts, as "
                                   "Prometheus exposes its own",
                                   labels=["alertname", "alertstate", "severity", "run", "rank"])
        for source in runs:
            for rank, record in sorted(source.latest().items()):
                for metric, value in record.items():
                    name = metric_name(metric)
                    key = (name, source.run_id, str(rank))
                    if metric in _LABELS or name == _RUNS or key in seen or \
                            isinstance(value, bool) or not isinstance(value, int | float):
                        continue
                    seen.add(key)
                    gauge = gauges.setdefault(name, GaugeMetricFamily(
                        name, f"The last {metric!r} of each rank of each live run",
                        labels=list(_LABELS)))
                    gauge.add_metric([source.run_id, str(rank)], float(value))
            for alert in source.current_alerts():
                if alert.state in ("pending", "firing"):
                    alerts.add_metric([alert.rule, alert.state, alert.severity, alert.run,
                                       str(alert.rank)], 1.0)
        yield GaugeMetricFamily(_RUNS, "Runs Workbench is watching in this process",
                                value=len(runs))
        yield alerts
        yield from gauges.values()


class MetricsServer:
    """A running exporter: scrape `url`; `stop()` (or leaving a ``with`` block) frees `port`."""

    def __init__(self, host: str, port: int) -> None:
        registry = CollectorRegistry(auto_describe=False)
        registry.register(_LiveCollector())
        try:
            self._httpd, self._thread = start_http_server(port, addr=host, registry=registry)
        except OSError as err:
            raise MetricsError(f"serve_metrics(port={port}, host={host!r}): cannot listen "
                               f"there ({err.strerror or err}); give a free port, or port=0 "
                               "for any free one") from err
        self.host = host
        self.port: int = self._httpd.server_address[1]
        shown = f"[{host}]" if ":" in host else host
        self.url = f"http://{shown}:{self.port}/metrics"
        self._lock = threading.Lock()
        self._running = True

    def stop(self) -> None:
        """Stop serving and close the socket, so the port is free at once; twice is harmless."""
        with self._lock:
            if not self._running:
                return
            self._running = False
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()

    def __enter__(self) -> MetricsServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = f"runs={len(live.sources())}" if self._running else "stopped"
        return f"MetricsServer({self.url!r}, {state})"


def serve_metrics(port: int = 0, host: str = "127.0.0.1") -> MetricsServer:
    """Serve the live runs' metrics and alerts (see the module) on `host`:`port` (0: a free
    port, read it from ``.port``) from a daemon thread; the running `MetricsServer`."""
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise MetricsError(f"serve_metrics(port={port!r}): give a TCP port, a whole number "
                           "from 1 to 65535, or 0 for any free one")
    if not isinstance(host, str) or not host:
        raise MetricsError(f"serve_metrics(host={host!r}): give the address to listen on, "
                           "e.g. '127.0.0.1' (this machine only) or '0.0.0.0' (every interface)")
    return MetricsServer(host, port)
