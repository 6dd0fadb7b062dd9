"""The banner of firing alerts that the live monitors show above their charts: each alert's
rule, rank and message, the banner coloured by the most severe. Read from `job.alerts` for a
live job, else from the run directory's alert log (`workbench.train.alert_log`)."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

from workbench.charts.alert_timeline import SEVERITY_COLOURS

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["alert_banner_html", "alerts_of", "job_alerts"]


def job_alerts(job: Any) -> pd.DataFrame | None:
    """A job's `alerts` table, or None for a job without one (a federated job from before
    alerts, a job-like object in a test)."""
    return getattr(job, "alerts", None)


def alerts_of(job: Any, run_dir: Any) -> pd.DataFrame:
    """The alerts of a training run: the live `job`'s when it has them, else those logged in
    `run_dir` (a replay, or a job without an `alerts` table)."""
    from workbench.train.alert_log import read_alerts

    alerts = None if job is None else job_alerts(job)
    return read_alerts(run_dir) if alerts is None else alerts


def alert_banner_html(alerts: pd.DataFrame | None) -> str:
    """The firing alerts of `alerts` (most severe first) as a banner; '' when none fires."""
    from workbench.train.alert_log import firing

    if alerts is None or not len(alerts):
        return ""
    now = firing(alerts)
    if not len(now):
        return ""
    colour = SEVERITY_COLOURS.get(str(now["severity"].iloc[0]), SEVERITY_COLOURS["warning"])
    items = "".join(
        f"<li><b>{html.escape(str(a.rule))}</b>"
        f"{'' if a.rank < 0 else f' (rank {a.rank})'} &middot; {html.escape(str(a.severity))}"
        f": {html.escape(str(a.message))}</li>" for a in now.itertuples(index=False))
    count = f"{len(now)} alert{'s' * (len(now) != 1)} firing"
    return (f"<div class='workbench-alerts' style='border-left:4px solid {colour}; "
            f"background:rgba(227,160,8,0.08); padding:4px 8px; margin:6px 0'>"
            f"<b style='color:{colour}'>{count}</b><ul style='margin:2px 0 0 0'>{items}</ul>"
            "</div>")
