"""`job.monitor()`: the live view of real two-rank gloo jobs (charts, progress, summary, a failed
rank's traceback, the Stop button, the update rate), its replay from the run directory, and the
pure series functions against figures computed by hand."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
from test_train_launch import no_orphans  # noqa: F401  (autouse: no process outlives a test)

import workbench as wb
from workbench.train.metrics import logged_metrics
from workbench.train.series import (
    data_wait_series,
    gpu_series,
    metric_series,
    progress,
    step_time_percentiles,
    throughput_series,
)
from workbench.widgets.training import MAX_UPDATES_PER_S, TrainingMonitor
from workbench.widgets.training_text import summary_rows

pytestmark = pytest.mark.timeout(90)


def fitting(n_steps: int, fail_at: int | None = None) -> float:
    """A linear model fitted with DDP on random batches of 8; rank 1 raises at `fail_at`."""
    import torch

    run = wb.train.current()
    torch.manual_seed(run.rank)
    model = torch.nn.parallel.DistributedDataParallel(torch.nn.Linear(4, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    batches = [torch.randn(8, 4) for _ in range(n_steps)]
    for step, x in enumerate(run.steps(batches)):
        if step == fail_at and run.rank == 1:
            raise ValueError(f"diverged at step {step} on rank 1")
        loss = (model(x) - x.sum(dim=1, keepdim=True)).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        run.log(loss=loss.item(), grad_norm=float(model.module.weight.grad.norm()))
        time.sleep(0.005)
    return loss.item()


def endless() -> None:
    """Steps until the notebook asks to stop."""
    import torch

    run = wb.train.current()
    for _ in run.steps([torch.zeros(4, 2)] * 100_000):
        if run.should_stop():
            break
        time.sleep(0.01)


def traced(monitor: TrainingMonitor, chart: str) -> dict[str, int]:
    """Points per line of one of the monitor's charts, by name, as the figure's synced state
    holds them (what a front end connecting now would draw)."""
    return {trace["name"]: len(trace["x"]) for trace in monitor.figure._widget_data
            if trace["meta"] == chart}


def test_a_live_job_ends_with_every_rank_charted_within_the_update_budget(tmp_path):
    steps = 120
    job = wb.launch(fitting, steps, run_dir=tmp_path, runs_lake=None)
    started = time.monotonic()
    monitor = job.monitor(settle=(0.5,))
    assert monitor.wait(timeout=60), "the monitor did not see the job end"
    duration = time.monotonic() - started
    assert job.status == monitor.status == "succeeded"

    # At most MAX_UPDATES_PER_S a second, +1 for the final; and it did update while running,
    # batching many records per update.
    assert 2 <= monitor.updates <= MAX_UPDATES_PER_S * duration + 1, (monitor.updates, duration)
    assert len(monitor.metrics) > 2 * monitor.updates
    monitor._thread.join(timeout=5)  # after resending the final state once, half a second on
    assert not monitor._thread.is_alive() and monitor.resyncs == 1

    assert traced(monitor, "throughput") == {"rank 0": steps, "rank 1": steps, "total": steps}
    assert traced(monitor, "step_time") == {"p50": steps, "p90": steps, "p99": steps}
    assert traced(monitor, "data_wait") == {"rank 0": steps, "rank 1": steps}
    # Every logged metric is in the picker; loss is charted first, a line per rank.
    assert monitor.metric_picker.options == ("loss", "grad_norm")
    assert monitor.metric_picker.value == "loss" and not monitor.metric_picker.disabled
    assert traced(monitor, "metric") == {"rank 0": steps, "rank 1": steps}
    loss = monitor.metric_series["loss"]
    assert loss["value"].notna().all() and (loss["value"] >= 0).all()
    assert list(monitor.traces("metric")["rank 1"].y) == loss.query("series == 'rank 1'")[
        "value"].tolist()
    monitor.show_metric("grad_norm")
    assert monitor.figure.layout.annotations[3].text == "grad_norm"
    grad = monitor.metric_series["grad_norm"].query("series == 'rank 0'")["value"].tolist()
    assert list(monitor.traces("metric")["rank 0"].y) == grad and len(grad) == steps
    with pytest.raises(KeyError, match="logged: \\['loss', 'grad_norm'\\]"):
        monitor.show_metric("accuracy")

    assert monitor.progress_bar.value == monitor.progress_bar.max == steps
    assert f"{steps} / {steps} steps (100%)" in monitor.progress_label.value
    assert monitor.progress_bar.bar_style == "success"
    assert monitor.summary == job.summary()
    table = monitor.summary_table.value
    assert "<td>steps</td><td>120</td>" in table and "n/a</td>" in table  # MFU: no FLOPs given
    assert "No GPU: this job runs on CPU" in monitor.gpu_note.value
    assert len(monitor.figure.layout.annotations) == 4  # no GPU chart
    assert monitor.stop_button.disabled
    assert monitor.error_box.layout.display == "none"
    assert "succeeded (live) step 120/120" in repr(monitor)
    assert "Training fitting" in monitor._repr_mimebundle_()["text/html"]

    # The replay of the run directory draws the same numbers, with no job.
    replay = TrainingMonitor(str(tmp_path))
    assert replay.job is None and replay.status == "succeeded" and replay.ended
    assert replay.updates == 1 and replay.stop_button.disabled
    for name, frame in monitor.series.items():
        pd.testing.assert_frame_equal(replay.series[name], frame, obj=name)
    assert replay.metric_series.keys() == monitor.metric_series.keys()
    for name, frame in monitor.metric_series.items():
        pd.testing.assert_frame_equal(replay.metric_series[name], frame, obj=name)
    assert replay.summary == monitor.summary
    assert "GPU samples are not kept on disk" in replay.gpu_note.value
    monitor.close()
    replay.close()


def test_a_failed_rank_is_shown_with_its_traceback_live_and_in_replay(tmp_path):
    job = wb.launch(fitting, 400, 15, run_dir=tmp_path, runs_lake=None)
    monitor = TrainingMonitor(job)
    assert monitor.wait(timeout=60)
    assert monitor.status == "failed" and monitor.failure.rank == 1
    shown = monitor.error_box.value
    assert monitor.error_box.layout.display is None
    assert "Rank 1 failed" in shown and "exit code 1" in shown
    assert "Traceback (most recent call last)" in shown
    assert "ValueError: diverged at step 15 on rank 1" in shown
    assert "in fitting" in shown
    assert monitor.progress_bar.bar_style == "danger" and monitor.stop_button.disabled
    done, total = progress(monitor.metrics)
    assert total == 400 and 15 <= done < 400

    replay = TrainingMonitor(tmp_path)
    assert replay.status == "failed" and replay.failure.rank == 1
    assert replay.failure.traceback == monitor.failure.traceback
    assert replay.failure.headline == monitor.failure.headline == "rank 1 failed (exit code 1)"
    assert "diverged at step 15 on rank 1" in replay.error_box.value
    monitor.close()
    replay.close()


def test_the_stop_button_stops_a_long_job_and_is_then_disabled(tmp_path):
    job = wb.launch(endless, run_dir=tmp_path, runs_lake=None)
    closed = job.monitor(interval=0.5)  # a second view of the job, closed while it runs
    thread = closed._thread
    assert thread.is_alive()
    closed.close()
    assert not thread.is_alive() and not closed.ended
    pushed = closed.updates

    monitor = job.monitor(x="time")
    assert not monitor.stop_button.disabled
    deadline = time.monotonic() + 45
    while progress(monitor.metrics)[0] < 5:  # the live view shows steps before the click
        assert time.monotonic() < deadline, "no steps reached the monitor"
        time.sleep(0.1)
    monitor.stop_button.click()
    assert monitor.stop_button.disabled
    job.wait(timeout=30)
    assert monitor.wait(timeout=10)
    assert job.status == monitor.status == "stopped"
    assert monitor.stop_button.disabled and monitor.stop_button.description == "Stop"
    assert monitor.progress_bar.bar_style == "warning"
    done, total = progress(monitor.metrics)
    assert total == 100_000 and 5 <= done < total
    assert "/ 100,000 steps (0%)" in monitor.progress_label.value
    # Nothing was logged: an empty picker, and a chart that says so.
    assert monitor.metric_picker.options == () and monitor.metric_picker.disabled
    assert "none yet" in monitor.figure.layout.annotations[3].text
    assert closed.updates == pushed  # the closed view pushed nothing more
    monitor.close()


def test_an_unknown_run_dir_and_bad_options_are_refused(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        TrainingMonitor(tmp_path / "nowhere")
    (tmp_path / "run").mkdir()
    with pytest.raises(ValueError, match="more than 4 times a second"):
        TrainingMonitor(tmp_path / "run", interval=0.1)
    with pytest.raises(ValueError, match="'step' or 'time'"):
        TrainingMonitor(tmp_path / "run", x="epoch")
    empty = TrainingMonitor(tmp_path / "run")  # a run dir with no records and no job.json
    assert empty.status == "unknown" and empty.summary is None
    assert [value for _, value in summary_rows(None)] == ["n/a"] * len(summary_rows(None))
    assert "<td>samples_per_s</td><td>n/a</td>" in empty.summary_table.value
    assert "0 steps (total unknown)" in empty.progress_label.value
    empty.close()


GPU_COLUMNS = ["time", "gpu", "name", "util", "memory_used_bytes", "memory_total_bytes"]


class FlakyJob:
    """Stands in for a live `Job` (this machine may have neither a GPU nor a flaky disk):
    records from a frame, GPU samples the test appends, a status the test sets, and a metrics
    read that fails on demand."""

    name, backend, device, nprocs = "flaky", "gloo", "cpu", 2

    def __init__(self, run_dir, metrics: pd.DataFrame) -> None:
        self.run_dir, self._metrics = run_dir, metrics
        self.status, self.error, self.failing = "running", None, False
        self.samples: list[tuple] = []

    @property
    def metrics(self) -> pd.DataFrame:
        if self.failing:
            raise RuntimeError("the metrics could not be read")
        return self._metrics

    @property
    def gpu(self) -> pd.DataFrame:
        return pd.DataFrame(self.samples, columns=GPU_COLUMNS)


def until(condition, what: str, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_a_failed_refresh_is_shown_and_retried_not_fatal(tmp_path):
    job = FlakyJob(tmp_path, hand_metrics())
    monitor = TrainingMonitor(job)
    assert monitor.notice.value == "" and monitor.updates == 1
    job.failing = True
    until(lambda: "RuntimeError: the metrics could not be read" in monitor.notice.value,
          "the failure to show")
    assert "retrying" in monitor.notice.value and monitor._thread.is_alive()
    job.failing = False
    until(lambda: monitor.notice.value == "", "the notice to clear after a good update")
    job.status = "succeeded"
    assert monitor.wait(timeout=10) and monitor.status == "succeeded"
    assert monitor.progress_label.value.endswith("4 / 4 steps (100%)")
    monitor.close()


def test_gpu_samples_get_a_chart_that_follows_them(tmp_path):
    job = FlakyJob(tmp_path, hand_metrics())
    job.backend, job.device = "nccl", "cuda (NVIDIA H100 80GB HBM3)"
    monitor = TrainingMonitor(job)
    gpu_title = monitor.figure.layout.annotations[4]  # a GPU job's chart exists from the start
    assert "no samples yet" in gpu_title.text and monitor.gpu_note.value == ""
    job.samples += [(100.0, 0, "H100", 40.0, 2**30, 2**32), (101.0, 0, "H100", 90.0, 2**31, 2**32)]
    until(lambda: traced(monitor, "gpu").get("GPU 0 util %") == 2, "the GPU samples")
    sampled = {name: n for name, n in traced(monitor, "gpu").items() if n}  # other GPUs: 0
    assert sampled == {"GPU 0 util %": 2, "GPU 0 memory %": 2}
    assert gpu_title.text == "GPU utilisation and memory (%)"
    job.samples.append((102.0, 0, "H100", 95.0, 2**31, 2**32))
    until(lambda: traced(monitor, "gpu")["GPU 0 util %"] == 3, "the third sample")
    memory = monitor.series["gpu"].query("series == 'GPU 0 memory %'")
    assert memory["value"].tolist() == [25.0, 50.0, 50.0]
    assert memory["time"].tolist() == [0.0, 1.0, 2.0]  # the first sample came first
    job.status = "succeeded"
    assert monitor.wait(timeout=10)
    monitor.close()


# -- the pure series functions, by hand --------------------------------------------------------

def hand_metrics() -> pd.DataFrame:
    """Two ranks, four steps each (10 samples a step), a loss logged per step, and one string
    metric that cannot be charted. Times start at 100.0."""
    rows = []
    step_s = {0: [1.0, 1.0, 2.0, 2.0], 1: [0.5, 0.5, 0.5, 1.0]}
    data_s = {0: [0.5, 0.0, 0.0, 1.0], 1: [0.25, 0.0, 0.25, 0.0]}
    for rank in (0, 1):
        clock = 100.0
        for step in range(4):
            clock += step_s[rank][step]
            rows.append({"rank": rank, "step": step, "time": clock,
                         "step_s": step_s[rank][step], "data_s": data_s[rank][step],
                         "samples": 10, "peak_memory_bytes": 2**20,
                         "total_steps": 4.0 if step == 0 else np.nan,
                         "loss": 1.0 / (step + 1) + rank, "phase": "warm" if step else "cold"})
    return pd.DataFrame(rows)


def values(frame: pd.DataFrame, series: str) -> list[float]:
    return frame[frame["series"] == series]["value"].round(6).tolist()


def test_throughput_per_rank_and_total_over_a_rolling_window():
    frame = throughput_series(hand_metrics(), window=2)
    assert list(frame.columns) == ["series", "step", "time", "value"]
    # rank 0: 10/1, 20/2, 20/3, 20/4; rank 1: 10/.5, 20/1, 20/1, 20/1.5
    assert values(frame, "rank 0") == [10.0, 10.0, 6.666667, 5.0]
    assert values(frame, "rank 1") == [20.0, 20.0, 20.0, 13.333333]
    assert values(frame, "total") == [30.0, 30.0, 26.666667, 18.333333]
    # time: seconds since the first record (100.5, rank 1's first step); the total is placed
    # when the slower rank finished the step.
    assert frame[frame["series"] == "rank 0"]["time"].tolist() == [0.5, 1.5, 3.5, 5.5]
    assert frame[frame["series"] == "total"]["time"].tolist() == [0.5, 1.5, 3.5, 5.5]
    single = throughput_series(hand_metrics().query("rank == 1"), window=2)
    assert set(single["series"]) == {"rank 1"}  # one rank: no "total" line repeating it


def test_step_time_percentiles_pool_every_rank_over_the_window():
    frame = step_time_percentiles(hand_metrics(), window=2)
    # step 0: {1, .5}; step 1: {1, .5, 1, .5}; step 2: {1, .5, 2, .5}; step 3: {2, .5, 2, 1}
    assert values(frame, "p50") == [0.75, 0.75, 0.75, 1.5]
    assert values(frame, "p90") == [0.95, 1.0, 1.7, 2.0]
    assert values(frame, "p99") == [0.995, 1.0, 1.97, 2.0]
    assert frame[frame["series"] == "p50"]["step"].tolist() == [0, 1, 2, 3]
    thinned = step_time_percentiles(hand_metrics(), window=2, max_points=2)
    assert thinned[thinned["series"] == "p50"]["step"].tolist() == [0, 3]  # ends kept
    assert values(thinned, "p50") == [0.75, 1.5]


def test_data_wait_share_is_rolling_data_time_over_step_time():
    frame = data_wait_series(hand_metrics(), window=2)
    # rank 0: .5/1, .5/2, 0/3, 1/4; rank 1: .25/.5, .25/1, .25/1, .25/1.5
    assert values(frame, "rank 0") == [0.5, 0.25, 0.0, 0.25]
    assert values(frame, "rank 1") == [0.5, 0.25, 0.25, 0.166667]


def test_logged_metrics_their_series_and_progress():
    metrics = hand_metrics()
    assert logged_metrics(metrics) == ["loss"]  # measured fields and the string one left out
    loss = metric_series(metrics, "loss")
    assert values(loss, "rank 0") == [1.0, 0.5, 0.333333, 0.25]
    assert values(loss, "rank 1") == [2.0, 1.5, 1.333333, 1.25]
    with pytest.raises(KeyError, match="logged: \\['loss'\\]"):
        metric_series(metrics, "accuracy")
    assert progress(metrics) == (4, 4)
    assert progress(metrics[metrics["step"] < 2]) == (2, 4)
    later = metrics.assign(total_steps=np.where(metrics["step"] == 2, 8.0, metrics["total_steps"]))
    assert progress(later) == (4, 8)  # the latest announcement wins (a second epoch)
    assert progress(metrics.drop(columns="total_steps")) == (4, None)
    assert progress(metrics.iloc[0:0]) == (0, None)


def test_gpu_series_utilisation_and_memory_share():
    gpu = pd.DataFrame({"time": [10.0, 10.0, 11.0, 11.0], "gpu": [0, 1, 0, 1],
                        "name": ["H100"] * 4, "util": [50.0, 0.0, 100.0, 25.0],
                        "memory_used_bytes": [20, 0, 40, 10],
                        "memory_total_bytes": [80] * 4})
    frame = gpu_series(gpu, t0=9.0)
    assert values(frame, "GPU 0 util %") == [50.0, 100.0]
    assert values(frame, "GPU 1 util %") == [0.0, 25.0]
    assert values(frame, "GPU 0 memory %") == [25.0, 50.0]
    assert values(frame, "GPU 1 memory %") == [0.0, 12.5]
    assert frame[frame["series"] == "GPU 0 util %"]["time"].tolist() == [1.0, 2.0]
    assert gpu_series(gpu.iloc[0:0]).empty


# -- alerts and utilisation R --------------------------------------------------------------------

def alert_rows(*alerts: tuple) -> pd.DataFrame:
    """`job.alerts` rows from (rule, severity, rank, state, started, resolved)."""
    from workbench.ops.watch import COLUMNS

    return pd.DataFrame([{"rule": rule, "severity": severity, "run": "r1", "rank": rank,
                          "state": state, "value": 1.0, "threshold": 0.5, "started": started,
                          "resolved": resolved, "message": f"{rule} on rank {rank} of r1"}
                         for rule, severity, rank, state, started, resolved in alerts],
                        columns=list(COLUMNS))


class AlertingJob(FlakyJob):
    """A live job whose `alerts` the test sets, as the launcher's watch updates them."""

    def __init__(self, run_dir, metrics: pd.DataFrame) -> None:
        super().__init__(run_dir, metrics)
        self.alerts = alert_rows()


def marks(monitor: TrainingMonitor) -> list[tuple]:
    """(rule or None, x, the subplot's x axis) of each alert line on the monitor's figure."""
    return [(shape.label.text, shape.x0, shape.xref) for shape in monitor.figure.layout.shapes]


def test_firing_alerts_show_in_a_banner_and_as_lines_on_the_charts(tmp_path):
    job = AlertingJob(tmp_path, hand_metrics())
    monitor = TrainingMonitor(job)
    assert monitor.alert_banner.value == "" and marks(monitor) == []
    # Rank 1 stalls at 102.0 (its step 2 was logged at 101.5): no new record comes, and the
    # view still shows it.
    job.alerts = alert_rows(("stall", "critical", 1, "firing", 102.0, np.nan))
    until(lambda: "stall" in monitor.alert_banner.value and marks(monitor), "the stall")
    banner = monitor.alert_banner.value
    assert "1 alert firing" in banner and "(rank 1)" in banner and "#b00020" in banner
    assert "stall on rank 1 of r1" in banner
    lines = marks(monitor)
    assert len(lines) == 4 and lines[0] == ("stall", 2, "x")  # on each chart; named once
    assert {x for _, x, _ in lines} == {2} and {ref for _, _, ref in lines} == {
        "x", "x2", "x3", "x4"}
    # A pending alert has not fired: no banner entry, no line; a resolved one keeps its line.
    job.alerts = alert_rows(("stall", "critical", 1, "resolved", 102.0, 103.0),
                            ("loss_spike", "warning", 0, "pending", 104.0, np.nan))
    until(lambda: monitor.alert_banner.value == "", "the banner to clear")
    assert [x for _, x, _ in marks(monitor)] == [2] * 4
    assert "stall" in monitor.alerts["rule"].tolist()
    job.status = "succeeded"
    assert monitor.wait(timeout=10)
    monitor.close()


def test_a_replay_reads_its_alert_log_and_shows_r_per_rank(tmp_path):
    import json

    import orjson

    metrics = hand_metrics().assign(comm_s=0.0, copy_s=0.0)
    metrics.loc[metrics["rank"] == 1, "comm_s"] = 0.125  # rank 1 waits on collectives too
    for rank, frame in metrics.groupby("rank"):
        records = [{k: v for k, v in r.items() if not (isinstance(v, float) and np.isnan(v))}
                   for r in frame.to_dict("records")]
        (tmp_path / f"metrics-rank{rank}.jsonl").write_bytes(
            b"".join(orjson.dumps(r) + b"\n" for r in records))
    (tmp_path / "job.json").write_text(json.dumps({"name": "replayed", "nprocs": 2,
                                                   "status": "succeeded"}))
    logged = alert_rows(("input_bound", "info", 0, "firing", 102.0, np.nan),
                        ("throughput_drop", "warning", 1, "firing", 101.0, np.nan))
    (tmp_path / "alerts.jsonl").write_bytes(b"".join(
        orjson.dumps({k: (None if isinstance(v, float) and np.isnan(v) else v)
                      for k, v in row.items()}) + b"\n" for row in logged.to_dict("records")))
    monitor = TrainingMonitor(str(tmp_path), x="time")
    banner = monitor.alert_banner.value
    assert "2 alerts firing" in banner and "#e3a008" in banner  # coloured by the warning
    assert banner.index("throughput_drop") < banner.index("input_bound")  # most severe first
    # On the time axis: seconds since the first record (rank 1's, at 100.5).
    assert [(rule, x) for rule, x, _ in marks(monitor)[::4]] == [("input_bound", 1.5),
                                                                 ("throughput_drop", 0.5)]
    shown = dict(summary_rows(monitor.summary))
    # R: rank 0 computes 4.5 of its 6 s, rank 1 2.0 - 0.5 of 2.5 s; 6.0 of 8.5 s in all.
    assert shown["utilisation"] == "70.6%" and shown["compute_s"] == "6 s"
    assert "<td>utilisation per rank</td><td>rank 0 75%, rank 1 60%</td>" in (
        monitor.summary_table.value)
    assert banner in monitor._repr_html_()
    monitor.close()
