"""`export(model, example)`: a torch model as an ONNX file (torch.onnx's dynamo exporter) with a
dynamic batch axis, its signature, and its parity against eager measured on the spot.

The exporter's own failures are long reports; `ExportError` keeps what a person acts on: the
operator or construct, the line of the model that raised it, and that eager still runs it.
"""

from __future__ import annotations

import contextlib
import html
import io
import logging
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from workbench.infer.errors import EngineUnavailable, ExportError, SignatureError

if TYPE_CHECKING:
    import torch

# ONNX's tensor element types by their onnxruntime names, as numpy dtypes.
_ORT_DTYPES = {"tensor(float)": "float32", "tensor(double)": "float64",
               "tensor(float16)": "float16", "tensor(int64)": "int64", "tensor(int32)": "int32",
               "tensor(int8)": "int8", "tensor(uint8)": "uint8", "tensor(bool)": "bool"}
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
# Warnings the exporter logs on every run ("torchvision is not installed", one per op) or for
# a refused model before the error that says it all.
_NOISY_LOGGERS = ("torch.onnx", "torch.fx.experimental.symbolic_shapes", "torch._export")


@dataclass(frozen=True)
class TensorSpec:
    """One input or output: its name, shape (None for a dynamic axis such as the batch) and
    numpy dtype name."""

    name: str
    shape: tuple[int | None, ...]
    dtype: str

    def __str__(self) -> str:
        dims = ", ".join("batch" if d is None and i == 0 else "?" if d is None else str(d)
                         for i, d in enumerate(self.shape))
        return f"{self.name}[{dims}] {self.dtype}"


@dataclass(frozen=True)
class Signature:
    """What a model takes and returns; `check` refuses arrays that do not match, naming
    expected and given."""

    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]

    def check(self, arrays: tuple[np.ndarray, ...]) -> None:
        """Raise `SignatureError` unless `arrays` match the inputs in count, rank, fixed
        dimensions and dtype."""
        if len(arrays) != len(self.inputs):
            raise SignatureError(f"the model takes {len(self.inputs)} input(s) "
                                 f"({', '.join(map(str, self.inputs))}); given {len(arrays)}")
        for spec, array in zip(self.inputs, arrays):
            shape, dtype = tuple(array.shape), str(array.dtype)
            fits = len(shape) == len(spec.shape) and all(
                want is None or want == got for want, got in zip(spec.shape, shape))
            if not fits or dtype != spec.dtype:
                raise SignatureError(f"input {spec.name!r}: expected {spec}, given shape "
                                     f"{list(shape)} {dtype}"
                                     + ("" if dtype == spec.dtype else
                                        f" (cast with .astype('{spec.dtype}'))"))

    @classmethod
    def of_session(cls, session: Any) -> Signature:
        """The signature an onnxruntime session reports (named dimensions are dynamic)."""
        def spec(arg: Any) -> TensorSpec:
            shape = tuple(d if isinstance(d, int) else None for d in arg.shape)
            return TensorSpec(arg.name, shape, _ORT_DTYPES.get(arg.type, arg.type))

        return cls(tuple(map(spec, session.get_inputs())), tuple(map(spec, session.get_outputs())))


class Exported:
    """An exported model: `path` (the .onnx file), `opset`, `signature`, `size_mb`, and its
    largest absolute and relative difference from eager on the example (`max_abs_diff`,
    `max_rel_diff`, relative to the eager outputs' largest magnitude)."""

    def __init__(self, path: Path, model: str, module: Any, opset: int, signature: Signature,
                 max_abs_diff: float, max_rel_diff: float) -> None:
        self.path = path
        self.model = model
        self.module = module
        self.opset = opset
        self.signature = signature
        self.max_abs_diff = max_abs_diff
        self.max_rel_diff = max_rel_diff

    @property
    def size_mb(self) -> float:
        """The .onnx file's size in MB (1e6 bytes)."""
        return self.path.stat().st_size / 1e6

    def _lines(self) -> list[str]:
        return [f"opset {self.opset}, {self.size_mb:.3g} MB at {self.path}",
                "inputs: " + ", ".join(map(str, self.signature.inputs)),
                "outputs: " + ", ".join(map(str, self.signature.outputs)),
                f"max |difference| against eager: {self.max_abs_diff:.3g} "
                f"(relative {self.max_rel_diff:.3g})"]

    def __repr__(self) -> str:
        return f"Exported({self.model})\n  " + "\n  ".join(self._lines())

    def _repr_html_(self) -> str:
        items = "".join(f"<li>{html.escape(line)}</li>" for line in self._lines())
        return f"<p><b>Exported</b> {html.escape(self.model)} to ONNX</p><ul>{items}</ul>"


def export(model: torch.nn.Module, example: Any, path: str | Path | None = None, *,
           opset: int | None = None) -> Exported:
    """Export `model` to ONNX with torch.onnx's dynamo exporter, the first axis of every input
    dynamic (the batch), and measure the ONNX Runtime outputs against eager on `example` and on
    its rows reversed (so a value baked in at export shows). `example`: a tensor, array, or
    tuple of them, batch first. `path`: where to write; by default a new file under
    ``$WORKBENCH_HOME/exports``."""
    import torch

    if not isinstance(model, torch.nn.Module):
        raise ExportError(f"model must be a torch.nn.Module to export, not "
                          f"{type(model).__name__}")
    if not importable("onnxruntime"):
        raise EngineUnavailable("wb.infer.export checks the graph it writes on ONNX Runtime: "
                                "pip install 'workbench[infer]'")
    floating = next((p.dtype for p in model.parameters() if p.is_floating_point()), None)
    args = tuple(a.to(floating) if floating is not None and a.is_floating_point() else a
                 for a in _example_args(example))
    name = type(model).__name__
    target = Path(path) if path is not None else _default_path(name)
    target.parent.mkdir(parents=True, exist_ok=True)
    was_training = model.training
    model.eval()
    report = getattr(model, "compression_report", None)
    hint = (" ONNX Runtime quantises the fp32 model itself: use the 'onnxruntime-int8' engine "
            "on it." if report is not None and "int8" in report.variant else "")
    try:
        program = _run_exporter(model, args, opset, name, hint)
        program.save(str(target))
    finally:
        model.train(was_training)
    try:
        session = cpu_session(target)
    except Exception as exc:  # onnxruntime's Fail or InvalidGraph: a graph it cannot run
        from workbench.errors import describe

        raise ExportError(f"ONNX Runtime cannot load the graph exported from {name}: "
                          f"{describe(exc)}. The 'eager' and 'compile' engines still run "
                          "it.") from exc
    signature = Signature.of_session(session)
    abs_diff, rel_diff = _parity(model, session, signature, args)
    return Exported(target, name, model, _opset(target), signature, abs_diff, rel_diff)


def cpu_session(path: str | Path, threads: int | None = None, spin: bool = True) -> Any:
    """An onnxruntime session on the CPU provider: every graph optimisation on, `threads`
    intra-op threads (default torch's count, so engines compare on the same cores), and
    inter-op work sequential. `spin`: whether its threads spin between calls (the quickest
    back-to-back calls; a server sharing its cores with an HTTP loop turns it off)."""
    import onnxruntime as ort
    import torch

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads or torch.get_num_threads()
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def as_numpy(value: Any) -> np.ndarray:
    """A tensor (detached, on the CPU) or array as a numpy array, without a copy when it can
    (bfloat16, which numpy lacks, as float32)."""
    if isinstance(value, np.ndarray):
        return value
    value = value.detach().cpu()
    return (value.float() if str(value.dtype) == "torch.bfloat16" else value).numpy()


def _example_args(example: Any) -> tuple[torch.Tensor, ...]:
    """The example as a tuple of tensors with at least two rows: the exporter specialises an
    axis of size 1, so one row is repeated to keep the batch dynamic."""
    import torch

    parts = tuple(example) if isinstance(example, (tuple, list)) else (example,)
    args = []
    for i, part in enumerate(parts):
        if isinstance(part, np.ndarray):
            part = torch.from_numpy(part)
        if not isinstance(part, torch.Tensor) or part.ndim == 0:
            raise ExportError(f"example[{i}] must be a tensor or array whose first axis is the "
                              f"batch, not {type(part).__name__}"
                              + (" of no dimensions" if isinstance(part, torch.Tensor) else ""))
        args.append(part.repeat(2, *[1] * (part.ndim - 1)) if len(part) == 1 else part)
    if not args:
        raise ExportError("example is empty: pass a batch of inputs, e.g. x_test[:8]")
    return tuple(args)


def _run_exporter(model: Any, args: tuple[Any, ...], opset: int | None, name: str,
                  hint: str) -> Any:
    """torch.onnx.export (dynamo) with its progress lines and graph dumps kept out of the
    notebook; a failure becomes an `ExportError` naming the operator or construct."""
    import torch

    batch = torch.export.Dim("batch")
    dynamic = tuple({0: batch} for _ in args)
    quiet = io.StringIO()
    loggers = [logging.getLogger(name) for name in _NOISY_LOGGERS]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        with contextlib.redirect_stdout(quiet), contextlib.redirect_stderr(quiet):
            return torch.onnx.export(model, args, dynamo=True, dynamic_shapes=dynamic,
                                     opset_version=opset, verbose=False)
    except Exception as exc:
        raise ExportError(f"cannot export {name} to ONNX: {export_failure(exc)}. The 'eager' "
                          f"and 'compile' engines still run it.{hint}") from exc
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


def export_failure(exc: BaseException) -> str:
    """What the exporter's report says went wrong, in one or two lines: the operator without an
    ONNX function, or the construct torch.export refused and the model's line that raised it."""
    text = _ANSI.sub("", str(exc))
    op = re.search(r"No ONNX function found for <OpOverload\(op='([^']+)'", text)
    if op:
        return f"operator {op[1]} has no ONNX translation"
    summary = re.search(r"## Exception summary\s+<class '[\w.]*?(\w+)'>: ([^\n]+)", text)
    what = f"{summary[1]}: {summary[2].strip()}" if summary else text.strip().splitlines()[0]
    where = re.search(r"The following call raised this error:\s+File \"([^\"]+)\", line (\d+)"
                      r", in \w+\s+([^\n]+)", text)
    if "data-dependent" in what:
        what = "data-dependent control flow (a Python branch on a tensor's value): " + what
    return what + (f", at {where[1]}:{where[2]} `{where[3].strip()}`" if where else "")


def _parity(model: Any, session: Any, signature: Signature,
            args: tuple[Any, ...]) -> tuple[float, float]:
    """The largest absolute and relative (to eager's largest magnitude) difference of the first
    output between eager and ONNX Runtime, over the example and its rows reversed."""
    import torch

    worst_abs, worst_rel = 0.0, 0.0
    for batch in (args, tuple(a.flip(0) for a in args)):
        with torch.inference_mode():
            expected = _first(model(*batch))
        feed = {spec.name: as_numpy(a) for spec, a in zip(signature.inputs, batch)}
        got = session.run(None, feed)[0]
        abs_diff, rel_diff = differences(expected, got)
        worst_abs, worst_rel = max(worst_abs, abs_diff), max(worst_rel, rel_diff)
    return worst_abs, worst_rel


def differences(expected: Any, got: Any) -> tuple[float, float]:
    """(max |got - expected|, that over max |expected|): how far an engine's output is from
    eager's, absolutely and relative to the output's scale."""
    expected = as_numpy(expected).astype(np.float64)
    got = as_numpy(got).astype(np.float64)
    if expected.shape != got.shape:
        raise SignatureError(f"the outputs' shapes differ: eager gives {list(expected.shape)}, "
                             f"the engine {list(got.shape)}")
    abs_diff = float(np.max(np.abs(got - expected))) if expected.size else 0.0
    scale = float(np.max(np.abs(expected))) if expected.size else 0.0
    return abs_diff, abs_diff / scale if scale > 0 else abs_diff


def _first(output: Any) -> Any:
    """A model's first output (models may return a tuple)."""
    return output[0] if isinstance(output, (tuple, list)) else output


def importable(package: str) -> bool:
    """Whether `package` can be imported (False for one set to None in sys.modules)."""
    import importlib.util

    try:
        return importlib.util.find_spec(package) is not None
    except (ImportError, ValueError):
        return False


def _opset(path: Path) -> int:
    import onnx

    proto = onnx.load(str(path), load_external_data=False)
    return next((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), -1)


def _default_path(name: str) -> Path:
    from workbench.home import private_dir

    return private_dir("exports") / f"{name}-{uuid.uuid4().hex[:8]}.onnx"
