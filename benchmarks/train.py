"""Training benchmark: our launcher, step timing and lake loader against plain torch, one run.

Usage: ``.venv/bin/python benchmarks/train.py [--parts abcd] [--rows 1000000] [--steps 2000]
[--repeat 3] [--profile]``

Each comparison runs ours and the baseline in the same process, alternating, best of
``--repeat`` rounds, and prints a ratio (ours / baseline for times, so lower is better; rows/s
ours / baseline for the loader, so higher is better):

(a) Launch to first step, 2 CPU ranks. Ours: ``wb.launch(fn, nprocs=2)``; ``fn`` builds a small
    MLP, runs one training step (forward, backward, gradient all_reduce over gloo, SGD step),
    takes ``time.time()`` and all-gathers it, and rank 0 returns the latest (slowest rank).
    Baseline: ``torch.multiprocessing.start_processes(..., nprocs=2, start_method="spawn")``
    with a worker that does the same gloo ``init_process_group`` and step and writes the time
    to a file. Both are measured from just before the call. The launch is also timed to
    ``Job.wait()`` returning (the whole job), for information.
(b) Overhead of ``run.steps`` + ``run.log`` on a training loop: an MLP 16-256-256-1 on batches
    of 256 rows already in memory, one intra-op thread. Inside ONE ``wb.launch(fn, nprocs=1)``
    worker (the real path: metrics pushed over ZeroMQ to a live sink in this process, and to
    the JSONL file), the plain loop and the same loop wrapped in ``run.steps`` with a
    ``run.log(loss=...)`` per step run alternately in 10 blocks of ``--steps / 10`` steps,
    after 50 warm-up steps; ``loss.item()`` is in both. Same process, interleaved, because on
    this noisy machine two separate processes differ by more than the effect (+-30%). The
    overhead is the median of the paired block ratios over all rounds.
(c) Loader throughput: ``t.to_torch(features, "label", batch_size=1024)`` (shuffle=True,
    normalize=True, stats computed when the loader is made, outside the timing) over a table of
    ``--rows`` rows x 16 float64 features + an int64 label, ingested from a pandas frame into a
    temporary lake on ``wb.cluster(n_workers=1, threads_per_worker=2)``, against the same data
    as in-memory float32 tensors, normalised up front, with a full ``torch.randperm`` shuffle
    and one ``index_select`` per batch (what a DataLoader over a TensorDataset does, minus its
    per-sample overhead; ``x[idx]`` is the same but erratic here, 0.13 to 3 s an epoch with 2
    intra-op threads). The same pair with shuffle=False (contiguous slices: views, no copy) is
    shown too. The loader's first epoch decodes the files and fills its cache (the table fits
    in memory); later epochs come from the cache. Both are shown; the target is on the later
    ones, the steady state of a multi-epoch run. The baseline is its best epoch.
(d) One CUDA GPU, when there is one: a 4-block transformer (d_model 512, sequence 128, batch
    64, bf16 autocast, AdamW) trained through ``wb.launch(nprocs=1)`` with ``run.steps``,
    against the same loop in a plain ``python`` process; samples/s after 20 warm-up steps,
    timed inside both. The MFU is ``job.summary(flops_per_sample=..., dtype="bf16")``.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import platform
import pstats
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

TARGET_LAUNCH = 1.2  # ours / baseline, at most
TARGET_STEP_OVERHEAD = 0.02  # at most
TARGET_LOADER = 0.9  # ours / baseline rows/s, at least
TARGET_GPU = 0.97  # ours / plain samples/s on one GPU, at least
FEATURES = [f"f{i}" for i in range(16)]
WARMUP_STEPS = 50


# ---------------------------------------------------------------- shared by both sides


def _mlp() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(16, 256), torch.nn.ReLU(),
                               torch.nn.Linear(256, 256), torch.nn.ReLU(),
                               torch.nn.Linear(256, 1))


def _first_step() -> float:
    """One DDP-style step on an initialised gloo group; the latest rank's wall time after it."""
    import torch.distributed as dist

    model = _mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    x, y = torch.randn(256, 16), torch.randn(256, 1)
    loss = torch.nn.functional.mse_loss(model(x), y)
    loss.backward()
    for p in model.parameters():
        dist.all_reduce(p.grad)
    opt.step()
    done = time.time()
    times: list[float] = [0.0] * dist.get_world_size()
    dist.all_gather_object(times, done)
    return max(times)


def _batches(steps: int, batch: int = 256) -> list[tuple[torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(1)
    x = torch.randn(steps * batch, 16, generator=g)
    y = x.sum(1, keepdim=True) + 0.1 * torch.randn(steps * batch, 1, generator=g)
    return [(x[i:i + batch], y[i:i + batch]) for i in range(0, steps * batch, batch)]


def _train_step(model, opt, x, y) -> torch.Tensor:
    opt.zero_grad(set_to_none=True)
    loss = torch.nn.functional.mse_loss(model(x), y)
    loss.backward()
    opt.step()
    return loss


# ---------------------------------------------------------------- (a) launch to first step


def ours_first_step() -> float:
    import workbench.train as wt

    wt.current()  # the process group is initialised by the runtime before fn runs
    return _first_step()


def baseline_worker(rank: int, world: int, port: int, out: str) -> None:
    import torch.distributed as dist

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    t = _first_step()
    if rank == 0:
        Path(out).write_text(repr(t))
    dist.destroy_process_group()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch_ours(run_dir: Path) -> tuple[float, float]:
    import workbench as wb

    t0 = time.time()
    job = wb.launch(ours_first_step, nprocs=2, run_dir=run_dir, runs_lake=None)
    first = job.wait(timeout=120)
    return first - t0, time.time() - t0


def launch_baseline(work: Path) -> tuple[float, float]:
    import torch.multiprocessing as mp

    out = work / "first.txt"
    out.unlink(missing_ok=True)
    t0 = time.time()
    mp.start_processes(baseline_worker, args=(2, _free_port(), str(out)), nprocs=2,
                       start_method="spawn", join=True)
    return float(out.read_text()) - t0, time.time() - t0


# ---------------------------------------------------------------- (b) run.steps + run.log


def ours_loop(steps: int, blocks: int) -> tuple[list[float], list[float]]:
    """In one wb.launch worker: `blocks` pairs of (plain loop, run.steps + run.log loop) of
    `steps // blocks` steps each, alternating; the per-step seconds of each block."""
    import workbench.train as wt

    run = wt.current()
    torch.set_num_threads(1)
    per = steps // blocks
    data = _batches(per + WARMUP_STEPS)
    model = _mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    for x, y in data[:WARMUP_STEPS]:
        _train_step(model, opt, x, y).item()
    data = data[WARMUP_STEPS:]
    ours: list[float] = []
    plain: list[float] = []
    for b in range(blocks):
        for which in ((0, 1) if b % 2 else (1, 0)):  # alternate which goes first
            t0 = time.perf_counter()
            if which:
                for x, y in run.steps(data):
                    loss = _train_step(model, opt, x, y)
                    run.log(loss=loss.item())
                ours.append((time.perf_counter() - t0) / per)
            else:
                for x, y in data:
                    loss = _train_step(model, opt, x, y)
                    loss.item()
                plain.append((time.perf_counter() - t0) / per)
    return ours, plain


def steps_pairs(steps: int, blocks: int, run_dir: Path) -> tuple[list[float], list[float], int]:
    import workbench as wb

    job = wb.launch(ours_loop, steps, blocks, nprocs=1, run_dir=run_dir, runs_lake=None)
    ours, plain = job.wait(timeout=600)
    return ours, plain, len(job.metrics)


# ---------------------------------------------------------------- (c) loader


def make_table(rows: int, lake_dir: Path):
    import numpy as np
    import pandas as pd

    import workbench as wb

    rng = np.random.default_rng(2)
    x = rng.normal(3.0, 2.0, size=(rows, len(FEATURES)))
    frame = pd.DataFrame(x, columns=FEATURES)
    frame["label"] = rng.integers(0, 10, size=rows)
    lake = wb.Lake(lake_dir)
    t0 = time.perf_counter()
    lake.ingest(frame, "train", progress=False)
    print(f"  ingested {rows:,} rows in {time.perf_counter() - t0:.1f} s", flush=True)
    return lake.table("train"), frame


def in_memory(frame, mean, std) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.from_numpy(((frame[FEATURES].to_numpy() - mean) / std).astype("float32"))
    return x, torch.from_numpy(frame["label"].to_numpy().copy())


def iterate_loader(loader) -> tuple[float, int]:
    rows = 0
    t0 = time.perf_counter()
    for batch in loader:
        rows += batch["samples"]
    return time.perf_counter() - t0, rows


def iterate_memory(x: torch.Tensor, y: torch.Tensor, batch_size: int, shuffle: bool,
                   seed: int = 0) -> tuple[float, int]:
    rows = 0
    t0 = time.perf_counter()
    n = len(x)
    if shuffle:
        perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
        for i in range(0, n, batch_size):
            idx = perm[i:i + batch_size]
            xb, yb = x.index_select(0, idx), y.index_select(0, idx)
            rows += len(yb)
    else:
        for i in range(0, n, batch_size):
            xb, yb = x[i:i + batch_size], y[i:i + batch_size]
            rows += len(yb)
    del xb
    return time.perf_counter() - t0, rows


# ---------------------------------------------------------------- (d) one GPU

GPU_MODEL = {"in_features": 64, "classes": 10, "d_model": 512, "nhead": 8, "layers": 4,
             "dim_feedforward": 2048}
GPU_SEQ, GPU_BATCH = 128, 64


def gpu_loop(steps: int, device: torch.device, run) -> float:
    """Train the transformer on random batches (made up front, on the GPU) with bf16 autocast;
    samples/s over the steps after 20 warm-up steps. `run`: time with run.steps, or plain."""
    from workbench.models import TransformerClassifier

    torch.manual_seed(0)
    model = TransformerClassifier(**GPU_MODEL).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    x = torch.randn(8, GPU_BATCH, GPU_SEQ, GPU_MODEL["in_features"], device=device)
    y = torch.randint(0, GPU_MODEL["classes"], (8, GPU_BATCH), device=device)
    batches = [(x[i % 8], y[i % 8]) for i in range(steps + 20)]

    def step(xb, yb):
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss = torch.nn.functional.cross_entropy(model(xb), yb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for xb, yb in batches[:20]:
        step(xb, yb)
    torch.cuda.synchronize(device)
    t0 = time.perf_counter()
    for xb, yb in (run.steps(batches[20:]) if run is not None else batches[20:]):
        step(xb, yb)
    torch.cuda.synchronize(device)
    return steps * GPU_BATCH / (time.perf_counter() - t0)


def gpu_train(steps: int) -> float:
    import workbench.train as wt

    run = wt.current()
    return gpu_loop(steps, run.device, run)


# ---------------------------------------------------------------- report


def machine() -> str:
    import psutil

    mem = psutil.virtual_memory().total / 2**30
    gpu = f"{torch.cuda.device_count()} GPU" if torch.cuda.is_available() else "no GPU"
    return (f"{os.cpu_count()} cores, {mem:.0f} GiB, {gpu}; python {platform.python_version()}, "
            f"torch {torch.__version__}")


def table(rows: list[tuple[str, str, str, str, str, str]]) -> str:
    head = ("what", "ours", "baseline", "ratio", "target", "met?")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def part_launch(args, work: Path, rows: list) -> None:
    """(a) launch to first step, ours against torch.multiprocessing.start_processes."""
    ours_a, base_a, ours_job, base_job = [], [], [], []
    failures = {"ours": 0, "baseline": 0}

    def attempt(side: str, r: int, start) -> tuple[float, float]:
        """A gloo rank of either side may die of SIGABRT at exit (seen with plain
        torch.multiprocessing too): count it and try again."""
        for k in range(3):
            try:
                return start(k)
            except Exception as err:  # WorkerError / ProcessExitedException
                failures[side] += 1
                print(f"  launch round {r}: {side} FAILED: {str(err).splitlines()[0]}",
                      flush=True)
        raise RuntimeError(f"{side} failed 3 times in a row")

    for r in range(args.repeat):
        first, total = attempt("ours", r, lambda k, r=r: launch_ours(work / f"launch{r}-{k}"))
        ours_a.append(first)
        ours_job.append(total)
        first, total = attempt("baseline", r, lambda k: launch_baseline(work))
        base_a.append(first)
        base_job.append(total)
        print(f"  launch round {r}: ours {ours_a[-1]:.2f} s, baseline {base_a[-1]:.2f} s "
              f"(whole job {ours_job[-1]:.2f} / {base_job[-1]:.2f} s)", flush=True)
    ratio = min(ours_a) / min(base_a)
    rows.append(("launch to first step, 2 CPU ranks (s, best of "
                 f"{args.repeat})", f"{min(ours_a):.2f}", f"{min(base_a):.2f}",
                 f"{ratio:.2f}x", f"<= {TARGET_LAUNCH}x", _met(ratio <= TARGET_LAUNCH)))
    if any(failures.values()):
        rows.append(("jobs that failed (SIGABRT in a gloo rank at exit), retried",
                     f"{failures['ours']} of {failures['ours'] + args.repeat}",
                     f"{failures['baseline']} of {failures['baseline'] + args.repeat}",
                     "-", "-", "-"))
    ratio = min(ours_job) / min(base_job)
    rows.append(("launch to job end, same jobs (s)", f"{min(ours_job):.2f}",
                 f"{min(base_job):.2f}", f"{ratio:.2f}x", "-", "-"))


def part_steps(args, work: Path, rows: list) -> None:
    """(b) run.steps + run.log against the plain loop, interleaved in one worker."""
    ours_b: list[float] = []
    base_b: list[float] = []
    for r in range(args.repeat):
        ours, plain, records = steps_pairs(args.steps, 10, work / f"steps{r}")
        ours_b += ours
        base_b += plain
        print(f"  loop round {r}: ours {statistics.median(ours) * 1e6:.1f} us/step, plain "
              f"{statistics.median(plain) * 1e6:.1f} us/step (median of 10 blocks; "
              f"{records} records reached the notebook)", flush=True)
    over = statistics.median([o / p for o, p in zip(ours_b, base_b)]) - 1
    rows.append((f"step time, MLP, {args.repeat}x{args.steps} steps, run.steps + run.log "
                 "(us, median)", f"{statistics.median(ours_b) * 1e6:.1f}",
                 f"{statistics.median(base_b) * 1e6:.1f}",
                 f"{over * 100:+.1f}%", f"<= +{TARGET_STEP_OVERHEAD:.0%}",
                 _met(over <= TARGET_STEP_OVERHEAD)))


def part_loader(args, work: Path, rows: list) -> None:
    """(c) the lake loader against the same rows as in-memory tensors: the first epoch
    (decoding, filling the cache) and the later ones (from the cache) apart."""
    import workbench as wb

    with wb.cluster(n_workers=1, threads_per_worker=2):
        t, frame = make_table(args.rows, work / "lake")
    for shuffle in (True, False):
        t0 = time.perf_counter()
        loader = t.to_torch(FEATURES, "label", batch_size=args.batch_size, shuffle=shuffle)
        made = time.perf_counter() - t0
        x, y = in_memory(frame, loader.mean, loader.std)
        ours_c, base_c = [], []
        for r in range(args.repeat + 1):
            loader.set_epoch(r)
            secs, n = iterate_loader(loader)
            ours_c.append(n / secs)
            secs, n = iterate_memory(x, y, args.batch_size, shuffle, seed=r)
            base_c.append(n / secs)
        best = max(base_c)
        what = f"loader rows/s, shuffle={shuffle}, batch {args.batch_size}, {args.rows:,} x 16"
        rows.append((f"{what}, first epoch (decode + cache)", f"{ours_c[0]:.3g}", f"{best:.3g}",
                     f"{ours_c[0] / best:.2f}x", "-", "-"))
        ratio = max(ours_c[1:]) / best
        rows.append((f"{what}, later epochs (cached; best of {args.repeat})",
                     f"{max(ours_c[1:]):.3g}", f"{best:.3g}", f"{ratio:.2f}x",
                     f">= {TARGET_LOADER}x", _met(ratio >= TARGET_LOADER)))
        print(f"  loader shuffle={shuffle}: made in {made:.2f} s (stats pass), "
              f"{len(loader)} batches, cache={loader.cache}", flush=True)


def part_gpu(args, work: Path, rows: list) -> None:
    """(d) one GPU: a transformer-block model trained through wb.launch against the same loop
    in a plain `python` process; samples/s after warm-up in both, and the MFU (bf16)."""
    if not torch.cuda.is_available():
        rows.append(("(d) CUDA: wb.launch vs plain script, MFU", "-", "-", "-",
                     f">= {TARGET_GPU}x", "not run: no CUDA GPU"))
        return
    import subprocess

    import workbench as wb
    from workbench.models import TransformerClassifier

    ours, plain, mfus = [], [], []
    for r in range(args.repeat):
        job = wb.launch(gpu_train, args.steps, nprocs=1, run_dir=work / f"gpu{r}",
                        runs_lake=None)
        ours.append(job.wait(timeout=600))
        flops = TransformerClassifier(**GPU_MODEL).flops_per_sample(GPU_SEQ)
        mfus.append(job.summary(flops_per_sample=flops, dtype="bf16").mfu)
        out = subprocess.run([sys.executable, __file__, "--plain-gpu-worker",
                              "--steps", str(args.steps)], capture_output=True, text=True,
                             check=True, timeout=600)
        plain.append(float(out.stdout.strip().splitlines()[-1]))
        print(f"  gpu round {r}: ours {ours[-1]:.0f} samples/s, plain {plain[-1]:.0f}, "
              f"MFU {mfus[-1]}", flush=True)
    ratio = max(ours) / max(plain)
    name = torch.cuda.get_device_name(0)
    rows.append((f"(d) {name}: transformer ({GPU_MODEL['layers']} blocks, d={GPU_MODEL['d_model']}"
                 f", seq {GPU_SEQ}, batch {GPU_BATCH}, bf16) samples/s", f"{max(ours):.0f}",
                 f"{max(plain):.0f}", f"{ratio:.3f}x", f">= {TARGET_GPU}x",
                 _met(ratio >= TARGET_GPU)))
    best_mfu = max(m for m in mfus if m is not None) if any(mfus) else None
    rows.append((f"(d) MFU of that model through wb.launch (bf16 dense peak of {name})",
                 "n/a" if best_mfu is None else f"{best_mfu:.1%}", "-", "-", "-", "-"))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--parts", default="abcd", help="which comparisons: letters of abcd")
    parser.add_argument("--profile", action="store_true",
                        help="cProfile one loader epoch and one run.steps/run.log loop")
    parser.add_argument("--plain-gpu-worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.plain_gpu_worker:
        print(gpu_loop(args.steps, torch.device("cuda", 0), None))
        return
    print(machine(), flush=True)
    work = Path(tempfile.mkdtemp(prefix="wb-bench-train-"))
    os.environ.setdefault("WORKBENCH_HOME", str(work / "home"))
    rows: list[tuple[str, str, str, str, str, str]] = []
    parts = {"a": part_launch, "b": part_steps, "c": part_loader, "d": part_gpu}
    try:
        for letter in args.parts:
            parts[letter](args, work, rows)
        print()
        print(table(rows))
        if args.profile and "c" in args.parts:
            import workbench as wb

            profile(loader_table=wb.Lake(work / "lake").table("train"),
                    batch_size=args.batch_size)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _met(ok: bool) -> str:
    return "yes" if ok else "**no**"


def profile(loader_table, batch_size: int) -> None:
    """cProfile one shuffled loader epoch in this process, then the per-step cost of
    run.steps + run.log with a Run made here (no sink bound: the JSONL file and a ZeroMQ send
    that is dropped), top functions by own time."""
    loader = loader_table.to_torch(FEATURES, "label", batch_size=batch_size)
    prof = cProfile.Profile()
    prof.enable()
    iterate_loader(loader)
    prof.disable()
    print("\nloader epoch, by own time:")
    pstats.Stats(prof).sort_stats("tottime").print_stats(12)

    from workbench.train.metrics import MetricsSender
    from workbench.train.runtime import Run

    run_dir = Path(tempfile.mkdtemp(prefix="wb-bench-run-"))
    try:
        sender = MetricsSender("inproc://workbench-no-sink", 0, run_dir, hwm=1)
        run = Run(0, 0, 1, torch.device("cpu"), run_dir, sender)
        n = 20_000
        t0 = time.perf_counter()
        for _ in run.steps(range(n)):
            run.log(loss=0.5)
        per = (time.perf_counter() - t0) / n
        print(f"\nrun.steps + run.log alone (no training): {per * 1e6:.1f} us per step")
        prof = cProfile.Profile()
        prof.enable()
        for _ in run.steps(range(n)):
            run.log(loss=0.5)
        prof.disable()
        pstats.Stats(prof).sort_stats("tottime").print_stats(10)
        sender.close(linger=0)
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
