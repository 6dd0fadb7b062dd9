"""Inference benchmark: engines side by side (eager, torch.compile, ONNX Runtime fp32 and int8)
on three models at batch 1 and 32, then each model served behind ``wb.infer.serve`` against the
endpoint a user would write, under Poisson load.

Usage: ``.venv/bin/python benchmarks/inference.py [--min-samples 300] [--suites demo,mlp,encoder]
[--no-served] [--no-compile] [--threads N]`` (about 20 minutes on 2 quiet cores)

- Harness accuracy first: the per-call overhead (p50 of a function that does nothing), the p50
  of a 1 ms busy-wait against 1 ms, and the median against ``torch.utils.benchmark.Timer`` on a
  2-layer MLP.
- Models:
  - demo: ``DemoClassifier`` (4 -> 64 -> 64 -> 5) trained on ``gapminder_task()`` (30 epochs);
    accuracy on its 426 held-out rows.
  - mlp: 512 -> 1024 -> 1024 -> 10, trained (3 epochs) on a synthetic labelled lake table:
    Gaussian rows labelled by the argmax of a fixed random projection (seed 2); 8192 rows to
    train, accuracy on 2048 held-out rows read back from the lake.
  - encoder: 4 ``TransformerEncoderLayer`` blocks (d=256, 4 heads, feed-forward 1024, sequence
    128), mean-pooled into 10 logits, untrained (its speed does not depend on its weights);
    besides the four engines, ONNX Runtime's transformer optimizer (``optimize_model``,
    model_type "bert") and static QDQ int8 calibrated on a lake table of 256 sequences.
- Every row is ``wb.bench.compare`` (single-stream and offline, parity against eager before
  timing, each batch size timed for at least 1 s so a window of a 10 us model is not a few
  milliseconds that one scheduler hiccup doubles); ratios are p50 over p50 (single-stream) and
  throughput over throughput (offline).
- Served: each model behind ``wb.infer.serve`` (ONNX Runtime, max_batch 32, max_delay 5 ms) and
  behind a plain Starlette + uvicorn endpoint calling the same ONNX Runtime session once per
  JSON request (what a user would write). Both run in this process's threads; the load comes
  from a child process (``workbench.infer.load.measure``): Poisson arrivals swept through the
  same offered rates for every endpoint of a model (4 s each, `SERVED`): requests/s, p50, p99
  and the split of a request's time. An endpoint's capacity is MLPerf's server-scenario one:
  the highest offered rate served in full with p99 within a bound (50 ms for the demo model and
  the MLP, 1 s for the encoder). ``wb.infer.serve`` loads its own engine (threads not
  spinning); the plain endpoint uses ONNX Runtime's defaults, as a user's
  ``InferenceSession(path)`` would.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
import warnings
from datetime import date

import numpy as np
import pandas as pd
import torch

import workbench as wb
from workbench.models import DemoClassifier, fit, gapminder_task

ENGINES = ["eager", "compile", "onnxruntime", "onnxruntime-int8"]
GPU_ENGINES = ["eager", "compile-max-autotune", "onnxruntime-cuda", "onnxruntime-tensorrt"]
BATCHES = (1, 32)


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
        ("p50 of a 1 ms busy-wait", f"{busy['p50_ms']:.4f} ms ({busy['p50_ms'] - 1:+.2%})",
         "within 2%"),
        ("median vs torch.utils.benchmark.Timer, MLP 256-512-256 batch 64",
         f"{o:.4f} vs {t:.4f} ms ({o / t - 1:+.1%})", "within 5%"),
    ]


class Encoder(torch.nn.Module):
    """The benchmark's transformer encoder: 4 layers, d=256, 4 heads, mean-pooled to 10."""

    def __init__(self) -> None:
        super().__init__()
        layer = torch.nn.TransformerEncoderLayer(256, 4, 1024, 0.0, batch_first=True)
        self.encoder = torch.nn.TransformerEncoder(layer, 4, enable_nested_tensor=False)
        self.head = torch.nn.Linear(256, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(x).mean(dim=1))


def demo_model(lake) -> tuple[torch.nn.Module, torch.Tensor, tuple]:
    task = gapminder_task(seed=0)
    torch.manual_seed(0)
    model = fit(DemoClassifier(), task, epochs=30).eval()
    return model, task.x_test, (task.x_test, task.y_test)


def mlp_model(lake) -> tuple[torch.nn.Module, torch.Tensor, tuple]:
    """The 512-1024-1024-10 MLP trained on a labelled lake table (see the module's text)."""
    from workbench.models import Task

    gen = torch.Generator().manual_seed(1)
    x = torch.randn(10240, 512, generator=gen)
    y = (x @ torch.randn(512, 10, generator=torch.Generator().manual_seed(2))).argmax(1)
    columns = [f"x{i}" for i in range(512)]
    lake.record("mlp_test", pd.DataFrame(x[8192:].numpy(), columns=columns)
                .assign(label=y[8192:].numpy()))
    test = lake.table("mlp_test").to_pandas()
    x_test = torch.from_numpy(np.ascontiguousarray(test[columns].to_numpy(np.float32)))
    y_test = torch.from_numpy(test["label"].to_numpy())
    task = Task(x[:8192], y[:8192], x_test, y_test, tuple(map(str, range(10))))
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(512, 1024), torch.nn.ReLU(),
                                torch.nn.Linear(1024, 1024), torch.nn.ReLU(),
                                torch.nn.Linear(1024, 10))
    fit(model, task, epochs=3, batch_size=128, lr=1e-3)
    return model.eval(), x_test, (x_test, y_test)


def encoder_model(lake) -> tuple[torch.nn.Module, torch.Tensor, None]:
    torch.manual_seed(0)
    x = torch.randn(64, 128, 256, generator=torch.Generator().manual_seed(3))
    return Encoder().eval(), x, None


# The offered rates (requests/s, one row each) every endpoint of a model is swept through, and
# the p99 bound (ms) within which a rate counts as served (MLPerf's server scenario).
SERVED = {"demo": ([250, 500, 1000, 1500, 2000, 2500, 3000], 50.0),
          "mlp": ([250, 500, 1000, 1500, 2000, 2500, 3000], 50.0),
          "encoder": ([20, 40, 60, 80, 100, 120, 140, 160], 1000.0)}
SUITES = {"demo": ("DemoClassifier 4-64-64-5", demo_model),
          "mlp": ("MLP 512-1024-1024-10", mlp_model),
          "encoder": ("Encoder 4x(d256, 4 heads), seq 128", encoder_model)}


def engine_rows(name: str, model, x, evaluation, engines: list[str], min_samples: int,
                lake) -> pd.DataFrame:
    """`wb.bench.compare` of one model on every engine, single-stream and offline."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = wb.bench.compare(model, x, engines=engines, scenarios=["single-stream", "offline"],
                               batch_sizes=BATCHES, eval=evaluation, min_samples=min_samples,
                               duration=1.0, model_name=name)
    res.save(lake)
    return res.table.assign(model=name)


def encoder_extras(model, x, min_samples: int, lake) -> pd.DataFrame:
    """What ONNX Runtime offers transformers beyond its defaults: the transformer optimizer's
    fusions, and static QDQ int8 calibrated on a lake table, as rows like compare's."""
    from onnxruntime.transformers.optimizer import optimize_model

    from workbench.infer.engines import OrtEngine
    from workbench.infer.exporter import cpu_session

    exp = wb.infer.export(model, x[:2])
    fused = optimize_model(str(exp.path), model_type="bert", num_heads=4, hidden_size=256)
    stats = {k: v for k, v in fused.get_fused_operator_statistics().items() if v}
    path = exp.path.with_suffix(".fused.onnx")
    fused.save_model_to_file(str(path))
    fused_engine = OrtEngine("onnxruntime-fused", exp, cpu_session(path), path,
                             f"transformer optimizer fusions {stats}")
    lake.record("encoder_calibration",
                pd.DataFrame({"sequence": list(x[:256].reshape(len(x[:256]), -1).numpy())}))
    calibration = np.stack(lake.table("encoder_calibration").to_pandas()["sequence"]
                           ).reshape(-1, 128, 256).astype(np.float32)
    static = wb.infer.engine(exp, "onnxruntime-int8", calibration=calibration)
    rows = []
    for label, eng in (("onnxruntime + transformer optimizer", fused_engine),
                       ("onnxruntime-int8 static QDQ (calibrated on a lake table)", static)):
        with torch.inference_mode():
            want = model(x[:32]).numpy()
        got = eng.run(x[:32].numpy())
        rel = float(np.abs(got - want).max() / np.abs(want).max())
        for scenario in ("single-stream", "offline"):
            res = wb.bench.latency(eng, x.numpy(), batch_sizes=BATCHES, scenario=scenario,
                                   min_samples=min_samples, progress=False)
            for r in res.table.itertuples():
                rows.append({"engine": label, "scenario": scenario, "batch_size": r.batch_size,
                             "p50_ms": r.p50_ms, "p99_ms": r.p99_ms,
                             "throughput": r.throughput, "max_rel_diff": rel,
                             "note": eng.note})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- served


def plain_endpoint(eng) -> tuple[str, object]:
    """The endpoint a user would write: Starlette + uvicorn, JSON in and out, the model called
    once per request inside the handler. Returns its URL and a function that stops it."""
    import threading

    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def predict(request: Request) -> JSONResponse:
        body = await request.json()
        x = np.asarray(body["inputs"], dtype=np.float32)
        return JSONResponse({"outputs": eng.run(x).tolist()})

    config = uvicorn.Config(Starlette(routes=[Route("/predict", predict, methods=["POST"])]),
                            host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]

    def stop() -> None:
        server.should_exit = True
        thread.join(10)

    return f"http://127.0.0.1:{port}", stop


def _sweep_child(url: str, x: np.ndarray, body: str, rates: list[float],
                 seconds: float) -> list[dict]:
    """Poisson arrivals at each offered rate in turn (an open loop: `load.measure`); each
    rate's figures."""
    from workbench.infer.load import measure

    return [measure(url, x, qps=rate, duration_s=seconds, body=body, seed=i).summary()
            for i, rate in enumerate(rates)]


def in_child(fn, *args):
    """Run the load in a child process, so the client does not share the servers' GIL."""
    import multiprocessing

    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(fn, args)


def served_rows(name: str, model, x, rates: list[float], seconds: float) -> list[dict]:
    """One model behind wb.infer.serve (raw and JSON bodies) and behind the plain endpoint,
    each swept through the same offered rates: one row per endpoint and rate."""
    import gc

    exp = wb.infer.export(model, x[:2])
    one = x[:1].numpy()
    rows = []
    # Both servers run in this process, beside everything the benchmark built: a full garbage
    # collection over that heap stalled whichever server allocated next for 50-200 ms, a p99
    # spike at any load. Frozen, the collector skips it (a notebook that serves can do the
    # same).
    gc.collect()
    gc.freeze()
    ep = wb.infer.serve(exp, "onnxruntime", max_batch=32, max_delay_ms=5)
    try:
        for body in ("raw", "json"):
            before = len(ep.batches())
            figures = in_child(_sweep_child, ep.local_url, one, body, rates, seconds)
            mean_batch = float(ep.batches()["rows"].iloc[before:].mean())
            rows += [{"model": name, "endpoint": f"wb.infer.serve ({body})", **f,
                      "mean_batch": mean_batch} for f in figures]
    finally:
        ep.stop()
    url, stop = plain_endpoint(wb.infer.engine(exp, "onnxruntime"))
    try:
        figures = in_child(_sweep_child, url, one, "json", rates, seconds)
        rows += [{"model": name, "endpoint": "plain Starlette (json)", **f, "mean_batch": 1.0}
                 for f in figures]
    finally:
        stop()
    for row in rows:
        print(f"  {name} · {row['endpoint']} at {row['offered_qps']:.0f}/s: served "
              f"{row['requests_per_s']:.0f}/s, p50 {row['p50_ms']:.1f}, p99 {row['p99_ms']:.1f} "
              f"ms, errors {row['errors']}", flush=True)
    return rows


def capacity(rows: list[dict], endpoint: str, bound_ms: float) -> dict | None:
    """An endpoint's capacity as MLPerf's server scenario has it: its row at the highest
    offered rate served in full (no errors, at least 97% of the offered rate) with p99 within
    `bound_ms`; None when no rate was."""
    ok = [r for r in rows if r["endpoint"] == endpoint and r["errors"] == 0
          and r["requests_per_s"] >= 0.97 * r["offered_qps"] and r["p99_ms"] <= bound_ms]
    return max(ok, key=lambda r: r["offered_qps"]) if ok else None


# ---------------------------------------------------------------- tables


def model_key(name: str) -> str:
    """The suite key of a model's display name."""
    return next(key for key, (label, _) in SUITES.items() if label == name)


def engine_markdown(table: pd.DataFrame) -> str:
    lines = ["| model | engine | scenario | batch | p50 ms | p99 ms | samples/s | vs eager | "
             "accuracy | max rel diff | parity | size MB | peak MB |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|"]
    for r in table.itertuples():
        acc = "" if pd.isna(r.accuracy) else f"{r.accuracy:.3f}"
        lines.append(f"| {r.model} | {r.engine} | {r.scenario} | {r.batch_size} | "
                     f"{r.p50_ms:.4g} | {r.p99_ms:.4g} | {r.throughput:,.0f} | "
                     f"{r.speedup:.2f}x | {acc} | {r.max_rel_diff:.1e} | "
                     f"{'ok' if r.parity_ok else 'FAILED'} | {r.size_mb:.3g} | "
                     f"{r.peak_memory_mb:.0f} |")
    return "\n".join(lines)


def served_markdown(rows: list[dict]) -> str:
    lines = ["| model | endpoint | offered req/s | served req/s | p50 ms | p99 ms | decode | "
             "queue | model | encode | http | mean batch |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        parts = " | ".join("" if np.isnan(r[f"{p}_ms"]) else f"{r[f'{p}_ms']:.2f}"
                           for p in ("decode", "queue", "model", "encode", "http"))
        lines.append(f"| {r['model']} | {r['endpoint']} | {r['offered_qps']:,.0f} | "
                     f"{r['requests_per_s']:,.0f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | "
                     f"{parts} | {r['mean_batch']:.1f} |")
    return "\n".join(lines)


def extras_markdown(extras: pd.DataFrame) -> str:
    lines = ["| engine | scenario | batch | p50 ms | p99 ms | samples/s | max rel diff | how |",
             "|---|---|---:|---:|---:|---:|---:|---|"]
    for r in extras.itertuples():
        lines.append(f"| {r.engine} | {r.scenario} | {r.batch_size} | {r.p50_ms:.4g} | "
                     f"{r.p99_ms:.4g} | {r.throughput:,.0f} | {r.max_rel_diff:.1e} | "
                     f"{r.note} |")
    return "\n".join(lines)


def targets(table: pd.DataFrame, served: list[dict]) -> list[tuple[str, str, str]]:
    """(target, measured, met) rows: the issue's targets on this run."""
    out = []

    def row(model, engine, scenario, b):
        sel = table[(table["model"] == model) & (table["engine"] == engine)
                    & (table["scenario"] == scenario) & (table["batch_size"] == b)]
        return sel.iloc[0] if len(sel) else None

    mlp, demo = SUITES["mlp"][0], SUITES["demo"][0]
    for b in BATCHES:
        e, o, q = (row(mlp, k, "single-stream", b) for k in
                   ("eager", "onnxruntime", "onnxruntime-int8"))
        eo, oo, qo = (row(mlp, k, "offline", b) for k in
                      ("eager", "onnxruntime", "onnxruntime-int8"))
        if e is not None and o is not None and q is not None:
            out.append((f"MLP b{b}: onnxruntime >= 1.1x eager (p50 / throughput)",
                        f"{e.p50_ms / o.p50_ms:.2f}x / {oo.throughput / eo.throughput:.2f}x",
                        _met(min(e.p50_ms / o.p50_ms, oo.throughput / eo.throughput) >= 1.1)))
            out.append((f"MLP b{b}: int8 >= 2x onnxruntime fp32 (p50 / throughput)",
                        f"{o.p50_ms / q.p50_ms:.2f}x / {qo.throughput / oo.throughput:.2f}x",
                        _met(min(o.p50_ms / q.p50_ms, qo.throughput / oo.throughput) >= 2)))
        if e is not None and q is not None:
            drop = (e.accuracy - q.accuracy) * 100
            out.append((f"MLP b{b}: int8 accuracy drop <= 1 point", f"{drop:+.2f} points",
                        _met(drop <= 1)))
        d = table[(table["model"] == demo) & (table["scenario"] == "single-stream")
                  & (table["batch_size"] == b) & table["parity_ok"]]
        if len(d):
            best = d.loc[d["speedup"].idxmax()]
            int8 = d[d["engine"] == "onnxruntime-int8"]
            out.append((f"demo b{b}: fastest engine >= 2x eager", f"{best.engine} "
                        f"{best.speedup:.2f}x", _met(best.speedup >= 2)))
            if len(int8):
                out.append((f"demo b{b}: int8 faster than eager fp32",
                            f"{int8.iloc[0].speedup:.2f}x", _met(int8.iloc[0].speedup > 1)))
    for model in dict.fromkeys(r["model"] for r in served):
        rows = [r for r in served if r["model"] == model]
        encoder = "Encoder" in model
        bound = SERVED[model_key(model)][1]
        raw = capacity(rows, "wb.infer.serve (raw)", bound)
        plain = capacity(rows, "plain Starlette (json)", bound)
        if raw is None or plain is None:
            out.append((f"{model}: capacities within p99 {bound:g} ms", "served "
                        f"{raw and raw['offered_qps']}, plain {plain and plain['offered_qps']}",
                        "**no**"))
            continue
        same = next(r for r in rows if r["endpoint"] == "wb.infer.serve (raw)"
                    and r["offered_qps"] == plain["offered_qps"])
        ratio = raw["requests_per_s"] / plain["requests_per_s"]
        out.append((f"{model}: served (raw) capacity vs the plain JSON endpoint's (p99 <= "
                    f"{bound:g} ms), and p99 at the plain one's capacity",
                    f"{raw['requests_per_s']:,.0f} vs {plain['requests_per_s']:,.0f} req/s "
                    f"({ratio:.2f}x); p99 {same['p99_ms']:.1f} vs {plain['p99_ms']:.1f} ms",
                    _met(ratio >= (1.2 if encoder else 1.0)
                         and same["p99_ms"] <= plain["p99_ms"])))
        if encoder:
            offline = table[(table["model"] == model) & (table["engine"] == "onnxruntime")
                            & (table["scenario"] == "offline")
                            & (table["batch_size"] == 32)]["throughput"].iloc[0]
            share = raw["requests_per_s"] / offline
            out.append((f"{model}: served (raw) capacity >= 0.8x onnxruntime's offline "
                        "throughput at batch 32", f"{raw['requests_per_s']:.0f} vs "
                        f"{offline:.0f} samples/s ({share:.2f}x)", _met(share >= 0.8)))
    return out


def _met(ok: bool) -> str:
    return "yes" if ok else "**no**"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--min-samples", type=int, default=300,
                        help="timed requests per engine, scenario and batch size")
    parser.add_argument("--threads", type=int, help="torch and ONNX Runtime intra-op threads")
    parser.add_argument("--suites", default=",".join(SUITES),
                        help=f"comma-separated models (default all: {','.join(SUITES)})")
    parser.add_argument("--no-served", dest="served", action="store_false",
                        help="skip the served endpoints")
    parser.add_argument("--no-compile", dest="compile", action="store_false",
                        help="skip torch.compile (about a minute of compiling per model)")
    parser.add_argument("--served-seconds", type=float, default=4.0,
                        help="seconds of Poisson load per endpoint and offered rate")
    args = parser.parse_args()
    suites = [s for s in args.suites.split(",") if s]
    if unknown := sorted(set(suites) - set(SUITES)):
        parser.error(f"--suites: unknown {unknown}; choose from {sorted(SUITES)}")
    if args.threads:
        torch.set_num_threads(args.threads)
    gpu = torch.cuda.is_available()
    engines = [e for e in ENGINES if args.compile or e != "compile"]
    import onnxruntime

    print(f"# {date.today()}, {platform.machine()} {platform.processor() or ''}, "
          f"{os.cpu_count()} cores, torch {torch.__version__} ({torch.get_num_threads()} "
          f"threads), onnxruntime {onnxruntime.__version__}, load average "
          f"{os.getloadavg()[0]:.1f}", flush=True)
    print("\n## Harness accuracy\n\n| check | measured | target |\n|---|---|---|")
    for check in harness_checks():
        print("| " + " | ".join(check) + " |", flush=True)
    import tempfile

    lake = wb.Lake(tempfile.mkdtemp(prefix="wb-bench-inference-"))
    tables, served, extras = [], [], None
    for key in suites:
        name, build = SUITES[key]
        model, x, evaluation = build(lake)
        # The encoder's calls take 5-250 ms: fewer of them keep its rows to minutes.
        samples = min(args.min_samples, 60) if key == "encoder" else args.min_samples
        table = engine_rows(name, model, x, evaluation, engines, samples, lake)
        if gpu:
            table = pd.concat([table, engine_rows(name, model.cuda(), x.cuda(), None,
                                                  GPU_ENGINES, args.min_samples, lake)])
            model.cpu()
        tables.append(table)
        print(table.drop(columns="note").to_string(index=False), flush=True)
        if key == "encoder":
            extras = encoder_extras(model, x, samples, lake)
        if args.served:
            served += served_rows(name, model, x, SERVED[key][0], args.served_seconds)
    table = pd.concat(tables, ignore_index=True)
    print("\n## Engines\n")
    print(engine_markdown(table))
    print("\n### Notes\n")
    for r in table[table["note"] != ""].itertuples():
        print(f"- {r.model} · {r.engine} · {r.scenario} b{r.batch_size}: {r.note}")
    if extras is not None:
        print("\n## Encoder: what ONNX Runtime offers transformers\n")
        print(extras_markdown(extras))
    if served:
        print("\n## Served (one request = one row; times in ms)\n")
        print(served_markdown(served))
    print("\n## Targets\n\n| target | measured | met |\n|---|---|---|")
    for t in targets(table, served):
        print("| " + " | ".join(t) + " |")
    if not gpu:
        print("\nno CUDA GPU: the GPU rows (CUDA and TensorRT providers, max-autotune) were "
              "not run")
    print(f"\nload average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
