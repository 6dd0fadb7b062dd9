"""The dashboard registry: one JSON file per running dashboard, so that other processes (another
notebook, `workbench dashboards`, the JupyterLab sidebar) can list them, as the cluster registry
does for clusters.

Files live in `$WORKBENCH_HOME/dashboards/` (default `~/.workbench/dashboards/`). Listing prunes
entries whose publishing process or server has died, or whose port no longer accepts
connections.
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

COLUMNS = ["name", "url", "notebook", "lake", "port", "pid", "server_pid", "created", "id"]
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


def live_entries(timeout: float = 0.5) -> list[dict[str, Any]]:
    """The entries of running dashboards, oldest first; dead ones are deleted as found."""
    return home.live_entries("dashboards", _REQUIRED, lambda entry: _alive(entry, timeout))


def dashboards(timeout: float = 0.5) -> pd.DataFrame:
    """Every running dashboard on this machine, oldest first, one row each: name, url,
    notebook, lake, port, pid (the publishing process), server_pid, created, id.

    Entries whose publishing process or Voila server is gone, or whose port refuses a TCP
    connection within ``timeout`` seconds, are deleted as they are found.
    """
    import pandas as pd

    table = pd.DataFrame(live_entries(timeout), columns=COLUMNS)
    table["created"] = pd.to_datetime(table["created"], unit="s", utc=True)
    return table


def _alive(entry: dict[str, Any], timeout: float) -> bool:
    server = {"pid": entry["server_pid"], "pid_created": entry["server_created"]}
    return (owner_alive(entry) and owner_alive(server)
            and reachable(f"tcp://127.0.0.1:{entry['port']}", timeout))
