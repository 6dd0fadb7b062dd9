"""The training monitor's text: the summary table (numbers written as `charts.format` writes
them, with utilisation R per rank), a failed rank's box with its traceback, the notice of a
refresh that failed, and the GPU chart's note when there is none."""

from __future__ import annotations

import html
import time
from dataclasses import fields
from typing import TYPE_CHECKING, Any

from workbench.charts import format as fmt

if TYPE_CHECKING:
    import pandas as pd

    from workbench.train.source import Failure
    from workbench.train.summary import Summary

__all__ = ["failure_html", "no_gpu_html", "notice_html", "summary_html", "summary_rows",
           "utilisation_text"]


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
    if name in ("data_wait_share", "mfu", "utilisation"):
        return fmt.percent(value)
    if name in ("compute_s", "transfer_s"):
        return fmt.duration(value)
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


def utilisation_text(table: pd.DataFrame | None) -> str:
    """R per rank as one line: "rank 0 91%, rank 1 74%" ("—" for a rank whose R is unknown);
    '' without a table (no step finished) or with one rank (the summary's R says it)."""
    if table is None:
        return ""
    ranks = table[table["rank"].astype(str) != "all"]
    if len(ranks) < 2:
        return ""
    return ", ".join(f"rank {rank} {fmt.percent(r)}"
                     for rank, r in zip(ranks["rank"], ranks["utilisation"]))


def summary_html(summary: Summary | None, utilisation: pd.DataFrame | None = None) -> str:
    """The summary as a two-column table (`summary_rows`); with ``utilisation`` (rank,
    compute_s, transfer_s, utilisation rows, as `workbench.train.summary.utilisation` gives
    them), a row of R per rank (`utilisation_text`) under the run's R."""
    shown = summary_rows(summary)
    per_rank = utilisation_text(utilisation)
    if per_rank:
        at = next((i + 1 for i, (name, _) in enumerate(shown) if name == "utilisation"),
                  len(shown))
        shown.insert(at, ("utilisation per rank", per_rank))
    rows = "".join(f"<tr><td>{html.escape(name)}</td><td>{html.escape(value)}</td></tr>"
                   for name, value in shown)
    return ("<table class='workbench-summary'><tr><th>figure</th><th>value</th></tr>"
            f"{rows}</table>")


def no_gpu_html(live: bool) -> str:
    """What stands where the GPU chart would: why there is none."""
    why = ("No GPU: this job runs on CPU." if live else
           "GPU samples are not kept on disk: only a live job shows them.")
    return f"<div style='padding:12px; color:#555'><b>GPU</b><br><i>{why}</i></div>"
