"""The REST routes (docs/rest-api.md): parse the request, call the service, answer JSON.

Every verb of every handler is ``@tornado.web.authenticated``; mutating ones are also
``@authorized`` for the resource ``workbench``; XSRF checks stay as jupyter_server has them (a
cookie-authenticated POST or DELETE needs the ``_xsrf`` token). Work that reads disk, network
or the cluster runs on the server state's threads, never on the event loop.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from http.client import responses
from typing import TYPE_CHECKING, Any

import tornado.web
from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join
from tornado.web import HTTPError

from workbench.errors import describe
from workbench.server import endpoints, tables, tasks
from workbench.server.errors import ApiError

if TYPE_CHECKING:
    from workbench.server.state import ServerState

AUTH_RESOURCE = "workbench"
PREVIEW_ROWS = 50
MAX_PREVIEW_ROWS = 1000
NOT_AUTHENTICATED = ("this request carries no valid token or login cookie: pass the server's "
                     "token (header 'Authorization: token ...') or log in to JupyterLab")
INGEST_FIELDS = {"paths", "table", "lake", "pii", "dedup"}
PUBLISH_FIELDS = {"notebook", "name", "lake"}


class WorkbenchHandler(APIHandler):
    """What every route shares: the server's state, JSON answers and ``{"message"}`` errors."""

    auth_resource = AUTH_RESOURCE

    @property
    def state(self) -> ServerState:
        return self.settings["workbench"]

    def answer(self, body: dict[str, Any] | str, status: int = 200) -> None:
        """Finish with ``body`` as JSON (already encoded when it is text)."""
        self.set_status(status)
        if isinstance(body, str):
            self.set_header("Content-Type", "application/json")
        self.finish(body if isinstance(body, str) else json.dumps(body, allow_nan=False))

    async def answer_listing(self, key: str, rows: Callable[[], list[dict[str, Any]]]) -> None:
        """``{key: rows()}``, listed and encoded once for every request in the sharing window
        (`ServerState.shared`): N sidebars polling cost one listing and one encoding."""
        self.answer(await self.state.shared(
            key, lambda: json.dumps({key: rows()}, allow_nan=False)))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """``{"message": ...}``: an `ApiError`'s text as written, jupyter_server's own refusals
        (authentication, XSRF) with their reason, any other failure named."""
        error = kwargs.get("exc_info", (None, None, None))[1]
        message = responses.get(status_code, "error")
        if isinstance(error, HTTPError):
            if error.log_message:
                message = error.log_message % error.args if error.args else error.log_message
            elif status_code == 403:
                message = NOT_AUTHENTICATED
        elif error is not None:
            message = f"the server failed: {describe(error)} (its log has the traceback)"
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"message": message}))

    def on_finish(self) -> None:
        """A change answered: the shared listings are read afresh by the next request."""
        if self.request.method in ("POST", "DELETE") and self.get_status() < 400:
            self.state.forget()

    def json_body(self, fields: set[str]) -> dict[str, Any]:
        """The request's JSON object, whose keys must be among ``fields``."""
        try:
            body = json.loads(self.request.body or b"null")
        except ValueError as err:
            raise ApiError(400, f"the request body is not JSON ({err}); send a JSON object"
                           ) from err
        if not isinstance(body, dict):
            raise ApiError(400, f"the request body must be a JSON object with {sorted(fields)}")
        unknown = sorted(set(body) - fields)
        if unknown:
            raise ApiError(400, f"unknown field(s) {unknown} in the body; it takes "
                                f"{sorted(fields)}")
        return body

    def query_lake(self) -> str:
        """The lake named by ``?lake=`` (404 when not configured), else the default one."""
        return self.state.lake_name(self.get_query_argument("lake", None), "lake", 404)


class ClustersHandler(WorkbenchHandler):
    @tornado.web.authenticated
    async def get(self) -> None:
        await self.answer_listing("clusters", self.state.clusters.rows)


class ClusterHandler(WorkbenchHandler):
    @tornado.web.authenticated
    @authorized
    async def delete(self, cluster_id: str) -> None:
        await self.state.read(self.state.clusters.stop, cluster_id)
        self.answer({"stopped": cluster_id})


class TablesHandler(WorkbenchHandler):
    @tornado.web.authenticated
    async def get(self) -> None:
        chosen = self.get_query_argument("lake", None)
        names = [self.query_lake()] if chosen is not None else list(self.state.lakes)
        self.answer({"lakes": list(await asyncio.gather(*map(self._lake, names)))})

    async def _lake(self, name: str) -> dict[str, Any]:
        """One lake's row: its tables, or its error when it cannot be listed in time."""
        state = self.state
        row: dict[str, Any] = {"name": name, "uri": state.lakes[name], "error": None,
                               "tables": []}
        listing = state.shared(f"tables {name}", state.listings[name].rows)
        timeout = state.settings.lake_timeout
        try:
            row["tables"] = await asyncio.wait_for(asyncio.shield(listing), timeout)
        except asyncio.TimeoutError:
            row["error"] = (f"listing the lake took longer than {timeout:g} s (is its storage "
                            "reachable?); it goes on, ask again later")
        except Exception as err:  # a lake that cannot be listed is that lake's error alone
            row["error"] = describe(err)
        return row

    @tornado.web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.json_body(INGEST_FIELDS)
        state = self.state
        lake_name = state.lake_name(body.get("lake"), "lake")
        lake = await state.read(state.lake, lake_name)
        paths, table, pii, dedup = await state.read(
            tables.check_ingest, state.root_dir, state.allow_hidden, body.get("paths"),
            body.get("table"), body.get("pii"), body.get("dedup"), lake)
        task = state.tasks.submit(
            "ingest", f"ingest {len(paths)} file(s) into {lake_name}/{table}",
            lambda task: tasks.ingest(task, state.clusters, lake, paths, table, pii, dedup))
        self.answer({"task": task.id}, 202)


class TableHandler(WorkbenchHandler):
    @tornado.web.authenticated
    async def get(self, name: str) -> None:
        lake_name = self.query_lake()
        text = self.get_query_argument("rows", str(PREVIEW_ROWS))
        try:
            rows = int(text)
        except ValueError:
            rows = -1
        if not 0 <= rows <= MAX_PREVIEW_ROWS:
            raise ApiError(400, f"rows={text!r}: give a whole number from 0 to "
                                f"{MAX_PREVIEW_ROWS}")
        lake = await self.state.read(self.state.lake, lake_name)
        self.answer(await self.state.read(tables.detail, lake, lake_name, name, rows))


class TableProfileHandler(WorkbenchHandler):
    @tornado.web.authenticated
    @authorized
    async def post(self, name: str) -> None:
        state = self.state
        lake_name = self.query_lake()
        lake = await state.read(state.lake, lake_name)
        await state.read(tables.open_table, lake, name)  # 404 now, not in a failed task
        task = state.tasks.submit("profile", f"profile {lake_name}/{name}",
                                  lambda task: tasks.profile(task, state.clusters, lake, name))
        self.answer({"task": task.id}, 202)


class SniffHandler(WorkbenchHandler):
    @tornado.web.authenticated
    async def get(self) -> None:
        state = self.state
        self.answer(await state.read(tables.sniff, state.root_dir, state.allow_hidden,
                                     self.get_query_argument("path", None)))


class TaskHandler(WorkbenchHandler):
    @tornado.web.authenticated
    async def get(self, task_id: str) -> None:
        task = self.state.tasks.find(task_id)
        if task is None:
            raise ApiError(404, f"task id {task_id!r} is unknown to this server (tasks are "
                                "kept while the server runs); pass an id a POST answered")
        self.answer(task.row())


class RunsHandler(WorkbenchHandler):
    @tornado.web.authenticated
    async def get(self) -> None:
        await self.answer_listing("runs", self.state.runs.rows)


class RunHandler(WorkbenchHandler):
    @tornado.web.authenticated
    async def get(self, run_id: str) -> None:
        self.answer(await self.state.read(self.state.runs.detail, run_id))


class RunStopHandler(WorkbenchHandler):
    @tornado.web.authenticated
    @authorized
    async def post(self, run_id: str) -> None:
        await self.state.read(self.state.runs.stop, run_id)
        self.answer({"stopping": run_id}, 202)


class DashboardsHandler(WorkbenchHandler):
    @tornado.web.authenticated
    async def get(self) -> None:
        await self.answer_listing("dashboards", self.state.dashboards.rows)

    @tornado.web.authenticated
    @authorized
    async def post(self) -> None:
        state = self.state
        body = self.json_body(PUBLISH_FIELDS)
        name = body.get("name")
        if name is not None and (not isinstance(name, str) or not name.strip()):
            raise ApiError(400, f"name: give the dashboard's name as text, or leave it out to "
                                f"use the notebook's (got {name!r})")
        lake_name = state.lake_name(body.get("lake"), "lake")
        row = await state.read(state.dashboards.publish, state.root_dir, state.allow_hidden,
                               body.get("notebook"), name, state.lakes[lake_name])
        self.answer(row, 201)


class DashboardHandler(WorkbenchHandler):
    @tornado.web.authenticated
    @authorized
    async def delete(self, dashboard_id: str) -> None:
        await self.state.read(self.state.dashboards.stop, dashboard_id)
        self.answer({"stopped": dashboard_id})


class EndpointsHandler(WorkbenchHandler):
    @tornado.web.authenticated
    async def get(self) -> None:
        await self.answer_listing("endpoints", endpoints.rows)


class EndpointHandler(WorkbenchHandler):
    @tornado.web.authenticated
    @authorized
    async def delete(self, endpoint_id: str) -> None:
        await self.state.read(endpoints.stop, endpoint_id)
        self.answer({"stopping": endpoint_id}, 202)


class ResourcesHandler(WorkbenchHandler):
    @tornado.web.authenticated
    async def get(self) -> None:
        self.answer(await self.state.read(self.state.sampler.snapshot))


ROUTES: list[tuple[str, type[WorkbenchHandler]]] = [
    ("clusters", ClustersHandler),
    (r"clusters/(?P<cluster_id>[^/]+)", ClusterHandler),
    ("tables", TablesHandler),
    (r"tables/(?P<name>[^/]+)", TableHandler),
    (r"tables/(?P<name>[^/]+)/profile", TableProfileHandler),
    ("sniff", SniffHandler),
    (r"tasks/(?P<task_id>[^/]+)", TaskHandler),
    ("runs", RunsHandler),
    (r"runs/(?P<run_id>[^/]+)", RunHandler),
    (r"runs/(?P<run_id>[^/]+)/stop", RunStopHandler),
    ("dashboards", DashboardsHandler),
    (r"dashboards/(?P<dashboard_id>[^/]+)", DashboardHandler),
    ("endpoints", EndpointsHandler),
    (r"endpoints/(?P<endpoint_id>[^/]+)", EndpointHandler),
    ("resources", ResourcesHandler),
]


def routes(base_url: str) -> list[tuple[str, type[WorkbenchHandler]]]:
    """The handlers under ``{base_url}workbench/api/``."""
    api = url_path_join(base_url, "workbench", "api")
    return [(url_path_join(api, pattern), handler) for pattern, handler in ROUTES]
