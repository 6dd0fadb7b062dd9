"""The training monitor's text: the summary table (numbers written as `charts.format` writes
them), a failed rank's box with its traceback, and the notice of a refresh that failed."""

from __future__ import annotations

import html
import time
from dataclasses import fields
from typing import TYPE_CHECKING, Any

from workbench.charts import format as fmt

if TYPE_CHECKING:
    from workbench.train.source import Failure
    from workbench.train.summary import Summary

__all__ = ["failure_html", "notice_html", "summary_html", "summary_rows"]


def summary_rows(summary: Summary | None) -> list[tuple[str, str]]:
    """The summary's figures as (name, shown value) rows, written as `charts.format` writes
    numbers; every value "n/a" when there is no summary yet (no step finished)."""
    from workbench.train.summary import Summary

    rows = []
    for field in fields(Summary):
        value = None if summary is None else getattr(summary, field.name)
        rows.append((field.name, _show(field.name, value)))
    return rows


def _show(name: str, value: Any) -> str:
    if value is None:
        return "n/a"
    if name in ("data_wait_share", "mfu"):
        return fmt.percent(value)
    if name == "peak_memory_bytes":
        return fmt.size(value)
    if name.startswith("step_") and name.endswith("_s"):
        return fmt.latency_ms(value)
    return fmt.number(value)


def failure_html(failure: Failure) -> str:
    """The failed rank, its headline and its traceback, in a red box."""
    trace = failure.traceback or "(the process left no traceback: killed, out of memory, or a " \
        "crash in native code)"
    return ("<div class='workbench-failure' style='border:1px solid #b00020; padding:8px; "
            f"margin:6px 0'><b style='color:#b00020'>Rank {failure.rank} failed</b>: "
            f"{html.escape(failure.headline)}<pre style='max-height:320px; overflow:auto; "
            f"white-space:pre-wrap; font-size:12px'>{html.escape(trace)}</pre></div>")


def notice_html(err: Exception, failures: int, limit: int) -> str:
    """Why the view could not refresh, and whether it retries (under ``limit`` failures)."""
    what = (f"stopped refreshing after {failures} failed updates in a row"
            if failures >= limit else "retrying")
    return (f"<div style='color:#8a5a00'>The view could not refresh at "
            f"{time.strftime('%H:%M:%S')} ({what}): {html.escape(type(err).__name__)}: "
            f"{html.escape(str(err))}</div>")


def summary_html(summary: Summary | None) -> str:
    """The summary as a two-column table (`summary_rows`)."""
    rows = "".join(f"<tr><td>{html.escape(name)}</td><td>{html.escape(value)}</td></tr>"
                   for name, value in summary_rows(summary))
    return ("<table class='workbench-summary'><tr><th>figure</th><th>value</th></tr>"
            f"{rows}</table>")
