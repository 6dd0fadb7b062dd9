"""Shared fixtures: an isolated WORKBENCH_HOME, a PII key, one real Dask LocalCluster, and a
check that the suite leaves no child process behind."""

from __future__ import annotations

import time

import psutil
import pytest

from workbench.proxy import BASE_ENV


@pytest.fixture(scope="session", autouse=True)
def no_children_after_the_suite():
    """Set up first, torn down last (after the Dask cluster): every process a test started
    (training ranks, Voila servers, kernels, clusters) must be gone by then."""
    yield
    deadline = time.monotonic() + 10
    while left := [p for p in psutil.Process().children(recursive=True) if not _tracker(p)]:
        if time.monotonic() > deadline:
            pytest.fail(f"child processes outlived the test suite: "
                        f"{[(p.pid, ' '.join(p.cmdline()[:4])) for p in left]}")
        time.sleep(0.1)


def _tracker(proc: psutil.Process) -> bool:
    """multiprocessing's resource tracker: Python's own helper, alive until this interpreter
    exits by design (it cleans up after it), so not a leak."""
    try:
        return "multiprocessing.resource_tracker" in " ".join(proc.cmdline())
    except psutil.NoSuchProcess:
        return True  # gone already


@pytest.fixture(autouse=True)
def workbench_home(tmp_path_factory, monkeypatch):
    """Every test gets its own registry/key home, so nothing touches the real ~/.workbench."""
    home = tmp_path_factory.mktemp("wbhome")
    monkeypatch.setenv("WORKBENCH_HOME", str(home))
    monkeypatch.delenv("WORKBENCH_PII_KEY_FILE", raising=False)
    # The server extension tells its kernels its base URL through the environment; loaded in
    # this process (pytest-jupyter's servers run under /a%40b/), it would leave it set for every
    # later test. Set and removed here, it is removed again after each test.
    monkeypatch.setenv(BASE_ENV, "/")
    monkeypatch.delenv(BASE_ENV)
    monkeypatch.delenv("JUPYTERHUB_SERVICE_PREFIX", raising=False)
    return home


@pytest.fixture
def pii_key(monkeypatch):
    monkeypatch.setenv("WORKBENCH_PII_KEY", "test-secret")
    return "test-secret"


@pytest.fixture(scope="session")
def dask_cluster():
    """A real LocalCluster with worker processes, shared by the lake tests (it becomes current)."""
    from workbench.compute import cluster

    c = cluster(n_workers=2, threads_per_worker=1, processes=True, dashboard=False, gpu=False)
    yield c
    c.close()


@pytest.fixture
def registered(dask_cluster):
    """The session's cluster in this test's registry (each test has its own WORKBENCH_HOME),
    so that other processes (a Jupyter server, the sidebar) list it and run tasks on it."""
    from workbench.compute import registry

    registry.register(dask_cluster._entry())
    return dask_cluster


@pytest.fixture
def lake(tmp_path, dask_cluster):
    import workbench as wb

    return wb.Lake(tmp_path / "lake")


@pytest.fixture
def stop_after():
    """Dashboards a test publishes (append them), stopped at its end whatever happens."""
    started: list = []
    yield started
    for dashboard in started:
        dashboard.stop()


@pytest.fixture(scope="module")
def task():
    """The demo task (gapminder continents), split with seed 0."""
    from workbench.models import gapminder_task

    return gapminder_task(seed=0)


@pytest.fixture(scope="module")
def trained(task):
    """`DemoClassifier` trained 30 epochs on `task` (seed 0), in eval mode; one per module, so
    no module sees another's changes to it."""
    import torch

    from workbench.models import DemoClassifier, fit

    torch.manual_seed(0)
    return fit(DemoClassifier(), task, epochs=30).eval()
