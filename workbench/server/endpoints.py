"""GET endpoints, DELETE endpoints/{id}: served model endpoints as `wb.endpoints()` lists them.

The registry (`workbench.infer.registry`) holds one entry per serving process, rewritten by it
about once a second with its live figures; listing prunes entries whose process is gone. Stopping
is a request, not a kill: a stop file the endpoint polls, so an endpoint served from any kernel
stops the same way, and ids are looked up among the listed entries, never joined into a path
unchecked.
"""

from __future__ import annotations

from typing import Any

from workbench.server.encode import cell
from workbench.server.errors import ApiError


def rows() -> list[dict[str, Any]]:
    """Every endpoint whose serving process runs, oldest first: the registry's columns (its
    pid's start time left out) and ``alerts``, the names of its firing rules. One whose stop
    was asked for reads "stopping" at once, before its process notices (reads the registry:
    call from a worker thread)."""
    from workbench.infer.registry import COLUMNS, entries, stop_path

    out = []
    for entry in entries():
        row = {key: cell(entry.get(key)) for key in COLUMNS}
        if stop_path(entry["id"]).exists():
            row["status"] = "stopping"
        alerts = entry.get("alerts")
        row["alerts"] = [str(name) for name in alerts] if isinstance(alerts, list) else []
        out.append(row)
    return out


def stop(endpoint_id: str) -> None:
    """Ask endpoint ``endpoint_id`` to stop through its stop file; 404 for an id no listed
    endpoint has."""
    from workbench.infer.registry import request_stop

    if not request_stop(endpoint_id):
        raise ApiError(404, f"endpoint id {endpoint_id!r} is not in the registry (its process "
                            "may have ended); GET endpoints lists them")
