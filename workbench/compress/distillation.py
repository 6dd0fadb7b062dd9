"""`distill(teacher, student, loader, ...)`: knowledge distillation (Hinton et al., 2015).

The student learns from the teacher's softened outputs and from the labels:
``alpha * T^2 * KL(softmax(teacher / T) || softmax(student / T)) + (1 - alpha) * CE(student, y)``
(the T^2 keeps the soft term's gradients on the scale of the hard one's as T changes).

Inside a function started by ``wb.launch`` it uses the rank's device, wraps the student in
DistributedDataParallel when there are several ranks (the loader shards the data, as the lake's
``to_torch`` does), times its steps with ``run.steps`` and logs the losses to the notebook.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Iterator
from typing import Any

from workbench.compress.errors import CompressError
from workbench.compress.report import CompressionReport


def distillation_loss(student_logits: Any, teacher_logits: Any, labels: Any, temperature: float,
                      alpha: float) -> tuple[Any, Any, Any]:
    """(total, soft, hard) losses of one batch: the soft-target KL term (scaled by T^2) and the
    cross-entropy with the labels, mixed by `alpha`."""
    import torch.nn.functional as F

    t = temperature
    soft = F.kl_div(F.log_softmax(student_logits / t, dim=-1),
                    F.log_softmax(teacher_logits / t, dim=-1), reduction="batchmean",
                    log_target=True) * (t * t)
    hard = F.cross_entropy(student_logits, labels)
    return alpha * soft + (1 - alpha) * hard, soft, hard


def distill(teacher: Any, student: Any, loader: Iterable[Any], epochs: int = 10,
            temperature: float = 4.0, alpha: float = 0.9, *, lr: float = 3e-3,
            optimizer: Any = None, seed: int = 0, device: Any = None,
            progress: bool = True) -> Any:
    """Train `student` (in place; returned in eval mode) to imitate `teacher` on `loader`'s
    batches for `epochs` epochs; the teacher is only evaluated.

    `loader`: re-iterable batches of ``(x, y)`` or dicts with "features" and "label" (the lake's
    ``to_torch`` loader; ``set_epoch`` is called when it has one). `optimizer`: default Adam at
    `lr`. `device`: default the student's (or the rank's under ``wb.launch``). The student's
    `compression_report` holds the loss per epoch."""
    import torch

    _check_arguments(teacher, student, loader, epochs, temperature, alpha)
    run = _current_run()
    device = _device(run, device, student)
    torch.manual_seed(seed)
    teacher_was_training = teacher.training
    teacher.to(device).eval()
    student.to(device).train()
    trained = _trained_module(student, run, device)
    if optimizer is None:
        optimizer = torch.optim.Adam(student.parameters(), lr=lr)

    from tqdm.auto import tqdm

    total = epochs * len(loader) if hasattr(loader, "__len__") else None
    bar = tqdm(total=total, desc="distill", unit="step", delay=1.0,
               disable=not progress or (run is not None and run.rank != 0))
    history = []
    try:
        for epoch in range(epochs):
            history.append(_epoch(teacher, trained, optimizer, loader, epoch, run=run,
                                  device=device, bar=bar, temperature=float(temperature),
                                  alpha=float(alpha)))
    finally:
        bar.close()
        teacher.train(teacher_was_training)
    student.eval()
    student.compression_report = _report(teacher, history, temperature, alpha, epochs)
    return student


def _check_arguments(teacher: Any, student: Any, loader: Any, epochs: Any, temperature: Any,
                     alpha: Any) -> None:
    """Refuse unusable arguments up front, before any model is moved or trained."""
    from torch import nn

    for name, value in (("teacher", teacher), ("student", student)):
        if not isinstance(value, nn.Module):
            raise CompressError(f"{name} must be an nn.Module, not {type(value).__name__}")
    if isinstance(epochs, bool) or not isinstance(epochs, numbers.Integral) or epochs < 1:
        raise CompressError(f"epochs must be a positive int, not {epochs!r}")
    if not isinstance(temperature, numbers.Real) or not temperature > 0:
        raise CompressError(f"temperature must be > 0, not {temperature!r} (1 is the plain "
                            "softmax; 2 to 8 softens it, as usual in distillation)")
    if not isinstance(alpha, numbers.Real) or not 0 <= alpha <= 1:
        raise CompressError(f"alpha must be in [0, 1] (the weight of the teacher's soft "
                            f"targets; 1 - alpha weighs the labels), not {alpha!r}")
    if not isinstance(loader, Iterable) or isinstance(loader, Iterator):
        raise CompressError("loader must be re-iterable once per epoch (a DataLoader, a list "
                            "of batches, the lake's to_torch loader), not a one-shot iterator")


def _device(run: Any, device: Any, student: Any) -> Any:
    """The device to train on: the rank's under `wb.launch`, else `device`, else the student's."""
    import torch

    if run is not None:
        device = run.device
    elif device is None:
        device = next((p.device for p in student.parameters()), torch.device("cpu"))
    return torch.device(device)


def _trained_module(student: Any, run: Any, device: Any) -> Any:
    """The student, in DistributedDataParallel when a run has several ranks (gradients sync)."""
    from torch import nn

    if run is not None and run.world_size > 1:
        import torch.distributed as dist

        if dist.is_initialized():
            ids = [device.index] if device.type == "cuda" else None
            return nn.parallel.DistributedDataParallel(student, device_ids=ids)
    return student


def _epoch(teacher: Any, trained: Any, optimizer: Any, loader: Any, epoch: int, *, run: Any,
           device: Any, bar: Any, temperature: float, alpha: float) -> dict[str, Any]:
    """Train one epoch; its mean losses per sample and sample count, a row of the report."""
    import torch

    if hasattr(loader, "set_epoch"):
        loader.set_epoch(epoch)
    sums = [0.0, 0.0, 0.0]
    seen = 0
    batches = run.steps(loader) if run is not None else loader
    for step, batch in enumerate(batches):
        x, y = _unpack(batch, device)
        with torch.no_grad():
            target = teacher(x)
        out = trained(x)
        if step == 0 and epoch == 0 and target.shape != out.shape:
            raise CompressError(f"teacher and student disagree on their outputs: the "
                                f"teacher gives {tuple(target.shape)}, the student "
                                f"{tuple(out.shape)}; distillation needs the same "
                                "logits (the same classes)")
        loss, soft, hard = distillation_loss(out, target, y, temperature, alpha)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        n = len(y)
        for i, value in enumerate((loss, soft, hard)):
            sums[i] += float(value.detach()) * n
        seen += n
        if run is not None:
            run.log(loss=float(loss.detach()), soft_loss=float(soft.detach()),
                    hard_loss=float(hard.detach()), epoch=epoch)
        bar.update()
    if not seen:
        raise CompressError("loader yielded no batches: nothing to distil from")
    return {"epoch": epoch, "loss": sums[0] / seen, "soft_loss": sums[1] / seen,
            "hard_loss": sums[2] / seen, "samples": seen}


def _report(teacher: Any, history: list[dict[str, Any]], temperature: float, alpha: float,
            epochs: int) -> CompressionReport:
    """The student's `compression_report`: the method, the loss's course, the per-epoch table."""
    import pandas as pd

    details = pd.DataFrame(history)
    return CompressionReport(
        variant="student", method=f"knowledge distillation, T={temperature:g}, "
                                  f"alpha={alpha:g}, {epochs} epochs",
        summary=f"loss {history[0]['loss']:.4g} -> {history[-1]['loss']:.4g} over {epochs} "
                f"epochs from {type(teacher).__name__}",
        details=details, figures={"final_loss": history[-1]["loss"]})


def _unpack(batch: Any, device: Any) -> tuple[Any, Any]:
    """(inputs, labels) of a batch on `device`: a pair, or the lake loader's dict."""
    if isinstance(batch, dict):
        if "features" not in batch or "label" not in batch:
            raise CompressError(f"a dict batch needs 'features' and 'label', got {sorted(batch)}")
        x, y = batch["features"], batch["label"]
    elif isinstance(batch, (tuple, list)) and len(batch) == 2:
        x, y = batch
    else:
        raise CompressError(f"each batch must be (inputs, labels) or a dict with 'features' and "
                            f"'label', not {type(batch).__name__}")
    return x.to(device), y.to(device)


def _current_run() -> Any:
    """The `wb.launch` rank's Run when called inside one, else None."""
    from workbench.train.runtime import current

    try:
        return current()
    except RuntimeError:
        return None
