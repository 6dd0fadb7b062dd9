"""Operations: alert rules over the records of live runs (`Rule`, `default_rules`), evaluated
with Prometheus' pending/firing/resolved lifecycle by a `Watch`; the sinks their alerts go to
(callables, a `Webhook` in Alertmanager's format, `serve_metrics` for Prometheus); a drift
report as an alert (`ops.drift`). Imports no layer above `kernels`: its callers feed it records
and act on the alerts it returns. Loads on first use."""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbench.lazy import lazy_exports

if TYPE_CHECKING:
    from workbench.ops.prometheus import serve_metrics
    from workbench.ops.rules import Rule, RuleError, default_rules
    from workbench.ops.watch import Alert, Watch
    from workbench.ops.webhook import Webhook

_EXPORTS = {"Rule": ".rules", "RuleError": ".rules", "default_rules": ".rules",
            "Watch": ".watch", "Alert": ".watch",
            "Webhook": ".webhook", "serve_metrics": ".prometheus"}
__all__ = ["Alert", "Rule", "RuleError", "Watch", "Webhook", "default_rules", "serve_metrics"]

__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS)
