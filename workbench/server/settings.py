"""The server extension's settings, set like any Jupyter server option:
``c.WorkbenchServer.lakes = {"default": "/data/lake", "archive": "s3://bucket/lake"}``."""

from __future__ import annotations

from traitlets import Dict, Float, Integer, Unicode, default, validate
from traitlets.config import Configurable


class WorkbenchServer(Configurable):
    """Which lakes the sidebar lists, where runs are found, and how much work the server runs
    at once."""

    lakes = Dict(key_trait=Unicode(), value_trait=Unicode(), help=(
        "Lakes the sidebar lists, by name: a directory or an object-store URL each. Default: "
        '{"default": $WORKBENCH_LAKE or $WORKBENCH_HOME/lake}, read when the server starts.'),
    ).tag(config=True)
    storage_options = Dict(key_trait=Unicode(), value_trait=Dict(), help=(
        "Storage options (credentials, endpoint) of object-store lakes, by lake name."),
    ).tag(config=True)
    runs_root = Unicode(None, allow_none=True, help=(
        "The directory of training runs to list; default $WORKBENCH_HOME/runs.")).tag(config=True)
    task_workers = Integer(2, min=1, help=(
        "Ingest and profile tasks that run at once (each on the task cluster); more wait "
        "queued.")).tag(config=True)
    read_workers = Integer(8, min=1, help=(
        "Threads that serve reads (lake listings, table details, registry probes, runs), so "
        "that nothing blocks the server's event loop.")).tag(config=True)
    lake_timeout = Float(10.0, min=0.1, help=(
        "Seconds a lake's listing may take before its row shows an error (the listing goes "
        "on, and the next request waits for the same one).")).tag(config=True)
    listing_fresh = Float(1.0, min=0.0, help=(
        "Seconds a listing (clusters, tables, runs, dashboards, endpoints) answers every request "
        "with the same result, so that many open sidebars cost one listing; 0 lists on every "
        "request."),
    ).tag(config=True)
    tasks_kept = Integer(200, min=1, help=(
        "Finished tasks kept for GET tasks/{id}; older ones are forgotten first."),
    ).tag(config=True)
    sample_interval = Float(1.0, min=0.05, help=(
        "Seconds between resource samples while clients ask.")).tag(config=True)
    sample_idle = Float(10.0, min=0.1, help=(
        "Seconds after the last GET resources when the sampler goes to sleep.")).tag(config=True)

    @default("lakes")
    def _default_lakes(self) -> dict[str, str]:
        from workbench.home import default_lake_path

        return {"default": default_lake_path()}

    @validate("lakes")
    def _check_lakes(self, proposal: dict) -> dict[str, str]:
        lakes = proposal["value"]
        if not lakes:
            raise ValueError("WorkbenchServer.lakes is empty: name at least one lake, e.g. "
                             '{"default": "/path/to/lake"}')
        return lakes
