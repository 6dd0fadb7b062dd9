"""Faults injected into a small data-parallel run, for the alert rules' tests and
`benchmarks/ops.py`: each fault hits rank 1 from step `at` on, and `FAULTS` says which built-in
rule must name it. A module of its own so the ranks import the function by reference.

The run is `run.ddp` over a linear model on random batches; a step's "compute" is a sleep of
`step_s` (deterministic on a busy 2-core machine, and the rules judge time, not FLOPs).
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import replace

import torch

import workbench as wb

# fault -> the built-in rule that must fire on rank 1
FAULTS = {
    "nan": "nonfinite_loss",
    "spike": "loss_spike",
    "straggler": "straggler",
    "slowdown": "throughput_drop",
    "stall": "stall",
    "leak": "memory_growth",
    "sigstop": "silent_rank",
    "slow_loader": "input_bound",
}
LEAK_BYTES = 10 * 2**20  # a step's leak: 10 MB, written so that it is resident


def quick_rules() -> list[wb.ops.Rule]:
    """The built-in rules with their durations cut so a test run shows each fault in seconds:
    `for_` at most 1.5 s (3 s for a straggler: a busy 2-core machine delays ranks in turns), a
    stall after 3 s, silence after 3 s, memory over 20 readings, throughput against its median
    of 8 seconds."""
    quick = []
    for rule in wb.ops.default_rules():
        rule = replace(rule, for_=min(rule.for_, 3.0 if rule.name == "straggler" else 1.5))
        if rule.name in ("stall", "silent_rank"):
            rule = replace(rule, threshold=3.0)
        if rule.op == "rising":
            rule = replace(rule, window=20)
        if rule.name == "throughput_drop":
            rule = replace(rule, window=8)
        quick.append(rule)
    return quick


class Batches:
    """`steps` random batches; from step `slow_from` on (None: never) each waits 3x `step_s`
    for its data (the faulty rank's ``slow_loader``)."""

    def __init__(self, steps: int, step_s: float, slow_from: int | None, seed: int) -> None:
        self.steps, self.step_s, self.slow_from = steps, step_s, slow_from
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return self.steps

    def __iter__(self):
        for step in range(self.steps):
            if self.slow_from is not None and step >= self.slow_from:
                time.sleep(3 * self.step_s)
            yield (torch.randn(16, 32, generator=self.generator),
                   torch.randint(0, 4, (16,), generator=self.generator))


def faulty(fault: str | None, steps: int = 150, step_s: float = 0.04, at: int = 50,
           stall_s: float = 6.0, leak_steps: int = 40, seed: int = 0) -> int:
    """Train for `steps` steps with `fault` (a key of `FAULTS`, or None for a clean run) on
    rank 1 from step `at`; returns the steps run. Stops early, after a checkpoint when asked,
    once the ranks agree a stop was requested."""
    import torch.distributed as dist

    run = wb.train.current()
    torch.manual_seed(seed)
    model = run.ddp(torch.nn.Linear(32, 4))
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    bad_rank = run.rank == 1
    loader = Batches(steps, step_s, at if bad_rank and fault == "slow_loader" else None,
                     seed + run.rank)
    leaked = []
    done = 0
    began, normal = time.perf_counter(), step_s  # normal: a whole step's time before the fault
    for step, (x, y) in enumerate(run.steps(loader)):
        bad = bad_rank and step >= at
        if step == at:
            normal = (time.perf_counter() - began) / max(at, 1)
        time.sleep(step_s * (3 if fault == "straggler" and bad_rank else 1))
        if fault == "slowdown" and bad:
            time.sleep(2 * normal)  # the whole step 3x as long as before, overheads included
        if bad and step == at and fault == "stall":
            time.sleep(stall_s)
        if bad and step == at and fault == "sigstop":
            os.kill(os.getpid(), signal.SIGSTOP)  # the test sends SIGCONT once it is seen
        if bad and fault == "leak" and step < at + leak_steps:
            leaked.append(b"\x01" * LEAK_BYTES)
        loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        value = loss.item()
        if bad and fault == "nan":
            value = float("nan")
        if bad and fault == "spike" and step < at + 3:
            value *= 10
        run.log(loss=value)
        done = step + 1
        stop = torch.tensor(float(run.should_stop()))
        dist.all_reduce(stop, op=dist.ReduceOp.MAX)  # the ranks leave the loop together
        if stop.item():
            if run.wants_checkpoint():
                run.save_checkpoint({"model": model.module.state_dict(), "step": step})
            break
    return done
