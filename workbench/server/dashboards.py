"""GET/POST/DELETE dashboards: Voila dashboards as `wb.dashboards()` lists them ("running" or
"stopped" as the registry's probe finds them), published and stopped by this server.

The server keeps the `Dashboard` handles of what it published (it owns those Voila processes,
which stop with it); a dashboard another process published is listed but stopping it is refused.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from workbench.server.errors import ApiError
from workbench.server.paths import existing_file

if TYPE_CHECKING:
    from workbench.publish import Dashboard

FIELDS = ("id", "name", "status", "url", "notebook", "lake", "port", "created")


class DashboardService:
    """The registry's dashboards, and the ones this server published."""

    def __init__(self) -> None:
        self._mine: dict[str, Dashboard] = {}
        self._lock = threading.Lock()

    def rows(self) -> list[dict[str, Any]]:
        """Every dashboard whose publisher runs, oldest first, with its status (probes each: call
        from a worker thread)."""
        from workbench.publish.registry import entries

        return [{k: entry.get(k) for k in FIELDS} for entry in entries()]

    def publish(self, root: str, allow_hidden: bool, notebook: Any, name: str | None,
                lake: str) -> dict[str, Any]:
        """Serve the client's ``notebook`` (a path relative to ``root``) with `wb.publish` on
        ``lake`` and return its row (blocks until Voila answers: call from a worker thread)."""
        from workbench.publish import PublishError, publish

        path = existing_file(root, notebook, "notebook", suffixes=(".ipynb",),
                             allow_hidden=allow_hidden)
        try:
            dashboard = publish(path, name=name, lake=lake)
        except PublishError as err:
            raise ApiError(400, str(err)) from err
        with self._lock:
            self._mine[dashboard.id] = dashboard
        return {"id": dashboard.id, "name": dashboard.name, "status": dashboard.status,
                "url": dashboard.url, "notebook": str(dashboard.notebook), "lake": dashboard.lake,
                "port": dashboard.port, "created": dashboard.created}

    def stop(self, dashboard_id: str) -> None:
        """Stop a dashboard this server published: 409 for one another process owns, 404 for an
        id no listed dashboard has."""
        from workbench.publish.registry import entries

        with self._lock:
            mine = self._mine.pop(dashboard_id, None)
        if mine is not None:
            mine.stop()
            return
        for entry in entries():
            if entry["id"] == dashboard_id:
                raise ApiError(409, f"dashboard {dashboard_id} ({entry['name']!r}) was published "
                                    f"by another process (pid {entry['pid']}), which owns it: "
                                    "stop it there")
        raise ApiError(404, f"dashboard id {dashboard_id!r} is not in the registry; GET "
                            "dashboards lists them")

    def close(self) -> None:
        """Stop every dashboard this server published."""
        with self._lock:
            mine = list(self._mine.values())
            self._mine.clear()
        for dashboard in mine:
            dashboard.stop()
