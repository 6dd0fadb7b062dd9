"""GET endpoints and DELETE endpoints/{id} (docs/rest-api.md) through a real Jupyter server
(pytest-jupyter) with the extension enabled: served model endpoints as their registry lists
them, stopped through their stop file; unknown ids 404; nothing answered or written without a
token, or without the right to change the workbench."""

from __future__ import annotations

import json
import os
import time

import psutil
import pytest
from jupyter_server.auth import Authorizer
from pytest_jupyter.jupyter_server import *  # noqa: F403  (its fixtures, for this module only)
from traitlets.config import Config

from workbench.infer import registry

pytestmark = pytest.mark.timeout(60)

SERVER = {"ServerApp": {"jpserver_extensions": {"workbench.server": True}},
          # Each request lists afresh: the tests change the registry from outside the server.
          "WorkbenchServer": {"listing_fresh": 0.0}}


@pytest.fixture
def jp_server_config():
    return Config(SERVER)


@pytest.fixture
def call(jp_serverapp, jp_fetch, jp_asyncio_loop):
    """``call("GET", "endpoints")`` -> (status, JSON body); ``token=False`` sends none. The
    extension's threads are stopped after the test."""

    def fetch(method: str, *parts: str, token: bool = True) -> tuple[int, dict]:
        headers = {} if token else {"Authorization": ""}
        response = jp_asyncio_loop.run_until_complete(jp_fetch(
            "workbench", "api", *parts, method=method, headers=headers, raise_error=False))
        assert response.headers["Content-Type"].startswith("application/json")
        return response.code, json.loads(response.body)

    yield fetch
    jp_serverapp.web_app.settings["workbench"].close()


def serving(endpoint_id: str, **fields) -> dict:
    """Register an endpoint "served" by this process (alive for the registry), as the serving
    side writes it, with ``fields`` overriding its figures."""
    entry = {"id": endpoint_id, "url": f"http://127.0.0.1:8100/{endpoint_id}",
             "engine": "onnxruntime", "model": "demo", "status": "serving",
             "requests_per_s": 412.5, "p99_ms": 3.25, "errors": 1, "requests": 9000,
             "max_batch": 32, "max_delay_ms": 5.0, "host": "127.0.0.1", "port": 8100,
             "pid": os.getpid(), "pid_created": psutil.Process().create_time(),
             "created": time.time(), **fields}
    registry.register(entry)
    return entry


def test_endpoints_are_listed_with_their_figures_and_firing_alerts(call):
    assert call("GET", "endpoints") == (200, {"endpoints": []})
    first = serving("ep1", created=time.time() - 60, alerts=["p99_above_target"])
    serving("ep2", p99_ms=float("nan"), requests_per_s=None)  # nothing measured yet
    code, body = call("GET", "endpoints")
    assert code == 200
    rows = body["endpoints"]
    assert [row["id"] for row in rows] == ["ep1", "ep2"]  # oldest first
    expected = {k: v for k, v in first.items() if k != "pid_created"}
    assert rows[0] == expected
    assert rows[1]["p99_ms"] is None and rows[1]["requests_per_s"] is None
    assert rows[1]["alerts"] == []


def test_an_endpoint_whose_process_is_gone_is_not_listed(call):
    serving("gone", pid_created=psutil.Process().create_time() - 1000)  # a recycled pid
    assert call("GET", "endpoints") == (200, {"endpoints": []})


def test_delete_asks_the_endpoint_to_stop_through_its_stop_file(call):
    serving("ep1")
    assert call("DELETE", "endpoints", "ep1") == (202, {"stopping": "ep1"})
    assert registry.stop_path("ep1").exists()
    # Listed as stopping at once, before the serving process notices.
    assert call("GET", "endpoints")[1]["endpoints"][0]["status"] == "stopping"


def test_an_unknown_endpoint_is_404_and_nothing_is_written(call):
    serving("ep1")
    for endpoint_id in ("nope", "..", "ep1.json"):
        code, body = call("DELETE", "endpoints", endpoint_id)
        assert code == 404, body
        assert repr(endpoint_id) in body["message"], body
        assert "GET endpoints lists them" in body["message"]
    assert not list(registry.registry_dir().glob("*.stop"))


def test_without_a_token_nothing_is_listed_or_stopped(call):
    serving("ep1")
    code, body = call("GET", "endpoints", token=False)
    assert code == 403 and "token" in body["message"]
    code, body = call("DELETE", "endpoints", "ep1", token=False)
    assert code == 403 and "_xsrf" in body["message"]  # jupyter_server's XSRF check first
    assert not registry.stop_path("ep1").exists()


class ReadOnly(Authorizer):
    """A deployment's authorizer that lets users read the workbench but change nothing."""

    def is_authorized(self, handler, user, action, resource):
        return not (resource == "workbench" and action == "write")


@pytest.mark.parametrize("jp_server_config", [Config({
    **SERVER, "ServerApp": {**SERVER["ServerApp"], "authorizer_class": ReadOnly}})])
def test_stopping_is_authorized_for_the_workbench_resource(call):
    serving("ep1")
    assert call("GET", "endpoints")[1]["endpoints"][0]["id"] == "ep1"
    code, body = call("DELETE", "endpoints", "ep1")
    assert code == 403
    assert body["message"] == "User is not authorized to write on resource: workbench."
    assert not registry.stop_path("ep1").exists()
