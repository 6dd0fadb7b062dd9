"""The federated views: `FederatedMonitor` on a fake job whose tables grow round by round (it
redraws, then stops once the job ended), and the `FederatedRuns` dashboard on
`dashboard_lake`'s two runs."""

from __future__ import annotations

import threading
import time

import pandas as pd
import pytest
from dashboard_lake import FL_IID, FL_SKEW, build_results_lake, fl_run

import workbench as wb
from workbench.widgets.federated import FL_CHARTS, FederatedMonitor


class FakeJob:
    """What `FederatedMonitor` reads of a `wb.fl.launch` job; `advance()` adds a round."""

    def __init__(self, rounds: int = 3, dp_epsilon: float | None = 2.0) -> None:
        all_rounds, all_clients = fl_run("r1", "fake", rounds=rounds, dp=True, dropout=3)
        self._rounds = all_rounds.drop(columns=["run_id", "name"])
        self._clients = all_clients.drop(columns=["run_id", "name"])
        self.done, self.status, self.rounds = 0, "running", rounds
        self.name, self.run_dir, self.dp_epsilon = "fake", "/tmp/fl/fake", dp_epsilon
        self.reads = 0
        self._lock = threading.Lock()

    def advance(self, status: str = "running") -> None:
        with self._lock:
            self.done += 1
            self.status = status

    @property
    def history(self) -> pd.DataFrame:
        with self._lock:
            self.reads += 1
            return self._rounds[self._rounds["round"] <= self.done].reset_index(drop=True)

    @property
    def participation(self) -> pd.DataFrame:
        with self._lock:
            return self._clients[self._clients["round"] <= self.done].reset_index(drop=True)

    @property
    def clients(self) -> pd.DataFrame:
        return self.participation.drop_duplicates("client", keep="last")

    @property
    def label_counts(self) -> pd.DataFrame:
        """Known from the start, as a real job knows it from its partitions."""
        from workbench.fl.records import label_counts

        return label_counts(self._clients)


def wait_until(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_the_monitor_redraws_as_rounds_arrive_and_stops_when_the_job_ends():
    job = FakeJob()
    monitor = FederatedMonitor(job, interval=0.05)
    try:
        assert list(monitor.figures) == list(FL_CHARTS) and not monitor.ended
        assert "round 0 / 3" in monitor.header.value and "running" in monitor.header.value
        accuracy = monitor.figures["accuracy"]
        assert accuracy.figure.data == ()
        assert accuracy.figure.layout.title.text == "Accuracy · No accuracy yet"

        job.advance()
        wait_until(lambda: "round 1 / 3" in monitor.header.value)  # the header comes last
        assert len(monitor.history) == 1 and len(monitor.figures["accuracy"].figure.data) == 2
        assert "4 of 4 clients completed, 0 dropped this round" in monitor.header.value
        assert "ε 0.6 of 2 spent" in monitor.header.value
        job.advance()
        wait_until(lambda: "round 2 / 3" in monitor.header.value)
        assert "3 of 4 clients completed, 1 dropped" in monitor.header.value
        heat = monitor.figures["participation"].figure.data[0]
        assert list(heat.x) == [1, 2] and len(heat.y) == 4
        assert [t.name for t in monitor.figures["privacy"].figure.data] == ["ε", "budget ε = 2"]
        assert monitor.figures["accuracy"] is accuracy  # redrawn in place, not replaced

        job.advance("succeeded")
        assert monitor.wait(10) and monitor.ended
        assert "succeeded" in monitor.header.value and "round 3 / 3" in monitor.header.value
        assert list(monitor.figures["bytes"].figure.data[0].x) == [1, 2, 3]
        updates, reads = monitor.updates, job.reads
        time.sleep(0.3)  # polling stopped: nothing is read or drawn again
        assert (monitor.updates, job.reads) == (updates, reads)
    finally:
        monitor.close()


def test_the_monitor_of_an_ended_job_draws_once_and_starts_no_thread():
    job = FakeJob(dp_epsilon=None)
    job.advance()
    job.advance("failed")
    monitor = FederatedMonitor(job, interval=0.05)
    assert monitor.ended and monitor.updates == 1 and monitor.wait(0)
    assert "failed" in monitor.header.value and "ε 0.849 spent" in monitor.header.value
    assert [t.name for t in monitor.figures["privacy"].figure.data] == ["ε"]  # no budget
    monitor.close()


def test_the_monitor_is_the_view_of_a_federated_job_and_retries_a_failed_read(monkeypatch):
    job = FakeJob()
    monitor = FederatedMonitor(job, interval=0.05)
    try:
        monkeypatch.setattr(FakeJob, "history", property(lambda self: 1 / 0))
        wait_until(lambda: "could not refresh" in monitor.notice.value)
        assert "ZeroDivisionError" in monitor.notice.value and "retrying" in monitor.notice.value
        monkeypatch.undo()
        job.advance("stopped")
        assert monitor.wait(10)
        assert monitor.notice.value == "" and "stopped" in monitor.header.value
    finally:
        monitor.close()
    assert wb.widgets.VIEWS["workbench.fl.job.FederatedJob"] == "FederatedMonitor"
    assert wb.widgets.FederatedMonitor is FederatedMonitor
    with pytest.raises(ValueError, match="interval"):
        FederatedMonitor(job, interval=0)


@pytest.fixture(scope="module")
def results_lake(tmp_path_factory):
    return wb.Lake(build_results_lake(tmp_path_factory.mktemp("fl") / "lake"))


def test_the_dashboard_picks_the_latest_run_and_draws_its_charts(results_lake):
    view = wb.widgets.FederatedRuns(results_lake)
    assert not view.empty and "2 runs" in view.heading.value
    assert [value for _, value in view.run_picker.options] == [FL_SKEW, FL_IID]  # newest first
    assert view.run_id == FL_SKEW
    assert "fedavg-skew" in view.run_info.value and "1 dropped" in view.run_info.value
    assert "ε 1.34 spent" in view.run_info.value
    assert list(view.figures) == list(FL_CHARTS)
    assert view.figures["accuracy"].figure.layout.title.text == "Accuracy · fedavg-skew"
    heat = view.figures["participation"].figure.data[0]
    assert list(heat.x) == [1, 2, 3, 4, 5] and len(heat.y) == 4
    assert [t.name for t in view.figures["privacy"].figure.data] == ["ε"]
    assert list(view.charts.children) == list(view.figures.values())
    assert "fedavg-iid" in view.summary.value and "accuracy %" in view.summary.value

    skew = view.figures
    view.select(FL_IID)
    assert "ε" not in view.run_info.value and "0 dropped" in view.run_info.value
    privacy = view.figures["privacy"].figure
    assert privacy.data == () and "no differential privacy" in privacy.layout.title.text
    view.select(FL_SKEW)
    assert view.figures is skew  # kept, not drawn again
    with pytest.raises(KeyError, match="no federated run 'nope'"):
        view.select("nope")


def test_the_dashboard_without_federated_runs_says_so(tmp_path):
    lake = wb.Lake(tmp_path / "lake")
    lake.record("scores", pd.DataFrame({"x": [1, 2]}))
    view = wb.widgets.FederatedRuns(lake)
    assert view.empty and view.body.children == ()
    assert "has no federated runs yet" in view.message.value
    assert "wb.fl.launch" in view.message.value and "_fl" not in view.message.value


def test_the_monitor_says_why_a_private_run_stopped_early():
    job = FakeJob(rounds=5)
    job.done, job.status = 2, "succeeded"
    job.outcome = "stopped before round 3: it would spend epsilon 2.1, over the budget of 2"
    monitor = FederatedMonitor(job, interval=0.05)
    try:
        assert monitor.ended and "round 2 / 5" in monitor.header.value
        assert "stopped before round 3: it would spend epsilon 2.1" in monitor.header.value
    finally:
        monitor.close()


def test_the_monitor_shows_a_jobs_firing_alerts_in_a_banner():
    from workbench.ops.watch import COLUMNS

    def alerts(*rows: tuple) -> pd.DataFrame:
        return pd.DataFrame([{"rule": rule, "severity": severity, "run": "r1", "rank": rank,
                              "state": state, "value": 0.1, "threshold": 0.5, "started": 1.0,
                              "resolved": float("nan"), "message": message}
                             for rule, severity, rank, state, message in rows],
                            columns=list(COLUMNS))

    job = FakeJob()
    monitor = FederatedMonitor(job, interval=0.05)
    try:
        assert monitor.alerts is None and monitor.alert_banner.value == ""  # no alerts at all
        job.alerts = alerts(("accuracy_drop", "warning", -1, "firing",
                             "test accuracy fell below 50% of its median"))
        wait_until(lambda: "accuracy_drop" in monitor.alert_banner.value)  # with no new round
        banner = monitor.alert_banner.value
        assert "1 alert firing" in banner and "rank" not in banner  # a round has no rank
        assert "test accuracy fell below 50% of its median" in banner
        assert monitor.children[1] is monitor.alert_banner  # under the header
        job.alerts = alerts(("accuracy_drop", "warning", -1, "resolved", "resolved"))
        wait_until(lambda: monitor.alert_banner.value == "")
        job.advance("succeeded")
        assert monitor.wait(10)
    finally:
        monitor.close()
