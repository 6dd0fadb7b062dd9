"""The dashboard server: Voila's standalone app, made for a stakeholder on a laptop or a link.

What it adds to Voila (each a hook Voila's app offers: settings, handlers, the kernel pool):

- responses gzipped (tornado's ``compress_response``, which Voila applies too late to take
  effect): a page's 10 MB of JavaScript, plotly.js included, reaches the browser as 3 MB;
- the folder's index replaced by a landing page of the published notebooks only (`index`), and
  no other notebook or listing of the folder served;
- preheated pages kept fresh: Voila renders each notebook ahead in a pooled kernel, so a visitor
  gets a page at once, but keeps it however old. Every `tick` seconds a pooled page older than
  ``fresh`` seconds is rendered again, unless the lake has not changed since (a local lake's
  Delta logs; a lake on object storage counts as changed). The new page replaces the old one
  once it is ready, so no visitor waits; a page is never older than ``fresh + tick`` seconds
  plus one rendering.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from pathlib import Path
from typing import Any

from tornado import web
from tornado.ioloop import PeriodicCallback
from traitlets import Float, List, Unicode
from voila.app import Voila
from voila.handler import BaseVoilaHandler
from voila.tornado.contentshandler import VoilaContentsHandler
from voila.tornado.handler import TornadoVoilaHandler
from voila.tornado.treehandler import TornadoVoilaTreeHandler

from workbench.home import default_lake_path
from workbench.publish.index import entry, index_html, key_number

MAX_TICK_S = 5.0


class DashboardApp(Voila):
    """Voila serving ``notebooks`` (paths relative to its root folder) with a landing page."""

    notebooks = List(Unicode(), help="The published notebooks, relative to the root folder.")
    title = Unicode("Dashboards", help="The landing page's heading.")
    fresh = Float(60.0, help="Seconds after which a preheated page is rendered again when the "
                             "lake has changed.")

    def init_settings(self) -> dict[str, Any]:
        # Preheat the published notebooks only, not every notebook under the folder.
        self.config.VoilaKernelManager.preheat_denylist = [
            _others(self.root_dir, self.notebooks)]
        return {**super().init_settings(), "compress_response": True}

    def init_handlers(self) -> list:
        index = (self.server_url, IndexHandler, {
            "voila_configuration": self.voila_configuration, "title": self.title,
            "entries": [entry(Path(self.root_dir), Path(self.root_dir, n))
                        for n in self.notebooks]})
        handlers = []
        for pattern, handler, *kwargs in super().init_handlers():
            if handler is TornadoVoilaTreeHandler and pattern == self.server_url:
                handlers.append(index)
            elif handler is TornadoVoilaHandler:
                handlers.append((pattern, ListedVoilaHandler,
                                 {**kwargs[0], "listed": set(self.notebooks)}))
            elif handler not in (TornadoVoilaTreeHandler, VoilaContentsHandler):
                handlers.append((pattern, handler, *kwargs))
        return handlers

    def listen(self) -> None:
        if self.voila_configuration.preheat_kernel:
            PoolRefresher(self.kernel_manager, self.fresh).start()
        super().listen()


def _others(root: str, notebooks: list[str]) -> str:
    """A regular expression matching every notebook path under ``root`` but ``notebooks``
    (Voila matches it against the paths it finds, ``root`` included)."""
    import re

    names = "|".join(re.escape(n) for n in notebooks)
    return f"^(?!(?:{re.escape(root.rstrip('/'))}/)?(?:{names})$)"


class IndexHandler(BaseVoilaHandler):
    """The landing page; its key numbers are read from the lake on each visit."""

    def initialize(self, **kwargs: Any) -> None:
        super().initialize(**kwargs)
        self.title = kwargs["title"]
        self.entries = kwargs["entries"]

    @web.authenticated
    def get(self) -> None:
        lake = _open_lake()
        keys = [key_number(e.key, lake) for e in self.entries]
        self.finish(index_html(self.title, self.entries, keys, self.base_url))


def _open_lake() -> Any:
    """The lake the dashboards read, or None when it cannot be opened (the page still lists
    the dashboards, without numbers)."""
    from workbench.lake import Lake

    try:
        return Lake(default_lake_path())
    except Exception:  # the numbers are extras; the list must show
        return None


class ListedVoilaHandler(TornadoVoilaHandler):
    """Voila's page handler, for the published notebooks only (others answer 404)."""

    def initialize(self, **kwargs: Any) -> None:
        self.listed = kwargs.pop("listed")
        super().initialize(**kwargs)

    async def get(self, path: str | None = None) -> None:
        if path not in self.listed:
            raise web.HTTPError(404)
        await super().get(path)


class PoolRefresher:
    """Renders a preheated page again once it is older than ``fresh`` seconds and the lake has
    changed; the old page is served until the new one is ready."""

    def __init__(self, kernel_manager: Any, fresh: float) -> None:
        self.km = kernel_manager
        self.fresh = fresh
        self.tick = min(MAX_TICK_S, max(fresh / 4, 0.5))
        self.seen: dict[asyncio.Task, tuple[float, Any]] = {}  # pooled page: (born, lake stamp)
        self.stamp = lake_stamp(default_lake_path())

    def start(self) -> None:
        PeriodicCallback(self.check, self.tick * 1000).start()

    def check(self) -> None:
        now, previous, self.stamp = time.monotonic(), self.stamp, lake_stamp(default_lake_path())
        # Voila keeps its pools, per notebook, in `_pools` (a list of tasks, oldest first, that
        # `get_rendered_notebook` pops from the front); it has no public API for them.
        for name, pool in list(self.km._pools.items()):
            for task in list(pool):
                # A page first seen now was rendered after the last check: it holds the lake
                # as of then at least.
                born, stamp = self.seen.setdefault(task, (now, previous))
                if (not task.done() or task.cancelled() or task.exception() is not None
                        or now - born < self.fresh):
                    continue
                if stamp is not None and stamp == self.stamp:
                    self.seen[task] = (now, stamp)  # the lake has not changed: still current
                else:
                    self._replace(name, pool, task)
        live = {t for pool in self.km._pools.values() for t in pool}
        self.seen = {t: v for t, v in self.seen.items() if t in live}

    def _replace(self, name: str, pool: list, stale: asyncio.Task) -> None:
        pool.remove(stale)
        self.km.fill_if_needed(delay=0, notebook_name=name)
        pool.insert(0, stale)  # served while the new page renders
        self.seen[stale] = (float("inf"), None)  # being replaced: not checked again

        def retire(new: asyncio.Task) -> None:
            if new.cancelled() or new.exception() is not None:  # no kernel: keep the old page
                if new in pool:
                    pool.remove(new)
                self.seen[stale] = (time.monotonic(), None)  # and try again after `fresh`
            elif stale in pool:
                pool.remove(stale)
                kernel_id = stale.result()["kernel_id"]
                asyncio.ensure_future(self.km.shutdown_kernel(kernel_id))

        pool[-1].add_done_callback(retire)


def lake_stamp(uri: str) -> tuple | None:
    """What changes whenever a local lake does (the modification times of its folder and of its
    tables' Delta logs, where each commit adds a file); None for a lake on object storage,
    which is treated as always changed (listing it every few seconds would cost requests)."""
    if "://" in uri and not uri.startswith("file://"):
        return None
    root = Path(uri.removeprefix("file://"))
    stamps = []
    for path in [root, *root.glob("*/_delta_log")]:
        with contextlib.suppress(OSError):  # a table removed between glob and stat
            stamps.append((os.fspath(path), path.stat().st_mtime_ns))
    return tuple(stamps)
