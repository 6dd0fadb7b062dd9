"""Federated benchmark (issue 16): `wb.fl.launch` on scikit-learn's digits, 10 clients, one CNN.

Usage: ``.venv/bin/python benchmarks/federated.py [--seeds 1] [--quick] [--flower]
[--parts abcdef]``

Data: ``sklearn.datasets.load_digits`` (1,797 8x8 images, bundled, no download), pixels / 16,
split 80/20 with ``train_test_split(stratify=y, random_state=seed)``; the 1,437 training rows are
cut into 10 parts by ``wb.fl.partition(seed=seed)``; the 360 test rows are the held-out set the
aggregator evaluates every round. The model is `_fl_models.cnn` (2 conv layers, 38,282
parameters). Every job runs with ``runs_lake=None`` under a temporary ``WORKBENCH_HOME``.

The baseline in the same run is a plain in-process simulation (`simulate`): the same rounds in
this one process, no client processes, no sockets, one torch thread. It replays what each client
does (same seeds, same ``DataLoader`` shuffles, same SGD loop, same local evaluation) and
averages with the same strategy's server step, so its accuracies should match the native
runtime's (to float summation order) and its round time is what the algorithm costs without a
runtime.

(a) IID, rounds to 95% test accuracy. FedAvg (E=5, B=10, lr 0.1) on the native runtime against
    FedSGD (E=1, full batch). FedSGD's learning rate is the best of ``--sgd-lrs`` in the
    simulation (full-batch FedSGD has no randomness, so it is the same algorithm there), and
    that rate then runs on the native runtime too. Target >= 15x fewer rounds.
(b) Non-IID, rounds to 90%: Dirichlet(alpha=0.5) and shards (2 labels per client), FedAvg,
    FedProx (mu=0.01) and FedAdam (server_lr ``--adam-lr``), as measured. Rounds to a target
    are a property of the algorithm, which the simulation replays exactly (its accuracies equal
    the native runtime's, printed side by side in (a)), so (b) runs there by default, six jobs'
    startups cheaper; ``--noniid-native`` runs it on ``wb.fl.launch``.
(c) Overhead at 10 clients (the IID FedAvg job of (a)): the share of round time that is not
    the clients' local work (evaluating the model they received on their rows, then training:
    what ``client_cpu_seconds`` counts): transport, serialisation, aggregation, the test
    evaluation and waiting. A 2-core machine cannot run 10 clients at once, so the ideal round
    is the clients' work CPU seconds packed perfectly onto the cores,
    ``client_cpu_seconds / min(cores, completed)``, and the overhead ``1 - ideal / seconds``
    (target <= 10%). Also shown: the naive ``1 - train_seconds / seconds`` (slowest client's
    wall time, which includes waiting for a core), and the CPU share: all the job's processes'
    CPU seconds during the rounds (sampled with psutil) against the clients' work CPU
    seconds, which other load on the machine does not move. Round time against the simulation.
(d) Secure aggregation: the same job with ``secure=True``, median round time against plain
    (target <= 1.5x).
(e) DP: sample-level DP-SGD (Opacus, clip 1, delta 1e-5) at epsilon 1, 3, 8 for ``--dp-rounds``
    rounds, test accuracy against the non-private job's at the same round.
(f) Flower (``--flower``, or automatically when ``wb.fl.launch`` accepts ``runtime="flower"``):
    the IID FedAvg job on Flower's deployment runtime for ``--flower-rounds`` rounds: seconds
    per round, startup (launch to the first round's record) and the peak RSS summed over all the
    processes the job started (psutil, sampled every 0.25 s), against the native runtime's
    (target >= 10x faster per round).
"""

from __future__ import annotations

import argparse
import copy
import math
import os
import platform
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _fl_models import cnn  # noqa: E402  (importable by name: Flower loads it so)

CLIENTS = 10
TARGET_IID = 0.95
TARGET_NONIID = 0.90
TARGET_ROUNDS_RATIO = 15.0  # FedSGD rounds / FedAvg rounds, at least
TARGET_OVERHEAD = 0.10  # at most
TARGET_SECURE = 1.5  # secure / plain round time, at most
TARGET_FLOWER = 10.0  # Flower / native seconds per round, at least
EPSILONS = (1.0, 3.0, 8.0)


# ---------------------------------------------------------------- data


def digits(seed: int):
    """(train, test) DataFrames: 64 pixel columns p0..p63 in [0, 1] and the label ``digit``."""
    import pandas as pd
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    frame = pd.DataFrame(d.data / 16.0, columns=[f"p{i}" for i in range(64)])
    frame["digit"] = d.target
    train, test = train_test_split(frame, test_size=0.2, stratify=frame["digit"],
                                   random_state=seed)
    return train.reset_index(drop=True), test.reset_index(drop=True)


def tensors(frame) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.from_numpy(frame[[f"p{i}" for i in range(64)]].to_numpy("float32", copy=True))
    return x, torch.from_numpy(frame["digit"].to_numpy("int64", copy=True))


# ---------------------------------------------------------------- the baseline: one process


def simulate(parts, test, strategy, rounds: int, seed: int, target: float | None = None
             ) -> list[dict[str, float]]:
    """FedAvg-family rounds in this process, the clients one after another (see the module);
    one dict per round: round, test_accuracy, seconds, train_seconds. Stops at `target`."""
    import torch.nn.functional as F
    from torch.utils.data import DataLoader, TensorDataset

    torch.set_num_threads(1)
    strategy = copy.deepcopy(strategy)  # FedAdam keeps its moments
    config = strategy.client_config()
    data = [tensors(parts.read(i)) for i in range(parts.clients)]
    xt, yt = tensors(test)
    torch.manual_seed(seed)
    server = cnn()
    weights = {k: v.detach().clone() for k, v in server.state_dict().items()}
    local = cnn()
    history = []
    for r in range(1, rounds + 1):
        start, train_s = time.perf_counter(), 0.0
        deltas, rows = [], []
        for i, (x, y) in enumerate(data):
            cseed = (seed * 1_000_003 + r * 1009 + i) % 2**63
            torch.manual_seed(cseed)
            t0 = time.perf_counter()  # a client's work: evaluating what it got, then training
            local.load_state_dict(weights)
            local.eval()
            with torch.no_grad():  # the clients' local accuracy, as the native client does
                (local(x).argmax(1) == y).float().mean()
            loader = DataLoader(TensorDataset(x, y), batch_size=config["batch_size"] or len(x),
                                shuffle=True, generator=torch.Generator().manual_seed(cseed))
            opt = torch.optim.SGD(local.parameters(), lr=config["lr"])
            mu = config["mu"]
            anchor = [p.detach().clone() for p in local.parameters()] if mu else []
            local.train()
            for _ in range(config["local_epochs"]):
                for xb, yb in loader:
                    opt.zero_grad(set_to_none=True)
                    loss = F.cross_entropy(local(xb), yb)
                    if mu:
                        loss = loss + mu / 2 * sum(((p - a) ** 2).sum()
                                                   for p, a in zip(local.parameters(), anchor))
                    loss.backward()
                    opt.step()
                    float(loss.detach())
            train_s += time.perf_counter() - t0
            state = local.state_dict()
            deltas.append({k: state[k] - weights[k] for k in weights})
            rows.append(len(x))
        total = sum(rows)
        mean = {k: sum(d[k] * (n / total) for d, n in zip(deltas, rows)) for k in weights}
        weights = strategy.step(weights, mean)
        server.load_state_dict(weights)
        server.eval()
        with torch.no_grad():
            accuracy = float((server(xt).argmax(1) == yt).float().mean())
        history.append({"round": r, "test_accuracy": accuracy,
                        "seconds": time.perf_counter() - start, "train_seconds": train_s})
        if target is not None and accuracy >= target:
            break
    return history


def first_round(accuracies, target: float) -> int | None:
    """The first round (1-based) whose test accuracy reaches `target`, or None."""
    for r, a in enumerate(accuracies, 1):
        if a >= target:
            return r
    return None


# ---------------------------------------------------------------- the job's processes


class Sampler:
    """Every 0.25 s: the summed RSS of all this process's descendants (the job's processes) and
    each one's CPU seconds so far, so the job's CPU over any span can be read back."""

    def __init__(self, interval: float = 0.25) -> None:
        self.interval = interval
        self.peak_rss = 0
        self.cpu: dict[int, float] = {}
        self.samples: list[tuple[float, float]] = []  # (time.time(), job CPU seconds so far)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        import psutil

        me = psutil.Process()
        while not self._stop.is_set():
            rss = 0
            for proc in me.children(recursive=True):
                try:
                    with proc.oneshot():
                        rss += proc.memory_info().rss
                        times = proc.cpu_times()
                        self.cpu[proc.pid] = times.user + times.system
                except psutil.Error:
                    continue
            self.peak_rss = max(self.peak_rss, rss)
            self.samples.append((time.time(), sum(self.cpu.values())))
            self._stop.wait(self.interval)

    def cpu_between(self, t0: float, t1: float) -> float:
        """The job's CPU seconds between wall times t0 and t1 (nearest samples)."""
        def at(t: float) -> float:
            return min(self.samples, key=lambda s: abs(s[0] - t))[1]

        return at(t1) - at(t0) if self.samples else math.nan


def run_native(parts, test, strategy, rounds: int, seed: int, *, target: float | None = None,
               runtime: str = "local", timeout: float = 1800, **options: Any) -> dict[str, Any]:
    """One `wb.fl.launch` job; stops once `target` is reached. Returns the history, the
    startup (launch to the first round's record), the job's CPU and peak RSS."""
    import workbench as wb

    extra = {} if runtime == "local" else {"runtime": runtime}
    with Sampler() as sampler:
        t0 = time.time()
        job = wb.fl.launch(cnn, parts, rounds=rounds, strategy=strategy, test=test, seed=seed,
                           runs_lake=None, round_timeout=600.0, **extra, **options)
        stopped = False
        deadline = time.monotonic() + timeout
        while job.status == "running" and time.monotonic() < deadline:
            time.sleep(0.5)
            if target is not None and not stopped:
                h = job.history
                if len(h) and (h["test_accuracy"] >= target).any():
                    job.stop()
                    stopped = True
        try:
            job.wait(max(deadline - time.monotonic(), 1))
        except Exception as err:  # a stopped job may have no model: the history is what counts
            if not stopped:
                raise
            print(f"    (after stop: {type(err).__name__}: {str(err).splitlines()[0]})")
        history = job.history
    result = {"history": history, "outcome": job.outcome, "status": job.status,
              "peak_rss": sampler.peak_rss,
              "startup": (history["time"].iloc[0] - history["seconds"].iloc[0] - t0)
              if len(history) else math.nan,
              "first_record": history["time"].iloc[0] - t0 if len(history) else math.nan}
    if len(history) > 1:
        span = (history["time"].iloc[0], history["time"].iloc[-1])
        result["job_cpu"] = sampler.cpu_between(*span)
        result["train_cpu"] = float(history["client_cpu_seconds"].iloc[1:].sum())
    return result


def median_round(history, skip_first: bool = True) -> float:
    seconds = list(history["seconds"])
    return statistics.median(seconds[1:] if skip_first and len(seconds) > 1 else seconds)


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def overheads(history) -> tuple[float, float]:
    """(packed, naive) overhead over rounds 2.. (round 1 also warms caches)."""
    h = history.iloc[1:] if len(history) > 1 else history
    ideal = (h["client_cpu_seconds"] / h["completed"].clip(upper=cores()).clip(lower=1)).sum()
    return 1 - ideal / h["seconds"].sum(), 1 - h["train_seconds"].sum() / h["seconds"].sum()


# ---------------------------------------------------------------- report


def machine() -> str:
    import flwr
    import opacus
    import psutil

    mem = psutil.virtual_memory().total / 2**30
    gpu = f"{torch.cuda.device_count()} GPU" if torch.cuda.is_available() else "no GPU"
    return (f"{cores()} cores, {mem:.0f} GiB, {gpu}; python {platform.python_version()}, "
            f"torch {torch.__version__}, opacus {opacus.__version__}, flwr {flwr.__version__}; "
            f"load average {os.getloadavg()[0]:.1f}")


def table(head: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def _met(ok: bool) -> str:
    return "yes" if ok else "**no**"


def _r(rounds: int | None, cap: int) -> str:
    return str(rounds) if rounds is not None else f"> {cap}"


def _spread(values: list[float], fmt: str) -> str:
    values = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    if not values:
        return "-"
    if len(values) == 1 or min(values) == max(values):
        return format(values[0], fmt)
    return f"{format(statistics.median(values), fmt)} ({format(min(values), fmt)}-" \
           f"{format(max(values), fmt)})"


def flower_ready() -> bool:
    from workbench.fl import job

    return "flower" in getattr(job, "RUNTIMES", ())


# ---------------------------------------------------------------- the run


def one_seed(args, seed: int, out: dict[str, list]) -> None:
    import workbench as wb

    def add(key: str, value: Any) -> None:
        out.setdefault(key, []).append(value)

    train, test = digits(seed)
    iid = wb.fl.partition(train, clients=CLIENTS, label="digit", seed=seed)
    fedavg = wb.fl.FedAvg(local_epochs=5, batch_size=10, lr=0.1)
    print(f"\n== seed {seed}: {len(train)} train rows in {CLIENTS} parts, {len(test)} test rows",
          flush=True)

    plain = None
    if set(args.parts) & set("acdef"):
        # (a)+(c): IID FedAvg, a fixed number of rounds (the overhead's job, the secure and DP
        # jobs' baseline), and the same rounds in the simulation
        print(f"  native FedAvg E=5 B=10, {args.rounds} rounds ...", flush=True)
        plain = run_native(iid, test, fedavg, args.rounds, seed)
        h = plain["history"]
        print(h[["round", "test_accuracy", "seconds", "train_seconds",
                 "client_cpu_seconds"]].to_string(index=False), flush=True)
        sim = simulate(iid, test, fedavg, args.rounds, seed)
        sim_acc = [row["test_accuracy"] for row in sim]
        print("  simulation accuracy:", " ".join(f"{a:.3f}" for a in sim_acc), flush=True)
        add("fedavg_rounds", first_round(h["test_accuracy"], TARGET_IID))
        add("fedavg_rounds_sim", first_round(sim_acc, TARGET_IID))
        packed, naive = overheads(h)
        add("overhead_packed", packed)
        add("overhead_naive", naive)
        add("cpu_share", 1 - plain.get("train_cpu", math.nan) / plain.get("job_cpu", math.nan))
        add("round_native", median_round(h))
        add("round_sim", statistics.median(r["seconds"] for r in sim[1:]))
        add("overhead_sim", 1 - sum(r["train_seconds"] for r in sim[1:])
            / sum(r["seconds"] for r in sim[1:]))
        add("startup_native", plain["first_record"])
        add("rss_native", plain["peak_rss"])
        add("acc_plain_dp_round", float(h["test_accuracy"].iloc[min(args.dp_rounds, len(h)) - 1]))
        add("train_cpu_round", float(h["client_cpu_seconds"].iloc[1:].median()))

    if "a" in args.parts:
        best = None
        for lr in args.sgd_lrs:
            sgd = wb.fl.FedAvg(local_epochs=1, batch_size=None, lr=lr)
            sim = simulate(iid, test, sgd, args.sgd_rounds, seed, target=TARGET_IID)
            rounds = first_round([r["test_accuracy"] for r in sim], TARGET_IID)
            print(f"  simulation FedSGD lr {lr:g}: {_r(rounds, args.sgd_rounds)} rounds "
                  f"(best accuracy {max(r['test_accuracy'] for r in sim):.3f})", flush=True)
            if rounds is not None and (best is None or rounds < best[1]):
                best = (lr, rounds)
        lr = best[0] if best else args.sgd_lrs[0]
        add("fedsgd_lr", lr)
        add("fedsgd_rounds_sim", best[1] if best else None)
        print(f"  native FedSGD lr {lr:g}, up to {args.sgd_rounds} rounds ...", flush=True)
        run = run_native(iid, test, wb.fl.FedAvg(local_epochs=1, batch_size=None, lr=lr),
                         args.sgd_rounds, seed, target=TARGET_IID)
        rounds = first_round(run["history"]["test_accuracy"], TARGET_IID)
        print(f"    {_r(rounds, args.sgd_rounds)} rounds, "
              f"{median_round(run['history']):.3f} s per round", flush=True)
        add("fedsgd_rounds", rounds)

    if "b" in args.parts:
        import pandas as pd

        schemes = {"dirichlet 0.5": {"scheme": "dirichlet", "alpha": 0.5},
                   "shards, 2 labels per client": {"scheme": "shards", "shards_per_client": 2}}
        strategies = {"FedAvg": fedavg,
                      "FedProx mu=0.01": wb.fl.FedProx(local_epochs=5, batch_size=10, lr=0.1,
                                                       mu=0.01),
                      f"FedAdam server_lr={args.adam_lr:g}": wb.fl.FedAdam(
                          local_epochs=5, batch_size=10, lr=0.1, server_lr=args.adam_lr)}
        for scheme, kwargs in schemes.items():
            parts = wb.fl.partition(train, clients=CLIENTS, label="digit", seed=seed, **kwargs)
            for name, strategy in strategies.items():
                where = "native" if args.noniid_native else "simulation"
                print(f"  {where} {name}, {scheme}, up to {args.noniid_rounds} rounds ...",
                      flush=True)
                if args.noniid_native:
                    run = run_native(parts, test, strategy, args.noniid_rounds, seed,
                                     target=TARGET_NONIID)
                    acc = run["history"]["test_accuracy"]
                else:
                    acc = pd.Series([r["test_accuracy"] for r in simulate(
                        parts, test, strategy, args.noniid_rounds, seed, target=TARGET_NONIID)])
                rounds = first_round(acc, TARGET_NONIID)
                print(f"    {_r(rounds, args.noniid_rounds)} rounds (best {acc.max():.3f})",
                      flush=True)
                add(f"noniid|{scheme}|{name}", rounds)
                add(f"noniid_best|{scheme}|{name}", float(acc.max()))

    if "d" in args.parts:
        print(f"  native FedAvg secure=True, {args.rounds} rounds ...", flush=True)
        secure = run_native(iid, test, fedavg, args.rounds, seed, secure=True)
        hs = secure["history"]
        print(hs[["round", "test_accuracy", "seconds", "train_seconds"]].to_string(index=False),
              flush=True)
        add("round_secure", median_round(hs))
        add("round_plain_for_secure", median_round(plain["history"]))
        add("acc_secure", float(hs["test_accuracy"].iloc[-1]))
        add("acc_plain", float(plain["history"]["test_accuracy"].iloc[-1]))

    if "e" in args.parts:
        for eps in EPSILONS:
            print(f"  native FedAvg DP-SGD epsilon {eps:g}, {args.dp_rounds} rounds ...",
                  flush=True)
            run = run_native(iid, test, fedavg, args.dp_rounds, seed,
                             dp=wb.fl.DP(epsilon=eps, delta=1e-5, clip=1.0, level="sample"))
            h = run["history"]
            print(f"    accuracy {h['test_accuracy'].iloc[-1]:.3f} after {len(h)} rounds, "
                  f"epsilon spent {h['epsilon'].iloc[-1]:.2f}; {median_round(h):.2f} s per "
                  f"round", flush=True)
            add(f"dp_acc|{eps:g}", float(h["test_accuracy"].iloc[-1]))
            add(f"dp_eps|{eps:g}", float(h["epsilon"].iloc[-1]))
            add(f"dp_round|{eps:g}", median_round(h))

    if "f" in args.parts and (args.flower or flower_ready()):
        if not flower_ready():
            print("  Flower: wb.fl.launch does not accept runtime='flower' yet; skipped",
                  flush=True)
        else:
            print(f"  Flower runtime, FedAvg, {args.flower_rounds} rounds ...", flush=True)
            try:
                run = run_native(iid, test, fedavg, args.flower_rounds, seed, runtime="flower")
            except Exception as err:
                print(f"    FAILED: {type(err).__name__}: {err}", flush=True)
            else:
                h = run["history"]
                print(h[["round", "test_accuracy", "seconds", "train_seconds"]]
                      .to_string(index=False), flush=True)
                add("round_flower", median_round(h, skip_first=len(h) > 2))
                add("startup_flower", run["first_record"])
                add("rss_flower", run["peak_rss"])
                add("flower_overhead_naive", overheads(h)[1])


def report(args, out: dict[str, list]) -> None:
    g = out.get
    rows: list[tuple[str, ...]] = []
    n = args.seeds
    if "fedavg_rounds" in out and "fedsgd_rounds" in out:
        ratios = [s / a if s and a else math.nan
                  for s, a in zip(g("fedsgd_rounds"), g("fedavg_rounds"))]
        reached = [x for x in ratios if not math.isnan(x)]
        ratio = min(reached) if len(reached) == len(ratios) else math.nan
        rows.append((f"IID: rounds to {TARGET_IID:.0%}, FedSGD (lr "
                     f"{'/'.join(f'{x:g}' for x in g('fedsgd_lr'))}) / FedAvg E=5 B=10",
                     " / ".join(_r(r, args.rounds) for r in g("fedavg_rounds")),
                     " / ".join(_r(r, args.sgd_rounds) for r in g("fedsgd_rounds")),
                     _spread(ratios, ".1f") + "x", f">= {TARGET_ROUNDS_RATIO:g}x",
                     _met(ratio >= TARGET_ROUNDS_RATIO)))
        rows.append(("  the same in the simulation",
                     " / ".join(_r(r, args.rounds) for r in g("fedavg_rounds_sim")),
                     " / ".join(_r(r, args.sgd_rounds) for r in g("fedsgd_rounds_sim")),
                     _spread([s / a if s and a else math.nan for s, a in
                              zip(g("fedsgd_rounds_sim"), g("fedavg_rounds_sim"))], ".1f") + "x",
                     "-", "-"))
    if "overhead_packed" in out:
        worst = max(g("overhead_packed"))
        rows.append((f"overhead, 10 clients on {cores()} cores: 1 - (client CPU / min(cores, "
                     "clients)) / round", _spread(g("overhead_packed"), ".1%"),
                     _spread(g("overhead_sim"), ".1%") + " (simulation: 1 - client work / round)",
                     "-", f"<= {TARGET_OVERHEAD:.0%}", _met(worst <= TARGET_OVERHEAD)))
        rows.append(("  naive: 1 - slowest client's training wall time / round",
                     _spread(g("overhead_naive"), ".1%"), "-", "-", "-", "-"))
        rows.append(("  CPU: 1 - clients' work CPU / all the job's processes' CPU",
                     _spread(g("cpu_share"), ".1%"), "-", "-", "-", "-"))
        rows.append(("seconds per round (median of rounds 2..), native / simulation",
                     _spread(g("round_native"), ".2f"), _spread(g("round_sim"), ".2f"),
                     _spread([a / b for a, b in zip(g("round_native"), g("round_sim"))],
                             ".2f") + "x", "-", "-"))
        rows.append(("  clients' work CPU seconds per round (sum, median)",
                     _spread(g("train_cpu_round"), ".2f"), "-", "-", "-", "-"))
    if "round_secure" in out:
        ratios = [a / b for a, b in zip(g("round_secure"), g("round_plain_for_secure"))]
        rows.append(("secure aggregation: seconds per round, secure / plain",
                     _spread(g("round_secure"), ".2f"), _spread(g("round_plain_for_secure"),
                                                               ".2f"),
                     _spread(ratios, ".2f") + "x", f"<= {TARGET_SECURE:g}x",
                     _met(max(ratios) <= TARGET_SECURE)))
        rows.append((f"  test accuracy after {args.rounds} rounds, secure / plain",
                     _spread(g("acc_secure"), ".3f"), _spread(g("acc_plain"), ".3f"),
                     "-", "-", "-"))
    for eps in EPSILONS:
        if f"dp_acc|{eps:g}" in out:
            rows.append((f"DP-SGD epsilon {eps:g} (spent {_spread(g(f'dp_eps|{eps:g}'), '.2f')}"
                         f"): test accuracy after {args.dp_rounds} rounds, private / plain",
                         _spread(g(f"dp_acc|{eps:g}"), ".3f"),
                         _spread(g("acc_plain_dp_round"), ".3f"), "-", "as measured", "-"))
            rows.append((f"  seconds per round, DP-SGD epsilon {eps:g} / plain",
                         _spread(g(f"dp_round|{eps:g}"), ".2f"), _spread(g("round_native"),
                                                                       ".2f"),
                         _spread([a / b for a, b in zip(g(f"dp_round|{eps:g}"),
                                                        g("round_native"))], ".2f") + "x",
                         "-", "-"))
    if "round_flower" in out:
        ratios = [f / o for f, o in zip(g("round_flower"), g("round_native"))]
        rows.append(("Flower deployment runtime: seconds per round, Flower / native",
                     _spread(g("round_native"), ".2f"), _spread(g("round_flower"), ".2f"),
                     _spread(ratios, ".1f") + "x", f">= {TARGET_FLOWER:g}x",
                     _met(min(ratios) >= TARGET_FLOWER)))
        rows.append(("  startup: launch to round 1's record (s), native / Flower",
                     _spread(g("startup_native"), ".1f"), _spread(g("startup_flower"), ".1f"),
                     "-", "-", "-"))
        rows.append(("  peak RSS of all the job's processes (MiB), native / Flower",
                     _spread([x / 2**20 for x in g("rss_native")], ".0f"),
                     _spread([x / 2**20 for x in g("rss_flower")], ".0f"), "-", "-", "-"))
        rows.append(("  Flower: 1 - slowest client's training wall time / round",
                     _spread(g("flower_overhead_naive"), ".1%"), "-", "-", "-", "-"))
    elif "startup_native" in out:
        rows.append(("native startup: launch to round 1's record (s)",
                     _spread(g("startup_native"), ".1f"), "-", "-", "-", "-"))
        rows.append(("native peak RSS of all the job's processes (MiB)",
                     _spread([x / 2**20 for x in g("rss_native")], ".0f"), "-", "-", "-", "-"))
    print(f"\n{n} seed(s); ours = wb.fl.launch (native runtime) unless the row says otherwise\n")
    print(table(("what", "ours", "baseline", "ratio", "target", "met?"), rows))
    keys = sorted(k for k in out if k.startswith("noniid|"))
    if keys:
        lines = []
        for key in keys:
            _, scheme, name = key.split("|")
            lines.append((scheme, name, " / ".join(_r(r, args.noniid_rounds) for r in out[key]),
                          _spread(out[f"noniid_best|{scheme}|{name}"], ".3f")))
        where = "wb.fl.launch" if args.noniid_native else "the simulation"
        print(f"\nNon-IID, rounds to {TARGET_NONIID:.0%} (up to {args.noniid_rounds}), "
              f"E=5 B=10 lr 0.1, in {where}\n")
        print(table(("partition", "strategy", "rounds (per seed)", "best accuracy"), lines))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--parts", default="abcdef", help="letters of abcdef (see the module)")
    parser.add_argument("--rounds", type=int, default=15, help="IID FedAvg and secure jobs")
    parser.add_argument("--sgd-rounds", type=int, default=300, help="FedSGD's cap")
    parser.add_argument("--sgd-lrs", type=float, nargs="+", default=[0.1, 0.2, 0.3, 0.5])
    parser.add_argument("--noniid-rounds", type=int, default=30)
    parser.add_argument("--noniid-native", action="store_true",
                        help="run (b) on wb.fl.launch, not in the simulation")
    parser.add_argument("--adam-lr", type=float, default=0.03)
    parser.add_argument("--dp-rounds", type=int, default=5)
    parser.add_argument("--flower", action="store_true", help="include Flower's runtime")
    parser.add_argument("--flower-rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="a smoke run: few rounds")
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.sgd_rounds, args.noniid_rounds = 3, 5, 2
        args.dp_rounds, args.flower_rounds, args.sgd_lrs = 2, 2, [0.2]
    print(machine(), flush=True)
    work = Path(tempfile.mkdtemp(prefix="wb-bench-fl-"))
    os.environ["WORKBENCH_HOME"] = str(work / "home")
    os.environ.setdefault("PYTHONWARNINGS", "ignore")  # Opacus warns in every client, round
    out: dict[str, list] = {}
    t0 = time.time()
    try:
        for seed in range(args.seeds):
            one_seed(args, seed, out)
        report(args, out)
        print(f"\n{time.time() - t0:.0f} s in all; load average at the end "
              f"{os.getloadavg()[0]:.1f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
