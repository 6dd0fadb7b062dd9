"""Inference engines behind one interface: `engine(model, name)` returns a callable that the
bench harness times and the server batches into, whatever runs underneath.

- ``eager``: the torch module as it is; ``compile``: ``torch.compile`` (inductor);
  ``compile-max-autotune``: the same with ``mode="max-autotune"`` on a GPU.
- ``onnxruntime``: the exported ONNX graph on ONNX Runtime's CPU provider, every graph
  optimisation on, its threads set explicitly; ``onnxruntime-int8``: that graph quantised to
  int8 (dynamic, or static QDQ calibrated on data when `calibration` is given).
- ``onnxruntime-cuda`` and ``onnxruntime-tensorrt``: ONNX Runtime's CUDA and TensorRT
  execution providers (onnxruntime-gpu, the ``gpu`` extra).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from workbench.infer.errors import EngineUnavailable, InferError, SignatureError
from workbench.infer.exporter import (
    Exported,
    Signature,
    TensorSpec,
    as_numpy,
    cpu_session,
    export,
    importable,
)

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class EngineSpec:
    """What an engine needs: ONNX or torch, int8, a GPU, and the extra that installs it."""

    onnx: bool
    gpu: bool = False
    int8: bool = False
    extra: str = ""


ENGINES = {
    "eager": EngineSpec(onnx=False),
    "compile": EngineSpec(onnx=False),
    "onnxruntime": EngineSpec(onnx=True, extra="infer"),
    "onnxruntime-int8": EngineSpec(onnx=True, int8=True, extra="infer"),
    "compile-max-autotune": EngineSpec(onnx=False, gpu=True),
    "onnxruntime-cuda": EngineSpec(onnx=True, gpu=True, extra="gpu"),
    "onnxruntime-tensorrt": EngineSpec(onnx=True, gpu=True, extra="gpu"),
}
CPU_ENGINES = ("eager", "compile", "onnxruntime", "onnxruntime-int8")
_PROVIDERS = {"onnxruntime-cuda": ["CUDAExecutionProvider"],
              "onnxruntime-tensorrt": ["TensorrtExecutionProvider", "CUDAExecutionProvider"]}


class Engine:
    """A model on an engine: call it like the model (tensors or arrays in), or `run` numpy
    batches (numpy out, the first output). `name`, `model`, `note` (what runs it: the
    provider or kernel), `size_mb` and `signature` (None when unknown)."""

    name: str
    model: str
    note: str
    size_mb: float
    signature: Signature | None
    takes_numpy = False  # whether numpy inputs skip a conversion (the harness passes them)

    def __call__(self, *inputs: Any) -> Any:
        raise NotImplementedError

    def run(self, *arrays: np.ndarray) -> np.ndarray:
        """The first output for numpy inputs, as a numpy array (thread-safe)."""
        return as_numpy(self(*arrays))

    def check(self, *arrays: np.ndarray) -> None:
        """Raise `SignatureError` (naming expected and given) unless `arrays` fit the
        signature; passes when the signature is unknown."""
        if self.signature is not None:
            self.signature.check(tuple(arrays))

    def _refused(self, inputs: tuple[Any, ...], exc: Exception) -> Exception:
        """The error for a call that failed: the signature's, when the inputs do not fit."""
        try:
            self.check(*(as_numpy(x) for x in inputs))
        except SignatureError as mismatch:
            return mismatch
        return exc

    def __repr__(self) -> str:
        size = "" if np.isnan(self.size_mb) else f", {self.size_mb:.3g} MB"
        return f"Engine({self.name}: {self.model}{size}; {self.note})"


class TorchEngine(Engine):
    """``eager`` and ``compile``: the module, or ``torch.compile`` of it, in inference mode."""

    def __init__(self, name: str, module: torch.nn.Module, signature: Signature | None) -> None:
        import torch

        from workbench.compress.size import size_mb

        self.name, self.model, self.signature = name, type(module).__name__, signature
        self.module = module.eval()
        self.size_mb = size_mb(module)
        where = next((p.device for p in module.parameters()), None)
        self._device = where if where is not None and where.type != "cpu" else None
        floating = next((p.dtype for p in module.parameters() if p.is_floating_point()), None)
        # A bf16 or fp16 module takes the float32 inputs every other engine takes, cast here.
        self._cast = floating if floating not in (None, torch.float32) else None
        if name == "eager":
            self._fn, self.note = self.module, "torch eager (ATen kernels)"
        else:
            mode = "max-autotune" if name == "compile-max-autotune" else None
            self._fn = torch.compile(self.module, mode=mode)
            self.note = f"torch.compile (inductor{', ' + mode if mode else ''})"
        report = getattr(module, "compression_report", None)
        if report is not None:
            self.note += f"; {report.method}"
            if "int8" in report.variant and self._device is None:
                self.note += ("; int8 on a CPU runs torch's reference int32 matmul "
                              "(aten._int_mm), not a fast kernel")

    def __call__(self, *inputs: Any) -> Any:
        import torch

        tensors = tuple(torch.from_numpy(x) if isinstance(x, np.ndarray) else x
                        for x in inputs)
        if self._device is not None:  # numpy batches from the server arrive on the host
            tensors = tuple(t.to(self._device) for t in tensors)
        if self._cast is not None:
            tensors = tuple(t.to(self._cast) if t.is_floating_point() else t for t in tensors)
        try:
            with torch.inference_mode():
                out = self._fn(*tensors)
        except Exception as exc:
            raise self._refused(inputs, exc) from exc
        return out[0] if isinstance(out, (tuple, list)) else out


class OrtEngine(Engine):
    """An ONNX Runtime session over an exported graph; inputs fed by the signature's names."""

    takes_numpy = True  # a tensor's .numpy() costs ~4 us a call: a fifth of a small model's

    def __init__(self, name: str, exported: Exported, session: Any, path: Path,
                 note: str) -> None:
        self.name, self.model, self.session = name, exported.model, session
        self.signature = Signature.of_session(session)
        self.size_mb = path.stat().st_size / 1e6
        self.note = note
        self._names = [spec.name for spec in self.signature.inputs]

    def __call__(self, *inputs: Any) -> np.ndarray:
        feed = dict(zip(self._names, map(as_numpy, inputs)))
        try:
            return self.session.run(None, feed)[0]
        except Exception as exc:  # onnxruntime's InvalidArgument, Fail, ...
            if len(inputs) != len(self._names):
                self.check(*map(as_numpy, inputs))
            raise self._refused(inputs, exc) from exc


def engine(model: Any, name: str = "onnxruntime", *, example: Any = None,
           threads: int | None = None, calibration: Any = None, spin: bool = True) -> Engine:
    """`model` (a torch module, or `wb.infer.export`'s result) on engine `name` (see `ENGINES`).
    ONNX engines export a module first, which needs `example` (a batch of inputs); `threads`
    sets ONNX Runtime's intra-op threads (default torch's) and `spin` whether they spin
    between calls; `calibration` (rows of inputs: a tensor, array, DataFrame or lake table)
    makes ``onnxruntime-int8`` static QDQ."""
    spec = ENGINES.get(name)
    if spec is None:
        raise InferError(f"engine must be one of {list(ENGINES)}, not {name!r}")
    require(name)
    if not spec.onnx:
        module = model.module if isinstance(model, Exported) else model
        _check_module(module, name)
        return TorchEngine(name, module, _signature_of(example) if example is not None else
                           model.signature if isinstance(model, Exported) else None)
    exported = model if isinstance(model, Exported) else _export_for(model, example, name)
    if spec.int8:
        from workbench.infer.int8 import quantize_onnx

        path, note = quantize_onnx(exported, calibration)
        return OrtEngine(name, exported, cpu_session(path, threads, spin), path, note)
    if spec.gpu:
        return _gpu_engine(name, exported)
    session = cpu_session(exported.path, threads, spin)
    threads_used = session.get_session_options().intra_op_num_threads
    return OrtEngine(name, exported, session, exported.path,
                     f"ONNX Runtime CPU provider, all graph optimisations, {threads_used} "
                     "threads")


def require(name: str) -> None:
    """Raise `EngineUnavailable` in one line when engine `name` cannot run here: its package is
    missing (naming the extra) or it needs a GPU this machine lacks."""
    spec = ENGINES[name]
    if spec.onnx and not importable("onnxruntime"):
        raise EngineUnavailable(f"engine {name!r} needs ONNX Runtime: pip install "
                                f"'workbench[{spec.extra}]'")
    if spec.gpu:
        import torch

        if not torch.cuda.is_available():
            raise EngineUnavailable(f"engine {name!r} needs a CUDA GPU, and this machine has "
                                    "none")
    if name in _PROVIDERS:
        import onnxruntime as ort

        provider = _PROVIDERS[name][0]
        if provider not in ort.get_available_providers():
            raise EngineUnavailable(f"engine {name!r} needs {provider}, which this ONNX Runtime "
                                    f"lacks (it has {ort.get_available_providers()}): pip "
                                    "install 'workbench[gpu]' (onnxruntime-gpu"
                                    + (", with TensorRT's libraries" if "Tensorrt" in provider
                                       else "") + ")")


def _gpu_engine(name: str, exported: Exported) -> OrtEngine:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    session = ort.InferenceSession(str(exported.path), options, providers=_PROVIDERS[name])
    used = session.get_providers()
    return OrtEngine(name, exported, session, exported.path,
                     f"ONNX Runtime {used[0]}" + (f" (falls back to {', '.join(used[1:])})"
                                                  if len(used) > 1 else ""))


def _export_for(model: Any, example: Any, name: str) -> Exported:
    _check_module(model, name)
    if example is None:
        raise InferError(f"engine {name!r} runs an ONNX export of the model, which needs "
                         "example=<a batch of inputs> (or pass wb.infer.export(model, x))")
    return export(model, example)


def _check_module(model: Any, name: str) -> None:
    import torch

    if not isinstance(model, torch.nn.Module):
        raise InferError(f"engine {name!r} takes a torch.nn.Module or wb.infer.export's "
                         f"result, not {type(model).__name__}")


def _signature_of(example: Any) -> Signature:
    """A torch engine's signature from an example batch: its shapes, the batch axis
    dynamic."""
    parts = tuple(example) if isinstance(example, (tuple, list)) else (example,)
    arrays = [as_numpy(p) for p in parts]
    return Signature(tuple(TensorSpec(f"input{i}" if len(arrays) > 1 else "input",
                                      (None, *a.shape[1:]), str(a.dtype))
                           for i, a in enumerate(arrays)), ())
