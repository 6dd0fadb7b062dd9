"""What a dashboard server serves besides the pages themselves: the landing page of several
notebooks, only the published notebooks, preheated pages that follow the lake, compression,
no request to a CDN, and links under a Jupyter server's base URL (JupyterHub, Binder) through
jupyter-server-proxy. Real Voila and Jupyter servers, real kernels, a real lake."""

from __future__ import annotations

import gzip
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import nbformat
import pandas as pd
import psutil
import pytest
from dashboard_lake import build_results_lake
from test_publish import assert_gone, get, notebook

import workbench as wb
from workbench.publish import NotebookNotFoundError, PublishError
from workbench.publish.index import Entry, entry, index_html, key_number

DASHBOARDS = Path(__file__).parent.parent / "notebooks" / "dashboards"


def status(url: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), b""


# -- the landing page's entries, without a server ------------------------------------------

def test_entries_read_metadata_then_the_first_line_then_the_name(tmp_path):
    first = notebook(tmp_path / "first_line.ipynb", "# Sales: revenue per region, weekly.\nx = 1")
    meta = notebook(tmp_path / "meta.ipynb", "# Ignored: the metadata wins")
    nb = nbformat.read(meta, as_version=4)
    nb.metadata["workbench"] = {"title": "Churn", "description": "who left and why",
                                "key": {"table": "users", "unit": "user"}}
    nbformat.write(nb, meta)
    bare = notebook(tmp_path / "weekly_kpis.ipynb", "x = 1  # code, not a description")
    prose = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(
        "## Churn\n\nWho left."), nbformat.v4.new_code_cell("x = 1")])
    nbformat.write(prose, tmp_path / "prose.ipynb")
    assert entry(tmp_path, first) == Entry("first_line.ipynb", "Sales",
                                           "revenue per region, weekly", None)
    assert entry(tmp_path, meta) == Entry("meta.ipynb", "Churn", "who left and why",
                                          {"table": "users", "unit": "user"})
    assert entry(tmp_path, bare) == Entry("weekly_kpis.ipynb", "Weekly kpis", "", None)
    assert entry(tmp_path, tmp_path / "prose.ipynb") == Entry("prose.ipynb", "Prose", "Churn",
                                                              None)


def test_key_numbers_come_from_the_lake(tmp_path):
    lake = wb.Lake(build_results_lake(tmp_path / "lake"))
    runs = lake.table("_runs").to_pandas()["run_id"].nunique()
    text = key_number({"table": "_runs", "unit": "run"}, lake)
    ago = r"(just now|\d+ s ago|\d+ min( \d+ s)? ago)"
    assert re.fullmatch(rf"{runs} runs · updated {ago}", text), text
    assert key_number({"table": "_bench", "unit": "measurement"}, lake).startswith(
        "12 measurements · updated ")
    # Tables a stakeholder reads: the lake's own (`_`) tables are not counted.
    assert key_number({"tables": True, "unit": "table"}, lake) == "1 table"
    assert key_number({"table": "nothing_here", "unit": "order"}, lake) == "no orders yet"
    assert key_number(None, lake) == key_number({"table": "_runs"}, None) == ""


def test_the_landing_page_escapes_and_fetches_nothing():
    page = index_html("Q3 <review>", [Entry("a b.ipynb", "<b>Sales</b>", "x & y", None)],
                      ["3 runs"], "/user/ann/")
    assert "Q3 &lt;review&gt;" in page and "&lt;b&gt;Sales&lt;/b&gt;" in page
    assert 'href="/user/ann/voila/render/a b.ipynb"' in page and "x &amp; y" in page
    assert "3 runs" in page
    assert not re.search(r"(src|href)=\"https?:", page) and "<script" not in page


def test_a_proxied_link_is_probed_at_the_port_it_names():
    from workbench.proxy import local_address

    assert local_address("/a%40b/proxy/40149/status") == "http://127.0.0.1:40149/"
    assert local_address("/user/ann/proxy/absolute/8123/voila/render/x.ipynb") == (
        "http://127.0.0.1:8123/")
    assert local_address("http://127.0.0.1:8787/status") == "http://127.0.0.1:8787/status"


# -- a server --------------------------------------------------------------------------------

def test_a_folder_is_served_with_its_landing_page_and_nothing_else(tmp_path, stop_after):
    lake = build_results_lake(tmp_path / "lake")
    d = wb.publish(DASHBOARDS, lake=lake, title="Team dashboards")
    stop_after.append(d)
    assert d.name == "dashboards" and d.url == d.index_url
    assert d.pages == ["federated.ipynb", "inference.ipynb", "lake_health.ipynb", "ops.ipynb",
                       "training.ipynb"]
    index = get(d.index_url)
    assert "<h1>Team dashboards</h1>" in index
    for page, title in [("training.ipynb", "Training runs"), ("inference.ipynb", "Inference"),
                        ("lake_health.ipynb", "Lake health"),
                        ("federated.ipynb", "Federated learning"), ("ops.ipynb", "Operations")]:
        assert f'<a href="/voila/render/{page}">{title}</a>' in index
    assert re.search(r"\d+ runs? · updated", index) and "12 measurements" in index
    assert "1 table" in index and "10 rounds" in index and str(lake) not in index

    page = get(d.index_url + "voila/render/training.ipynb")
    assert "application/vnd.jupyter.widget-view+json" in page
    assert "cdn.jsdelivr.net" not in page and not re.search(r'href="https?://', page)
    # Another notebook under the folder's parent, the folder's listing, its files' API: none.
    for path in ["voila/render/../quickstart.ipynb", "voila/tree", "voila/api/contents"]:
        assert status(d.index_url + path)[0] == 404, path

    # Responses are gzipped for a browser that says it takes gzip.
    script = re.search(r'src="(/voila/static/voila\.js[^"]*)"', page).group(1)
    code, headers, body = status(d.local_url + script.lstrip("/"), **{"Accept-Encoding": "gzip"})
    assert code == 200 and headers.get("Content-Encoding") == "gzip"
    assert len(gzip.decompress(body)) > 2 * len(body)


def test_a_list_of_notebooks_and_bad_input(tmp_path, stop_after):
    a = notebook(tmp_path / "a.ipynb", "# Alpha: the first\nprint('alpha page')")
    b = notebook(tmp_path / "b.ipynb", "print('beta page')")
    notebook(tmp_path / "secret.ipynb", "print('not published')")
    d = wb.publish([a, b], name="pair")
    stop_after.append(d)
    assert d.pages == ["a.ipynb", "b.ipynb"] and d.url == d.index_url
    index = get(d.index_url)
    assert "Alpha" in index and "B" in index and "secret" not in index
    assert "alpha page" in get(d.index_url + "voila/render/a.ipynb")
    assert status(d.index_url + "voila/render/secret.ipynb")[0] == 404

    with pytest.raises(NotebookNotFoundError, match="no notebook at .*missing.ipynb"):
        wb.publish([a, tmp_path / "missing.ipynb"])
    with pytest.raises(PublishError, match="given twice"):
        wb.publish([a, a])
    with pytest.raises(PublishError, match="no notebooks given"):
        wb.publish([])
    (tmp_path / "empty").mkdir()
    with pytest.raises(NotebookNotFoundError, match="no notebook in the folder .*empty"):
        wb.publish(tmp_path / "empty")
    with pytest.raises(PublishError, match=r"fresh=0: give the seconds"):
        wb.publish(a, fresh=0)


def answers(url: str) -> bool:
    """Whether ``url`` answers 200 (False while its server is still starting)."""
    try:
        return status(url)[0] == 200
    except urllib.error.URLError:
        return False


def kernels_started(d: wb.Dashboard) -> int:
    return d.log.count("Kernel started:")


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.25)


def test_a_preheated_page_follows_the_lake(tmp_path, stop_after):
    """Rendered ahead, served at once, rendered again once older than ``fresh`` if (and only
    if) the lake changed: a visitor never sees the lake as it was before that bound."""
    lake = wb.Lake(tmp_path / "lake")
    lake.record("orders", pd.DataFrame({"n": [1, 2, 3]}))
    nb = notebook(tmp_path / "orders.ipynb", "import workbench as wb",
                  "print('orders:', len(wb.default_lake().table('orders').to_pandas()))")
    d = wb.publish(nb, lake=lake.uri, fresh=1)
    stop_after.append(d)
    wait_for(lambda: kernels_started(d) == 1, 60, "the page was not preheated")
    started = time.monotonic()
    assert "orders: 3" in get(d.url)
    assert "Using pre-heated kernel" in d.log
    served_in = time.monotonic() - started
    # The visitor took the pooled kernel; the pool starts another. Then, the lake unchanged,
    # nothing is rendered again, however old the page gets.
    wait_for(lambda: kernels_started(d) == 2, 60, "the pool was not refilled")
    time.sleep(6)
    assert kernels_started(d) == 2, d.log
    # The lake changes: the pooled page (3 orders) is rendered again, and the next visitor,
    # who asks only after that, sees 5.
    lake.record("orders", pd.DataFrame({"n": [4, 5]}))
    wait_for(lambda: kernels_started(d) == 3, 60, "the page was not rendered again")
    time.sleep(15)  # the new page renders; then the stale one is retired
    assert "orders: 5" in get(d.url), d.log
    assert served_in < 30


def test_dashboards_and_dask_links_go_through_a_jupyter_server_base_url(tmp_path, stop_after,
                                                                       monkeypatch):
    """Behind JupyterHub or Binder a browser reaches only the Jupyter server: the dashboard's
    URL is a path under its base URL that jupyter-server-proxy carries to Voila, and Dask's
    dashboard link is too."""
    from workbench.compute.probe import free_port
    from workbench.proxy import BASE_ENV, dask_dashboard_link

    base, port, token = "/user/ann/", free_port(), uuid.uuid4().hex
    with open(tmp_path / "server.log", "wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "jupyter_server", "--no-browser", f"--port={port}",
             "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}",
             f"--ServerApp.base_url={base}", f"--ServerApp.root_dir={tmp_path}",
             "--allow-root"], stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        origin = f"http://127.0.0.1:{port}"
        wait_for(lambda: answers(f"{origin}{base}api/status?token={token}"), 60,
                 "the Jupyter server did not start; see server.log")
        # The Workbench extension tells the kernels this server starts where they are.
        request = urllib.request.Request(f"{origin}{base}api/kernels", data=b"{}", method="POST",
                                         headers={"Authorization": f"token {token}"})
        with urllib.request.urlopen(request, timeout=60):
            pass
        wait_for(lambda: psutil.Process(server.pid).children(), 30, "no kernel started")
        kernel = psutil.Process(server.pid).children()[0]
        assert kernel.environ().get(BASE_ENV) == base

        monkeypatch.setenv(BASE_ENV, base)
        nb = notebook(tmp_path / "hello.ipynb", "print('hello through the proxy')")
        d = wb.publish(nb)
        stop_after.append(d)
        assert d.url == f"{base}proxy/absolute/{d.port}/voila/render/hello.ipynb"
        assert d.index_url == f"{base}proxy/absolute/{d.port}/"
        assert f'href="{d.url}"' in d._repr_html_()
        assert wb.dashboards()["url"].tolist() == [d.url]
        page = get(f"{origin}{d.url}?token={token}")
        assert "hello through the proxy" in page
        assert f'"baseUrl": "{base}proxy/absolute/{d.port}/"' in page
        index = get(f"{origin}{d.index_url}?token={token}")
        assert f'href="{base}proxy/absolute/{d.port}/voila/render/hello.ipynb"' in index
        # Without the Jupyter server's token, the proxy lets nobody through: its login page.
        code, _, body = status(f"{origin}{d.url}")
        assert b"hello through the proxy" not in body and b"login" in body.lower()

        assert dask_dashboard_link() == f"{base}proxy/{{port}}/status"
        with wb.cluster(n_workers=1, threads_per_worker=1, dashboard=True) as cluster:
            link = cluster.dashboard_link
            assert re.fullmatch(rf"{base}proxy/\d+/status", link), link
            dask_port = re.search(r"proxy/(\d+)/", link).group(1)
            code, _, body = status(f"{origin}{base}proxy/{dask_port}/status?token={token}")
            assert code == 200 and b"bokeh" in body.lower()
    finally:
        processes = psutil.Process(server.pid).children(recursive=True)
        server.terminate()
        server.wait(timeout=20)
        assert_gone(processes, timeout=20)
    monkeypatch.delenv(BASE_ENV)
    assert dask_dashboard_link() is None and os.environ.get("JUPYTERHUB_SERVICE_PREFIX") is None
