"""wb.launch on CUDA GPUs: one rank per GPU, nccl, cuda:LOCAL_RANK, CUDA-event step timing."""

from __future__ import annotations

import pytest

import workbench as wb
from workbench.compute import gpus

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not gpus(), reason="needs a CUDA GPU")]


def train(n_steps: int) -> tuple[float, str, str]:
    import torch
    import torch.distributed as dist

    run = wb.train.current()
    model = torch.nn.Linear(512, 512).to(run.device)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    for x in run.steps([torch.randn(256, 512) for _ in range(n_steps)]):
        loss = model(x.to(run.device, non_blocking=True)).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        run.log(loss=loss.item())
    ones = torch.ones(1, device=run.device)
    dist.all_reduce(ones)
    return float(ones.item()), str(run.device), dist.get_backend()


def fails() -> None:
    raise ValueError("boom on the GPU rank")


def test_launch_on_every_gpu_with_nccl():
    job = wb.launch(train, 50)
    total, device, backend = job.wait(timeout=180)
    assert (total, device, backend) == (float(len(gpus())), "cuda:0", "nccl")
    steps = job.metrics.dropna(subset=["step_s"])
    assert len(steps) == 50 * len(gpus())
    assert (steps["samples"] == 256).all() and (steps["step_s"] > 0).all()
    assert job.metrics["loss"].notna().sum() == 50 * len(gpus())


def test_a_failing_gpu_rank_reports_its_traceback():
    job = wb.launch(fails)
    with pytest.raises(wb.train.WorkerError) as info:
        job.wait(timeout=120)
    assert "boom on the GPU rank" in info.value.traceback


def ddp_on_gpu(n_steps: int) -> str:
    import torch

    run = wb.train.current()
    model = run.ddp(torch.nn.Linear(512, 512))
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    for x in run.steps([torch.randn(256, 512) for _ in range(n_steps)]):
        loss = model(run.to_device(x)).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        run.log(loss=loss.item())
    return str(next(model.parameters()).device)


def test_run_ddp_and_to_device_time_transfer_on_gpus():
    job = wb.launch(ddp_on_gpu, 100)
    assert job.wait(timeout=180) == "cuda:0"
    steps = job.metrics.dropna(subset=["step_s"])
    assert (steps["copy_s"] > 0).all()  # CUDA events around each copy, read a step later
    if len(gpus()) > 1:
        assert steps["comm_s"].notna().all()  # the timed all-reduce hook ran every step
    beats = job.metrics.dropna(subset=["heartbeat"])
    assert (beats["gpu_memory_bytes"] > 0).all()
    assert 0 < job.summary().utilisation < 1
