"""wb.infer: ONNX export with a dynamic batch and its parity, every CPU engine against eager on
the demo model and on a small transformer encoder, int8 accuracy on a labelled lake table, and
the errors a person gets for a model the exporter refuses, inputs that do not fit the
signature, and an engine that is not installed."""

from __future__ import annotations

import copy
import sys

import numpy as np
import pandas as pd
import pytest
import torch

import workbench as wb
from workbench.infer import EngineUnavailable, ExportError, SignatureError
from workbench.models import TransformerClassifier

# Parity: the largest |engine - eager| over eager's largest |output|.
FP32_TOLERANCE = 1e-4
INT8_TOLERANCE = 0.1
INT8_ACCURACY_DROP = 0.01  # one point on the demo task's 426 held-out rows


@pytest.fixture(scope="module")
def encoder():
    torch.manual_seed(0)
    return TransformerClassifier(in_features=8, classes=4, d_model=32, nhead=4, layers=2,
                                 dim_feedforward=64).eval()


def test_export_writes_a_dynamic_batch_graph_and_measures_its_parity(trained, task, tmp_path):
    exp = wb.infer.export(trained, task.x_test[:1], tmp_path / "demo.onnx")
    assert exp.path == tmp_path / "demo.onnx" and exp.path.exists()
    assert exp.opset >= 18 and exp.size_mb == pytest.approx(exp.path.stat().st_size / 1e6)
    (spec,) = exp.signature.inputs
    assert spec.shape == (None, 4) and spec.dtype == "float32"  # one row: still dynamic
    assert exp.signature.outputs[0].shape == (None, 5)
    assert exp.max_abs_diff < 1e-5 and exp.max_rel_diff < FP32_TOLERANCE
    text = repr(exp)
    assert "opset" in text and "x[batch, 4] float32" in text and "max |difference|" in text
    assert "<li>" in exp._repr_html_()


@pytest.mark.parametrize("engine", ["eager", "compile", "onnxruntime", "onnxruntime-int8"])
@pytest.mark.parametrize("which", ["demo", "encoder"])
def test_every_cpu_engine_matches_eager(engine, which, trained, encoder, task):
    model, x = (trained, task.x_test[:64]) if which == "demo" else (
        encoder, torch.randn(16, 12, 8, generator=torch.Generator().manual_seed(1)))
    eng = wb.infer.engine(model, engine, example=x[:8])
    with torch.inference_mode():
        expected = model(x).numpy()
    for batch in (x, x[:1]):  # the batch axis is dynamic: any size runs
        got = eng.run(batch.numpy())
        assert got.shape == (len(batch), expected.shape[1])
    got = eng.run(x.numpy())
    rel = np.abs(got - expected).max() / np.abs(expected).max()
    if engine == "onnxruntime-int8":
        assert rel < INT8_TOLERANCE
        agree = (got.argmax(1) == expected.argmax(1)).mean()
        assert agree >= (0.95 if which == "demo" else 0.8)
    else:
        assert rel < FP32_TOLERANCE
    assert eng.name == engine and eng.note and repr(eng).startswith(f"Engine({engine}")


def test_int8_accuracy_on_a_labelled_lake_table(trained, task, tmp_path):
    """Dynamic int8, and static QDQ calibrated on a lake table, each within a point of fp32 on
    a labelled lake table."""
    lake = wb.Lake(tmp_path / "lake")
    columns = ["f0", "f1", "f2", "f3"]
    lake.record("test_rows", pd.DataFrame(task.x_test.numpy(), columns=columns)
                .assign(label=task.y_test.numpy()))
    lake.record("calibration_rows", pd.DataFrame(task.x_train.numpy(), columns=columns))
    test = lake.table("test_rows").to_pandas()
    x, y = test[columns].to_numpy(np.float32), test["label"].to_numpy()

    def accuracy(eng):
        return float((eng.run(x).argmax(1) == y).mean())

    exp = wb.infer.export(trained, task.x_test[:8])
    fp32 = accuracy(wb.infer.engine(exp, "onnxruntime"))
    dynamic = wb.infer.engine(exp, "onnxruntime-int8")
    static = wb.infer.engine(exp, "onnxruntime-int8",
                             calibration=lake.table("calibration_rows"))
    assert "dynamic" in dynamic.note and "QDQ calibrated on" in static.note
    assert dynamic.size_mb < 0.6 * exp.size_mb
    for eng in (dynamic, static):
        assert accuracy(eng) >= fp32 - INT8_ACCURACY_DROP
    with pytest.raises(wb.infer.InferError, match="5 numeric columns .* input takes 4"):
        wb.infer.engine(exp, "onnxruntime-int8", calibration=lake.table("test_rows"))


def test_inputs_that_do_not_fit_the_signature_name_expected_and_given(trained, task):
    x = task.x_test[:4].numpy()
    for name in ("onnxruntime", "eager"):
        eng = wb.infer.engine(trained, name, example=task.x_test[:8])
        with pytest.raises(SignatureError, match=r"expected x?\w*\[batch, 4\] float32, given "
                                                 r"shape \[4, 4\] float64"):
            eng.run(x.astype(np.float64))
        with pytest.raises(SignatureError, match=r"given shape \[4, 3\] float32"):
            eng.run(x[:, :3])
    with pytest.raises(SignatureError, match="takes 1 input"):
        eng.run(x, x)


class Branchy(torch.nn.Module):
    def forward(self, x):
        if x.sum() > 0:
            return x * 2
        return x


class Eigen(torch.nn.Module):
    def forward(self, x):
        return torch.linalg.eigh(x @ x.transpose(-1, -2))[0]


def test_a_model_the_exporter_refuses_names_the_construct_and_eager_still_runs(tmp_path):
    x = torch.randn(6, 3, 3)
    with pytest.raises(ExportError, match=r"data-dependent control flow .*test_infer_engines"
                                          r"\.py:\d+ `if x.sum\(\) > 0:`.*'eager' and "
                                          r"'compile' engines still run it"):
        wb.infer.export(Branchy(), x)
    with pytest.raises(ExportError, match=r"operator aten\._linalg_eigh\.?\w* has no ONNX"):
        wb.infer.export(Eigen(), x)
    eager = wb.infer.engine(Branchy(), "eager")
    assert torch.equal(eager(x), Branchy()(x))


def test_an_engine_that_is_not_installed_names_its_extra(trained, task, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(EngineUnavailable, match=r"^engine 'onnxruntime' needs ONNX Runtime: "
                                                r"pip install 'workbench\[infer\]'$"):
        wb.infer.engine(trained, "onnxruntime", example=task.x_test[:8])


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on a CPU machine")
def test_gpu_engines_on_a_machine_without_a_gpu_say_so(trained, task):
    for name in ("onnxruntime-cuda", "onnxruntime-tensorrt", "compile-max-autotune"):
        with pytest.raises(EngineUnavailable, match=f"engine '{name}' needs a CUDA GPU"):
            wb.infer.engine(trained, name, example=task.x_test[:8])


def test_bad_engine_arguments(trained, task):
    with pytest.raises(wb.infer.InferError, match=r"engine must be one of \['eager'"):
        wb.infer.engine(trained, "tensorflow")
    with pytest.raises(wb.infer.InferError, match="needs example=<a batch of inputs>"):
        wb.infer.engine(trained, "onnxruntime")
    with pytest.raises(ExportError, match="must be a torch.nn.Module"):
        wb.infer.export(lambda x: x, task.x_test[:4])
    with pytest.raises(ExportError, match=r"example\[0\] must be a tensor or array"):
        wb.infer.export(trained, [3.0])


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("engine", ["onnxruntime-cuda", "onnxruntime-tensorrt",
                                    "compile-max-autotune"])
def test_gpu_engines_match_eager(engine, trained, task):
    torch_engine = engine.startswith("compile")
    model = copy.deepcopy(trained).to("cuda" if torch_engine else "cpu")
    try:
        eng = wb.infer.engine(model, engine, example=task.x_test[:8])
    except EngineUnavailable as exc:  # onnxruntime-gpu without TensorRT's libraries
        pytest.skip(str(exc))
    x = task.x_test[:64]
    with torch.inference_mode():
        expected = trained(x).numpy()
    got = eng.run(x.numpy())
    assert np.abs(got - expected).max() / np.abs(expected).max() < 1e-3
