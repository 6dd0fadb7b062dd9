"""A run's figures and its life beyond the notebook: the summary against hand-computed values,
the `_runs` / `_run_metrics` tables, a function defined in a notebook cell (a real kernel), and
resuming a killed job from its checkpoint to the same weights as an uninterrupted run."""

from __future__ import annotations

import math
import os
import signal

import pandas as pd
import pytest

import workbench as wb
from workbench.train import WorkerError
from workbench.train.summary import peak_tflops, summarize


def steps_of(n_steps: int, batch: int) -> dict:
    import torch

    run = wb.train.current()
    model = torch.nn.Linear(4, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    for x in run.steps([torch.randn(batch * (run.rank + 1), 4) for _ in range(n_steps)]):
        loss = model(x).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        run.log(loss=loss.item())
    return {"rank": run.rank}


def test_summarize_matches_hand_computed_figures():
    # rank 0: 4 steps of 0.1 s, 10 samples each; rank 1: 4 steps of 0.2 s, 30 samples each.
    frame = pd.DataFrame({
        "rank": [0] * 4 + [1] * 4, "step": list(range(4)) * 2, "time": range(8),
        "step_s": [0.1] * 4 + [0.2] * 4, "data_s": [0.05] * 4 + [0.0] * 4,
        "samples": [10] * 4 + [30] * 4, "peak_memory_bytes": [5, 6, 7, 8, 1, 2, 3, 4],
        "loss": [1.0] * 8})
    s = summarize(frame)
    assert s.ranks == 2 and s.steps == 4 and s.samples == 160
    assert s.samples_per_s == pytest.approx(10 / 0.1 + 30 / 0.2)  # the sum over ranks
    assert s.step_p50_s == pytest.approx(0.15) and s.step_p99_s == pytest.approx(0.2)
    assert s.data_wait_share == pytest.approx(0.2 / 1.2)
    assert s.straggler_ratio == pytest.approx(0.2 / 0.15)  # slowest median / median of medians
    assert s.peak_memory_bytes == 8 and s.tokens_per_s is None and s.mfu is None
    gpu = summarize(frame, flops_per_sample=1e12, device_name="NVIDIA H100 80GB HBM3")
    assert gpu.mfu == pytest.approx(250 * 1e12 / (989.5e12 * 2))
    assert "n/a" in repr(s) and "<table>" in s._repr_html_()
    with pytest.raises(ValueError, match="run.steps"):
        summarize(frame.drop(columns="step_s"))


def test_the_peak_table_matches_the_most_specific_gpu_name():
    assert peak_tflops("NVIDIA H100 80GB HBM3", "bf16") == 989.5  # SXM
    assert peak_tflops("NVIDIA H100 PCIe", "torch.bfloat16") == 756.5
    assert peak_tflops("NVIDIA L40S", "fp8") == 733.0 and peak_tflops("NVIDIA L4", "fp8") == 242.5
    assert peak_tflops("NVIDIA A100-SXM4-80GB", "float32") == 19.5
    assert peak_tflops("NVIDIA A100-SXM4-80GB", "fp8") is None  # Ampere has no fp8
    assert peak_tflops("Some CPU", "bf16") is None
    with pytest.raises(ValueError, match="dtype='int3'"):
        peak_tflops("NVIDIA H100", "int3")


@pytest.mark.slow
@pytest.mark.timeout(90)
def test_throughput_is_the_sum_over_ranks_and_the_run_lands_in_the_lake(tmp_path):
    lake = wb.Lake(tmp_path / "lake")
    job = wb.launch(steps_of, 12, 8, run_dir=tmp_path / "run", runs_lake=lake)
    job.wait(timeout=60)
    metrics = job.metrics
    timed = metrics.dropna(subset=["step_s"])
    per_rank = [g["samples"].sum() / g["step_s"].sum() for _, g in timed.groupby("rank")]
    summary = job.summary()
    assert summary.samples_per_s == pytest.approx(sum(per_rank))
    assert summary.samples == 12 * 8 + 12 * 16 and summary.peak_memory_bytes > 10**6
    assert summary.mfu is None  # CPU: no peak to compare with
    assert job.recorded == 0
    runs = lake.table("_runs").to_pandas()
    assert runs["run_id"].tolist() == ["run"] and runs["status"].tolist() == ["succeeded"]
    assert runs["samples_per_s"][0] == pytest.approx(summary.samples_per_s)
    assert runs["device"][0] == "cpu" and runs["nprocs"][0] == 2 and runs["error"][0] == ""
    assert math.isnan(runs["mfu"][0]) and runs["steps"][0] == 12
    stored = lake.table("_run_metrics").to_pandas()
    assert len(stored) == len(metrics) and set(stored["run_id"]) == {"run"}
    assert stored["loss"].dtype == "float64" and stored["loss"].notna().sum() == 24


@pytest.mark.slow
@pytest.mark.timeout(90)
def test_a_failed_run_is_recorded_with_its_error(tmp_path):
    def fails():
        raise RuntimeError("no data here")

    lake = wb.Lake(tmp_path / "lake")
    job = wb.launch(fails, run_dir=tmp_path / "bad", runs_lake=lake)
    with pytest.raises(WorkerError):
        job.wait(timeout=60)
    assert job.recorded == 0 and job.error is not None
    runs = lake.table("_runs").to_pandas()
    assert runs["status"][0] == "failed" and "no data here" in runs["error"][0]
    assert runs["steps"][0] == -1 and math.isnan(runs["samples_per_s"][0])


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_a_function_defined_in_a_notebook_cell_launches(tmp_path):
    import nbformat
    from nbclient import NotebookClient

    cells = [
        "import workbench as wb",
        "def scaled(x):\n    run = wb.train.current()\n    return x * run.world_size",
        "job = wb.launch(scaled, 21, runs_lake=None)\njob.wait(timeout=60)",
        "job.status",
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    NotebookClient(nb, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    assert nb.cells[2].outputs[0]["data"]["text/plain"] == "42"
    assert nb.cells[3].outputs[0]["data"]["text/plain"] == "'succeeded'"


def resumable(total: int, die_at: int | None) -> list[float]:
    """Deterministic data-parallel SGD with momentum; checkpoints every 5 steps. On a fresh
    start, rank 0 SIGKILLs itself right after the checkpoint of step `die_at`."""
    import torch
    import torch.distributed as dist

    run = wb.train.current()
    torch.manual_seed(0)
    model = torch.nn.Linear(8, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    state = run.load_checkpoint()
    start = 0
    if state is not None:
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        start = state["step"]
    for step in range(start, total):
        gen = torch.Generator().manual_seed(1000 * step + run.rank)
        x = torch.randn(16, 8, generator=gen)
        loss = (model(x) - x.sum(dim=1, keepdim=True)).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        for p in model.parameters():
            dist.all_reduce(p.grad)
            p.grad /= run.world_size
        opt.step()
        if (step + 1) % 5 == 0:
            run.save_checkpoint({"model": model.state_dict(), "opt": opt.state_dict(),
                                 "step": step + 1})
            if start == 0 and step + 1 == die_at and run.rank == 0:
                os.kill(os.getpid(), signal.SIGKILL)
    return [float(v) for v in torch.cat([p.detach().ravel() for p in model.parameters()])]


@pytest.mark.slow
@pytest.mark.timeout(150)
def test_resuming_a_killed_job_ends_with_the_same_weights(tmp_path):
    straight = wb.launch(resumable, 20, None, run_dir=tmp_path / "straight", runs_lake=None)
    expected = straight.wait(timeout=60)
    killed = wb.launch(resumable, 20, 10, run_dir=tmp_path / "resumed", runs_lake=None)
    with pytest.raises(WorkerError) as info:
        killed.wait(timeout=60)
    assert info.value.rank == 0 and info.value.exitcode == -signal.SIGKILL
    resumed = wb.launch(resumable, 20, 10, run_dir=tmp_path / "resumed", runs_lake=None)
    assert resumed.wait(timeout=60) == expected  # bit for bit


@pytest.mark.gpu
@pytest.mark.timeout(120)
def test_launch_from_a_process_that_initialised_cuda_through_cupy(tmp_path):
    import subprocess
    import sys
    import textwrap

    pytest.importorskip("cupy")
    script = textwrap.dedent("""
        import sys
        import cupy
        import workbench as wb

        cupy.zeros(1).sum()  # CUDA is initialised in this process: a fork would break
        def where():
            return str(wb.train.current().device)
        print(wb.launch(where, nprocs=1, run_dir=sys.argv[1], runs_lake=None).wait(60))
    """)
    out = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True,
                         text=True, timeout=110)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "cuda:0"
