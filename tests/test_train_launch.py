"""`wb.launch` for real: two gloo ranks on loopback, spawned interpreters, tiny tensors. A failing
rank is reported with its remote traceback and takes the other rank down; nothing outlives a
test (every test ends by checking that this process has no children left)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time

import psutil
import pytest

import workbench as wb
from workbench.train import WorkerError

pytestmark = pytest.mark.timeout(60)


def new_children(before: set[int]) -> list[psutil.Process]:
    """This process's descendants that were not there before (other tests' Dask clusters
    may be running beside these tests)."""
    return [p for p in psutil.Process().children(recursive=True) if p.pid not in before]


@pytest.fixture(autouse=True)
def no_orphans():
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    yield before
    deadline = time.monotonic() + 5
    while new_children(before):
        assert time.monotonic() < deadline, new_children(before)
        time.sleep(0.05)


def logging_sum(n_steps: int) -> float:
    import torch
    import torch.distributed as dist

    run = wb.train.current()
    for _ in run.steps([torch.zeros(3, 2)] * n_steps):
        run.log(loss=1.0 / (run.rank + 1))
    total = torch.tensor([float(run.rank + 1)])
    dist.all_reduce(total)
    return total.item()


def exploding(seconds: float) -> None:
    run = wb.train.current()
    if run.rank == 1:
        raise ValueError("boom from rank 1")
    time.sleep(seconds)


def looping() -> int:
    run = wb.train.current()
    laps = 0
    while not run.should_stop():
        laps += 1
        time.sleep(0.01)
    return laps


def checkpointing() -> tuple:
    import torch

    run = wb.train.current()
    assert run.load_checkpoint() is None
    torch.distributed.barrier()  # every rank looked before rank 0 writes
    run.save_checkpoint({"w": torch.arange(3.0), "epoch": 2})
    state = run.load_checkpoint()
    return state["w"].tolist(), state["epoch"], str(run.device), run.world_size


@pytest.mark.slow
def test_metrics_from_both_ranks_and_all_reduce_twice_in_a_row(tmp_path):
    for attempt in range(2):  # a second launch in the same process gets a fresh port and sink
        job = wb.launch(logging_sum, 4, run_dir=tmp_path / f"run{attempt}")
        assert job.status == "running" and job.nprocs == 2
        assert job.wait(timeout=45) == 3.0
        assert job.status == "succeeded"
        df = job.metrics
        assert set(df["rank"]) == {0, 1}
        timed = df.dropna(subset=["step_s"])
        for rank in (0, 1):
            assert timed[timed["rank"] == rank]["step"].tolist() == [0, 1, 2, 3]
            assert df[(df["rank"] == rank)]["loss"].notna().sum() == 4
        assert (timed["samples"] == 3).all() and (timed["step_s"] >= timed["data_s"]).all()
        assert "succeeded" in repr(job) and "0:exit code 0" in repr(job)
        assert "<table>" in job._repr_html_()


@pytest.mark.slow
def test_a_failing_rank_is_reported_with_its_traceback_and_the_other_is_killed(tmp_path):
    job = wb.launch(exploding, 60, run_dir=tmp_path)
    pids = job.pids
    start = time.monotonic()
    with pytest.raises(WorkerError) as info:
        job.wait(timeout=30)
    assert time.monotonic() - start < 10
    err = info.value
    assert err.rank == 1 and err.exitcode == 1
    assert "boom from rank 1" in err.traceback and "exploding" in err.traceback
    assert "boom from rank 1" in str(err)
    assert job.status == "failed"
    assert not psutil.pid_exists(pids[0])


@pytest.mark.slow
def test_stop_asks_politely_and_ends_stopped(tmp_path):
    job = wb.launch(looping, run_dir=tmp_path)
    time.sleep(0.5)
    job.stop(grace=20)
    laps = job.wait(timeout=45)
    assert job.status == "stopped"
    assert laps is None or laps >= 0  # rank 0 returned after seeing the stop, or was killed


@pytest.mark.slow
def test_checkpoint_round_trip(tmp_path):
    job = wb.launch(checkpointing, run_dir=tmp_path)
    assert job.wait(timeout=45) == ([0.0, 1.0, 2.0], 2, "cpu", 2)
    assert (tmp_path / "checkpoint.pt").exists()


@pytest.mark.slow
def test_a_function_defined_in_main_runs(tmp_path):
    script = textwrap.dedent("""
        import sys
        import workbench as wb

        def scaled(x, factor=1):
            return wb.train.current().world_size * x * factor

        print(wb.launch(scaled, 5, factor=2, run_dir=sys.argv[1]).wait(timeout=45))
    """)
    out = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True,
                         text=True, timeout=55)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "20"


def test_an_unpicklable_argument_is_named_before_anything_starts(tmp_path, no_orphans):
    lock = threading.Lock()
    with pytest.raises(TypeError, match=r"keyword argument 'guard' \(lock\)"):
        wb.launch(looping, run_dir=tmp_path, guard=lock)

    def uses_lock() -> None:
        with lock:
            pass

    with pytest.raises(TypeError, match="closure variable 'lock'"):
        wb.launch(uses_lock, run_dir=tmp_path)
    assert not new_children(no_orphans)  # nothing was started


def test_current_outside_a_worker_says_where_it_works():
    with pytest.raises(RuntimeError, match="wb.launch"):
        wb.train.current()


@pytest.mark.slow
def test_the_runtime_runs_under_torchrun(tmp_path):
    (tmp_path / "trmod.py").write_text(textwrap.dedent("""
        import workbench as wb

        def main():
            run = wb.train.current()
            run.log(world=run.world_size)
    """))
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone",
                "--nproc-per-node=2", "-m", "workbench.train.runtime", "trmod:main",
                "--run-dir", str(tmp_path / "run")]
    out = subprocess.run(torchrun, cwd=tmp_path, capture_output=True, text=True, timeout=55)
    assert out.returncode == 0, out.stderr
    df = wb.train.read_run(tmp_path / "run")
    assert set(df["rank"]) == {0, 1} and (df["exiting"] == 1).sum() == 2  # each said goodbye
    logged = df.dropna(subset=["world"])
    assert sorted(logged["rank"]) == [0, 1] and (logged["world"] == 2).all()
