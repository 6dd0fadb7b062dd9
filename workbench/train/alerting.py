"""A training run's alerts: its metrics records fed to `wb.ops` rules as they arrive.

The launcher's monitor thread calls `RunAlerts.poll` every few tens of milliseconds: the
records received since the last call go to the `Watch`, with the figures the default rules read
derived per rank:

- ``samples_per_s``: samples over step time, once per second of the rank's steps (one step's
  rate is too noisy to judge: a fast step after a slow one doubles it; and one figure a second
  makes a rule's window of figures a span of time, whatever the step rate);
- ``data_share``: ``data_s / step_s``;
- ``compute_ratio``: the rank's compute per step (``step_s`` less its transfer: ``data_s``,
  ``copy_s``, ``comm_s``), as a median of its last `_COMPUTE_STEPS` steps, over the median of
  the other ranks' such figures: a straggler's is above 1 (DDP makes step times equal, so
  compute before the collective wait is what tells it, see `run.ddp`).

Ranks whose process ended, or that said they are ``exiting``, are no longer judged by the
clock (`Watch.forget`); then the clock is checked (silent ranks, ``for_`` durations), and each
alert that fires or resolves is appended to the run's ``alerts.jsonl`` (what the sidebar and a
later kernel read) and delivered to the ``on_alert`` receivers: callables, and
`wb.ops.Webhook`s for URLs. A receiver that raises is counted on the alert
(``delivery_failures``) and never disturbs the run. The alerts whose rule says ``stop`` or
``checkpoint_stop`` are returned, for the launcher to stop the run.
"""

from __future__ import annotations

import math
import statistics
import sys
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from workbench.train.metrics import STEP_FIELDS, SYSTEM_FIELDS
from workbench.train.summary import TRANSFER_FIELDS

if TYPE_CHECKING:
    import pandas as pd

    from workbench.ops import Alert, Rule
    from workbench.train.metrics import MetricsSink

OnAlert = Callable[["Alert"], Any]
ALERT_LOG = "alerts.jsonl"  # each alert transition of a run, in its run directory
DERIVED = ("samples_per_s", "data_share", "compute_ratio")  # what `_derived` adds to records
# What a run may send or have derived without the function logging it: a rule on one of these
# that saw nothing watched a run that did not time steps, not a misspelt metric.
KNOWN_METRICS = frozenset((*STEP_FIELDS, *SYSTEM_FIELDS, *DERIVED))
_RATE_WINDOW_S = 1.0  # the step time over which samples_per_s is taken
_COMPUTE_STEPS = 50  # the steps whose median compute a rank's compute_ratio compares


class RunAlerts:
    """The rules of one run, what they have seen, and where their alerts go. Registered with
    `workbench.ops.live` while the run is watched, so `wb.ops.serve_metrics` exports it."""

    def __init__(self, run_id: str, rules: Iterable[Rule], on_alert: list[OnAlert],
                 run_dir: Path | None = None, built_in: Iterable[Rule] = ()) -> None:
        from workbench.ops import Watch, live

        self.run_id = run_id
        self.watch = Watch(rules)
        self.on_alert = on_alert
        self.log = None if run_dir is None else Path(run_dir) / ALERT_LOG
        self._built_in = list(built_in)  # rules not written for this run: no unseen-metric note
        self.failures: Counter[tuple[str, int]] = Counter()  # (rule, rank) -> failed deliveries
        self._seen = 0  # records of the sink already fed
        self._latest: dict[int, dict[str, Any]] = {}
        self._rates: dict[int, _Rate] = {}
        self._computes: dict[int, Any] = {}  # rank -> river RollingQuantile of its compute
        self._stepped: Counter[int] = Counter()  # rank -> step records seen
        self._metrics: set[str] = set()
        live.register(self)
        self._registered = True

    @property
    def delivery_failures(self) -> int:
        """Deliveries that failed so far, over every alert and receiver."""
        return sum(self._failed().values())

    def poll(self, sink: MetricsSink, now: float, gone: Iterable[int] = ()) -> list[Alert]:
        """Feed what is new, check the clock, forget the ranks in `gone` (ended), deliver;
        the firing alerts that ask for a stop."""
        new = sink.records(self._seen)
        self._seen += len(new)
        changes = self.watch.feed(self._derived(record) for record in new)
        for rank in {*gone, *(r["rank"] for r in new if r.get("exiting"))}:
            changes += self.watch.forget(self.run_id, rank, now)
        changes += self.watch.check(now)
        for alert in changes:
            self._write(alert)
            self._deliver(alert)
        return [a for a in changes if a.state == "firing" and a.action != "notify"]

    def finish(self, timeout: float = 5.0) -> None:
        """The run ended: wait up to `timeout` s for webhooks to deliver what they hold, stop
        being exported, and say which rules the user wrote watched a metric the run never
        sent (a misspelt name, most likely; a built-in rule on a figure this run does not make,
        such as the loss of a run that logs none, says nothing)."""
        from workbench.ops import live

        for receiver in self.on_alert:
            if hasattr(receiver, "flush"):
                receiver.flush(timeout)
        if self._registered:
            live.unregister(self)
            self._registered = False
        for rule in self.watch.rules:
            if self._metrics and rule.metric not in self._metrics \
                    and rule.metric not in KNOWN_METRICS and rule not in self._built_in:
                print(f"workbench: alert rule {rule.name!r} watched metric {rule.metric!r}, "
                      f"which run {self.run_id} never sent; it sent {sorted(self._metrics)}",
                      file=sys.stderr)

    def frame(self) -> pd.DataFrame:
        """Every alert of the run so far (`workbench.ops.watch.COLUMNS`), and how many
        deliveries of each failed (``delivery_failures``)."""
        frame = self.watch.frame()
        counted = self._failed()
        frame["delivery_failures"] = [counted[rule, rank]
                                      for rule, rank in zip(frame["rule"], frame["rank"])]
        return frame

    def _failed(self) -> Counter[tuple[str, int]]:
        """Failed deliveries per (rule, rank): the callables' (counted here) and the
        webhooks' (counted by each `Webhook` per (rule, run, rank), in its own thread)."""
        counted = Counter(self.failures)
        for receiver in self.on_alert:
            for (rule, _, rank), n in getattr(receiver, "failures", {}).items():
                counted[rule, rank] += n
        return counted

    # What the exporter reads (workbench.ops.live.WatchedRun).
    def latest(self) -> dict[int, dict[str, Any]]:
        """The last value of each metric per rank."""
        return {rank: dict(values) for rank, values in self._latest.items()}

    def current_alerts(self) -> list[Alert]:
        """The alerts pending or firing now."""
        return self.watch.open()

    def _derived(self, record: dict[str, Any]) -> dict[str, Any]:
        out = {**record, "run": self.run_id}
        rank = record["rank"]
        self._metrics.update(record)
        self._latest.setdefault(rank, {}).update(
            (k, v) for k, v in record.items() if isinstance(v, int | float))
        step_s = record.get("step_s")
        if not isinstance(step_s, int | float) or not step_s > 0:
            return out
        if isinstance(record.get("data_s"), int | float):
            out["data_share"] = record["data_s"] / step_s
        if isinstance(record.get("samples"), int | float):
            rate = self._rates.setdefault(rank, _Rate()).add(record["samples"], step_s)
            if rate is not None:
                out["samples_per_s"] = rate
        transfer = sum(record.get(name) or 0.0 for name in TRANSFER_FIELDS
                       if isinstance(record.get(name), int | float))
        computes = self._computes.get(rank)
        if computes is None:
            from river.stats import RollingQuantile

            computes = self._computes[rank] = RollingQuantile(0.5, window_size=_COMPUTE_STEPS)
        computes.update(max(step_s - transfer, 0.0))
        self._stepped[rank] += 1
        others = [c.get() for r, c in self._computes.items()
                  if r != rank and self._stepped[r] >= _COMPUTE_STEPS]
        if others and self._stepped[rank] >= _COMPUTE_STEPS:
            typical = statistics.median(others)
            if typical > 0:
                out["compute_ratio"] = computes.get() / typical
        for name in DERIVED:
            if name in out and math.isfinite(out[name]):
                self._latest[rank][name] = out[name]
        self._metrics.update(out)
        return out

    def _write(self, alert: Alert) -> None:
        """Append a transition to the run's alert log (one JSON object a line)."""
        if self.log is None:
            return
        from workbench.ops.watch import COLUMNS

        row = {name: getattr(alert, name) for name in COLUMNS}
        with open(self.log, "ab") as fh:  # orjson: strict JSON, a NaN value written as null
            fh.write(orjson.dumps(row) + b"\n")

    def _deliver(self, alert: Alert) -> None:
        for receiver in self.on_alert:
            try:
                receiver(alert)
            except Exception as err:  # the receiver's failure is counted, never the run's
                self.failures[alert.rule, alert.rank] += 1
                print(f"workbench: on_alert {getattr(receiver, '__name__', receiver)!r} "
                      f"failed for {alert.rule} on rank {alert.rank}: {err}", file=sys.stderr)


class _Rate:
    """Samples over step time, one figure per `_RATE_WINDOW_S` seconds of steps."""

    def __init__(self) -> None:
        self.samples = 0.0
        self.seconds = 0.0

    def add(self, samples: float, seconds: float) -> float | None:
        """Count a step; the rate of the window it completes, else None."""
        self.samples += samples
        self.seconds += seconds
        if self.seconds < _RATE_WINDOW_S:
            return None
        rate = self.samples / self.seconds
        self.samples = self.seconds = 0.0
        return rate


def callbacks(on_alert: Any) -> list[OnAlert]:
    """`on_alert` as a list of receivers: callables as they are, http(s) URLs as
    `wb.ops.Webhook`s; an error naming what is neither."""
    from workbench.ops import Webhook

    items = [] if on_alert is None else on_alert if isinstance(on_alert, list) else [on_alert]
    receivers: list[OnAlert] = []
    for item in items:
        if isinstance(item, str):
            receivers.append(Webhook(item))  # raises RuleError naming a URL that is not http(s)
        elif callable(item):
            receivers.append(item)
        else:
            raise TypeError(f"on_alert={item!r}: give a callable taking a wb.ops.Alert, an "
                            "http(s) URL for a webhook, or a list of them")
    return receivers
