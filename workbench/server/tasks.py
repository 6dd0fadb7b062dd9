"""Background tasks (ingest, profile): a few worker threads, and the server's dict of tasks that
GET tasks/{id} reads. A task's id is only ever looked up in that dict.

Each task runs on the task cluster (`clusters.ClusterService.task_cluster`): the newest cluster
in the registry, or a local one the server starts for it when none runs.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.errors import describe

if TYPE_CHECKING:
    from workbench.lake import Lake
    from workbench.server.clusters import ClusterService


@dataclass
class Task:
    """One background task as GET tasks/{id} shows it."""

    kind: str
    label: str
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    state: str = "queued"
    done: int = 0
    total: int = 0
    started: float | None = None
    ended: float | None = None
    result: dict[str, Any] | None = None
    error: str | None = None

    def progress(self, done: int, total: int) -> None:
        """Record progress (pieces done out of total); called from the task's thread."""
        self.done, self.total = done, total

    def row(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "state": self.state, "label": self.label,
                "progress": {"done": self.done, "total": self.total}, "started": self.started,
                "ended": self.ended, "result": self.result, "error": self.error}


class Tasks:
    """The server's tasks: at most ``workers`` run at once, the others wait "queued"; the
    ``kept`` newest finished ones stay readable; ``ended()`` is called after each (the lake
    changed: listings are read afresh)."""

    def __init__(self, workers: int, kept: int, ended: Callable[[], None]) -> None:
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix="workbench task")
        self._tasks: dict[str, Task] = {}
        self._kept = kept
        self._ended = ended
        self._lock = threading.Lock()

    def submit(self, kind: str, label: str, work: Callable[[Task], dict[str, Any]]) -> Task:
        """Queue ``work(task)``, whose return value becomes the task's result."""
        task = Task(kind, label)
        with self._lock:
            self._tasks[task.id] = task
            finished = [t for t in self._tasks.values() if t.ended is not None]
            for old in sorted(finished, key=lambda t: t.ended)[:-self._kept]:
                del self._tasks[old.id]
        self._executor.submit(self._run, task, work)
        return task

    def find(self, task_id: str) -> Task | None:
        with self._lock:
            return self._tasks.get(task_id)

    def close(self) -> None:
        """Drop the queued tasks; running ones finish in their threads."""
        self._executor.shutdown(wait=False, cancel_futures=True)

    def _run(self, task: Task, work: Callable[[Task], dict[str, Any]]) -> None:
        task.state, task.started = "running", time.time()
        result, error = None, None
        try:
            result = work(task)
        except Exception as err:  # the task's failure is its state, shown to the client
            error = describe(err)
        self._ended()  # before the task reads as ended: a client that sees it lists afresh
        task.result, task.error = result, error
        task.state = "failed" if error is not None else "done"
        task.ended = time.time()


def ingest(task: Task, clusters: ClusterService, lake: Lake, paths: list[Path], table: str,
           pii: list[str], dedup: list[str]) -> dict[str, Any]:
    """Ingest ``paths`` (checked by the handler) into ``table`` on the task cluster, then
    compute and store the new version's profile, so opening the table shows it. The result is
    the ingest's report; a profile that fails leaves the data ingested and says so in
    ``error``."""
    import glob

    clusters.task_cluster()
    report = lake.ingest([glob.escape(str(p)) for p in paths], table, pii=pii,
                         dedup=dedup or None, progress=False, on_progress=task.progress)
    result = {"table": report.table, "version": report.version, "rows_in": report.rows_in,
              "rows_written": report.rows_written, "rows_quarantined": report.rows_quarantined,
              "duplicates_dropped": report.duplicates_dropped, "files": len(paths),
              "seconds": report.seconds}
    try:
        lake.table(table).profile(report.version)
    except Exception as err:  # the data is in: report the profile's failure beside the result
        task.error = f"ingested as version {report.version}, but its profile failed: " \
                     f"{describe(err)}"
    return result


def profile(task: Task, clusters: ClusterService, lake: Lake, table: str) -> dict[str, Any]:
    """Compute and store the profile of ``table``'s current version on the task cluster."""
    task.progress(0, 1)
    clusters.task_cluster()
    result = lake.table(table).profile()
    task.progress(1, 1)
    return {"table": table, "version": result.version, "rows": result.rows,
            "columns": len(result.table)}
