"""wb.bench and wb.compress on a CUDA GPU: CUDA-event timing, the scenarios' synchronisation,
bf16/fp16 variants, int8 on the GPU, and the device checks (skipped without CUDA)."""

from __future__ import annotations

import pytest
import torch

import workbench as wb
from workbench.bench import BenchError
from workbench.models import DemoClassifier, TransformerClassifier

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")]


def gpu_sleep(cycles: int):
    """A request of known GPU duration: one kernel that spins for `cycles` clock cycles."""
    def request(x):
        torch.cuda._sleep(cycles)
        return x

    return request


def test_cuda_events_time_a_kernel_of_known_duration():
    x = torch.zeros(64, 4, device="cuda")
    cycles = 2_000_000
    request = gpu_sleep(cycles)
    # The truth, from a plain CUDA-event loop around the same kernel.
    start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    for _ in range(5):
        request(x)
    truths = []
    for _ in range(50):
        start.record()
        request(x)
        stop.record()
        stop.synchronize()
        truths.append(start.elapsed_time(stop))
    truth = sorted(truths)[len(truths) // 2]
    res = wb.bench.latency(request, x, batch_sizes=(1,), min_samples=150, progress=False)
    row = res.table.iloc[0]
    assert res.device.startswith("cuda:0 (") and res.device.endswith(")")
    assert row["p50_ms"] == pytest.approx(truth, rel=0.02), (row["p50_ms"], truth)


def test_offline_queues_requests_without_a_sync_each():
    model = TransformerClassifier().cuda()
    x = torch.randn(256, 32, 32, device="cuda")
    single = wb.bench.latency(model, x, batch_sizes=(8,), min_samples=300, progress=False)
    offline = wb.bench.latency(model, x, batch_sizes=(8,), scenario="offline",
                               min_samples=300, progress=False)
    # No host round trip between requests: at least as many samples per second.
    assert offline.table["throughput"][0] >= 0.95 * single.table["throughput"][0]
    server = wb.bench.latency(model, x, batch_sizes=(8,), scenario="server", qps=100,
                              min_samples=100, progress=False)
    assert server.table["p50_ms"][0] >= 0.9 * single.table["p50_ms"][0]


@pytest.mark.parametrize("dtype, variant", [(torch.bfloat16, "bf16"), (torch.float16, "fp16")])
def test_half_precision_variants_are_named_and_close(dtype, variant):
    torch.manual_seed(0)
    model = TransformerClassifier().cuda().eval()
    x = torch.randn(64, 32, 32, device="cuda")
    half = TransformerClassifier().cuda().eval()
    half.load_state_dict(model.state_dict())
    half = half.to(dtype)
    res = wb.bench.compare({"fp32": model, variant: half}, x, batch_sizes=(8,),
                           min_samples=200, progress=False)
    table = res.table.set_index("variant")
    assert list(table.index) == ["fp32", variant] and table["p50_ms"].gt(0).all()
    with torch.inference_mode():
        ref, out = model(x), half(x.to(dtype)).float()
    assert float((out - ref).abs().max() / ref.abs().max()) < 0.05
    assert table.loc[variant, "size_mb"] < 0.6 * table.loc["fp32", "size_mb"]


def test_int8_on_the_gpu_stays_close():
    torch.manual_seed(0)
    model = TransformerClassifier().cuda().eval()
    x = torch.randn(64, 32, 32, device="cuda")
    q = wb.compress.quantize(model)
    with torch.inference_mode():
        ref, out = model(x), q(x)
    assert float((out - ref).abs().max() / ref.abs().max()) < 0.05
    res = wb.bench.latency(q, x, batch_sizes=(1, 32), min_samples=100, progress=False)
    assert res.variant == "int8" and res.device.startswith("cuda:0")


def test_inputs_on_the_cpu_for_a_model_on_the_gpu():
    model = DemoClassifier().cuda()
    with pytest.raises(BenchError, match=r"the inputs are on cpu but the model is on cuda:0"):
        wb.bench.latency(model, torch.randn(16, 4), batch_sizes=(1,), min_samples=3,
                         progress=False)
    res = wb.bench.latency(model, torch.randn(16, 4), batch_sizes=(1,), min_samples=3,
                           device="cuda", progress=False)
    assert res.device.startswith("cuda:0")
