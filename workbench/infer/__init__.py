"""Inference: export a model to ONNX, run it on an engine (eager, torch.compile, ONNX Runtime
in fp32 or int8, and on GPUs its CUDA and TensorRT providers), and serve it over HTTP with
dynamic batching.

``exp = wb.infer.export(model, x)``; ``eng = wb.infer.engine(model, "onnxruntime", example=x)``;
``ep = wb.infer.serve(model, example=x)``; ``wb.endpoints()`` lists what is served. Names load
on first use, so ``import workbench.infer`` loads no torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbench.lazy import lazy_exports

if TYPE_CHECKING:
    from workbench.infer.engines import ENGINES, Engine, engine
    from workbench.infer.errors import EngineUnavailable, ExportError, InferError, SignatureError
    from workbench.infer.exporter import Exported, Signature, TensorSpec, export
    from workbench.infer.registry import endpoints
    from workbench.infer.serving import Endpoint, serve

_EXPORTS = {
    "export": "workbench.infer.exporter",
    "Exported": "workbench.infer.exporter",
    "Signature": "workbench.infer.exporter",
    "TensorSpec": "workbench.infer.exporter",
    "engine": "workbench.infer.engines",
    "Engine": "workbench.infer.engines",
    "ENGINES": "workbench.infer.engines",
    "InferError": "workbench.infer.errors",
    "ExportError": "workbench.infer.errors",
    "SignatureError": "workbench.infer.errors",
    "EngineUnavailable": "workbench.infer.errors",
    "serve": "workbench.infer.serving",
    "Endpoint": "workbench.infer.serving",
    "endpoints": "workbench.infer.registry",
}

__all__ = ["ENGINES", "Endpoint", "Engine", "EngineUnavailable", "ExportError", "Exported",
           "InferError", "Signature", "SignatureError", "TensorSpec", "endpoints", "engine",
           "export", "serve"]

__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS)
