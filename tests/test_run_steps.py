"""`run.steps` in this process: the records it makes (times, counts, numbering, what run.log
adds), without a launcher; records go to the rank's JSONL file and are read back."""

from __future__ import annotations

import time

import pytest
import torch

from workbench.train.metrics import MetricsSender, read_run
from workbench.train.runtime import Run


@pytest.fixture
def run(tmp_path):
    sender = MetricsSender("inproc://workbench-no-sink", 0, tmp_path, hwm=1)
    yield Run(0, 0, 1, torch.device("cpu"), tmp_path, sender)
    sender.close(linger=0)


def records(run, run_dir):
    """The rank's records as a frame, once its sender has closed (flushing its file)."""
    run._sender.close(linger=0)
    return read_run(run_dir)


def slow_loader(n: int, wait: float):
    for i in range(n):
        time.sleep(wait)
        yield {"x": torch.zeros(4, 2), "tokens": torch.ones(4, 3), "i": i}


def test_records_time_count_and_number_every_step(run, tmp_path):
    started = time.time()
    for batch in run.steps(slow_loader(5, 0.02), total=9):
        time.sleep(0.03)
        run.log(loss=float(batch["i"]))
    for _ in run.steps([(torch.zeros(7, 1), torch.zeros(7))] * 4):  # a second epoch
        run.log(step=run._next_step, acc=0.5)  # the current step, named: same record
    ended = time.time()
    df = records(run, tmp_path)
    assert df["step"].tolist() == list(range(9))  # one record per step, numbered on
    first, second = df.iloc[:5], df.iloc[5:]
    assert first["loss"].tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert (second["acc"] == 0.5).all() and second["loss"].isna().all()
    assert first["samples"].tolist() == [4] * 5 and first["tokens"].tolist() == [12] * 5
    assert (second["samples"] == 7).all()
    assert df["total_steps"].tolist()[0] == 9 and df["total_steps"].iloc[1:5].isna().all()
    assert df["total_steps"].iloc[5] == 9  # 5 steps so far + len(loader)
    # each step's time is request to next request: the loader's wait plus the loop body
    assert first["data_s"].between(0.018, 0.2).all()
    assert first["step_s"].between(0.048, 0.4).all()
    assert (df["step_s"] >= df["data_s"]).all()
    # each record is stamped with its step's end on the wall clock, in order
    assert df["time"].is_monotonic_increasing
    assert started < df["time"].iloc[0] and df["time"].iloc[-1] <= ended
    assert (df["time"].diff().iloc[1:5] > 0.045).all()
    assert (df["peak_memory_bytes"] > 0).all()


def test_a_loop_left_early_still_records_its_steps(run, tmp_path):
    for batch in run.steps(slow_loader(10, 0.0)):
        if batch["i"] == 3:
            break
    df = records(run, tmp_path)
    assert df["step"].tolist() == [0, 1, 2, 3]
    assert df["step_s"].notna().all()


def test_measured_names_are_refused_and_steps_outside_a_loop_count_apart(run, tmp_path):
    for _ in run.steps([torch.zeros(2)]):
        with pytest.raises(ValueError, match="measured by run.steps"):
            run.log(step_s=1.0)
    run.log(note="after")
    with pytest.raises(ValueError, match="reserved"):
        run.log(rank=3)
    df = records(run, tmp_path)
    assert df["note"].iloc[-1] == "after" and df["step"].iloc[-1] == 0
