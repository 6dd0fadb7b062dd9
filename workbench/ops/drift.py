"""The alert for an ingest whose batch drifted from the table's version before it."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from workbench.ops.watch import Alert

if TYPE_CHECKING:
    import pandas as pd

THRESHOLD = 0.25  # PSI above which a column's verdict is "drift"


def drift_alert(table: str, version: int, report_table: pd.DataFrame,
                reference: int | None = None) -> Alert | None:
    """A firing warning naming the columns of ``report_table`` (a drift report's ``table``:
    ``column``, ``psi``, ``verdict``) whose verdict is ``drift``, worst first, with the worst
    PSI as its value; None when no column drifted. ``reference``: the version compared with."""
    drifted = report_table[report_table["verdict"] == "drift"].sort_values("psi",
                                                                           ascending=False)
    if drifted.empty:
        return None
    scores = ", ".join(f"{c} (PSI {p:.2g})" for c, p in zip(drifted["column"], drifted["psi"]))
    against = f" against v{reference}" if reference is not None else ""
    return Alert(rule="drift", severity="warning", run=f"{table}@v{version}", rank=-1,
                 state="firing", value=float(drifted["psi"].iloc[0]), threshold=THRESHOLD,
                 started=time.time(), resolved=None,
                 message=f"table {table} v{version}: drift in columns {scores}{against}",
                 action="notify")
