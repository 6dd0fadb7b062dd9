"""The endpoint registry: one JSON file per served endpoint, so that other processes (another
notebook, the JupyterLab sidebar) can list them and ask them to stop, as the dashboard registry
does for dashboards.

Files live in `$WORKBENCH_HOME/endpoints/` (default `~/.workbench/endpoints/`). The serving
process rewrites its entry about once a second with its live figures (requests/s, p99, errors);
listing prunes entries whose process has died. A stop request is a file `<id>.stop` beside the
entry, which the endpoint polls (the same path as a run's stop file: no extra auth surface).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench import home
from workbench.compute.registry import owner_alive
from workbench.home import private_dir, write_json

if TYPE_CHECKING:
    import pandas as pd

COLUMNS = ["id", "url", "engine", "model", "status", "requests_per_s", "p99_ms", "errors",
           "requests", "max_batch", "max_delay_ms", "host", "port", "pid", "created"]
_REQUIRED = {"id", "url", "engine", "model", "port", "pid", "pid_created", "created"}


def registry_dir() -> Path:
    """The registry directory, created private to this user (mode 0700) when missing."""
    return private_dir("endpoints")


def register(entry: dict[str, Any]) -> Path:
    """Write one endpoint's entry atomically: a reader sees the old file or the new one."""
    return write_json(registry_dir() / f"{entry['id']}.json", entry)


def unregister(entry_id: str) -> None:
    """Remove an endpoint's entry and any stop request; removing what is gone is fine."""
    (registry_dir() / f"{entry_id}.json").unlink(missing_ok=True)
    stop_path(entry_id).unlink(missing_ok=True)


def stop_path(entry_id: str) -> Path:
    """The file whose existence asks endpoint `entry_id` to stop."""
    return registry_dir() / f"{entry_id}.stop"


def request_stop(entry_id: str) -> bool:
    """Ask a listed endpoint to stop (its process polls for this); False for an id that is not
    listed."""
    if not any(entry["id"] == entry_id for entry in entries()):
        return False
    stop_path(entry_id).touch()
    return True


def entries() -> list[dict[str, Any]]:
    """The entries of endpoints whose serving process runs, oldest first. Entries whose
    process is gone are deleted as found."""
    return home.live_entries("endpoints", _REQUIRED, owner_alive)


def endpoints() -> pd.DataFrame:
    """Every endpoint served on this machine, oldest first, one row each: id, url, engine,
    model, status ("serving" or "stopping"), requests/s and p99 (ms) over the last seconds,
    errors and requests so far, its batching settings, host, port, the serving pid and when it
    started."""
    import pandas as pd

    table = pd.DataFrame(entries(), columns=COLUMNS)
    table["created"] = pd.to_datetime(table["created"], unit="s", utc=True)
    return table
