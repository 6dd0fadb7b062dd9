"""`workbench bench MODEL ...`: the latency benchmark from a shell.

MODEL is ``module:attribute`` (``workbench.models:DemoClassifier``): an ``nn.Module`` class is
instantiated with no arguments, a Module instance or any callable is benchmarked as it is, and
``--factory`` calls it with no arguments to get the model. The inputs are random rows of
``--input-shape`` (seeded), or what ``--inputs module:attribute`` is (or returns, if callable).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Any

from workbench.bench.errors import BenchError


def add_parser(commands: Any) -> argparse.ArgumentParser:
    """Add the `bench` subcommand to the `workbench` command's subparsers."""
    bench = commands.add_parser(
        "bench", help="inference latency and throughput of a model, per batch size",
        description=__doc__.split("\n\n")[1].replace("``", "'"))
    bench.add_argument("model", metavar="MODEL", help="module:attribute of the model")
    bench.add_argument("--factory", action="store_true",
                       help="call MODEL with no arguments to get the model")
    given = bench.add_mutually_exclusive_group(required=True)
    given.add_argument("--input-shape", metavar="SHAPE",
                       help="random float32 rows of this shape per sample, e.g. 4 or 64,32")
    given.add_argument("--inputs", metavar="MODULE:ATTR",
                       help="a tensor, array or tuple of them (or a function returning one)")
    bench.add_argument("--rows", type=int, default=1024, metavar="N",
                       help="rows of random input (default 1024, at least the largest batch)")
    bench.add_argument("--seed", type=int, default=0, help="seed of the random inputs and of "
                       "the server scenario's arrivals")
    bench.add_argument("--batch-sizes", default="1,8,32,128", metavar="B,B,...",
                       help="comma-separated batch sizes (default 1,8,32,128)")
    bench.add_argument("--scenario", default="single-stream",
                       choices=["single-stream", "offline", "server"])
    bench.add_argument("--qps", type=float, help="server scenario: mean arrivals per second")
    bench.add_argument("--min-samples", type=int, default=1000, metavar="N",
                       help="timed requests per batch size (default 1000)")
    bench.add_argument("--duration", type=float, metavar="S",
                       help="seconds of measurement per batch size, at least")
    bench.add_argument("--warmup", type=int, metavar="N", help="warm-up calls per batch size "
                       "(default at least 10 calls and 0.1 s)")
    bench.add_argument("--device", help="cpu, cuda, cuda:1 ... (default: the model's)")
    bench.add_argument("--name", help="the model's name in the results (default its class)")
    bench.add_argument("--variant", help="the variant's name (default from the weights' dtype)")
    bench.add_argument("--lake", metavar="DIR", help="the lake whose _bench table --save "
                       "appends to")
    bench.add_argument("--save", action="store_true",
                       help="append the results to the _bench table of --lake")
    bench.set_defaults(run=run)
    return bench


def run(args: argparse.Namespace) -> None:
    """Run the benchmark of `args` and print its table (and where it was saved)."""
    if args.save and not args.lake:
        raise BenchError("--save needs --lake DIR: the lake whose _bench table to append to")
    sizes = _batch_sizes(args.batch_sizes)
    model = _model(args.model, args.factory)
    inputs = _inputs(args, max(sizes))

    from workbench.bench.harness import latency

    res = latency(model, inputs, batch_sizes=sizes, scenario=args.scenario, qps=args.qps,
                  min_samples=args.min_samples, duration=args.duration, warmup=args.warmup,
                  device=args.device, seed=args.seed, progress=sys.stderr.isatty())
    print(repr(res), flush=True)
    unstable = [b for b, ok in res.stable.items() if not ok]
    if unstable:
        print(f"not stable (the last three windows differ by more than 10%) at batch sizes "
              f"{unstable}: a busy machine; try --min-samples or --duration larger", flush=True)
    if args.save:
        from workbench.lake import Lake

        version = res.save(Lake(args.lake), model=args.name, variant=args.variant)
        print(f"saved {len(res.samples)} rows to {args.lake} _bench (version {version})",
              flush=True)
    elif args.lake:
        print(f"not saved: add --save to append the results to {args.lake}'s _bench table",
              file=sys.stderr, flush=True)


def _batch_sizes(text: str) -> list[int]:
    try:
        sizes = [int(part) for part in text.split(",") if part.strip()]
    except ValueError as exc:
        raise BenchError(f"--batch-sizes must be comma-separated ints like 1,8,32, not "
                         f"{text!r}") from exc
    if not sizes:
        raise BenchError("--batch-sizes is empty: pass e.g. 1,8,32")
    return sizes


def load(spec: str, what: str) -> Any:
    """The object named by ``module:attribute`` (dotted attributes allowed)."""
    module_name, sep, attribute = spec.partition(":")
    if not sep or not module_name or not attribute:
        raise BenchError(f"{what} must be module:attribute (e.g. workbench.models:"
                         f"DemoClassifier), not {spec!r}")
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise BenchError(f"{what}: cannot import module {module_name!r}: {exc}") from exc
    for part in attribute.split("."):
        if not hasattr(obj, part):
            raise BenchError(f"{what}: {module_name!r} has no attribute {attribute!r}")
        obj = getattr(obj, part)
    return obj


def _model(spec: str, factory: bool) -> Any:
    import torch

    obj = load(spec, "MODEL")
    if factory or (isinstance(obj, type) and issubclass(obj, torch.nn.Module)):
        try:
            obj = obj()
        except Exception as exc:
            raise BenchError(f"MODEL {spec} failed when called with no arguments: "
                             f"{type(exc).__name__}: {exc}") from exc
    if not callable(obj):
        raise BenchError(f"MODEL {spec} is a {type(obj).__name__}, not a model or callable")
    return obj


def _inputs(args: argparse.Namespace, largest: int) -> Any:
    import torch

    if args.inputs:
        obj = load(args.inputs, "--inputs")
        if callable(obj):
            try:
                obj = obj()
            except Exception as exc:
                raise BenchError(f"--inputs {args.inputs} failed when called with no "
                                 f"arguments: {type(exc).__name__}: {exc}") from exc
        return obj
    try:
        shape = tuple(int(d) for d in args.input_shape.split(","))
    except ValueError as exc:
        raise BenchError(f"--input-shape must be comma-separated ints like 4 or 64,32, not "
                         f"{args.input_shape!r}") from exc
    if not shape or min(shape) < 1:
        raise BenchError(f"--input-shape needs positive sizes, not {args.input_shape!r}")
    if args.rows < 1:
        raise BenchError(f"--rows must be positive, not {args.rows}")
    generator = torch.Generator().manual_seed(args.seed)
    return torch.randn((max(args.rows, largest), *shape), generator=generator)
