"""`wb.ops.serve_metrics`: the runs registered in `workbench.ops.live`, scraped over HTTP as a
Prometheus server would and parsed with prometheus_client's own parser: a gauge per numeric
metric with run and rank labels, ``ALERTS`` as Prometheus exposes its alerts, the number of
runs watched; the port freed at once on stop, and bad ports refused by name."""

from __future__ import annotations

import math
import socket
import urllib.error
import urllib.request
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

import workbench as wb
from workbench.ops import Alert, live
from workbench.ops.prometheus import MetricsError, metric_name


class FakeRun:
    """A watched run as train and fl register one: fixed records and alerts."""

    def __init__(self, run_id: str, latest: dict[int, dict[str, Any]],
                 alerts: list[Alert] = ()) -> None:
        self.run_id = run_id
        self._latest = latest
        self._alerts = list(alerts)

    def latest(self) -> dict[int, dict[str, Any]]:
        return self._latest

    def current_alerts(self) -> list[Alert]:
        return self._alerts


def alert(rule: str, state: str, rank: int, severity: str = "warning") -> Alert:
    return Alert(rule, severity, "r1", rank, state, 1.0, 0.5, 100.0,
                 200.0 if state == "resolved" else None, "m", "notify")


@pytest.fixture
def registered():
    """Registers runs for a test alone: what other tests of this process left watched (a run
    still finishing) is set aside and put back."""
    others = live.sources()
    for other in others:
        live.unregister(other)
    runs: list[FakeRun] = []

    def add(run: FakeRun) -> FakeRun:
        live.register(run)
        runs.append(run)
        return run

    yield add
    for run in runs:
        live.unregister(run)
    for other in others:
        live.register(other)


def scrape(url: str) -> dict[str, list]:
    """Family name -> its samples, as (labels, value)."""
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.headers["Content-Type"].startswith("text/plain")
        text = response.read().decode()
    return {f.name: [(s.labels, s.value) for s in f.samples]
            for f in text_string_to_metric_families(text)}


def test_a_scrape_shows_each_ranks_last_record_and_the_alerts(registered):
    registered(FakeRun("r1", {
        0: {"run": "r1", "rank": 0, "step": 41, "time": 1_700_000_000.5, "loss": 0.25,
            "loss/val": 0.5, "phase": "train", "finite": True},
        1: {"run": "r1", "rank": 1, "step": 40, "time": 1_700_000_000.0, "loss": math.nan},
    }, [alert("nonfinite_loss", "firing", 1, "critical"), alert("slow", "pending", 0),
        alert("old", "resolved", 0)]))
    registered(FakeRun("r2", {0: {"loss": 1.5, "gpu.mem-bytes": 2**30}}))
    with wb.ops.serve_metrics() as server:
        assert server.url == f"http://127.0.0.1:{server.port}/metrics"
        assert "runs=2" in repr(server)
        families = scrape(server.url)
    assert families["workbench_runs_watched"] == [({}, 2.0)]
    loss = dict((tuple(sorted(labels.items())), v) for labels, v in families["workbench_loss"])
    assert loss[(("rank", "0"), ("run", "r1"))] == 0.25
    assert math.isnan(loss[(("rank", "1"), ("run", "r1"))])
    assert loss[(("rank", "0"), ("run", "r2"))] == 1.5
    assert families["workbench_loss_val"] == [({"run": "r1", "rank": "0"}, 0.5)]
    assert families["workbench_gpu_mem_bytes"] == [({"run": "r2", "rank": "0"}, 2.0**30)]
    assert {v for _, v in families["workbench_step"]} == {41.0, 40.0}
    assert ({"run": "r1", "rank": "0"}, 1_700_000_000.5) in \
        families["workbench_record_timestamp_seconds"]
    assert not {"workbench_phase", "workbench_finite", "workbench_run", "workbench_rank"} \
        & set(families)  # text and flags are not gauges; run and rank are labels
    assert sorted(families["ALERTS"], key=lambda s: s[0]["alertname"]) == [
        ({"alertname": "nonfinite_loss", "alertstate": "firing", "severity": "critical",
          "run": "r1", "rank": "1"}, 1.0),
        ({"alertname": "slow", "alertstate": "pending", "severity": "warning", "run": "r1",
          "rank": "0"}, 1.0)]  # a resolved alert is no longer a series, as in Prometheus


def test_each_scrape_reads_the_runs_registered_then(registered):
    with wb.ops.serve_metrics() as server:
        before = scrape(server.url)
        run = registered(FakeRun("r1", {0: {"loss": 0.5}}))
        during = scrape(server.url)
        live.unregister(run)
        after = scrape(server.url)
    assert before["workbench_runs_watched"] == [({}, 0.0)] and before["ALERTS"] == []
    assert during["workbench_loss"] == [({"run": "r1", "rank": "0"}, 0.5)]
    assert after["workbench_runs_watched"] == [({}, 0.0)] and "workbench_loss" not in after


def test_stop_frees_the_port_at_once():
    server = wb.ops.serve_metrics()
    port = server.port
    scrape(server.url)
    server.stop()
    server.stop()  # twice is harmless
    assert "stopped" in repr(server)
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(server.url, timeout=5)
    with wb.ops.serve_metrics(port=port) as again:  # bound again, straight away
        assert again.port == port and "workbench_runs_watched" in scrape(again.url)


def test_a_port_in_use_is_refused_by_name():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(MetricsError, match=f"port={port}.*port=0"):
            wb.ops.serve_metrics(port=port)


@pytest.mark.parametrize(("kwargs", "named"), [
    ({"port": -1}, "port=-1"), ({"port": 70000}, "port=70000"), ({"port": "9100"}, "port='9100'"),
    ({"port": True}, "port=True"), ({"host": ""}, "host=''"),
])
def test_bad_arguments_are_refused_by_name(kwargs, named):
    with pytest.raises(MetricsError, match=named) as raised:
        wb.ops.serve_metrics(**kwargs)
    assert isinstance(raised.value, ValueError)


def test_live_registers_once_and_refuses_what_is_not_a_run():
    run = FakeRun("r9", {})
    live.register(run)
    live.register(run)
    try:
        assert [s for s in live.sources() if s is run] == [run]
    finally:
        live.unregister(run)
    live.unregister(run)  # not registered: nothing happens
    assert run not in live.sources()
    with pytest.raises(TypeError, match="run_id, latest\\(\\) and current_alerts\\(\\)"):
        live.register(object())


def test_metric_names_follow_prometheus_rules():
    assert metric_name("loss") == "workbench_loss"
    assert metric_name("loss/val") == "workbench_loss_val"
    assert metric_name("gpu:0.mem") == "workbench_gpu_0_mem"
    assert metric_name("time") == "workbench_record_timestamp_seconds"
