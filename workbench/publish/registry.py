"""The dashboard registry: one JSON file per running dashboard, so that other processes (another
notebook, `workbench dashboards`, the JupyterLab sidebar) can list them, as the cluster registry
does for clusters.

Files live in `$WORKBENCH_HOME/dashboards/` (default `~/.workbench/dashboards/`). Listing prunes
entries whose publishing process has died (its server dies with it), and probes the others: a
dashboard reads "running" only while its Voila server runs and its port accepts connections.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench import home
from workbench.compute.probe import reachable
from workbench.compute.registry import owner_alive
from workbench.home import private_dir, write_json

if TYPE_CHECKING:
    import pandas as pd

COLUMNS = ["name", "status", "url", "notebook", "lake", "port", "pid", "server_pid", "created",
           "id"]
_REQUIRED = {"id", "name", "url", "port", "pid", "pid_created", "server_pid", "server_created"}


def registry_dir() -> Path:
    """The registry directory, created private to this user (mode 0700) when missing."""
    return private_dir("dashboards")


def register(entry: dict[str, Any]) -> Path:
    """Write one dashboard's entry atomically: a reader sees the old file or the new one."""
    return write_json(registry_dir() / f"{entry['id']}.json", entry)


def unregister(entry_id: str) -> None:
    """Remove a dashboard's entry; removing one that is already gone is fine."""
    (registry_dir() / f"{entry_id}.json").unlink(missing_ok=True)


def entries(timeout: float = 0.5) -> list[dict[str, Any]]:
    """The entries of dashboards whose publisher runs, oldest first, each with its "status":
    "running" while its Voila server runs and its port accepts a TCP connection within
    ``timeout`` seconds, else "stopped". Entries whose publisher is gone are deleted as found."""
    return [{**entry, "status": "running" if _serving(entry, timeout) else "stopped"}
            for entry in home.live_entries("dashboards", _REQUIRED, owner_alive)]


def live_entries(timeout: float = 0.5) -> list[dict[str, Any]]:
    """The entries of running dashboards, oldest first (`entries` less the stopped ones)."""
    return [entry for entry in entries(timeout) if entry["status"] == "running"]


def dashboards(timeout: float = 0.5) -> pd.DataFrame:
    """Every dashboard on this machine whose publisher runs, oldest first, one row each: name,
    status ("running" or "stopped", see `entries`), url, notebook, lake, port, pid (the
    publishing process), server_pid, created, id.

    A dashboard whose server has gone reads "stopped" until its publisher stops it or exits.
    """
    import pandas as pd

    table = pd.DataFrame(entries(timeout), columns=COLUMNS)
    table["created"] = pd.to_datetime(table["created"], unit="s", utc=True)
    return table


def _serving(entry: dict[str, Any], timeout: float) -> bool:
    """Whether the entry's Voila server process runs and its port accepts a connection."""
    server = {"pid": entry["server_pid"], "pid_created": entry["server_created"]}
    return owner_alive(server) and reachable(f"tcp://127.0.0.1:{entry['port']}", timeout)
