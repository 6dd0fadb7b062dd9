"""The cluster registry: one JSON file per cluster a process started or joined, so that other
processes (a second notebook, the JupyterLab sidebar) can list them.

Files live in `$WORKBENCH_HOME/clusters/` (default `~/.workbench/clusters/`). Listing prunes
entries whose owner process has died, and probes the others: a cluster reads "running" only while
its scheduler accepts connections, and its dashboard link is listed only while that answers too.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.compute.probe import reachable
from workbench.home import live_entries, private_dir, write_json
from workbench.proxy import local_address

if TYPE_CHECKING:
    import pandas as pd

COLUMNS = [
    "id",
    "address",
    "kind",
    "status",
    "workers",
    "threads",
    "memory",
    "gpus",
    "dashboard_link",
    "pid",
    "created",
]


def registry_dir() -> Path:
    """The registry directory, created private to this user (mode 0700) when missing."""
    return private_dir("clusters")


def register(entry: dict[str, Any]) -> Path:
    """Write one cluster's entry atomically: a reader sees the old file or the new one."""
    return write_json(registry_dir() / f"{entry['id']}.json", entry)


def unregister(entry_id: str) -> None:
    """Remove a cluster's entry; removing one that is already gone is fine."""
    (registry_dir() / f"{entry_id}.json").unlink(missing_ok=True)


def clusters(timeout: float = 0.5) -> pd.DataFrame:
    """Every cluster on this machine's registry whose owner process runs, oldest first, one row
    each, with its `status` (see `with_status`; each probe waits at most `timeout` seconds).

    Entries whose owner process is gone are deleted as they are found: nothing can stop or
    rejoin them. A stopped cluster whose owner still holds its handle reads "stopped" until
    that handle is closed.
    """
    import pandas as pd

    entries = live_entries("clusters", {"address", "pid", "pid_created"}, owner_alive)
    table = pd.DataFrame([with_status(entry, timeout) for entry in entries], columns=COLUMNS)
    table["created"] = pd.to_datetime(table["created"], unit="s", utc=True)
    return table


def with_status(entry: dict[str, Any], timeout: float) -> dict[str, Any]:
    """The entry with its "status": "running" while its scheduler accepts a TCP connection
    within `timeout` seconds, else "stopped"; its "dashboard_link" is kept only while that
    accepts one too, so a listed link works."""
    running = reachable(entry["address"], timeout)
    link = entry.get("dashboard_link")
    if link and not (running and reachable(local_address(link), timeout)):
        link = None
    return {**entry, "status": "running" if running else "stopped", "dashboard_link": link}


def owner_alive(entry: dict[str, Any]) -> bool:
    """Whether the process that wrote the entry still runs: same pid and same start time, so a
    recycled pid does not keep a dead cluster listed."""
    import psutil

    try:
        process = psutil.Process(entry["pid"])
        created = process.create_time()
        zombie = process.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True  # another user's process: it exists, and we cannot tell more
    return not zombie and abs(created - entry["pid_created"]) < 1.0


def owner_fields() -> dict[str, Any]:
    """The fields that identify this process as an entry's owner."""
    import psutil

    return {"pid": os.getpid(), "pid_created": psutil.Process().create_time()}
