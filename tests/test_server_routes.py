"""The REST API of docs/rest-api.md through a real Jupyter server (pytest-jupyter) with the
extension enabled, under a base URL that needs escaping, over a real lake, Dask cluster,
training job and Voila dashboards.

Security first: every registered route and verb refuses a request without a token; a
cookie-authenticated POST needs XSRF; client paths that leave the root are refused before
anything is opened (the targets are FIFOs, on which any open() would hang); unknown ids are 404.
"""

from __future__ import annotations

import json
import os
import re
import textwrap
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import nbformat
import pandas as pd
import pytest
import tornado.web
from jupyter_server.auth import Authorizer
from pytest_jupyter.jupyter_server import *  # noqa: F403  (its fixtures, for this module only)
from traitlets.config import Config

import workbench as wb
from workbench.compute.probe import reachable
from workbench.server.handlers import WorkbenchHandler

pytestmark = pytest.mark.timeout(120)

PEOPLE = """id,name,email,age
1,ann,ann@example.com,34
2,bob,bob@example.com,x
3,cat,cat@example.com,28
3,cat,cat@example.com,28
4,dan,dan@example.com,41
5,eve,eve@example.com,39
"""
VERBS = ("get", "post", "put", "patch", "delete")
WAIT_S = 60


# ---------------------------------------------------------------------------------------------
# The server and a client for it.


class SlowS3(BaseHTTPRequestHandler):
    """An object store that takes its time and then refuses: a lake that lists slowly."""

    delay = 1.5
    hits: list[str] = []

    def do_GET(self):  # noqa: N802 (http.server's name)
        SlowS3.hits.append(self.path)
        time.sleep(self.delay)
        body = b"<Error><Code>AccessDenied</Code><Message>a slow lake</Message></Error>"
        self.send_response(403)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def slow_s3(monkeypatch):
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"}.items():
        monkeypatch.setenv(key, value)
    SlowS3.hits = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), SlowS3)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"s3://bucket/lake?endpoint_override=127.0.0.1:{server.server_address[1]}&scheme=http"
    server.shutdown()
    server.server_close()


@pytest.fixture
def lake_dir(tmp_path):
    return tmp_path / "lake"


@pytest.fixture
def not_a_lake(tmp_path):
    path = tmp_path / "not-a-lake.txt"
    path.write_text("a file where a lake should be")
    return path


@pytest.fixture
def jp_server_config(lake_dir, not_a_lake, slow_s3):
    return Config({
        "ServerApp": {"jpserver_extensions": {"workbench.server": True}},
        "WorkbenchServer": {"lakes": {"default": str(lake_dir), "broken": str(not_a_lake),
                                      "slow": slow_s3},
                            # Each request lists afresh: these tests change the lake, the
                            # registry and the runs from outside the server and look at once.
                            "lake_timeout": 0.5, "sample_interval": 0.1,
                            "listing_fresh": 0.0}})


@pytest.fixture
def state(jp_serverapp):
    """The extension's state in this server; its threads, clusters and dashboards stopped after
    the test."""
    state = jp_serverapp.web_app.settings["workbench"]
    yield state
    state.close()


@pytest.fixture
def root(jp_root_dir):
    (jp_root_dir / "data").mkdir()
    (jp_root_dir / "data" / "people.csv").write_text(PEOPLE)
    return Path(jp_root_dir)


class Api:
    """Synchronous calls of the API: ``api("GET", "tables", expect=200)`` -> the JSON body."""

    def __init__(self, client, loop, base_url: str, token: str) -> None:
        self.client, self.loop, self.base_url, self.token = client, loop, base_url, token

    def url(self, *parts: str, params: dict | None = None) -> str:
        path = "/".join(urllib.parse.quote(p, safe="") for p in parts)
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        return f"{self.base_url}workbench/api/{path}{query}"

    def fetch(self, method: str, url: str, body=None, headers: dict | None = None,
              token: bool = True):
        headers = dict(headers or {})
        headers["Authorization"] = f"token {self.token}" if token else ""
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
        if body is None and method in ("POST", "PUT", "PATCH"):
            body = b""
        return self.loop.run_until_complete(self.client.fetch(
            url, method=method, body=body, headers=headers, raise_error=False,
            request_timeout=WAIT_S, allow_nonstandard_methods=True))

    def __call__(self, method: str, *parts: str, body=None, params=None, expect: int = 200):
        response = self.fetch(method, self.url(*parts, params=params), body)
        assert response.code == expect, (response.code, response.body)
        assert response.headers["Content-Type"].startswith("application/json")
        return json.loads(response.body)

    def wait_task(self, task_id: str) -> dict:
        deadline = time.monotonic() + WAIT_S
        while True:
            task = self("GET", "tasks", task_id)
            if task["state"] in ("done", "failed") or time.monotonic() > deadline:
                return task
            time.sleep(0.1)


@pytest.fixture
def api(state, http_server_client, jp_asyncio_loop, jp_base_url, jp_serverapp):
    return Api(http_server_client, jp_asyncio_loop, jp_base_url,
               jp_serverapp.identity_provider.token)


def workbench_routes(app) -> list[tuple[str, type]]:
    """(URL pattern, handler class) of every route this extension registered in the app."""
    found = []

    def walk(rules):
        for rule in rules:
            if hasattr(rule.target, "rules"):
                walk(rule.target.rules)
            elif isinstance(rule.target, type) and issubclass(rule.target, WorkbenchHandler):
                found.append((rule.matcher.regex.pattern, rule.target))

    walk(app.default_router.rules)
    return found


# ---------------------------------------------------------------------------------------------
# Security.


def test_every_route_and_verb_refuses_a_request_without_a_token(api, jp_serverapp, state):
    routes = workbench_routes(jp_serverapp.web_app)
    assert len(routes) == 15, routes
    checked = []
    for pattern, handler in routes:
        path = re.sub(r"\(\?P<\w+>[^)]*\)", "x", pattern).removesuffix("$")
        assert path.startswith(api.base_url + "workbench/api/")
        for verb in VERBS:
            if getattr(handler, verb) is getattr(tornado.web.RequestHandler, verb):
                continue  # not served: tornado answers 405 before anything else
            response = api.fetch(verb.upper(), path, body={"paths": ["x.csv"]}, token=False)
            assert response.code == 403, (verb, path, response.body)
            # A change without credentials is refused by jupyter_server's XSRF check first.
            message = json.loads(response.body)["message"]
            assert "token" in message if verb == "get" else "_xsrf" in message, message
            checked.append(f"{verb.upper()} {path.rsplit('/api/', 1)[1]}")
    assert len(checked) == 17, checked  # every route and verb of docs/rest-api.md
    assert state.tasks.find("x") is None and not state.listings["default"]._cache


def test_a_cookie_authenticated_change_needs_the_xsrf_token(api, root, state):
    response = api.fetch("GET", api.url("tables", params={"lake": "default"}))
    cookie = response.headers["Set-Cookie"].split(";")[0]  # the login cookie a browser keeps
    body = {"paths": ["data/people.csv"]}  # no table: a 400 once past authentication
    for method, parts in (("POST", ("tables",)), ("DELETE", ("clusters", "x"))):
        refused = api.fetch(method, api.url(*parts), body if method == "POST" else None,
                            headers={"Cookie": cookie}, token=False)
        assert refused.code == 403 and "_xsrf" in json.loads(refused.body)["message"]
    allowed = api.fetch("POST", api.url("tables"), body, token=False,
                        headers={"Cookie": f"{cookie}; _xsrf=c0ffee", "X-XSRFToken": "c0ffee"})
    assert allowed.code == 400, allowed.body  # authenticated and XSRF-checked: the body's turn
    assert "table=None" in json.loads(allowed.body)["message"]
    assert api("GET", "tables", params={"lake": "default"})["lakes"][0]["tables"] == []


class ReadOnly(Authorizer):
    """A deployment's authorizer that lets users read the workbench but change nothing."""

    def is_authorized(self, handler, user, action, resource):
        return not (resource == "workbench" and action == "write")


@pytest.mark.parametrize("jp_server_config", [Config({
    "ServerApp": {"jpserver_extensions": {"workbench.server": True},
                  "authorizer_class": ReadOnly}})])
def test_changes_are_authorized_for_the_workbench_resource(api, root):
    assert api("GET", "tables")["lakes"][0]["name"] == "default"
    for method, parts in (("POST", ("tables",)), ("POST", ("tables", "t", "profile")),
                          ("POST", ("runs", "r", "stop")), ("POST", ("dashboards",)),
                          ("DELETE", ("clusters", "c")), ("DELETE", ("dashboards", "d"))):
        message = api(method, *parts, body={} if method == "POST" else None,
                      expect=403)["message"]
        assert message == "User is not authorized to write on resource: workbench."


def test_client_paths_outside_the_root_are_refused_before_anything_is_opened(api, root,
                                                                              tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    for name in ("secret.csv", "secret.ipynb"):
        os.mkfifo(outside / name)  # opening it would block: the request would never answer
    (root / "link.csv").symlink_to(outside / "secret.csv")
    (root / "link.ipynb").symlink_to(outside / "secret.ipynb")
    (root / "linkdir").symlink_to(outside)
    cases = [
        (str(outside / "secret.csv"), 400, "is absolute"),
        ("../outside/secret.csv", 400, "leaves the server's root directory"),
        ("data/../../outside/secret.csv", 400, "leaves the server's root directory"),
        ("link.csv", 403, "resolves outside the server's root directory"),
        ("linkdir/secret.csv", 403, "resolves outside the server's root directory"),
        ("link.csv\x00.txt", 400, "null byte"),
        (".hidden/x.csv", 403, "hidden"),
    ]
    for path, status, reason in cases:
        message = api("GET", "sniff", params={"path": path}, expect=status)["message"]
        # tornado turns control characters in a query into spaces: then not a .csv name
        assert message.startswith("path: ") and (reason in message or "\x00" in path), message
        message = api("POST", "tables", body={"paths": ["data/people.csv", path],
                                              "table": "t"}, expect=status)["message"]
        assert message.startswith("paths[1]: ") and reason in message, message
        notebook = path.replace(".csv", ".ipynb")
        message = api("POST", "dashboards", body={"notebook": notebook},
                      expect=status)["message"]
        assert message.startswith("notebook: ") and reason.split()[0] in message, message
    assert api("GET", "tables", params={"lake": "default"})["lakes"][0]["tables"] == []
    assert api("GET", "dashboards")["dashboards"] == []


def test_unknown_ids_answer_404(api):
    for method, parts in [
        ("DELETE", ("clusters", "nope")), ("GET", ("tables", "nope")),
        ("POST", ("tables", "nope", "profile")), ("GET", ("tasks", "nope")),
        ("GET", ("runs", "nope")), ("POST", ("runs", "nope", "stop")),
        ("GET", ("runs", "../../etc")), ("DELETE", ("dashboards", "nope")),
    ]:
        message = api(method, *parts, expect=404)["message"]
        assert parts[1] in message, message
    message = api("GET", "tables", params={"lake": "nope"}, expect=404)["message"]
    assert "lake='nope' is not a configured lake" in message and "'default'" in message
    message = api("GET", "tables", "..", expect=400)["message"]  # a name that cannot be a table
    assert "not a valid table name" in message


# ---------------------------------------------------------------------------------------------
# Clusters.


def test_clusters_are_listed_owned_ones_stopped_joined_ones_refused(api, registered):
    rows = {row["id"]: row for row in api("GET", "clusters")["clusters"]}
    row = rows[registered.id]
    assert row["owned"] and row["kind"] == "cpu" and row["workers"] == 2
    assert row["address"] == registered.address and row["pid"] == os.getpid()
    assert isinstance(row["created"], float)

    second = wb.cluster(n_workers=1, threads_per_worker=1, dashboard=False, gpu=False)
    joined = wb.cluster(registered.address)  # a "remote" entry: joined, not started
    try:
        rows = {row["id"]: row for row in api("GET", "clusters")["clusters"]}
        assert rows[second.id]["owned"] and not rows[joined.id]["owned"]
        assert list(rows) == sorted(rows, key=lambda i: rows[i]["created"])  # oldest first

        message = api("DELETE", "clusters", joined.id, expect=409)["message"]
        assert "joined by address" in message and "stop it where it was started" in message
        assert api("DELETE", "clusters", second.id) == {"stopped": second.id}
        deadline = time.monotonic() + 30
        while reachable(second.address) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not reachable(second.address)  # its scheduler is gone, with its workers
        listed = {row["id"] for row in api("GET", "clusters")["clusters"]}
        assert second.id not in listed and joined.id in listed
        assert registered.client.submit(sum, [1, 2]).result() == 3  # the joined one runs on
    finally:
        joined.close()
        started = time.monotonic()
        second.close()  # the handle of a cluster stopped elsewhere closes without waiting
        assert time.monotonic() - started < 10


def test_listings_say_stopped_within_a_second_of_a_cluster_or_dashboard_going_silent(api):
    import psutil
    from distributed import Client

    from workbench.compute.registry import owner_fields
    from workbench.publish import registry

    def status(kind: str, entry_id: str) -> str | None:
        rows = {row["id"]: row for row in api("GET", kind)[kind]}
        return rows[entry_id]["status"] if entry_id in rows else None

    def within_a_second(kind: str, entry_id: str, expected: str | None) -> bool:
        deadline = time.monotonic() + 1
        while status(kind, entry_id) != expected:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    board = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    threading.Thread(target=board.serve_forever, daemon=True).start()
    port = board.server_address[1]
    registry.register({"id": "board", "name": "board", "url": f"http://127.0.0.1:{port}/",
                       "port": port, **owner_fields(), "server_pid": os.getpid(),
                       "server_created": psutil.Process().create_time(), "created": time.time()})
    cluster = wb.cluster(n_workers=1, threads_per_worker=1, processes=False, gpu=False)
    try:
        rows = {row["id"]: row for row in api("GET", "clusters")["clusters"]}
        assert rows[cluster.id]["status"] == "running" and rows[cluster.id]["dashboard_link"]
        assert status("dashboards", "board") == "running"

        with Client(cluster.address, set_as_default=False) as other:
            other.shutdown()
        board.shutdown()
        board.server_close()
        assert within_a_second("clusters", cluster.id, "stopped")
        assert within_a_second("dashboards", "board", "stopped")
        rows = {row["id"]: row for row in api("GET", "clusters")["clusters"]}
        assert rows[cluster.id]["dashboard_link"] is None  # a dead link is not offered

        # Stopping an owned cluster that has stopped already removes its entry.
        assert api("DELETE", "clusters", cluster.id) == {"stopped": cluster.id}
        assert status("clusters", cluster.id) is None
    finally:
        cluster.close()
        board.server_close()


# ---------------------------------------------------------------------------------------------
# Tables.


def test_tables_are_listed_a_broken_table_and_lakes_apart(api, lake, lake_dir):
    lake.ingest(pd.DataFrame({"x": [1, 2, 3]}), "alpha", progress=False)
    lake.ingest(pd.DataFrame({"y": [1.0]}), "beta", progress=False)
    lake.ingest(pd.DataFrame({"y": [2.0, 3.0]}), "beta", progress=False)
    broken = lake_dir / "gamma" / "_delta_log"
    broken.mkdir(parents=True)
    (broken / f"{0:020d}.json").write_text("this is not a Delta log\n")

    started = time.monotonic()
    lakes = {lk["name"]: lk for lk in api("GET", "tables")["lakes"]}
    assert time.monotonic() - started < 5  # the slow lake did not hold the others up
    assert list(lakes) == ["default", "broken", "slow"]
    assert "took longer than 0.5 s" in lakes["slow"]["error"] and lakes["slow"]["tables"] == []
    assert "is a file" in lakes["broken"]["error"] and lakes["broken"]["tables"] == []
    default = lakes["default"]
    assert default["error"] is None and default["uri"] == str(lake_dir)
    rows = {t["name"]: t for t in default["tables"]}
    assert list(rows) == ["alpha", "beta", "gamma"]
    assert rows["alpha"]["version"] == 0 and rows["alpha"]["rows"] == 3
    assert rows["beta"]["version"] == 1 and rows["beta"]["rows"] == 3
    assert rows["beta"]["columns"] == 1 and rows["beta"]["bytes"] > 0
    assert rows["beta"]["quarantined"] == 0 and rows["beta"]["error"] is None
    assert abs(rows["beta"]["updated"] - time.time()) < 300
    assert rows["gamma"]["error"] and rows["gamma"]["name"] == "gamma"
    assert all(rows["gamma"][k] is None for k in ("version", "rows", "bytes", "updated"))
    for name in ("alpha", "beta"):  # Lake.tables()'s numbers
        expected = lake.table_row(name)
        assert rows[name] == {**expected, "updated": expected["updated"].timestamp(),
                              "error": None}

    # The slow lake's listing, still running, is awaited again rather than started twice.
    assert api("GET", "tables", params={"lake": "slow"})["lakes"][0]["error"]
    assert len(SlowS3.hits) == 1

    lake.ingest(pd.DataFrame({"x": [4]}), "alpha", progress=False)  # a new log version
    only = api("GET", "tables", params={"lake": "default"})["lakes"]
    assert [lk["name"] for lk in only] == ["default"]
    again = {t["name"]: t for t in only[0]["tables"]}
    assert again["alpha"]["version"] == 1 and again["alpha"]["rows"] == 4
    assert again["beta"] == rows["beta"]  # unchanged: the cached row


def test_table_detail_schema_preview_history_quarantine_profile(api, lake, root, registered):
    lake.ingest(root / "data" / "people.csv", "people", progress=False)
    detail = api("GET", "tables", "people", params={"rows": "2"})
    assert detail["name"] == "people" and detail["lake"] == "default" and detail["version"] == 0
    assert [(c["name"], c["type"]) for c in detail["schema"]] == [
        ("id", "int64"), ("name", "string"), ("email", "string"), ("age", "int64")]
    assert detail["preview"]["columns"] == ["id", "name", "email", "age"]
    assert detail["preview"]["rows"] == [[1, "ann", "ann@example.com", 34],
                                         [3, "cat", "cat@example.com", 28]]
    (entry,) = detail["history"]
    assert entry["version"] == 0 and entry["operation"] and isinstance(entry["timestamp"], float)
    assert (entry["rows_in"], entry["rows_written"], entry["rows_quarantined"],
            entry["duplicates_dropped"]) == (6, 5, 1, 0)
    quarantine = detail["quarantine"]
    assert quarantine["total"] == 1 and len(quarantine["reasons"]) == 1
    assert quarantine["reasons"][0]["count"] == 1
    (bad,) = quarantine["rows"]
    assert bad["line"] == 3 and bad["column"] == "age" and "bob" in bad["raw"]
    assert detail["profile"] is None  # none stored yet for this version
    assert len(api("GET", "tables", "people")["preview"]["rows"]) == 5  # 50 by default
    message = api("GET", "tables", "people", params={"rows": "lots"}, expect=400)["message"]
    assert message.startswith("rows='lots'")

    task = api.wait_task(api("POST", "tables", "people", "profile", expect=202)["task"])
    assert task["state"] == "done" and task["kind"] == "profile", task
    assert task["result"] == {"table": "people", "version": 0, "rows": 5, "columns": 4}
    assert task["progress"] == {"done": 1, "total": 1}
    profile = api("GET", "tables", "people")["profile"]
    expected = lake.table("people").stored_profile()
    assert profile["version"] == 0 and profile["rows"] == 5
    stats = {row["column"]: row for row in profile["columns"]}
    assert list(stats) == ["id", "name", "email", "age"]
    assert stats["age"]["min"] == 28 and stats["age"]["max"] == 41 and stats["age"]["nulls"] == 0
    assert stats["age"]["mean"] == pytest.approx(expected.table.set_index("column").at[
        "age", "mean"])
    assert stats["name"]["distinct"] == 4 and stats["name"]["mean"] is None
    assert set(profile["figures"]) == set(expected.histograms) == {"id", "age"}
    bars = profile["figures"]["age"]["data"][0]
    assert bars["type"] == "bar" and "layout" in profile["figures"]["age"]
    assert bars["y"] == expected.histograms["age"].counts.tolist()  # plain lists, no bdata


def test_sniff_reads_a_header_as_an_ingest_would(api, root):
    pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}).to_parquet(root / "data" / "ab.parquet")
    sniffed = api("GET", "sniff", params={"path": "data/people.csv"})
    assert sniffed == {"path": "data/people.csv", "format": "csv", "columns": [
        {"name": "id", "type": "int64"}, {"name": "name", "type": "string"},
        {"name": "email", "type": "string"}, {"name": "age", "type": "int64"}]}
    sniffed = api("GET", "sniff", params={"path": "data/ab.parquet"})
    assert sniffed["format"] == "parquet" and [c["name"] for c in sniffed["columns"]] == ["a", "b"]
    for path, reason in [("data/none.csv", "does not exist"), ("data", "is not a"),
                         ("data/people.txt", "is not a")]:
        assert reason in api("GET", "sniff", params={"path": path}, expect=400)["message"]
    assert "give a path" in api("GET", "sniff", expect=400)["message"]


def test_ingest_runs_as_a_task_on_the_registered_cluster(api, root, registered, pii_key,
                                                         lake_dir, state):
    (root / "data" / "more.csv").write_text("id,name,email,age\n6,fay,fay@example.com,51\n")
    body = {"paths": ["data/people.csv", "data/more.csv"], "table": "people", "pii": ["email"],
            "dedup": ["id"]}
    task_id = api("POST", "tables", body=body, expect=202)["task"]
    task = api.wait_task(task_id)
    assert task["state"] == "done", task
    assert task["kind"] == "ingest" and task["id"] == task_id and "people" in task["label"]
    assert task["progress"]["done"] == task["progress"]["total"] > 0
    assert task["started"] <= task["ended"]
    assert task["result"] == {**task["result"], "table": "people", "version": 0, "rows_in": 7,
                              "rows_written": 5, "rows_quarantined": 1,
                              "duplicates_dropped": 1, "files": 2}
    table = wb.Lake(lake_dir).table("people")
    data = table.to_pandas()
    assert sorted(data["id"]) == [1, 3, 4, 5, 6]
    assert not data["email"].str.contains("@").any()  # pseudonymised before it was written
    listed = api("GET", "tables", params={"lake": "default"})["lakes"][0]["tables"]
    assert [(t["name"], t["rows"], t["quarantined"]) for t in listed
            if not t["name"].startswith("_")] == [("people", 5, 1)]  # _profiles: results
    profile = api("GET", "tables", "people")["profile"]  # computed after the ingest
    assert profile["version"] == 0 and profile["rows"] == 5 and "age" in profile["figures"]
    assert [c["id"] for c in api("GET", "clusters")["clusters"]] == [registered.id]


@pytest.mark.parametrize("jp_server_config", [Config({
    "ServerApp": {"jpserver_extensions": {"workbench.server": True}},
    "WorkbenchServer": {"listing_fresh": 60.0}})])
def test_open_sidebars_share_one_listing_until_something_changes(api, root, registered,
                                                                  pii_key):
    """Within `listing_fresh` every request gets the same listing (many open sidebars cost
    one); a change answered by the server (here an ingest task ending) ends the window."""
    lake = wb.default_lake()
    lake.record("outside", pd.DataFrame({"x": [1]}))
    first = api("GET", "tables")["lakes"][0]["tables"]
    lake.record("written_meanwhile", pd.DataFrame({"x": [2]}))  # by another process
    assert api("GET", "tables")["lakes"][0]["tables"] == first  # shared: not listed yet
    task_id = api("POST", "tables", body={"paths": ["data/people.csv"], "table": "people"},
                  expect=202)["task"]
    assert api.wait_task(task_id)["state"] == "done"
    names = {t["name"] for t in api("GET", "tables")["lakes"][0]["tables"]}
    assert {"outside", "written_meanwhile", "people"} <= names


def test_ingest_requests_are_checked_before_any_work(api, root, state):
    cases = [
        ({"table": "t"}, "paths: give a list"),
        ({"paths": [], "table": "t"}, "paths: give a list"),
        ({"paths": ["data/none.csv"], "table": "t"}, "paths[0]: 'data/none.csv' does not exist"),
        ({"paths": ["data"], "table": "t"}, "paths[0]: 'data' is not a"),
        ({"paths": ["data/people.csv"], "table": "../up"}, "table='../up' is not a valid"),
        # a name only an existing (foreign) table may have: not for a new one
        ({"paths": ["data/people.csv"], "table": "no way"},
         "table='no way': a new table's name uses letters"),
        ({"paths": ["data/people.csv"], "table": "t__quarantine"}, "reserved"),
        ({"paths": ["data/people.csv"], "table": "t", "pii": ["phone"]},
         "pii names column(s) ['phone']"),
        ({"paths": ["data/people.csv"], "table": "t", "dedup": "id"}, "dedup: give a list"),
        ({"paths": ["data/people.csv"], "table": "t", "lake": "elsewhere"},
         "lake='elsewhere' is not a configured lake"),
        ({"paths": ["data/people.csv"], "table": "t", "mode": "overwrite"},
         "unknown field(s) ['mode']"),
        ([1, 2], "must be a JSON object"),
    ]
    for body, reason in cases:
        message = api("POST", "tables", body=body, expect=400)["message"]
        assert reason in message, (body, message)
    response = api.fetch("POST", api.url("tables"), b"{not json")
    assert response.code == 400 and "not JSON" in json.loads(response.body)["message"]
    assert not state.tasks._tasks


def test_a_failing_ingest_is_a_failed_task_with_its_error(api, root, registered, lake_dir):
    # PII without a key (no pii_key fixture): the ingest itself refuses, in the task.
    body = {"paths": ["data/people.csv"], "table": "people", "pii": ["email"]}
    task = api.wait_task(api("POST", "tables", body=body, expect=202)["task"])
    assert task["state"] == "failed" and task["result"] is None
    assert "PiiKeyError" in task["error"] and "key" in task["error"]
    assert "people" not in wb.Lake(lake_dir)


def test_with_no_cluster_running_the_server_starts_one_for_the_task(api, root, lake_dir):
    assert api("GET", "clusters")["clusters"] == []  # this test's registry is empty
    task = api.wait_task(api("POST", "tables", body={"paths": ["data/people.csv"],
                                                     "table": "people"}, expect=202)["task"])
    assert task["state"] == "done", task
    (row,) = api("GET", "clusters")["clusters"]
    assert row["owned"] and row["pid"] == os.getpid()  # started by this server, listed
    assert api("DELETE", "clusters", row["id"]) == {"stopped": row["id"]}
    assert api("GET", "clusters")["clusters"] == []
    assert not reachable(row["address"])


# ---------------------------------------------------------------------------------------------
# Runs.


def until_stopped() -> None:
    import itertools

    import torch

    run = wb.train.current()
    for step, _ in enumerate(run.steps(itertools.repeat(torch.zeros(4, 2)))):
        run.log(loss=1.0 / (step + 1))
        if run.should_stop():
            break
        time.sleep(0.02)


@pytest.mark.slow
def test_runs_are_listed_detailed_and_stopped(api):
    job = wb.launch(until_stopped, nprocs=2, backend="gloo", runs_lake=None)
    try:
        deadline = time.monotonic() + WAIT_S
        while True:
            runs = api("GET", "runs")["runs"]
            if runs and runs[0]["steps"] > 5 and len(runs[0]["throughput"]) > 1:
                break
            assert time.monotonic() < deadline, runs
            time.sleep(0.2)
        (row,) = runs
        assert row["id"] == job.run_dir.name and row["status"] == "running"
        assert row["ranks"] == 2 and row["samples_per_s"] > 0 and row["error"] is None
        assert 0 < row["last_loss"] <= 1 and row["ended"] is None
        assert row["alerts"] == 0 and row["alert"] is None  # no alerts.jsonl: nothing fires
        assert all(v is None or v > 0 for v in row["throughput"]) and len(row["throughput"]) <= 60

        detail = api("GET", "runs", row["id"])
        assert detail["id"] == row["id"] and detail["traceback"] == ""
        assert detail["metrics"] == ["loss"]
        loss = detail["figures"]["loss"]["data"]
        assert sorted(trace["name"] for trace in loss) == ["rank 0", "rank 1"]
        assert all(0 < v <= 1 for v in loss[0]["y"])
        assert len(detail["figures"]["throughput"]["data"][0]["y"]) > 1

        assert api("POST", "runs", row["id"], "stop", expect=202) == {"stopping": row["id"]}
        job.wait(timeout=WAIT_S)
        assert job.status == "stopped"
        (row,) = api("GET", "runs")["runs"]
        assert row["status"] == "stopped" and isinstance(row["ended"], float)
        message = api("POST", "runs", row["id"], "stop", expect=409)["message"]
        assert "not running" in message
    finally:
        job.stop()
        job.wait(timeout=WAIT_S)


# ---------------------------------------------------------------------------------------------
# Dashboards and resources.


def notebook(path: Path, text: str) -> Path:
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {
        "name": "python3", "display_name": "Python 3", "language": "python"}})
    nb.cells = [nbformat.v4.new_code_cell(textwrap.dedent(text))]
    nbformat.write(nb, path)
    return path


@pytest.mark.slow
def test_dashboards_are_published_listed_and_stopped_by_their_owner(api, root, lake_dir):
    notebook(root / "report.ipynb", "print('hello from the server')")
    theirs = wb.publish(notebook(root / "theirs.ipynb", "print(1)"), name="theirs")
    try:
        row = api("POST", "dashboards", body={"notebook": "report.ipynb", "name": "report"},
                  expect=201)
        assert row["name"] == "report" and row["lake"] == str(lake_dir)
        assert row["notebook"] == str(root / "report.ipynb")
        # This server runs under a base URL (/a%40b/): the page is reached through it.
        assert row["url"] == (f"{api.base_url}proxy/absolute/{row['port']}/voila/render/"
                              "report.ipynb")
        listed = {d["id"]: d for d in api("GET", "dashboards")["dashboards"]}
        assert listed[row["id"]] == row and theirs.id in listed

        message = api("DELETE", "dashboards", theirs.id, expect=409)["message"]
        assert "published by another process" in message and theirs.running
        assert api("DELETE", "dashboards", row["id"]) == {"stopped": row["id"]}
        assert [d["id"] for d in api("GET", "dashboards")["dashboards"]] == [theirs.id]
        message = api("POST", "dashboards", body={"notebook": "data/people.csv"},
                      expect=400)["message"]
        assert "is not a .ipynb file" in message
    finally:
        theirs.stop()


def test_resources_are_the_shared_sampler_s_snapshot(api, state):
    first = api("GET", "resources")
    assert set(first) == {"time", "cpu", "memory", "gpus", "gpu_note"}
    assert 0.0 <= first["cpu"]["percent"] <= 100.0 and first["cpu"]["cores"] >= 1
    assert first["memory"]["total"] > first["memory"]["used"] > 0
    assert first["gpus"] == [] and first["gpu_note"] == "no GPU"  # no NVML here
    time.sleep(0.3)
    second = api("GET", "resources")
    assert second["time"] > first["time"] and state.sampler.samples >= 2
