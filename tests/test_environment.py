"""env() and the GPU discovery it shares with cluster(): on this CPU machine, and against a
stand-in for NVML so the GPU rows are exercised without a GPU."""

from __future__ import annotations

import importlib.machinery
import sys
import types

import pytest

import workbench.environment as wenv
from workbench.compute.gpus import gpus, has_gpu


class FakeNVMLError(Exception):
    pass


def fake_pynvml(devices: list[tuple[str, str, int]], *, init_fails: bool = False):
    """A module with the pynvml calls gpus() makes; devices are (name, uuid, memory bytes)."""

    def init():
        if init_fails:
            raise FakeNVMLError("NVML Shared Library Not Found")

    module = types.ModuleType("pynvml")
    module.__spec__ = importlib.machinery.ModuleSpec("pynvml", None)
    vars(module).update(
        NVMLError=FakeNVMLError,
        nvmlInit=init,
        nvmlShutdown=lambda: None,
        nvmlSystemGetDriverVersion=lambda: b"550.54.15",  # older pynvml returns bytes
        nvmlSystemGetCudaDriverVersion=lambda: 12040,
        nvmlDeviceGetCount=lambda: len(devices),
        nvmlDeviceGetHandleByIndex=lambda i: devices[i],
        nvmlDeviceGetName=lambda d: d[0],
        nvmlDeviceGetUUID=lambda d: d[1],
        nvmlDeviceGetMemoryInfo=lambda d: types.SimpleNamespace(total=d[2]),
    )
    return module


TWO_GPUS = [("NVIDIA H100", "GPU-aaaa", 80 * 2**30), ("NVIDIA H100", "GPU-bbbb", 80 * 2**30)]


@pytest.fixture
def nvml(monkeypatch):
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.setitem(sys.modules, "pynvml", fake_pynvml(TWO_GPUS))


def test_env_on_this_machine_reports_versions_and_missing_packages(monkeypatch):
    monkeypatch.setitem(wenv.PACKAGES, "workbench_no_such_module", "no-such-package")
    report = wenv.env()
    assert list(report.table.columns) == ["component", "status", "detail"]
    assert report.status("dask") == "2026.7.1"
    assert report.status("distributed") == "2026.7.1"
    assert report.status("no-such-package") == wenv.NOT_INSTALLED
    assert report.status("torch").startswith("2.")
    assert int(report.status("cpus")) >= 1
    page = report._repr_html_()
    assert "<table>" in page and "<td>dask</td><td>2026.7.1</td>" in page
    assert "dask" in repr(report)
    with pytest.raises(KeyError, match="known"):
        report.status("nothing")


@pytest.mark.skipif(has_gpu(), reason="this machine has a GPU")
def test_cpu_machine_has_no_gpus():
    report = wenv.env()
    assert report.gpus == [] and not report.has_gpu
    assert report.status("gpus") == "none found"
    assert report.status("torch cuda") in {"not available", wenv.NOT_INSTALLED}


def test_nvml_gpus_are_listed_with_driver_and_cuda(nvml):
    found = gpus()
    assert [g["index"] for g in found] == [0, 1]
    assert found[0] == {
        "index": 0,
        "name": "NVIDIA H100",
        "uuid": "GPU-aaaa",
        "memory_total": 80 * 2**30,
        "driver": "550.54.15",
        "cuda_driver": "12.4",
    }
    report = wenv.env()
    assert report.has_gpu
    assert report.status("gpu 1") == "NVIDIA H100"
    assert report.status("cuda driver") == "12.4"
    assert "driver 550.54.15" in report._repr_html_()


def test_cuda_visible_devices_narrows_the_gpus(nvml, monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "GPU-bbbb")
    assert [g["index"] for g in gpus()] == [1]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0")
    assert [g["uuid"] for g in gpus()] == ["GPU-aaaa"]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert not has_gpu()


def test_nvml_without_a_driver_means_no_gpus(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", fake_pynvml(TWO_GPUS, init_fails=True))
    monkeypatch.delitem(sys.modules, "torch", raising=False)  # no torch fallback either
    assert gpus() == []
