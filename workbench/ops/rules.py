"""Alert rules: what to watch in a stream of records, and when it is wrong.

A `Rule` names a metric and a test (``op``) over its values, per (run, rank):

- ``">"`` / ``"<"``: the value is above / below ``threshold``;
- ``"nonfinite"``: the value is NaN or infinite (a diverged loss);
- ``"spike"``: the value is above ``threshold`` times the median of the previous ``window``
  values (a loss spike);
- ``"below_median"``: the value is below ``threshold`` times that median (throughput dropping to
  a share of its own recent level);
- ``"rising"``: over the last ``window`` values the least-squares slope is above ``threshold``
  per record, at least half of the steps go up and at least 80% of those that change do
  (memory that only grows, whatever the readings between its rises: a leak);
- ``"stalled"``: no new value for ``threshold`` seconds (a rank that stopped stepping).

As in Prometheus, a condition that holds is *pending*, and *firing* once it has held for
``for_`` seconds (0: at once); it is *resolved* when it clears. ``action`` says what the caller
should do when the rule fires: ``"notify"``, ``"stop"`` or ``"checkpoint_stop"``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from workbench.errors import WorkbenchError

OPS = (">", "<", "nonfinite", "stalled", "rising", "spike", "below_median")
SEVERITIES = ("info", "warning", "critical")
ACTIONS = ("notify", "stop", "checkpoint_stop")
_NEEDS_WINDOW = ("rising", "spike", "below_median")
_NEEDS_THRESHOLD = (">", "<", "stalled", "spike", "below_median")


class RuleError(WorkbenchError, ValueError):
    """A rule that cannot be evaluated as written; says which argument and what to give."""


@dataclass(frozen=True)
class Rule:
    """One alert rule (see the module): `name`, the `metric` it reads, its `op`, `threshold`,
    `window` (records), `for_` (seconds the condition must hold), `severity` and `action`."""

    name: str
    metric: str
    op: str
    threshold: float | None = None
    window: int | None = None
    for_: float = 0.0
    severity: str = "warning"
    action: str = "notify"

    def __post_init__(self) -> None:
        for argument in ("name", "metric"):
            value = getattr(self, argument)
            if not isinstance(value, str) or not value:
                raise RuleError(f"Rule({argument}={value!r}): give a non-empty name")
        _one_of(self.name, "op", self.op, OPS)
        _one_of(self.name, "severity", self.severity, SEVERITIES)
        _one_of(self.name, "action", self.action, ACTIONS)
        if self.op in _NEEDS_THRESHOLD and self.threshold is None:
            raise RuleError(f"rule {self.name!r}: op {self.op!r} needs a threshold")
        if self.threshold is not None:
            _number(self.name, "threshold", self.threshold,
                    positive=self.op in ("stalled", "spike", "below_median"))
        if self.op == "below_median" and not self.threshold < 1:
            raise RuleError(f"rule {self.name!r}: below_median's threshold is a share of the "
                            f"median, in (0, 1); got {self.threshold}")
        if self.op in _NEEDS_WINDOW and self.window is None:
            raise RuleError(f"rule {self.name!r}: op {self.op!r} needs a window (records)")
        if self.window is not None and (isinstance(self.window, bool)
                                        or not isinstance(self.window, int)
                                        or self.window < (3 if self.op == "rising" else 1)):
            raise RuleError(f"rule {self.name!r}: window={self.window!r}: give a whole number of "
                            f"records, at least {3 if self.op == 'rising' else 1}")
        _number(self.name, "for_", self.for_, positive=False)

    def describe(self) -> str:
        """The condition in words, for alert messages."""
        t, m, w = self.threshold, self.metric, self.window
        return {">": f"{m} > {t}", "<": f"{m} < {t}", "nonfinite": f"{m} is not finite",
                "stalled": f"no {m} for {t} s", "rising": f"{m} rising over {w} records",
                "spike": f"{m} above {t}x its median of {w}",
                "below_median": f"{m} below {t} of its median of {w}"}[self.op]


def default_rules() -> list[Rule]:
    """The built-in rules, on by default for every run, over what the runtime sends (see
    `workbench.train.alerting` for the figures derived from it):

    - ``nonfinite_loss``: the loss is NaN or infinite (at once, critical);
    - ``loss_spike``: the loss above 5x its median of the last 20 steps (a 10x spike fires,
      the ups and downs of a noisy loss do not);
    - ``throughput_drop``: samples/s (one figure per second of steps) below half its median
      of the last 50 such figures (its level over most of a minute), for 10 s;
    - ``straggler``: a rank's compute per step (before its collective wait) above 1.5x the
      median of the other ranks', for 30 s;
    - ``stall``: a rank alive (its heartbeats come) but inside ``run.steps`` with no new step
      for 60 s (critical);
    - ``silent_rank``: no heartbeat from a rank for 10 s while its process lives (stopped,
      hung in native code; critical);
    - ``memory_growth``: a rank's RSS (and, on GPUs, its GPU memory) rising over 50 readings,
      for 10 s (readings come every ~50 ms while it steps: a leak);
    - ``input_bound``: over half of each step waiting for data, for 30 s (info).
    """
    return [
        Rule("nonfinite_loss", "loss", "nonfinite", severity="critical"),
        Rule("loss_spike", "loss", "spike", threshold=5.0, window=20),
        Rule("throughput_drop", "samples_per_s", "below_median", threshold=0.5, window=50,
             for_=10.0),
        Rule("straggler", "compute_ratio", ">", threshold=1.5, for_=30.0),
        Rule("stall", "step_age_s", ">", threshold=60.0, severity="critical"),
        Rule("silent_rank", "heartbeat", "stalled", threshold=10.0, severity="critical"),
        Rule("memory_growth", "rss_bytes", "rising", threshold=0.0, window=50, for_=10.0),
        Rule("gpu_memory_growth", "gpu_memory_bytes", "rising", threshold=0.0, window=50,
             for_=10.0),
        Rule("input_bound", "data_share", ">", threshold=0.5, for_=30.0, severity="info"),
    ]


def rules_from(alerts: Any, defaults: list[Rule] | None = None) -> list[Rule]:
    """What ``alerts=`` of a launch asks for, as rules: "default" is `defaults` (else
    `default_rules()`), None none, and a list may hold `Rule`s and the names of those."""
    defaults = default_rules() if defaults is None else defaults
    if alerts is None:
        return []
    if isinstance(alerts, str):
        if alerts != "default":
            raise RuleError(f"alerts={alerts!r}: give 'default', a list of wb.ops.Rule (or "
                            "names of built-in rules) or None")
        return defaults
    built_in = {rule.name: rule for rule in defaults}
    rules = []
    for item in alerts:
        if isinstance(item, str):
            if item not in built_in:
                raise RuleError(f"alerts: no built-in rule is named {item!r}; the built-in "
                                f"rules are {sorted(built_in)}")
            item = built_in[item]
        if not isinstance(item, Rule):
            raise RuleError(f"alerts: {item!r} is not a wb.ops.Rule (nor a built-in rule's "
                            "name)")
        rules.append(item)
    return rules


def _one_of(rule: str, argument: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise RuleError(f"rule {rule!r}: {argument}={value!r}; give one of {list(allowed)}")


def _number(rule: str, argument: str, value: Any, *, positive: bool) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise RuleError(f"rule {rule!r}: {argument}={value!r}: give a number")
    if positive and not value > 0 or not positive and value < 0:
        raise RuleError(f"rule {rule!r}: {argument}={value!r}: must be "
                        f"{'> 0' if positive else '>= 0'}")
