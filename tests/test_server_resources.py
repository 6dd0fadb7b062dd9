"""The resource sampler's maths on fake cgroup files (v2 and v1, limits and none), and the
sampler itself: one thread, real percentages, asleep when nobody asks."""

from __future__ import annotations

import threading
import time

import pytest

from workbench.server.resources import (
    NO_GPU,
    Sampler,
    cpu_limit,
    memory_limit,
    memory_used,
    parse_cfs_quota,
    parse_cpu_max,
    parse_memory_limit,
    parse_memory_stat,
    scaled_cpu_percent,
)

GIB = 2**30


def write(root, files: dict[str, str]):
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


@pytest.mark.parametrize(("text", "cores"), [
    ("max 100000\n", None), ("150000 100000\n", 1.5), ("400000 100000", 4.0),
    ("50000 50000", 1.0), ("", None)])
def test_cpu_max(text, cores):
    assert parse_cpu_max(text) == cores


@pytest.mark.parametrize(("quota", "period", "cores"), [
    ("-1\n", "100000\n", None), ("200000\n", "100000\n", 2.0), ("25000", "100000", 0.25)])
def test_cfs_quota(quota, period, cores):
    assert parse_cfs_quota(quota, period) == cores


@pytest.mark.parametrize(("text", "limit"), [
    ("max\n", None), (f"{2 * GIB}\n", 2 * GIB),
    ("9223372036854771712\n", None),  # v1's "no limit"
    (f"{64 * GIB}", None)])  # a limit above the machine's memory does not bind
def test_memory_limit_text(text, limit):
    assert parse_memory_limit(text, physical=16 * GIB) == limit


def test_memory_stat_counter():
    text = "anon 100\nfile 200\ninactive_file 150\nactive_file 50\n"
    assert parse_memory_stat(text, "inactive_file") == 150
    assert parse_memory_stat(text, "total_inactive_file") == 0


@pytest.mark.parametrize(("system", "host", "available", "expected"), [
    (50.0, 8, 8, 50.0),  # no quota: the system's percent
    (25.0, 8, 2, 100.0),  # 2 of 8 cores busy in a 2-core container: full
    (12.5, 8, 2, 50.0),  # 1 core busy of 2
    (50.0, 8, 0.5, 100.0),  # capped at 100
    (0.0, 8, 2, 0.0)])
def test_cpu_percent_is_of_the_available_cores(system, host, available, expected):
    assert scaled_cpu_percent(system, host, available) == pytest.approx(expected)


def test_cgroup_v2_files(tmp_path):
    root = write(tmp_path, {"cpu.max": "250000 100000\n", "memory.max": f"{4 * GIB}\n",
                            "memory.current": f"{GIB + 300}\n",
                            "memory.stat": "anon 5\ninactive_file 300\n"})
    assert cpu_limit(root) == 2.5
    assert memory_limit(root, physical=16 * GIB) == 4 * GIB
    assert memory_used(root) == GIB


def test_cgroup_v1_files(tmp_path):
    root = write(tmp_path, {"cpu/cpu.cfs_quota_us": "150000\n",
                            "cpu/cpu.cfs_period_us": "100000\n",
                            "memory/memory.limit_in_bytes": f"{2 * GIB}\n",
                            "memory/memory.usage_in_bytes": f"{GIB + 10}\n",
                            "memory/memory.stat": "cache 1\ntotal_inactive_file 10\n"})
    assert cpu_limit(root) == 1.5
    assert memory_limit(root, physical=16 * GIB) == 2 * GIB
    assert memory_used(root) == GIB


def test_no_cgroup_files_mean_no_limits(tmp_path):
    assert cpu_limit(tmp_path) is None
    assert memory_limit(tmp_path, physical=16 * GIB) is None
    assert memory_used(tmp_path) is None
    unlimited = write(tmp_path / "v2", {"cpu.max": "max 100000\n", "memory.max": "max\n"})
    assert cpu_limit(unlimited) is None and memory_limit(unlimited, 16 * GIB) is None


def test_a_sample_counts_against_the_cgroup_limits(tmp_path):
    root = write(tmp_path, {"cpu.max": "50000 100000\n", "memory.max": f"{GIB}\n",
                            "memory.current": f"{GIB // 2}\n", "memory.stat": ""})
    sampler = Sampler(interval=0.05, idle=5, cgroup=root)
    try:
        snap = sampler.snapshot()
    finally:
        sampler.close()
    assert snap["cpu"]["limit"] == 0.5 and snap["memory"]["limit"] == GIB
    assert snap["memory"]["used"] == GIB // 2 and snap["memory"]["total"] > GIB // 2
    assert 0.0 <= snap["cpu"]["percent"] <= 100.0


def test_one_thread_real_percentages_and_sleep_when_idle(tmp_path):
    sampler = Sampler(interval=0.05, idle=0.4, cgroup=tmp_path)
    try:
        assert "workbench resource sampler" in {t.name for t in threading.enumerate()}
        before = len(threading.enumerate())
        first = sampler.snapshot()  # wakes it
        # Busy in this thread meanwhile: the sampler's kept state measures it (a fresh
        # measurement per request would read 0.0).
        deadline = time.monotonic() + 0.25  # shorter than idle: it keeps sampling
        while time.monotonic() < deadline:
            sum(range(20_000))
        snap = sampler.snapshot()
        assert snap["cpu"]["percent"] > 0.0 and snap["time"] > first["time"]
        assert snap["cpu"]["limit"] is None and snap["memory"]["limit"] is None
        assert snap["gpus"] == [] and snap["gpu_note"] == NO_GPU  # no NVML on this machine
        assert set(snap) == {"time", "cpu", "memory", "gpus", "gpu_note"}
        for _ in range(5):
            assert sampler.snapshot() is not None
        assert len(threading.enumerate()) == before  # clients share the one thread
        time.sleep(0.6)  # nobody asked for longer than `idle`: asleep
        asleep = sampler.samples
        time.sleep(0.3)
        assert sampler.samples == asleep
        woken = sampler.snapshot()  # a client comes back: a fresh sample, not the old one
        assert sampler.samples > asleep and woken["time"] > snap["time"]
    finally:
        sampler.close()
    assert len(threading.enumerate()) == before - 1  # close() ended its thread


def test_gpus_are_sampled_through_nvml_and_an_unreadable_one_is_null(monkeypatch, tmp_path):
    """NVML's calls as nvidia-ml-py makes them, answered by a stand-in (no GPU here): the
    sampler reports each visible GPU's utilisation and memory, and a GPU that NVML cannot read
    at that moment as null figures, never as a failed sample."""
    import sys
    import types

    from test_environment import FakeNVMLError, fake_pynvml

    nvml = fake_pynvml([("NVIDIA H100", "GPU-aaaa", 80 * GIB), ("NVIDIA H100", "GPU-bbbb",
                                                                80 * GIB)])
    devices = {"GPU-aaaa": ("NVIDIA H100", "GPU-aaaa", 80 * GIB),
               "GPU-bbbb": ("NVIDIA H100", "GPU-bbbb", 80 * GIB)}

    def utilization(device):
        if device[1] == "GPU-bbbb":
            raise FakeNVMLError("GPU is lost")
        return types.SimpleNamespace(gpu=37)

    vars(nvml).update(
        nvmlDeviceGetHandleByUUID=lambda uuid: devices[uuid],
        nvmlDeviceGetUtilizationRates=utilization,
        nvmlDeviceGetMemoryInfo=lambda d: types.SimpleNamespace(total=d[2], used=12 * GIB))
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.setitem(sys.modules, "pynvml", nvml)
    sampler = Sampler(interval=0.05, idle=5, cgroup=tmp_path)
    try:
        snap = sampler.snapshot()
    finally:
        sampler.close()
    assert snap["gpu_note"] is None
    assert snap["gpus"] == [
        {"index": 0, "name": "NVIDIA H100", "utilization": 37.0, "memory_used": 12 * GIB,
         "memory_total": 80 * GIB},
        {"index": 1, "name": "NVIDIA H100", "utilization": None, "memory_used": None,
         "memory_total": None}]


@pytest.mark.gpu
def test_the_sampler_reads_this_machines_gpus(tmp_path):
    from workbench.compute import gpus

    sampler = Sampler(interval=0.05, idle=5, cgroup=tmp_path)
    try:
        snap = sampler.snapshot()
    finally:
        sampler.close()
    assert [g["index"] for g in snap["gpus"]] == [g["index"] for g in gpus()]
    for gpu in snap["gpus"]:
        assert 0.0 <= gpu["utilization"] <= 100.0
        assert 0 < gpu["memory_used"] <= gpu["memory_total"]
