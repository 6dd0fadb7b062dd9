"""A link that says "running" works: the cluster and dashboard registries, and the reprs, probe a
real scheduler or HTTP server before they call it running, and read "stopped" within a second
of it going away (stopped from elsewhere, its process killed, or its port silent)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psutil
import pytest
from distributed import Client

import workbench as wb
from workbench.compute import registry as cluster_registry
from workbench.compute.probe import free_port, reachable
from workbench.publish import Dashboard
from workbench.publish import registry as dashboard_registry

pytestmark = pytest.mark.timeout(60)


def within(seconds: float, check: Callable[[], bool]) -> bool:
    """Whether ``check()`` comes true within ``seconds``, polled every 50 ms."""
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def timed(call: Callable[[], object]) -> tuple[object, float]:
    """``call()``'s result and the seconds it took."""
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


@pytest.fixture
def http_server() -> Iterator[ThreadingHTTPServer]:
    """A tiny HTTP server on a loopback port, in a thread of this process; shut down at the end
    unless the test did."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), SimpleHTTPRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def http_process() -> Iterator[tuple[subprocess.Popen, int]]:
    """A tiny HTTP server in a process of its own, answering on its port; killed at the end."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "http.server", "--bind", "127.0.0.1",
                                str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert within(10, lambda: reachable(f"http://127.0.0.1:{port}/", 0.2))
        yield process, port
    finally:
        process.kill()
        process.wait()


def dashboard_entry(entry_id: str, port: int, server_pid: int) -> dict:
    """A registry entry published by this process for a server ``server_pid`` on ``port``."""
    owner = cluster_registry.owner_fields()
    return {"id": entry_id, "name": entry_id, "url": f"http://127.0.0.1:{port}/", "port": port,
            "notebook": "board.ipynb", "lake": None, **owner, "server_pid": server_pid,
            "server_created": psutil.Process(server_pid).create_time(), "created": time.time()}


def statuses() -> dict[str, str]:
    table = wb.dashboards()
    return dict(zip(table["id"], table["status"], strict=True))


# ---------------------------------------------------------------------------------------------
# Clusters.


def test_a_cluster_stopped_from_elsewhere_reads_stopped_in_the_listing_and_its_repr():
    with wb.cluster(n_workers=1, threads_per_worker=1, processes=False, gpu=False) as c:
        link = c.dashboard_link
        row = wb.clusters().set_index("id").loc[c.id]
        assert row["status"] == "running" and row["dashboard_link"] == link
        assert reachable(link, 0.2)  # the listed link answers
        assert repr(c).startswith("<Cluster running ")
        assert f'<a href="{link}"' in c._repr_html_()

        with Client(c.address, set_as_default=False) as other:  # as the sidebar's Stop does
            other.shutdown()
        assert within(1, lambda: wb.clusters().set_index("id").loc[c.id, "status"] == "stopped")
        row = wb.clusters().set_index("id").loc[c.id]
        assert row["dashboard_link"] is None  # a dead link is not listed
        text, seconds = timed(lambda: repr(c))
        assert text.startswith("<Cluster stopped ") and "workers=1" in text  # the last totals
        assert seconds < 0.5
        page = c._repr_html_()
        assert "<a href" not in page and f"{link} (stopped)" in page
    assert wb.clusters().empty  # closed: its entry is gone
    assert repr(c).startswith("<Cluster closed ")


def test_a_cluster_whose_owner_has_gone_is_pruned():
    owner = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        entry = {"id": "orphan", "address": "inproc://orphan", "kind": "cpu",
                 "pid": owner.pid, "pid_created": psutil.Process(owner.pid).create_time(),
                 "created": time.time()}
        cluster_registry.register(entry)
        assert wb.clusters()[["id", "status"]].values.tolist() == [["orphan", "running"]]
    finally:
        owner.kill()
        owner.wait()
    assert within(1, lambda: wb.clusters().empty)
    assert list(cluster_registry.registry_dir().glob("*.json")) == []


# ---------------------------------------------------------------------------------------------
# Dashboards.


def test_a_dashboard_whose_port_goes_silent_reads_stopped(http_server):
    port = http_server.server_address[1]
    dashboard_registry.register(dashboard_entry("silent", port, os.getpid()))
    assert statuses() == {"silent": "running"}
    http_server.shutdown()
    http_server.server_close()
    assert within(1, lambda: statuses() == {"silent": "stopped"})  # its process still runs
    assert dashboard_registry.live_entries() == []


def test_a_dashboard_whose_server_process_has_gone_reads_stopped(http_process):
    process, port = http_process
    dashboard_registry.register(dashboard_entry("killed", port, process.pid))
    assert statuses() == {"killed": "running"}
    process.kill()
    process.wait()
    assert within(1, lambda: statuses() == {"killed": "stopped"})


def test_a_dashboard_whose_publisher_has_gone_is_pruned(http_process):
    process, port = http_process
    publisher = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    entry = {**dashboard_entry("orphan", port, process.pid), "pid": publisher.pid,
             "pid_created": psutil.Process(publisher.pid).create_time()}
    dashboard_registry.register(entry)
    assert statuses() == {"orphan": "running"}
    publisher.kill()
    publisher.wait()
    assert within(1, lambda: wb.dashboards().empty)


def test_the_dashboard_repr_says_running_only_while_its_port_answers(http_process, tmp_path):
    process, port = http_process
    board = Dashboard(name="board", notebook=Path("board.ipynb"), pages=["board.ipynb"],
                      port=port, base_url="/", lake=None,
                      process=process, log_path=tmp_path / "board.log", entry_id="board")
    assert board.status == "running" and " running at " in repr(board)
    assert f'<a href="{board.url}"' in board._repr_html_()

    # A process that runs but does not listen: running, yet its link would not work.
    silent = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        mute = Dashboard(name="mute", notebook=Path("mute.ipynb"), pages=["mute.ipynb"],
                         port=free_port(), base_url="/", lake=None,
                         process=silent, log_path=tmp_path / "mute.log", entry_id="mute")
        text, seconds = timed(lambda: repr(mute))
        assert mute.running and " stopped at " in text and seconds < 0.5
        assert "<a href" not in mute._repr_html_()
    finally:
        silent.kill()
        silent.wait()

    process.kill()
    process.wait()
    assert within(1, lambda: board.status == "stopped")
    assert "(stopped)" in board._repr_html_() and "<a href" not in board._repr_html_()


def test_the_dashboards_command_shows_a_stopped_one_as_stopped():
    port = free_port()  # nothing listens there
    dashboard_registry.register(dashboard_entry("gone-quiet", port, os.getpid()))
    listed = subprocess.run([sys.executable, "-m", "workbench.cli", "dashboards"],
                            capture_output=True, text=True, timeout=60, check=True).stdout
    header, row = listed.splitlines()[:2]
    assert header.split()[:2] == ["name", "status"]
    assert row.split()[:3] == ["gone-quiet", "stopped", f"http://127.0.0.1:{port}/"]
