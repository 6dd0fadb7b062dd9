"""Training from a notebook: `launch` a function on every GPU (or 2 CPU processes), the worker
runtime (`current()` inside it), the metrics channel (ranks -> notebook, and JSONL on disk), and
the list of runs on this machine (`runs()`, `stop_run()`) that any process can read, and recorded
runs side by side (`compare()`).

Names load on first use, so ``import workbench.train`` pulls in neither zmq nor pandas.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbench.lazy import lazy_exports

if TYPE_CHECKING:
    from workbench.train.comparison import CompareRunsError, RunComparison, compare
    from workbench.train.launcher import Job, WorkerError, launch
    from workbench.train.metrics import MetricsSender, MetricsSink, read_run
    from workbench.train.runs import RunNotFoundError, RunNotRunningError, runs, stop_run
    from workbench.train.runtime import Run, current

_EXPORTS = {
    "launch": "workbench.train.launcher",
    "Job": "workbench.train.launcher",
    "WorkerError": "workbench.train.launcher",
    "Run": "workbench.train.runtime",
    "current": "workbench.train.runtime",
    "MetricsSender": "workbench.train.metrics",
    "MetricsSink": "workbench.train.metrics",
    "read_run": "workbench.train.metrics",
    "runs": "workbench.train.runs",
    "stop_run": "workbench.train.runs",
    "RunNotFoundError": "workbench.train.runs",
    "RunNotRunningError": "workbench.train.runs",
    "compare": "workbench.train.comparison",
    "RunComparison": "workbench.train.comparison",
    "CompareRunsError": "workbench.train.comparison",
}

__all__ = ["CompareRunsError", "Job", "MetricsSender", "MetricsSink", "Run", "RunComparison",
           "RunNotFoundError", "RunNotRunningError", "WorkerError", "compare", "current", "launch",
           "read_run", "runs", "stop_run"]

__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS)
