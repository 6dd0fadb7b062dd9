"""What one Jupyter server's extension holds: its settings, the lakes' listings, the task and
read threads, the sampler, and the clusters and dashboards it started."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

from workbench.server.clusters import ClusterService
from workbench.server.dashboards import DashboardService
from workbench.server.errors import ApiError
from workbench.server.listings import LakeListing
from workbench.server.resources import Sampler
from workbench.server.runs import RunListing
from workbench.server.tasks import Tasks

if TYPE_CHECKING:
    from workbench.lake import Lake
    from workbench.server.settings import WorkbenchServer

T = TypeVar("T")


class ServerState:
    """The extension's services for one server (``web_app.settings["workbench"]``)."""

    def __init__(self, settings: WorkbenchServer, root_dir: str, allow_hidden: bool) -> None:
        self.settings = settings
        self.root_dir = os.path.realpath(root_dir)
        self.allow_hidden = allow_hidden
        self.lakes: dict[str, str] = dict(settings.lakes)
        self.listings = {name: LakeListing(uri, settings.storage_options.get(name))
                         for name, uri in self.lakes.items()}
        self.reads = ThreadPoolExecutor(settings.read_workers,
                                        thread_name_prefix="workbench read")
        self.tasks = Tasks(settings.task_workers, settings.tasks_kept, self.forget)
        self.clusters = ClusterService()
        self.dashboards = DashboardService()
        self.runs = RunListing(settings.runs_root)
        self.sampler = Sampler(settings.sample_interval, settings.sample_idle)
        # Listings shared by the requests that come within `listing_fresh` s of one being
        # started (and by those that come while it runs, even past a lake's timeout): by key.
        self._shared: dict[str, tuple[float, asyncio.Future]] = {}
        self.closed = False

    @property
    def default_lake(self) -> str:
        """The lake a request names none of: "default" when configured, else the first."""
        return "default" if "default" in self.lakes else next(iter(self.lakes))

    def lake_name(self, value: Any, argument: str, status: int = 400) -> str:
        """A configured lake's name (``value``, or the default one when None); ``status``
        (400, or 404 for a lake named in a query) naming the configured ones otherwise."""
        if value is None:
            return self.default_lake
        if not isinstance(value, str) or value not in self.lakes:
            raise ApiError(status, f"{argument}={value!r} is not a configured lake; the "
                                   f"server's lakes are {sorted(self.lakes)} "
                                   "(c.WorkbenchServer.lakes)")
        return value

    def lake(self, name: str) -> Lake:
        """The configured lake ``name`` (a name from `lake_name`)."""
        from workbench.lake import Lake

        return Lake(self.lakes[name], storage_options=self.settings.storage_options.get(name))

    def read(self, fn: Callable[..., T], *args: Any) -> asyncio.Future[T]:
        """``fn(*args)`` on a read thread, so the event loop never waits on disk or network:
        a future to await (or to share, as a lake's listing is)."""
        return asyncio.get_running_loop().run_in_executor(self.reads, fn, *args)

    def shared(self, key: str, fn: Callable[[], T]) -> asyncio.Future[T]:
        """``fn()`` on a read thread, its answer shared by every request for ``key`` while it
        runs and for `listing_fresh` seconds after it started: however many sidebars poll, a
        listing is computed at most once per window (a failed one is not kept)."""
        now = time.monotonic()
        started, future = self._shared.get(key, (0.0, None))
        if future is None or (future.done() and (
                now - started >= self.settings.listing_fresh or future.cancelled()
                or future.exception() is not None)):
            future = self.read(fn)
            future.add_done_callback(lambda f: f.cancelled() or f.exception())  # retrieved
            self._shared[key] = (now, future)
        return future

    def forget(self) -> None:
        """Drop the shared listings: something changed (a POST or DELETE answered, a task
        ended), so the next request lists afresh. Safe from any thread."""
        self._shared.clear()

    def close(self) -> None:
        """Stop the sampler and the threads, the dashboards this server published and the
        clusters it started or joined (idempotent; at exit)."""
        if self.closed:
            return
        self.closed = True
        self.sampler.close()
        self.tasks.close()
        self.reads.shutdown(wait=False, cancel_futures=True)
        self.dashboards.close()
        self.clusters.close()
