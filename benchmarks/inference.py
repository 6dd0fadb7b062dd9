"""Inference benchmark: fp32 against int8 and pruned variants (and bf16/fp16 on a GPU), p50
latency ratio and accuracy delta, on the demo model, a transformer-block model and an LSTM.

Usage: ``.venv/bin/python benchmarks/inference.py [--min-samples 300] [--cpu-only] [--threads N]
[--suites demo,transformer,lstm]`` (about 6 minutes on 2 busy cores)

- Harness accuracy first: the per-call overhead (p50 of a function that does nothing), the p50
  of a 1 ms busy-wait against 1 ms, and the median against ``torch.utils.benchmark.Timer``
  (one call per ``timeit``, alternating rounds) on a 2-layer MLP.
- Demo model: ``DemoClassifier`` trained with ``fit`` on ``gapminder_task()`` (seed 0, 30
  epochs); the variants are ``wb.compress.quantize`` (torchao int8 dynamic) and
  ``wb.compress.prune(model, 0.5)`` (global L1, unstructured); accuracy on the task's test
  split. For reference only, the deprecated ``torch.ao.quantization.quantize_dynamic`` (fbgemm
  int8, not used by wb.compress) is timed beside them.
- Transformer: ``TransformerClassifier()`` (2 encoder layers, d_model 128, 4 heads, ff 512)
  trained with ``fit`` (3 epochs, seed 0) on a synthetic task: random sequences of 32 steps x
  32 features (seed 1), labelled by the argmax of a fixed random projection (seed 2) of the
  sequence mean, 10 classes (chance 13%); 4096 rows to train, accuracy on 512 held out.
- LSTM: a one-layer ``nn.LSTM`` (32 -> 64) whose last hidden state feeds a linear head, trained
  the same way on the same task; its int8 variant has the LSTM rebuilt from Linear layers
  (``LinearRecurrent``) and quantised with them.
- Each variant is timed with ``wb.compress.compare`` (single-stream, per batch size); ratio =
  variant p50 / fp32 p50 (<1 is faster). On a CUDA GPU the same runs on ``cuda:0`` with bf16
  and fp16 copies of the fp32 model added.
"""

from __future__ import annotations

import argparse
import copy
import os
import platform
import time
import warnings
from datetime import date

import numpy as np
import torch

import workbench as wb
from workbench.models import DemoClassifier, TransformerClassifier, accuracy, fit, gapminder_task


def spin(ns: int):
    clock = time.perf_counter_ns

    def busy_wait(x):
        deadline = clock() + ns
        while clock() < deadline:
            pass

    return busy_wait


def harness_checks() -> list[tuple[str, str, str]]:
    """(check, measured, target) rows: the harness's own accuracy on this machine."""
    from torch.utils.benchmark import Timer

    x = torch.zeros(64, 4)
    noop = wb.bench.latency(lambda a: None, x, batch_sizes=(1,), min_samples=30_000,
                            progress=False).table.iloc[0]
    busy = wb.bench.latency(spin(1_000_000), x, batch_sizes=(1,), min_samples=600,
                            progress=False).table.iloc[0]
    torch.manual_seed(0)
    mlp = torch.nn.Sequential(torch.nn.Linear(256, 512), torch.nn.ReLU(),
                              torch.nn.Linear(512, 256)).eval()
    y = torch.randn(64, 256)
    timer = Timer("m(y)", globals={"m": mlp, "y": y}, num_threads=torch.get_num_threads())
    ours, theirs = [], []
    for _ in range(6):
        ours.append(wb.bench.latency(mlp, y, batch_sizes=(64,), min_samples=150, warmup=20,
                                     progress=False).samples[64])
        with torch.inference_mode():
            theirs += [timer.timeit(1).median * 1e3 for _ in range(150)]
    o, t = float(np.median(np.concatenate(ours))), float(np.median(theirs))
    return [
        ("overhead per timed call (p50 of a no-op)", f"{noop['p50_ms'] * 1e3:.2f} us",
         "< 5 us"),
        ("overhead per request, loop included (1 / throughput)",
         f"{1e6 / noop['throughput']:.2f} us", "< 5 us"),
        ("p50 of a 1 ms busy-wait", f"{busy['p50_ms']:.4f} ms ({busy['p50_ms'] - 1:+.2%})",
         "within 2%"),
        ("median vs torch.utils.benchmark.Timer, MLP 256-512-256 batch 64",
         f"{o:.4f} vs {t:.4f} ms ({o / t - 1:+.1%})", "within 5%"),
    ]


def demo_variants(device: str, half: bool) -> tuple[dict, torch.Tensor, object]:
    task = gapminder_task(seed=0)
    torch.manual_seed(0)
    model = fit(DemoClassifier(), task, epochs=30).to(device)
    x, y = task.x_test.to(device), task.y_test.to(device)
    variants = _variants(model, half, reference={torch.nn.Linear})

    def acc(m):
        return accuracy(m, x.to(_dtype(m)), y)

    return variants, x, acc


def transformer_variants(device: str, half: bool, make=TransformerClassifier, epochs: int = 3,
                         lr: float = 1e-3, reference: set | None = None
                         ) -> tuple[dict, torch.Tensor, object]:
    """A synthetic sequence task the encoder learns in seconds: 32 steps of 32 features, the
    class the argmax of a fixed random projection of the sequence's mean (10 classes)."""
    from workbench.models import Task

    x = torch.randn(4608, 32, 32, generator=torch.Generator().manual_seed(1))
    labels = (x.mean(1) @ torch.randn(32, 10, generator=torch.Generator().manual_seed(2))
              ).argmax(1)
    task = Task(x[:4096], labels[:4096], x[4096:], labels[4096:],
                tuple(str(i) for i in range(10)))
    torch.manual_seed(0)
    model = fit(make(), task, epochs=epochs, batch_size=64, lr=lr).to(device)
    x_test, y_test = task.x_test.to(device), task.y_test.to(device)
    variants = _variants(model, half, reference)

    def acc(m):
        return accuracy(m, x_test.to(_dtype(m)), y_test)

    return variants, x_test, acc


class LSTMClassifier(torch.nn.Module):
    """An LSTM over the sequence; the last step's hidden state -> class logits."""

    def __init__(self, in_features: int = 32, hidden: int = 64, classes: int = 10) -> None:
        super().__init__()
        self.lstm = torch.nn.LSTM(in_features, hidden, batch_first=True)
        self.head = torch.nn.Linear(hidden, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.lstm(x)[0][:, -1])


def lstm_variants(device: str, half: bool) -> tuple[dict, torch.Tensor, object]:
    """The transformer's synthetic task, learnt by an LSTM."""
    return transformer_variants(device, half, LSTMClassifier, epochs=5, lr=3e-3,
                                reference={torch.nn.LSTM, torch.nn.Linear})


def _dtype(model: torch.nn.Module) -> torch.dtype:
    """The model's floating dtype (float32 when its weights are packed away, as torch.ao's)."""
    return next((p.dtype for p in model.parameters() if p.is_floating_point()), torch.float32)


def _variants(model: torch.nn.Module, half: bool, reference: set | None) -> dict:
    """fp32, int8 and pruned; bf16 and fp16 on a GPU; on CPU, the deprecated torch.ao int8 of
    the `reference` layer types for comparison (None: it cannot run the model)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        variants = {"fp32": model, "int8": wb.compress.quantize(model),
                    "pruned 50%": wb.compress.prune(model, 0.5)}
        if half:
            variants["bf16"] = copy.deepcopy(model).to(torch.bfloat16)
            variants["fp16"] = copy.deepcopy(model).to(torch.float16)
        elif reference:
            from torch.ao.quantization import quantize_dynamic

            variants["int8 torch.ao (deprecated, reference)"] = quantize_dynamic(
                copy.deepcopy(model), reference, dtype=torch.qint8)
    return variants


SUITES = {"demo": ("DemoClassifier (gapminder)", demo_variants, (1, 128)),
          "transformer": ("TransformerClassifier (2 layers, seq 32)", transformer_variants,
                          (1, 16)),
          "lstm": ("LSTMClassifier (1 layer, 64, seq 32)", lstm_variants, (1, 16))}


def run(device: str, min_samples: int, suites: list[str]) -> list[dict]:
    half = device.startswith("cuda")
    rows = []
    metric = "accuracy"
    for key in suites:
        name, build, batch_sizes = SUITES[key]
        # The sequence models' int8 variants take ~0.1 s a call on a CPU without int8
        # kernels: fewer samples there keep the run to minutes.
        samples = min_samples if half or key == "demo" else max(30, min_samples // 5)
        variants, x, score = build(device, half)
        for b in batch_sizes:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                res = wb.compress.compare(variants, x, eval_fn=score, metric_name=metric,
                                          batch_size=b, min_samples=samples, progress=True)
            base = res.table.iloc[0]
            for _, row in res.table.iterrows():
                stable = res.results[row["variant"]].stable[b]
                rows.append({"model": name, "device": res.results["fp32"].device, "batch": b,
                             "variant": row["variant"], "size_mb": row["size_mb"],
                             "p50_ms": row["p50_ms"], "p99_ms": row["p99_ms"],
                             "ratio": row["p50_ms"] / base["p50_ms"], "metric": metric,
                             "value": row[metric], "delta": row[f"{metric}_delta"],
                             "stable": stable})
            print(res, flush=True)
    return rows


def markdown(rows: list[dict]) -> str:
    lines = ["| model | device | batch | variant | size MB | p50 ms | p99 ms | p50 vs fp32 | "
             "accuracy | delta | stable |", "|---|---|---:|---|---:|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        lines.append(f"| {r['model']} | {r['device']} | {r['batch']} | {r['variant']} | "
                     f"{r['size_mb']:.3f} | {r['p50_ms']:.4g} | {r['p99_ms']:.4g} | "
                     f"{r['ratio']:.2f}x | {r['value']:.3f} | "
                     f"{r['delta']:+.3f} | {'yes' if r['stable'] else 'no'} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--min-samples", type=int, default=300,
                        help="timed requests per variant and batch size (default 300)")
    parser.add_argument("--threads", type=int, help="torch intra-op threads (default torch's)")
    parser.add_argument("--cpu-only", action="store_true", help="skip the GPU part")
    parser.add_argument("--suites", default=",".join(SUITES),
                        help=f"comma-separated models to run (default all: {','.join(SUITES)})")
    args = parser.parse_args()
    suites = [s for s in args.suites.split(",") if s]
    unknown = sorted(set(suites) - set(SUITES))
    if unknown:
        parser.error(f"--suites: unknown {unknown}; choose from {sorted(SUITES)}")
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"# {date.today()}, {platform.machine()} {platform.processor() or ''}, "
          f"{os.cpu_count()} cores, torch {torch.__version__} ({torch.get_num_threads()} "
          f"threads), load average {os.getloadavg()[0]:.1f}", flush=True)
    print("\n## Harness accuracy\n\n| check | measured | target |\n|---|---|---|")
    for check in harness_checks():
        print("| " + " | ".join(check) + " |", flush=True)
    rows = run("cpu", args.min_samples, suites)
    if torch.cuda.is_available() and not args.cpu_only:
        rows += run("cuda:0", args.min_samples, suites)
    else:
        print("\nno CUDA GPU: the GPU part (fp32 vs bf16/fp16/int8 on cuda:0) was not run")
    print("\n## Variants\n")
    print(markdown(rows))
    print(f"\nload average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
