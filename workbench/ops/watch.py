"""`Watch`: rules evaluated over a stream of records, with Prometheus' alert lifecycle.

Records are dicts with ``run``, ``rank``, ``time`` (unix seconds) and metrics, as the training
metrics channel delivers them. Each (rule, run, rank) has one alert at most: it goes *pending*
when its condition first holds, *firing* once the condition has held for the rule's ``for_``
seconds, and *resolved* when it clears (a pending alert whose condition clears is forgotten).
`feed` and `check` return the transitions to *firing* and *resolved*, which is what a caller
notifies, persists or acts on (a rule's ``action``); nothing here stops a run itself.

Rolling medians (``spike``, ``below_median``) are river's `RollingQuantile`, exact over the
window and about six times cheaper per record than a median of a deque.
"""

from __future__ import annotations

import math
import statistics
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from workbench.ops.rules import Rule, RuleError

if TYPE_CHECKING:
    import pandas as pd

COLUMNS = ("rule", "severity", "run", "rank", "state", "value", "threshold", "started",
           "resolved", "message")
_RISING_SHARE = 0.8  # of the window's steps that change, the share that must go up ("rising")
_RISING_STEADY = 0.5  # of all the window's steps, the share that must go up: not one jump


@dataclass(frozen=True)
class Alert:
    """One alert of a rule on one (run, rank): its state and the value that raised it."""

    rule: str
    severity: str
    run: str
    rank: int
    state: str
    value: float
    threshold: float | None
    started: float
    resolved: float | None
    message: str
    action: str


@dataclass
class _Series:
    """What a rule remembers of one (run, rank): recent values (``rising``: the window's
    previous finite values, and how many of their steps go up and down) or their rolling median
    (``spike``, ``below_median``), how many came, the last time one came, and its alert (None
    while the condition does not hold)."""

    values: deque = field(default_factory=deque)
    ups: int = 0
    downs: int = 0
    median: Any = None
    count: int = 0
    last_time: float = math.nan
    alert: Alert | None = None


class Watch:
    """Evaluates `rules` over records (`feed`) and the clock (`check`); `alerts` holds every
    alert that fired, with its current state, and `frame()` shows them as a table."""

    def __init__(self, rules: Iterable[Rule]) -> None:
        self.rules = list(rules)
        for rule in self.rules:
            if not isinstance(rule, Rule):
                raise RuleError(f"{rule!r} is not a wb.ops.Rule")
        names = [rule.name for rule in self.rules]
        if len(set(names)) != len(names):
            raise RuleError(f"rule names must differ: {sorted(names)}")
        self.alerts: list[Alert] = []  # fired ones, in order; a resolve replaces its entry
        self._rules = {rule.name: rule for rule in self.rules}
        self._series: dict[tuple[str, str, int], _Series] = {}

    def feed(self, records: Iterable[dict[str, Any]]) -> list[Alert]:
        """Evaluate every rule on each record that carries its metric; the alerts that fired
        or resolved."""
        changes: list[Alert] = []
        for record in records:
            run, rank, when = str(record.get("run", "")), int(record.get("rank", 0)), \
                float(record["time"])
            for rule in self.rules:
                if rule.metric not in record:
                    continue
                value = _float(record[rule.metric])
                if value is None:
                    continue  # text where a number belongs: not this rule's to judge
                series = self._series.get((rule.name, run, rank))
                if series is None:
                    series = self._series[rule.name, run, rank] = _series(rule)
                holds = _holds(rule, value, series)
                series.last_time = when
                _remember(rule, value, series)
                changes += self._step(rule, run, rank, series, holds, value, when)
        return changes

    def forget(self, run: str, rank: int, now: float) -> list[Alert]:
        """Stop judging a rank that is gone (its process ended) by the clock: its ``stalled``
        series are dropped, and their firing alerts resolve (a rank that exited is not
        silent). Rules judged on records keep the state the rank left them in."""
        changes: list[Alert] = []
        for key in [key for key in self._series
                    if self._rules[key[0]].op == "stalled" and key[1:] == (run, rank)]:
            series = self._series.pop(key)
            if series.alert is not None and series.alert.state == "firing":
                resolved = replace(series.alert, state="resolved", resolved=now)
                self.alerts[self.alerts.index(series.alert)] = resolved
                changes.append(resolved)
        return changes

    def check(self, now: float) -> list[Alert]:
        """The clock's part: ``stalled`` rules, and pending alerts whose ``for_`` has passed."""
        changes: list[Alert] = []
        for (name, run, rank), series in self._series.items():
            rule = self._rules[name]
            if rule.op == "stalled":
                quiet = now - series.last_time
                changes += self._step(rule, run, rank, series, quiet > rule.threshold, quiet,
                                      now)
            elif series.alert is not None and series.alert.state == "pending":
                changes += self._step(rule, run, rank, series, True, series.alert.value, now)
        return changes

    def open(self) -> list[Alert]:
        """The alerts pending or firing now."""
        return [s.alert for s in self._series.values() if s.alert is not None]

    def frame(self) -> pd.DataFrame:
        """Every alert that fired (`COLUMNS`), pending ones too, latest state."""
        import pandas as pd

        pending = [a for a in self.open() if a.state == "pending"]
        rows = [{c: getattr(a, c) for c in COLUMNS} for a in [*self.alerts, *pending]]
        return pd.DataFrame(rows, columns=list(COLUMNS)).astype(
            {"rank": "int64", "value": "float64", "threshold": "float64",
             "started": "float64", "resolved": "float64"})  # None: NaN, as tables hold it

    def _step(self, rule: Rule, run: str, rank: int, series: _Series, holds: bool,
              value: float, now: float) -> list[Alert]:
        """One lifecycle step of (rule, run, rank); the transition it makes, if one counts."""
        alert = series.alert
        if holds and alert is None:
            alert = series.alert = Alert(
                rule.name, rule.severity, run, rank, "pending", value, rule.threshold, now,
                None, f"{rule.name} on rank {rank} of {run}: {rule.describe()} "
                      f"(value {value:.4g})", rule.action)
        if holds and alert.state == "pending" and now - alert.started >= rule.for_:
            series.alert = replace(alert, state="firing", value=value)
            self.alerts.append(series.alert)
            return [series.alert]
        if not holds and alert is not None:
            series.alert = None
            if alert.state == "firing":
                resolved = replace(alert, state="resolved", resolved=now)
                self.alerts[self.alerts.index(alert)] = resolved
                return [resolved]
        return []


def _series(rule: Rule) -> _Series:
    if rule.op in ("spike", "below_median"):
        from river.stats import RollingQuantile

        return _Series(median=RollingQuantile(0.5, window_size=rule.window))
    return _Series()


def _remember(rule: Rule, value: float, series: _Series) -> None:
    """Add a finite value to what the rule keeps of the series. ``rising`` keeps its count of
    steps up as values come and go, so judging a record costs no pass over the window."""
    if not math.isfinite(value):
        return
    if series.median is not None:
        series.median.update(value)
        series.count += 1
    elif rule.op == "rising":
        values = series.values
        if len(values) == rule.window - 1:  # full: the oldest step leaves the window
            first = values.popleft()
            if values:
                series.ups -= values[0] > first
                series.downs -= values[0] < first
        if values:
            series.ups += value > values[-1]
            series.downs += value < values[-1]
        values.append(value)


def _holds(rule: Rule, value: float, series: _Series) -> bool:
    """Whether `value` breaks `rule`, given what the series holds of the values before it."""
    if rule.op == "nonfinite":
        return not math.isfinite(value)
    if not math.isfinite(value):
        return False  # a NaN is the nonfinite rule's to report, not a spike or a drop
    if rule.op == ">":
        return value > rule.threshold
    if rule.op == "<":
        return value < rule.threshold
    if rule.op in ("spike", "below_median"):
        if series.count < max(1, rule.window // 2):
            return False  # too little history for a median to mean anything
        median = series.median.get()
        return value > rule.threshold * median if rule.op == "spike" else \
            value < rule.threshold * median
    if rule.op == "rising":  # the window: the previous window - 1 values, then this one
        if len(series.values) < rule.window - 1:
            return False
        ups = series.ups + (value > series.values[-1])
        downs = series.downs + (value < series.values[-1])
        return ups >= _RISING_STEADY * (rule.window - 1) \
            and ups >= _RISING_SHARE * (ups + downs) \
            and _slope([*series.values, value]) > (rule.threshold or 0.0)
    return False  # "stalled" is judged by the clock (Watch.check)


def _slope(values: list[float]) -> float:
    """The least-squares slope of `values` against their index (statistics.linear_regression)."""
    return statistics.linear_regression(range(len(values)), values).slope


def _float(value: Any) -> float | None:
    """A metric as a float (NaN and infinities included), None when it is not a number."""
    if isinstance(value, bool | int | float):
        return float(value)
    return None
