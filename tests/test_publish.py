"""`wb.publish`, `wb.dashboards`, the `workbench publish|dashboards` commands and
`wb.export_html`, with real Voila servers and kernels (no browser: see
`test_browser_dashboards.py`). Every server a test starts is stopped, and the tests check that
its processes are gone."""

from __future__ import annotations

import base64
import datetime
import json
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
import uuid
from pathlib import Path

import nbformat
import psutil
import pytest
from dashboard_lake import build_results_lake

import workbench as wb
from workbench.publish import NotebookNotFoundError, PublishError
from workbench.publish.server import ERROR_NOTE

pytestmark = pytest.mark.slow

DASHBOARDS = Path(__file__).parent.parent / "notebooks" / "dashboards"
PAGE_S = 120  # the first page load starts a kernel and runs the notebook on a loaded machine


def notebook(path: Path, *cells: str) -> Path:
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {
        "name": "python3", "display_name": "Python 3", "language": "python"}})
    nb.cells = [nbformat.v4.new_code_cell(textwrap.dedent(c)) for c in cells]
    nbformat.write(nb, path)
    return path


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=PAGE_S) as response:
        return response.read().decode()


def extensions(page: str) -> set[str]:
    """The JupyterLab extensions a Voila page loads (its page config's federated ones)."""
    config = re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>',
                       page, re.S)
    return {ext["name"] for ext in json.loads(config.group(1))["federated_extensions"]}


def family(dashboard: wb.Dashboard) -> list[psutil.Process]:
    """The server process and everything under it (its kernels)."""
    server = psutil.Process(dashboard.process.pid)
    return [server, *server.children(recursive=True)]


def assert_gone(processes: list[psutil.Process], timeout: float = 30) -> None:
    _, alive = psutil.wait_procs(processes, timeout=timeout)
    assert not alive, f"processes outlived their dashboard: {alive}"


@pytest.fixture
def results_lake(tmp_path):
    return build_results_lake(tmp_path / "lake")


def test_publish_serves_a_dashboard_without_sources_and_lists_it(results_lake, stop_after,
                                                                  tmp_path):
    d = wb.publish(DASHBOARDS / "training.ipynb", lake=results_lake)
    stop_after.append(d)
    assert d.name == "training" and d.running and d.lake == str(results_lake)
    assert d.url == f"http://127.0.0.1:{d.port}/voila/render/training.ipynb"
    assert d.index_url == d.local_url == f"http://127.0.0.1:{d.port}/"
    assert repr(d) == (f"<Dashboard 'training' running at {d.url} "
                       f"notebook='{DASHBOARDS.resolve() / 'training.ipynb'}'>")
    assert f'<a href="{d.url}" target="_blank">' in d._repr_html_()

    listed = wb.dashboards()
    assert listed[["name", "url", "lake", "port"]].values.tolist() == [
        ["training", d.url, str(results_lake), d.port]]
    assert listed["pid"].tolist() == [os.getpid()]

    page = get(d.url)
    assert "application/vnd.jupyter.widget-view+json" in page  # the TrainingRuns widget
    assert "wb.default_lake()" not in page and "import workbench" not in page, "sources leaked"
    # The sidebar's and Notebook 7's extensions need JupyterLab's shell, and plotly's full
    # bundle is 4.8 MB: the package's voila.json leaves them out. Figures are drawn by the
    # Voila-only renderer (plotly.js's cartesian bundle).
    assert "@workbench-ai/voila-plotly" in extensions(page)
    assert not {"@workbench-ai/jupyterlab", "@jupyter-notebook/lab-extension",
                "jupyterlab-plotly"} & extensions(page)

    # The kernel that rendered the page takes widget messages, never code from the page.
    kernel = re.search(r'"kernelId": "([0-9a-f-]+)"', page).group(1)
    marker = tmp_path / "executed.txt"
    replies = send_to_kernel(d.port, kernel, f"open({str(marker)!r}, 'w').write('ran')")
    assert "kernel_info_reply" in replies  # the channel works...
    assert "execute_reply" not in replies and "execute_input" not in replies  # ...code does not
    assert not marker.exists()
    assert 'Received message of type "execute_request", which is not allowed' in d.log
    # Widget state (plotly's bundle in every chart) travels compressed.
    assert websocket_extensions(d.port, kernel) == "permessage-deflate"

    # Publishing the same name again from this process replaces the dashboard.
    old = family(d)
    again = wb.publish(DASHBOARDS / "training.ipynb", lake=results_lake)
    stop_after.append(again)
    assert not d.running and again.running and again.port != d.port
    assert_gone(old)
    assert wb.dashboards()["url"].tolist() == [again.url]

    processes = family(again)
    again.stop()
    again.stop()  # twice is fine
    assert_gone(processes)
    assert len(wb.dashboards()) == 0 and not again.running
    assert "stopped" in repr(again)


def websocket_extensions(port: int, kernel_id: str) -> str:
    """The extensions the server accepts on a kernel websocket whose client offers
    compression, read from the handshake's answer."""
    key = base64.b64encode(os.urandom(16)).decode()
    request = (f"GET /api/kernels/{kernel_id}/channels HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
               "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
               f"Sec-WebSocket-Key: {key}\r\n"
               "Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n")
    with socket.create_connection(("127.0.0.1", port), timeout=PAGE_S) as conn:
        conn.sendall(request.encode())
        head = conn.recv(65536).decode(errors="replace").split("\r\n\r\n")[0]
    assert head.startswith("HTTP/1.1 101"), head
    return next((line.split(":", 1)[1].strip() for line in head.splitlines()
                 if line.lower().startswith("sec-websocket-extensions:")), "")


def send_to_kernel(port: int, kernel_id: str, code: str) -> list[str]:
    """Send an execute_request and then a kernel_info_request over the page's websocket, as a
    visitor's browser could; the message types that came back, up to the kernel_info_reply (the
    kernel answers in order, so an execution would have replied first)."""
    import websocket

    session = uuid.uuid4().hex

    def message(kind: str, content: dict) -> str:
        return json.dumps({
            "header": {"msg_id": uuid.uuid4().hex, "msg_type": kind, "session": session,
                       "username": "visitor", "version": "5.3",
                       "date": datetime.datetime.now(datetime.timezone.utc).isoformat()},
            "parent_header": {}, "metadata": {}, "content": content, "channel": "shell",
            "buffers": []})

    ws = websocket.create_connection(
        f"ws://127.0.0.1:{port}/api/kernels/{kernel_id}/channels?session_id={session}",
        timeout=PAGE_S)
    try:
        ws.send(message("execute_request", {"code": code, "silent": False,
                                            "store_history": False, "user_expressions": {},
                                            "allow_stdin": False, "stop_on_error": True}))
        ws.send(message("kernel_info_request", {}))
        seen: list[str] = []
        while "kernel_info_reply" not in seen:
            seen.append(json.loads(ws.recv())["msg_type"])
        return seen
    finally:
        ws.close()


def test_a_raising_notebook_shows_one_sentence_not_its_traceback(tmp_path, stop_after):
    nb = notebook(tmp_path / "broken.ipynb", "print('rows loaded: 42')",
                  "raise ValueError('the lake at /data/lake is unreachable')",
                  "print('this cell never runs')")
    d = wb.publish(nb)
    stop_after.append(d)
    page = get(d.url)
    assert "rows loaded: 42" in page
    assert json.dumps(ERROR_NOTE)[1:-1] in page  # as the page's JSON holds it
    assert "ValueError" not in page and "/data/lake" not in page and "Traceback" not in page
    assert "this cell never runs" not in page


def test_a_hung_cell_times_out_and_its_kernel_is_culled(tmp_path, stop_after):
    nb = notebook(tmp_path / "hangs.ipynb", "print('before the wait')",
                  "import time\ntime.sleep(600)", "print('after the wait')")
    d = wb.publish(nb, cell_timeout=2, cull_idle=4, preheat=False)
    stop_after.append(d)
    started = time.monotonic()
    page = get(d.url)
    assert time.monotonic() - started < 60
    assert "before the wait" in page and "after the wait" not in page
    assert "Cell execution timed out" in page
    assert "took longer than 2 s" in page and "cell_timeout=SECONDS" in page
    kernels = family(d)[1:]
    assert kernels, "the page's kernel should still exist right after the timeout"
    assert_gone(kernels, timeout=60)  # stuck in time.sleep, idle for 4 s: culled
    assert "Culling 'busy' kernel" in d.log or "Culling 'idle' kernel" in d.log
    assert d.running  # the server itself stays up for the next visitor


def test_bad_input_gives_clear_errors(tmp_path, monkeypatch):
    with pytest.raises(NotebookNotFoundError, match=r"no notebook at .*missing\.ipynb"):
        wb.publish(tmp_path / "missing.ipynb")
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(PublishError, match=r"notes\.txt is not a notebook: .*\.ipynb"):
        wb.publish(text)
    corrupt = tmp_path / "corrupt.ipynb"
    corrupt.write_text("{not json")
    with pytest.raises(PublishError, match=r"corrupt\.ipynb is not a readable notebook"):
        wb.publish(corrupt)
    nb = notebook(tmp_path / "fine.ipynb", "1 + 1")
    with pytest.raises(PublishError, match=r"port=70000 is not a TCP port"):
        wb.publish(nb, port=70000)
    with pytest.raises(PublishError, match=r"give 0 < cell_timeout < cull_idle"):
        wb.publish(nb, cell_timeout=600, cull_idle=300)

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(PublishError, match=rf"port {port} on 127\.0\.0\.1 is in use"):
            wb.publish(nb, port=port)

    monkeypatch.setitem(sys.modules, "voila", None)  # as if Voila were not installed
    with pytest.raises(PublishError, match=r"wb\.publish needs voila, not installed for .*"
                                           r"pip install voila"):
        wb.publish(nb)
    assert len(wb.dashboards()) == 0


def test_lake_location():
    from workbench.publish.server import lake_location

    assert lake_location("s3://bucket/lake") == "s3://bucket/lake"
    assert lake_location("rel/lake") == os.path.abspath("rel/lake")
    assert lake_location(wb.Lake("rel/lake")) == os.path.abspath("rel/lake")


def test_jupyter_server_renders_the_dashboards_at_voila_render(results_lake, tmp_path):
    """What the Binder badge opens: Voila's server extension inside the notebook server."""
    from workbench.compute.probe import free_port

    port, token = free_port(), uuid.uuid4().hex
    root = DASHBOARDS.parent.parent
    with open(tmp_path / "server.log", "wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "jupyter_server", "--no-browser", f"--port={port}",
             "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}",
             f"--ServerApp.root_dir={root}", "--allow-root"],  # CI runs as root
            stdout=log, stderr=subprocess.STDOUT,
            env={**os.environ, "WORKBENCH_LAKE": str(results_lake)}, start_new_session=True)
    try:
        url = (f"http://127.0.0.1:{port}/voila/render/notebooks/dashboards/training.ipynb"
               f"?token={token}")
        deadline = time.monotonic() + 60
        while True:
            try:
                page = get(url)
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, (
                    (tmp_path / "server.log").read_text()[-3000:])
                time.sleep(0.5)
        assert "application/vnd.jupyter.widget-view+json" in page
        assert "wb.default_lake()" not in page, "sources leaked"
        assert "@workbench-ai/voila-plotly" in extensions(page)
        assert "jupyterlab-plotly" not in extensions(page)
        assert not {"@workbench-ai/jupyterlab",
                    "@jupyter-notebook/lab-extension"} & extensions(page)
        # The package's server config gzips responses (a remote visitor's 7 MB of scripts).
        script = re.search(r'src="(/voila/static/voila\.js[^"]*)"', page).group(1)
        request = urllib.request.Request(f"http://127.0.0.1:{port}{script}",
                                         headers={"Accept-Encoding": "gzip"})
        with urllib.request.urlopen(request, timeout=60) as response:
            assert response.headers["Content-Encoding"] == "gzip"
    finally:
        if server.poll() is None:  # its kernels (sessions of their own) first, then it
            processes = psutil.Process(server.pid).children(recursive=True)
            server.terminate()
            server.wait(timeout=20)
            assert_gone(processes, timeout=20)


def test_registry_prunes_entries_of_dead_processes(workbench_home):
    from workbench.publish import registry

    entry = {"id": "dead0000", "name": "gone", "url": "http://127.0.0.1:9/", "port": 9,
             "pid": 2**22 + 12345, "pid_created": 0.0, "server_pid": 2**22 + 12346,
             "server_created": 0.0, "created": time.time()}
    path = registry.register(entry)
    (path.parent / "garbage.json").write_text("{not json")
    assert len(wb.dashboards()) == 0
    assert not path.exists() and not (path.parent / "garbage.json").exists()


def test_cli_publishes_lists_and_stops_on_ctrl_c(results_lake, tmp_path, capsys):
    from workbench.cli import main

    server = subprocess.Popen(
        [sys.executable, "-m", "workbench.cli", "publish", str(DASHBOARDS / "inference.ipynb"),
         "--name", "bench-board", "--lake", str(results_lake)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = server.stdout.readline()
        assert first.startswith("bench-board: http://127.0.0.1:"), (
            first + server.stderr.read() if server.poll() is not None else first)
        url = first.split(": ", 1)[1].strip()
        assert server.stdout.readline().strip() == f"landing page: {url.split('voila/')[0]}"
        assert server.stdout.readline().strip() == "serving until Ctrl-C"

        assert main(["dashboards"]) == 0  # `workbench dashboards`, in another process
        listing = capsys.readouterr().out
        assert "bench-board" in listing and url in listing and str(results_lake) in listing
        assert wb.dashboards()["name"].tolist() == ["bench-board"]
        with pytest.raises(PublishError, match=rf"'bench-board' is already running at {url}"):
            wb.publish(DASHBOARDS / "inference.ipynb", name="bench-board")

        processes = psutil.Process(server.pid).children(recursive=True)
        server.send_signal(signal.SIGINT)  # Ctrl-C
        assert server.wait(timeout=60) == 0
        assert "stopping bench-board" in server.stdout.read()
        assert_gone(processes)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    assert main(["dashboards"]) == 0
    assert capsys.readouterr().out.startswith("no dashboards:")
    assert main(["publish", str(tmp_path / "nope.ipynb")]) == 2
    assert capsys.readouterr().err.startswith("error: no notebook at ")


def test_a_dashboard_dies_with_the_process_that_published_it(tmp_path):
    """Even a publisher killed with SIGKILL, which cleans nothing up, takes its server along."""
    nb = notebook(tmp_path / "orphan.ipynb", "print('hello')")
    publisher = subprocess.Popen(
        [sys.executable, "-c", "import time, workbench as wb\n"
         f"d = wb.publish({str(nb)!r})\nprint(d.process.pid, flush=True)\ntime.sleep(600)"],
        stdout=subprocess.PIPE, text=True)
    try:
        server = psutil.Process(int(publisher.stdout.readline()))
        get(f"http://127.0.0.1:{wb.dashboards()['port'].iloc[0]}/")  # starts a kernel
        processes = [server, *server.children(recursive=True)]
        assert len(processes) >= 2
    finally:
        publisher.kill()
        publisher.wait()
    assert_gone(processes, timeout=60)
    assert len(wb.dashboards()) == 0


def test_export_html_of_widgets(results_lake, tmp_path):
    import pandas as pd

    runs = wb.widgets.TrainingRuns(results_lake)
    out = wb.export_html([runs, pd.DataFrame({"figure": ["answer"], "value": [42]})],
                         tmp_path / "share" / "runs.html", title="Training runs")
    text = out.read_text()
    assert out == tmp_path / "share" / "runs.html"
    assert text.startswith("<!DOCTYPE html>") and "<title>Training runs</title>" in text
    assert text.count("Plotly.newPlot(") == 4  # throughput, step time, data wait, loss
    assert text.count("plotly.js v") == 1  # the library, embedded once
    assert "<script src=" not in text  # nothing to fetch: it works offline
    for title in ("Throughput · mlp-wide", "loss · mlp-wide"):
        # plotly's JSON escapes the dot with the standard library's encoder, not with orjson's
        assert title in text or json.dumps(title)[1:-1] in text
    assert "<b>Run</b> <span>mlp-wide · succeeded" in text  # the picker's choice
    assert "Refresh" not in text.split("<main>", 1)[1]  # buttons do nothing in a static page
    assert "<td>answer</td>" in text and "<td>42</td>" in text

    # No instruction to press or click what a static page leaves out.
    health = wb.export_html(wb.widgets.LakeHealth(results_lake), tmp_path / "health.html")
    main = health.read_text().split("<main>", 1)[1]
    assert "Plotly.newPlot(" in main
    assert not re.search(r"\b(press|click)", main, re.I), re.search(r".{80}\b(press|click).{80}",
                                                                   main, re.I | re.S)


def test_export_html_of_a_notebook(tmp_path):
    """The notebook runs in a fresh kernel in its own directory, with ``lake=`` as its
    WORKBENCH_LAKE; the widgets it displayed are snapshot there."""
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {
        "name": "python3", "display_name": "Python 3", "language": "python"}})
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Weekly report"),
        nbformat.v4.new_code_cell("import os\nsecret_variable_name = 7\n"
                                  "print('lake:', os.environ['WORKBENCH_LAKE'])\n"
                                  "print('cwd:', os.getcwd())"),
        nbformat.v4.new_code_cell(
            "import ipywidgets as w, plotly.graph_objects as go\n"
            "w.VBox([w.HTML('<b>p99 within budget</b>'), w.Dropdown(options=['a', 'b'], "
            "value='b', description='Model'), go.FigureWidget(data=[go.Bar(y=[3, 1, 2])])])"),
    ]
    (tmp_path / "reports").mkdir()
    path = tmp_path / "reports" / "weekly.ipynb"
    nbformat.write(nb, path)
    out = wb.export_html(path, tmp_path / "weekly.html", lake=tmp_path / "lake")
    text = out.read_text()
    assert "<title>weekly</title>" in text and "<h1" in text and "Weekly report" in text
    assert f"lake: {tmp_path / 'lake'}" in text and f"cwd: {tmp_path / 'reports'}" in text
    assert "secret_variable_name" not in text, "sources leaked"
    assert "<b>p99 within budget</b>" in text and "<b>Model</b> <span>b</span>" in text
    assert text.count("Plotly.newPlot(") == 1 and '"y":[3,1,2]' in text.replace(" ", "")


def test_export_html_bad_input(tmp_path):
    with pytest.raises(NotebookNotFoundError, match=r"no notebook at .*gone\.ipynb"):
        wb.export_html(tmp_path / "gone.ipynb", tmp_path / "out.html")
    with pytest.raises(PublishError, match=r"end it in \.html"):
        wb.export_html(wb.widgets.LakeHealth(tmp_path / "lake"), tmp_path / "out.pdf")
    with pytest.raises(PublishError, match=r"lake= is for notebooks"):
        wb.export_html(wb.widgets.LakeHealth(tmp_path / "lake"), tmp_path / "o.html",
                       lake=tmp_path)
    broken = notebook(tmp_path / "broken.ipynb", "print('first')", "1 / 0", "print('later')")
    with pytest.warns(UserWarning, match=r"cell 1 of .*broken\.ipynb raised"):
        out = wb.export_html(broken, tmp_path / "broken.html")
    text = out.read_text()
    assert "first" in text and "ZeroDivisionError" in text and "later" not in text


def test_publish_is_a_function_even_after_importing_the_package():
    """`wb.publish` is also the name of the workbench.publish package."""
    code = ("import workbench.publish.server, workbench as wb\n"
            "assert callable(wb.publish) and wb.publish.Dashboard is wb.Dashboard\n"
            "try:\n    wb.publish('/nonexistent/x.ipynb')\n"
            "except wb.publish.NotebookNotFoundError as exc:\n    print('ok', exc)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("ok no notebook at /nonexistent/x.ipynb")

