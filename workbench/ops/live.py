"""What this process is watching now: the runs that `train` and `fl` register while they run,
so the Prometheus exporter (`workbench.ops.prometheus`) reads them without `ops` importing the
layers above it. A run registers a `WatchedRun` when it starts and unregisters it when it ends.
"""

from __future__ import annotations

import threading
from typing import Any, Protocol, runtime_checkable

from workbench.ops.watch import Alert

_lock = threading.Lock()
_sources: list[WatchedRun] = []


@runtime_checkable
class WatchedRun(Protocol):
    """A live run as the exporter reads it: its id, the last record of each rank (metric name
    to value; numbers are exported, the rest ignored) and its pending and firing alerts."""

    run_id: str

    def latest(self) -> dict[int, dict[str, Any]]:
        """The last record per rank."""

    def current_alerts(self) -> list[Alert]:
        """The alerts pending or firing now."""


def register(source: WatchedRun) -> None:
    """Start exporting `source` (once, however often it is registered)."""
    if not isinstance(source, WatchedRun):
        raise TypeError(f"{source!r} is not a watched run: give an object with run_id, "
                        "latest() and current_alerts() (workbench.ops.live.WatchedRun)")
    with _lock:
        if not any(s is source for s in _sources):
            _sources.append(source)


def unregister(source: WatchedRun) -> None:
    """Stop exporting `source`; nothing happens when it is not registered (a run that failed
    before it registered can still unregister on its way out)."""
    with _lock:
        _sources[:] = [s for s in _sources if s is not source]


def sources() -> list[WatchedRun]:
    """The runs registered now, in the order they registered (a copy)."""
    with _lock:
        return list(_sources)
