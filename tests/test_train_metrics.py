"""The metrics channel, over real loopback sockets and from real processes: ranks never block on
the notebook, drops are counted and reported, and the JSONL logs replay every record."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
import zmq

from workbench.train.metrics import MetricsSender, MetricsSink, log_path, read_run

SENDER = """
import sys
from workbench.train.metrics import MetricsSender

address, rank, run_dir, n = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
with MetricsSender(address, rank, run_dir) as sender:
    for step in range(n):
        extra = {"acc": step / n} if rank == 1 else {"phase": "warmup" if step < 10 else "train"}
        sender.send(step, loss=1.0 / (step + 1), **extra)
"""


def wait_for(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.01)


def gone_address() -> str:
    """An address whose sink has come and gone: nothing listens there now."""
    with MetricsSink() as sink:
        return sink.address


def test_two_sender_processes_reach_the_sink_and_match_their_logs(tmp_path):
    n = 200
    with MetricsSink() as sink:
        procs = [subprocess.Popen([sys.executable, "-c", SENDER, sink.address, str(rank),
                                   str(tmp_path), str(n)]) for rank in (0, 1)]
        assert [p.wait(timeout=30) for p in procs] == [0, 0]
        wait_for(lambda: len(sink) == 2 * n)
        live = sink.frame()
        assert sink.drops() == 0
        assert f"records={2 * n} ranks=2 drops=0" in repr(sink)
    assert "closed" in repr(sink)

    replayed = read_run(tmp_path)
    assert replayed.attrs["truncated_lines"] == 0
    pd.testing.assert_frame_equal(live, replayed)
    assert list(live.columns) == ["rank", "step", "time", "loss", "phase", "acc"]
    assert live.groupby("rank")["step"].apply(list).to_dict() == {0: list(range(n)),
                                                                  1: list(range(n))}
    assert live.loc[live["rank"] == 0, "acc"].isna().all()
    assert live.loc[live["rank"] == 1, "phase"].isna().all()
    lines = log_path(tmp_path, 1).read_text().splitlines()
    assert len(lines) == n and json.loads(lines[-1])["step"] == n - 1


@pytest.mark.parametrize("peer", ["unbound", "never_reads"])
def test_sends_never_block_and_the_log_keeps_everything(tmp_path, peer):
    context = zmq.Context()
    pull = context.socket(zmq.PULL)  # bound, but nobody ever reads it
    address = (gone_address() if peer == "unbound"
               else f"tcp://127.0.0.1:{pull.bind_to_random_port('tcp://127.0.0.1')}")
    sender = MetricsSender(address, 3, tmp_path)
    start = time.perf_counter()
    for step in range(10_000):
        sender.send(step, loss=0.5)
        sender.flush()  # one message per record, as records come when steps are slow
    elapsed = time.perf_counter() - start
    start = time.perf_counter()
    sender.close(linger=0)
    assert time.perf_counter() - start < 0.5
    pull.close(linger=0)
    context.term()

    assert elapsed < 5, f"10,000 sends took {elapsed:.2f} s"
    assert sender.sent + sender.dropped == 10_000
    if peer == "unbound":  # only the high-water mark's worth waits for a sink
        assert sender.sent == 1000 and sender.dropped == 9000
    assert f"dropped={sender.dropped}" in repr(sender) and "closed" in repr(sender)
    replayed = read_run(tmp_path)
    assert len(replayed) == 10_000 and replayed["step"].tolist() == list(range(10_000))


def test_drops_travel_with_later_records_to_the_sink(tmp_path):
    address = gone_address()
    with MetricsSender(address, 0, tmp_path, hwm=10) as sender:
        for step in range(50):
            sender.send(step, loss=1.0)
            sender.flush()
        assert sender.dropped > 0
        port = int(address.rsplit(":", 1)[1])
        with MetricsSink(port=port) as sink:  # the notebook comes back on the same port
            wait_for(lambda: len(sink) == sender.sent)  # the queued ones, sent before any drop
            assert sink.drops() == 0
            # zmq frees the queue for new sends shortly after it drained into the new
            # connection (a loaded machine makes that visible): send until one goes.
            queued, step = sender.sent, 50
            deadline = time.monotonic() + 10
            while sender.sent == queued:
                assert time.monotonic() < deadline, "the sender never sent again"
                sender.send(step, loss=1.0)
                sender.flush()
                step += 1
                time.sleep(0.01)
            wait_for(lambda: len(sink) == sender.sent)
            assert sink.drops() == sender.dropped
            assert "dropped" not in sink.frame().columns
    assert len(read_run(tmp_path)) == step  # the log has every record, sent or dropped


def test_a_non_finite_record_is_never_dropped_however_full_the_queue(tmp_path):
    address = gone_address()
    with MetricsSender(address, 0, tmp_path, hwm=10) as sender:
        for step in range(50):
            sender.send(step, loss=math.nan if step in (30, 40) else 1.0, note="NaN-free")
            sender.flush()
        dropped = sender.dropped
        assert dropped == 50 - 10 - 2  # the queue took 10; the two NaNs wait, not dropped
        port = int(address.rsplit(":", 1)[1])
        with MetricsSink(port=port) as sink:  # the notebook comes back on the same port
            step = 50
            deadline = time.monotonic() + 10
            while sink.frame().get("loss", pd.Series()).isna().sum() < 2:  # sent again
                assert time.monotonic() < deadline, "the NaN records never arrived"
                sender.send(step, loss=1.0, note="NaN-free")
                sender.flush()
                step += 1
                time.sleep(0.01)
            nan_steps = sink.frame().query("loss != loss")["step"].tolist()
    assert nan_steps == [30, 40]
    assert read_run(tmp_path)["step"].tolist() == list(range(step))  # logged once each


def test_read_run_skips_a_truncated_last_line_and_a_restart_appends_cleanly(tmp_path):
    address = gone_address()
    for rank in (0, 1):
        sender = MetricsSender(address, rank, tmp_path)
        for step in range(5):
            sender.send(step, loss=float(step))
        sender.close(linger=0)
    with log_path(tmp_path, 1).open("a") as fh:  # a crash mid-write
        fh.write('{"rank":1,"step":5,"time":17')
    replayed = read_run(tmp_path)
    assert len(replayed) == 10 and replayed.attrs["truncated_lines"] == 1

    sender = MetricsSender(address, 1, tmp_path)  # rank 1 restarts and appends
    sender.send(5, loss=5.0)
    sender.close(linger=0)
    replayed = read_run(tmp_path)
    assert replayed.attrs["truncated_lines"] == 1
    assert replayed.loc[replayed["rank"] == 1, "step"].tolist() == [0, 1, 2, 3, 4, 5]

    with log_path(tmp_path, 0).open("a") as fh:
        fh.write('{"not": "a record"}\n')
    with pytest.raises(ValueError, match=r"metrics-rank0\.jsonl: line 6"):
        read_run(tmp_path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_run(tmp_path / "missing")


def test_frame_columns_dtypes_and_values(tmp_path):
    with MetricsSink() as sink:
        empty = sink.frame()
        assert list(empty.columns) == ["rank", "step", "time"]
        assert empty.dtypes.astype(str).tolist() == ["int64", "int64", "float64"]
        with MetricsSender(sink.address, 0, tmp_path) as sender:
            sender.send(np.int64(0), loss=np.float32(0.5), grad_norm=float("nan"),
                        scale=float("inf"), floor=-math.inf, note="start", ok=True)
            sender.send(1, loss=0.25)
            with pytest.raises(ValueError, match="reserved"):
                sender.send(2, rank=4)
            with pytest.raises(TypeError, match="'weights' is a list"):
                sender.send(2, weights=[1, 2])
            with pytest.raises(ValueError, match="'seen' = 18446744073709551616 does not fit"):
                sender.send(2, seen=2**64)
        wait_for(lambda: len(sink) == 2)
        df = sink.frame()
    assert list(df.columns) == ["rank", "step", "time", "loss", "grad_norm", "scale", "floor",
                                "note", "ok"]
    assert df[["rank", "step", "time", "loss", "grad_norm", "scale", "floor"]].dtypes.astype(
        str).tolist() == ["int64", "int64", "float64"] + ["float64"] * 4
    assert df["loss"].tolist() == [0.5, 0.25]
    assert math.isnan(df["grad_norm"][0]) and df["scale"][0] == math.inf
    assert df["floor"][0] == -math.inf and df["note"][0] == "start" and df["ok"][0] is True
    assert df["time"].between(time.time() - 60, time.time()).all()
    assert pd.isna(df["note"][1]) and pd.isna(df["scale"][1])
    line = log_path(tmp_path, 0).read_text().splitlines()[0]
    assert '"grad_norm":"NaN"' in line and '"floor":"-Infinity"' in line  # strict JSON
    pd.testing.assert_frame_equal(df, read_run(tmp_path))
    (tmp_path / "no-records-yet").mkdir()
    pd.testing.assert_frame_equal(read_run(tmp_path / "no-records-yet"), empty)


def test_close_never_hangs_when_the_sink_is_gone(tmp_path):
    address = gone_address()
    sender = MetricsSender(address, 0, tmp_path)
    for step in range(100):
        sender.send(step, loss=1.0)
    start = time.perf_counter()
    sender.close()  # the default linger bounds the wait for the queued 100
    assert time.perf_counter() - start < 2.0
    sender.close()
    with pytest.raises(RuntimeError, match="closed"):
        sender.send(100, loss=1.0)
    # A rank that exits without closing does not hang on the queued records either.
    code = (f"from workbench.train.metrics import MetricsSender\n"
            f"s = MetricsSender({address!r}, 1, {str(tmp_path)!r})\n"
            f"for i in range(100): s.send(i, loss=1.0)\n")
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, timeout=30)
    assert time.perf_counter() - start < 10
    assert len(read_run(tmp_path)) == 200


def test_import_workbench_train_loads_neither_zmq_nor_pandas():
    code = ("import sys, workbench, workbench.train as t; "
            "print([m for m in ('zmq', 'pandas') if m in sys.modules]); "
            "t.read_run; print('pandas' in sys.modules, 'zmq' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split("\n")
    assert out[0] == "[]" and out[1] == "False True"
