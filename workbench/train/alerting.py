"""A training run's alerts: its metrics records fed to `wb.ops` rules as they arrive.

The launcher's monitor thread calls `RunAlerts.poll` every few tens of milliseconds: the
records received since the last call go to the `Watch` (with the figures the default rules
read, derived per record: ``samples_per_s`` from ``samples / step_s`` and ``data_share`` from
``data_s / step_s``), the clock is checked (stalled ranks, ``for_`` durations), and each alert
that fires or resolves goes to the ``on_alert`` callables. A callable that raises is counted
(`delivery_failures`) and never disturbs the run. The alerts whose rule says ``stop`` or
``checkpoint_stop`` are returned, for the launcher to stop the run.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from workbench.ops import Alert, Rule
    from workbench.train.metrics import MetricsSink

OnAlert = Callable[["Alert"], Any]


class RunAlerts:
    """The rules of one run, what they have seen, and where their alerts go."""

    def __init__(self, run_id: str, rules: Iterable[Rule], on_alert: list[OnAlert]) -> None:
        from workbench.ops import Watch

        self.run_id = run_id
        self.watch = Watch(rules)
        self.on_alert = on_alert
        self.delivery_failures = 0
        self._seen = 0  # records of the sink already fed

    def poll(self, sink: MetricsSink, now: float) -> list[Alert]:
        """Feed what is new, check the clock, deliver; the firing alerts that ask for a stop."""
        new = sink.records(self._seen)
        self._seen += len(new)
        changes = self.watch.feed(self._derived(record) for record in new)
        changes += self.watch.check(now)
        for alert in changes:
            self._deliver(alert)
        return [a for a in changes if a.state == "firing" and a.action != "notify"]

    def frame(self) -> pd.DataFrame:
        """Every alert of the run so far (`workbench.ops.watch.COLUMNS`)."""
        return self.watch.frame()

    def _derived(self, record: dict[str, Any]) -> dict[str, Any]:
        out = {**record, "run": self.run_id}
        step_s = record.get("step_s")
        if isinstance(step_s, int | float) and step_s > 0:
            if isinstance(record.get("samples"), int | float):
                out["samples_per_s"] = record["samples"] / step_s
            if isinstance(record.get("data_s"), int | float):
                out["data_share"] = record["data_s"] / step_s
        return out

    def _deliver(self, alert: Alert) -> None:
        for callback in self.on_alert:
            try:
                callback(alert)
            except Exception as err:  # the receiver's failure is counted, never the run's
                self.delivery_failures += 1
                print(f"workbench: on_alert {getattr(callback, '__name__', callback)!r} "
                      f"failed for {alert.rule} on rank {alert.rank}: {err}", file=sys.stderr)


def callbacks(on_alert: Any) -> list[OnAlert]:
    """`on_alert` as a list of callables; a TypeError naming what is not one."""
    items = [] if on_alert is None else on_alert if isinstance(on_alert, list) else [on_alert]
    for item in items:
        if not callable(item):
            raise TypeError(f"on_alert={item!r}: give a callable taking a wb.ops.Alert, or a "
                            "list of them")
    return items
