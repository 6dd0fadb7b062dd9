"""Clusters, started for real: local CPU clusters, joining a running scheduler, the registry
that other processes read, and the current cluster."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time

import dask
import psutil
import pytest
from distributed import LocalCluster

import workbench.compute as wc
from workbench.compute import registry
from workbench.compute.probe import free_port


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    """A private WORKBENCH_HOME, so no test reads or writes the real registry."""
    monkeypatch.setenv("WORKBENCH_HOME", str(tmp_path))
    return tmp_path


@pytest.fixture
def other_cluster():
    """A scheduler started by plain distributed, standing in for a remote one."""
    with LocalCluster(
        n_workers=1,
        threads_per_worker=1,
        processes=False,
        protocol="tcp://",
        dashboard_address=":0",
    ) as lc:
        yield lc


def running(proc: psutil.Process) -> bool:
    """Still running: not exited, nor exited and waiting to be reaped (a zombie)."""
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def listed(address: str):
    table = wc.clusters()
    return table[table["address"] == address]


def test_local_cluster_with_processes_reports_itself_and_closes_on_exit():
    with wc.cluster(n_workers=2, threads_per_worker=1, processes=True, gpu=False) as c:
        assert c.kind == "cpu"
        assert c.client.submit(lambda x: x + 1, 41).result() == 42
        summary = c.summary()
        assert (summary["workers"], summary["threads"], summary["gpus"]) == (2, 2, 0)
        assert summary["memory"] > 0
        assert list(c.workers["threads"]) == [1, 1]
        assert c.client.direct_to_workers  # results are not relayed by the scheduler
        assert c.dashboard_link.startswith("http")
        page = c._repr_html_()
        assert f'<a href="{c.dashboard_link}"' in page
        assert "cpu" in page and c.address in page
        assert "kind='cpu'" in repr(c) and "workers=2" in repr(c)
        row = listed(c.address)
        assert list(row["pid"]) == [os.getpid()] and list(row["kind"]) == ["cpu"]
    assert c.closed and c.client.status == "closed"
    assert "closed" in repr(c)
    assert listed(c.address).empty
    c.close()  # a second close is harmless


def test_worker_processes_run_under_a_process_of_their_own_with_this_path_and_config(
        tmp_path, monkeypatch):
    """Workers are never spawned from this process (they would re-import its __main__: issue
    13), yet get what spawn gave them: this process's sys.path (a module beside a script) and
    its dask config (the scheduler's too)."""
    (tmp_path / "beside_script.py").write_text("def triple(x):\n    return 3 * x\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    beside_script = importlib.import_module("beside_script")  # pickled by reference
    with dask.config.set({"distributed.scheduler.allowed-failures": 7}):
        c = wc.cluster(n_workers=1, threads_per_worker=1, dashboard=False, gpu=False)
    with c:
        host = psutil.Process(c._local.pid)
        assert host.cmdline()[1:3] == ["-m", "workbench.compute.host"]
        assert host.ppid() == os.getpid() and os.getpgid(host.pid) == host.pid
        (worker_pid,) = c.client.run(os.getpid).values()
        assert psutil.Process(worker_pid).ppid() == host.pid
        assert c.client.submit(beside_script.triple, 14).result() == 42
        failures = c.client.run_on_scheduler(lambda dask_scheduler: dask_scheduler.allowed_failures)
        assert failures == 7
        processes = [host, *host.children(recursive=True)]
    assert [p.pid for p in processes if running(p)] == []  # all gone once closed


def test_workers_get_glibc_thresholds_unless_the_user_set_them():
    """Dask's MALLOC_TRIM_THRESHOLD_ freezes glibc's mmap threshold at 128 KiB; the workers get
    glibc's own ceilings instead, and a value the user configured is theirs."""
    from workbench.compute.host import WORKER_MALLOC

    def malloc_environ() -> dict:
        return {k: v for k, v in os.environ.items() if k.startswith("MALLOC_")}

    with wc.cluster(n_workers=1, threads_per_worker=1, dashboard=False, gpu=False) as c:
        (env,) = c.client.run(malloc_environ).values()
    assert env == {name: str(value) for name, value in WORKER_MALLOC.items()}
    mine = {"MALLOC_MMAP_THRESHOLD_": 1 << 20, "MALLOC_TRIM_THRESHOLD_": 0}
    with dask.config.set({"distributed.nanny.pre-spawn-environ": mine}):
        c = wc.cluster(n_workers=1, threads_per_worker=1, dashboard=False, gpu=False)
    with c:
        (env,) = c.client.run(malloc_environ).values()
    assert env == {"MALLOC_MMAP_THRESHOLD_": str(1 << 20), "MALLOC_TRIM_THRESHOLD_": "0"}


def test_threads_cluster_without_dashboard_is_reachable_over_tcp():
    with wc.cluster(n_workers=1, threads_per_worker=1, processes=False, dashboard=False) as c:
        assert c.address.startswith("tcp://")
        assert c.dashboard_link is None
        assert ">none<" in c._repr_html_()


def test_address_joins_a_running_scheduler_as_remote(other_cluster):
    c = wc.cluster(other_cluster.scheduler_address)
    try:
        assert c.kind == "remote"
        assert c.address == other_cluster.scheduler_address
        assert c.client.submit(sum, [1, 2, 3]).result() == 6
        assert c.summary()["workers"] == 1
        assert list(listed(c.address)["kind"]) == ["remote"]
    finally:
        c.close()
    # Closing a remote handle leaves the scheduler it joined running.
    assert other_cluster.status.name == "running"


def test_unreachable_address_fails_fast_with_a_clear_error():
    address = f"tcp://127.0.0.1:{free_port()}"
    start = time.monotonic()
    with pytest.raises(wc.ClusterConnectionError, match="wb.cluster()") as info:
        wc.cluster(address)
    assert address in str(info.value)
    assert time.monotonic() - start < 5


def test_address_of_something_not_dask_is_named_as_such():
    with socket.socket() as server:  # accepts connections (backlog) but never speaks
        server.bind(("127.0.0.1", 0))
        server.listen()
        address = f"tcp://127.0.0.1:{server.getsockname()[1]}"
        with pytest.raises(wc.ClusterConnectionError, match="not a Dask scheduler"):
            wc.cluster(address, timeout=1)


def test_registry_lists_a_cluster_of_another_process_and_prunes_it_once_killed(home):
    script = (
        "import time, workbench.compute as wc\n"
        "c = wc.cluster(n_workers=1, threads_per_worker=1, processes=False, dashboard=False)\n"
        "print(c.address, flush=True)\n"
        "time.sleep(120)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        address = proc.stdout.readline().strip()
        assert address.startswith("tcp://"), f"the child printed {address!r}"
        row = listed(address)
        assert list(row["pid"]) == [proc.pid]
        assert list(row["workers"]) == [1]
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
    assert listed(address).empty
    assert list((home / "clusters").iterdir()) == []


def test_registry_prunes_reused_pids_and_says_silent_schedulers_stopped(home):
    me = registry.owner_fields()
    closed_port = free_port()
    entries = [
        # A live scheduler address but a pid that belongs to a newer process than the owner.
        {"id": "reused", "address": "inproc://x", **me, "pid_created": me["pid_created"] - 60},
        # A live owner whose scheduler is silent: listed, stopped, its dead link not offered.
        {"id": "silent", "address": f"tcp://127.0.0.1:{closed_port}", **me,
         "dashboard_link": f"http://127.0.0.1:{closed_port}/status"},
        {"id": "alive", "address": "inproc://y", **me},
    ]
    for entry in entries:
        registry.register({**entry, "kind": "cpu", "created": time.time()})
    (home / "clusters" / "garbled.json").write_text("{not json")
    table = wc.clusters()
    assert dict(zip(table["id"], table["status"], strict=True)) == {"silent": "stopped",
                                                                    "alive": "running"}
    assert table["dashboard_link"].isna().all()
    assert sorted(p.name for p in (home / "clusters").iterdir()) == ["alive.json", "silent.json"]


def test_registry_directory_is_private_and_entries_are_plain_json(home):
    path = registry.register({"id": "abc", "address": "inproc://z", **registry.owner_fields()})
    assert (home / "clusters").stat().st_mode & 0o777 == 0o700
    assert json.loads(path.read_text())["id"] == "abc"
    assert [p.name for p in (home / "clusters").iterdir()] == ["abc.json"]  # no temp files


def test_current_cluster_reuses_the_latest_and_forgets_closed_ones(monkeypatch):
    # The module, not the function of the same name that the package exports.
    cluster_module = importlib.import_module("workbench.compute.cluster")
    monkeypatch.setattr(cluster_module, "_live", [])  # clusters of other tests stay out of it
    with wc.cluster(n_workers=1, threads_per_worker=1, processes=False, dashboard=False) as c:
        assert wc.current_cluster() is c
        assert wc.current_cluster(start=False) is c
    with pytest.raises(LookupError, match="wb.cluster()"):
        wc.current_cluster(start=False)
    started = wc.current_cluster()
    try:
        assert started is not c and started.kind in {"cpu", "cuda"}
        assert wc.current_cluster() is started
    finally:
        started.close()


@pytest.mark.skipif(importlib.util.find_spec("dask_cuda") is not None, reason="has dask-cuda")
def test_gpu_true_without_dask_cuda_says_what_to_install():
    with pytest.raises(ImportError, match=r"workbench\[gpu\]"):
        wc.cluster(gpu=True)


@pytest.mark.gpu
@pytest.mark.skipif(
    not wc.has_gpu() or importlib.util.find_spec("dask_cuda") is None,
    reason="needs a CUDA GPU and dask-cuda",
)
def test_gpus_give_a_cuda_cluster_with_one_worker_per_gpu():
    with wc.cluster() as c:
        assert c.kind == "cuda"
        summary = c.summary()
        assert summary["workers"] == summary["gpus"] == len(wc.gpus())
        assert c.workers["gpu"].notna().all()
        assert '<td style="text-align:left">cuda</td>' in c._repr_html_()
