"""Throughput of workbench.kernels against the plain composition they replace, in one run.

    .venv/bin/python benchmarks/kernels.py [--cpu] [--gpu] [--sizes 1e6,1e7,1e8] [--repeat 3]

Per function and size: seconds (best of ``--repeat`` after one warm-up call), GB/s of the bytes
the operation must touch at least (input read, output written), elements/s, and the ratio
to the baseline measured in the same run (>1 = faster than the baseline).

- CPU (one thread: the numba kernels are single-threaded) against numpy/pandas/hashlib:
  ``np.clip(np.nan_to_num((x - m) / s, nan=fill), lo, hi)``; ``np.nanmean/nanvar/nanmin/
  nanmax`` plus a NaN count; ``np.histogram``; ``np.quantile``; ``pd.Series.nunique``;
  ``hashlib.blake2b(key=...)`` per value (keyed hashing in the standard library), timed on a
  100k subsample and extrapolated per value.
- GPU against the same compositions in CuPy, timed with CUDA events, plus the fraction of the
  device's memory bandwidth, measured in this run as a device-to-device copy of 800 MB
  (bytes read + written / time).

Data: float64 normal with 1% NaN; integers uniform in [0, n); short strings of 4-20 ASCII
bytes (mean 12) for hashing.
"""

from __future__ import annotations

import argparse
import hashlib
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from workbench.kernels import (
    HyperLogLog,
    histogram,
    keyed_hash,
    moments,
    quantiles,
    standardize,
)

KEY = b"benchmark-key-16"
TARGET_CPU_FUSED = 2.0  # fused CPU kernels vs numpy composition
TARGET_HASH_MBS = 150.0  # keyed hashing of short strings, MB/s per core
TARGET_GPU_BW = 0.70  # fused/elementwise GPU kernels, fraction of measured bandwidth
SUBSAMPLE = 100_000


@dataclass
class Row:
    function: str
    n: int
    seconds: float
    nbytes: int
    baseline: float | None  # baseline seconds for the same n (extrapolated if subsampled)
    note: str = ""


def best_cpu(fn: Callable[[], object], repeat: int) -> float:
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def strings(n: int, rng: np.random.Generator) -> pa.Array:
    lengths = rng.integers(4, 21, n)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
    data = rng.integers(97, 123, int(offsets[-1]), dtype=np.uint8)
    return pa.Array.from_buffers(pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(data)])


def cpu_rows(n: int, repeat: int) -> list[Row]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=n)
    x[rng.random(n) < 0.01] = np.nan
    clean = x[~np.isnan(x)]
    ints = rng.integers(0, n, n)
    text = strings(n, rng)
    text_bytes = text.buffers()[2].size
    m, s = 0.1, 1.3

    def composed_standardize() -> None:
        np.clip(np.nan_to_num((x - m) / s, nan=0.0), -3, 3)

    def composed_moments() -> None:
        int(np.isnan(x).sum()), np.nanmean(x), np.nanvar(x), np.nanmin(x), np.nanmax(x)

    sub = ints[:SUBSAMPLE].tolist()
    sub_text = text.slice(0, SUBSAMPLE).to_pylist()

    def hashlib_ints() -> None:
        for v in sub:
            hashlib.blake2b(v.to_bytes(8, "little", signed=True), key=KEY, digest_size=8)

    def hashlib_strings() -> None:
        for v in sub_text:
            hashlib.blake2b(v.encode(), key=KEY, digest_size=8)

    per_value = n / SUBSAMPLE
    rows = [
        Row(
            "standardize",
            n,
            best_cpu(lambda: standardize(x, m, s, clip=3), repeat),
            16 * n,
            best_cpu(composed_standardize, repeat),
        ),
        Row(
            "moments",
            n,
            best_cpu(lambda: moments(x), repeat),
            8 * n,
            best_cpu(composed_moments, repeat),
        ),
        Row(
            "histogram",
            n,
            best_cpu(lambda: histogram(clean, 100, (-4, 4)), repeat),
            8 * clean.size,
            best_cpu(lambda: np.histogram(clean, 100, (-4, 4)), repeat),
        ),
        Row(
            "quantiles",
            n,
            best_cpu(lambda: quantiles(clean, [0.1, 0.5, 0.9]), repeat),
            8 * clean.size,
            best_cpu(lambda: np.quantile(clean, [0.1, 0.5, 0.9]), repeat),
        ),
        Row(
            "keyed_hash int64",
            n,
            best_cpu(lambda: keyed_hash(ints, KEY), repeat),
            16 * n,
            best_cpu(hashlib_ints, 1) * per_value,
            "baseline: blake2b per value",
        ),
        Row(
            "keyed_hash strings",
            n,
            best_cpu(lambda: keyed_hash(text, KEY), repeat),
            text_bytes,
            best_cpu(hashlib_strings, 1) * per_value,
            f"GB/s of string bytes (mean {text_bytes / n:.0f} B); baseline: blake2b per value",
        ),
        Row(
            "HyperLogLog.update int64",
            n,
            best_cpu(lambda: HyperLogLog().update(ints), repeat),
            8 * n,
            best_cpu(lambda: pd.Series(ints).nunique(), repeat),
            "baseline: exact pd.Series.nunique",
        ),
    ]
    return rows


def gpu_rows(n: int, repeat: int) -> list[Row]:
    import cupy as cp

    def best_gpu(fn: Callable[[], object]) -> float:
        fn()
        cp.cuda.Device().synchronize()
        times = []
        for _ in range(repeat):
            start, stop = cp.cuda.Event(), cp.cuda.Event()
            start.record()
            fn()
            stop.record()
            stop.synchronize()
            times.append(cp.cuda.get_elapsed_time(start, stop) / 1e3)
        return min(times)

    rng = cp.random.default_rng(0)
    x = rng.standard_normal(n)
    x[rng.random(n) < 0.01] = cp.nan
    clean = x[~cp.isnan(x)]
    ints = rng.integers(0, n, n, dtype=cp.int64)
    host_text = strings(n, np.random.default_rng(0))
    offsets = cp.asarray(np.frombuffer(host_text.buffers()[1], np.int32))
    data = cp.asarray(np.frombuffer(host_text.buffers()[2], np.uint8))
    m, s = 0.1, 1.3

    def composed_moments() -> None:
        float(cp.isnan(x).sum()), float(cp.nanmean(x)), float(cp.nanvar(x))
        float(cp.nanmin(x)), float(cp.nanmax(x))

    return [
        Row(
            "standardize",
            n,
            best_gpu(lambda: standardize(x, m, s, clip=3)),
            16 * n,
            best_gpu(lambda: cp.clip(cp.nan_to_num((x - m) / s, nan=0.0), -3, 3)),
        ),
        Row("moments", n, best_gpu(lambda: moments(x)), 8 * n, best_gpu(composed_moments)),
        Row(
            "histogram",
            n,
            best_gpu(lambda: histogram(clean, 100, (-4, 4))),
            8 * clean.size,
            best_gpu(lambda: cp.histogram(clean, 100, (-4, 4))[0].get()),
        ),
        Row(
            "quantiles",
            n,
            best_gpu(lambda: quantiles(clean, [0.1, 0.5, 0.9])),
            8 * clean.size,
            best_gpu(lambda: cp.quantile(clean, cp.asarray([0.1, 0.5, 0.9]))),
        ),
        Row("keyed_hash int64", n, best_gpu(lambda: keyed_hash(ints, KEY)), 16 * n, None),
        Row(
            "keyed_hash strings",
            n,
            best_gpu(lambda: keyed_hash((offsets, data), KEY)),
            data.nbytes + offsets.nbytes + 8 * n,
            None,
            "bytes: data + offsets + tokens",
        ),
        Row(
            "HyperLogLog.update int64",
            n,
            best_gpu(lambda: HyperLogLog().update(ints)),
            8 * n,
            best_gpu(lambda: int(cp.unique(ints).size)),
            "baseline: exact cupy.unique",
        ),
    ]


def copy_bandwidth() -> tuple[float, str]:
    """Device-to-device copy bandwidth (bytes read + written per second) and the device name."""
    import cupy as cp

    src = cp.ones(100_000_000, dtype=np.float64)
    dst = cp.empty_like(src)
    dst[...] = src
    times = []
    for _ in range(5):
        start, stop = cp.cuda.Event(), cp.cuda.Event()
        start.record()
        dst[...] = src
        stop.record()
        stop.synchronize()
        times.append(cp.cuda.get_elapsed_time(start, stop) / 1e3)
    name = cp.cuda.runtime.getDeviceProperties(0)["name"].decode()
    return 2 * src.nbytes / min(times), name


def table(rows: list[Row], bandwidth: float | None) -> None:
    head = "| function | n | seconds | GB/s | elements/s | vs baseline |"
    print(head + (" of copy BW |" if bandwidth else ""))
    print("|---|---:|---:|---:|---:|---:|" + ("---:|" if bandwidth else ""))
    for r in rows:
        ratio = f"{r.baseline / r.seconds:.1f}x" if r.baseline else "-"
        line = (
            f"| {r.function} | {r.n:.0e} | {r.seconds:.4f} | {r.nbytes / r.seconds / 1e9:.2f}"
            f" | {r.n / r.seconds:.2e} | {ratio} |"
        )
        if bandwidth:
            line += f" {r.nbytes / r.seconds / bandwidth:.0%} |"
        print(line)
    for note in sorted({f"{r.function}: {r.note}" for r in rows if r.note}):
        print(f"- {note}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cpu", action="store_true", help="CPU kernels (default if no --gpu)")
    parser.add_argument("--gpu", action="store_true", help="GPU kernels (needs cupy)")
    parser.add_argument("--sizes", default=None, help="comma-separated element counts")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    run_cpu = args.cpu or not args.gpu
    print(f"python {platform.python_version()}, numpy {np.__version__}, {platform.processor()}")
    if run_cpu:
        sizes = [int(float(v)) for v in (args.sizes or "1e6,1e7,1e8").split(",")]
        rows = [r for n in sizes for r in cpu_rows(n, args.repeat)]
        print("\n## CPU (one thread)\n")
        table(rows, None)
        fused = [r for r in rows
                 if r.function in ("standardize", "moments", "histogram") and r.baseline]
        worst = min(r.baseline / r.seconds for r in fused)
        print(
            f"- target: fused CPU kernels >= {TARGET_CPU_FUSED}x numpy: worst {worst:.1f}x, "
            f"{'met' if worst >= TARGET_CPU_FUSED else 'MISSED'}"
        )
        mbs = min(r.nbytes / r.seconds / 1e6 for r in rows if r.function == "keyed_hash strings")
        print(
            f"- target: short-string hashing >= {TARGET_HASH_MBS:.0f} MB/s per core: worst "
            f"{mbs:.0f} MB/s, {'met' if mbs >= TARGET_HASH_MBS else 'MISSED'}"
        )
    if args.gpu:
        import cupy as cp

        bandwidth, name = copy_bandwidth()
        sizes = [int(float(v)) for v in (args.sizes or "1e6,1e7,1e8").split(",")]
        print(
            f"\n## GPU: {name}, cupy {cp.__version__}, copy bandwidth {bandwidth / 1e9:.0f} GB/s\n"
        )
        rows = [r for n in sizes for r in gpu_rows(n, args.repeat)]
        table(rows, bandwidth)
        elementwise = [r for r in rows if r.function == "standardize" and r.n == max(sizes)]
        for r in elementwise:
            frac = r.nbytes / r.seconds / bandwidth
            print(
                f"- target: standardize at n={r.n:.0e} >= {TARGET_GPU_BW:.0%} of copy "
                f"bandwidth: {frac:.0%}, {'met' if frac >= TARGET_GPU_BW else 'MISSED'}"
            )


if __name__ == "__main__":
    main()
