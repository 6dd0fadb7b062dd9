"""`wb.fl.launch`: federated rounds over real client processes, from one notebook cell.

``job = wb.fl.launch(model_fn, parts, rounds=50, strategy=wb.fl.FedAvg(...), test=...)``
checks everything it can in the notebook (arguments, every part's columns and values, the
model's output size), then starts the aggregator as a one-rank `wb.launch` job, which starts one
client per part (see `workbench.fl.aggregator`). It returns at once; `job.history`,
`job.clients` and `job.monitor()` follow the rounds live, `job.wait()` returns the model.
"""

from __future__ import annotations

import html
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.fl.errors import FederatedError
from workbench.fl.partitions import Partitions
from workbench.fl.privacy import DP
from workbench.fl.strategies import FedAvg
from workbench.home import new_run_dir
from workbench.train.launcher import Job, WorkerError

if TYPE_CHECKING:
    import pandas as pd
    import torch

    from workbench.fl.data import Task
    from workbench.lake import Lake
    from workbench.ops import Rule

__all__ = ["FederatedJob", "launch"]

RUNTIMES = ("local", "flower")  # "flower": Flower's deployment engine (workbench.fl.flower)
_STOP_GRACE_S = 5.0  # the aggregator's own stop takes ~3 s (clients told, then killed)


def launch(model_fn: Callable[[], torch.nn.Module], parts: Partitions, rounds: int,
           strategy: FedAvg | None = None, *, test: Any = None, label: str | None = None,
           loss: Callable[[Any, Any], Any] | None = None,
           train_fn: Callable[[Any, Any, dict[str, Any]], dict[str, Any]] | None = None,
           min_clients: int = 1, round_timeout: float = 60.0, dp: DP | None = None,
           secure: bool = False, runtime: str = "local", seed: int = 0, threads: int = 1,
           name: str | None = None, runs_lake: Lake | str | os.PathLike[str] | None = "default",
           alerts: list[Rule] | str | None = "default", on_alert: Any = None) -> FederatedJob:
    """Train `model_fn()`'s model over `parts` for `rounds` rounds with `strategy` (default
    `FedAvg()`), one client process per part, and return the `FederatedJob` at once.

    `test` (a lake table or DataFrame) is evaluated every round; `label` defaults to the
    partition's. The default local loop is supervised (cross-entropy for class labels, MSE for
    float targets, or `loss(output, target)`); `train_fn(model, loader, config) -> dict` replaces
    it. A round waits `round_timeout` seconds for its clients; fewer than `min_clients` alive
    fails the job. `dp` adds differential privacy (`wb.fl.DP`), `secure=True` secure
    aggregation. Each client (and the aggregator) uses `threads` torch threads. The run is
    named `name` (default: the strategy's, e.g. "fedavg") in `wb.runs()` and the lake.
    `runtime="flower"` runs the same rounds on Flower's deployment engine (`workbench.fl.flower`:
    model_fn, train_fn and loss importable from a module file; no dp or secure).
    `alerts` and `on_alert` are `wb.launch`'s, over the round records; "default" is
    `default_rules(round_timeout)` of this module.
    """
    import cloudpickle

    strategy = FedAvg() if strategy is None else strategy
    _check_arguments(model_fn, parts, rounds, strategy, loss, train_fn, min_clients,
                     round_timeout, dp, secure, runtime, threads)
    _check_alerts(alerts, on_alert, round_timeout)
    label = label if label is not None else parts.label
    if label is None:
        raise FederatedError("label=: name the label column (the partitions were made without "
                             "one)")
    frames = {f"client {i} ({path.name})": _read(path) for i, path in enumerate(parts.paths)}
    test_frame = None if test is None else _test_frame(test)
    from workbench.fl.data import infer_task

    task = infer_task({**frames, **({"test": test_frame} if test_frame is not None else {})},
                      label)
    _check_model(model_fn, next(iter(frames.values())), task, seed)
    rows = [len(frame) for frame in frames.values()]
    labels = [_label_mix(frame, task) for frame in frames.values()]
    accountant = None
    if dp is not None:
        from workbench.fl.privacy import plan

        sampled = strategy.sample_size(parts.clients, min_clients)
        accountant = plan(dp, rounds, parts.clients, sampled, rows, strategy.client_config())
    try:
        code = cloudpickle.dumps((model_fn, train_fn, loss))
    except Exception as err:
        raise FederatedError(f"model_fn, train_fn or loss cannot be sent to the clients: {err}. "
                             "Create locks, files and connections inside the functions.") from err
    name = name or strategy.name.lower()
    run_dir = new_run_dir(name)
    run_dir.mkdir(parents=True)
    test_path = None
    if test_frame is not None:
        test_path = str(run_dir / "test.parquet")
        test_frame.to_parquet(test_path, index=False)
    spec = {"rounds": rounds, "strategy": strategy, "min_clients": min_clients,
            "round_timeout": float(round_timeout), "seed": seed, "task": task,
            "paths": [str(p) for p in parts.paths], "rows": rows, "labels": labels,
            "test_path": test_path,
            "dp": dp, "accountant": accountant, "secure": bool(secure), "threads": threads,
            "sys_path": [p for p in sys.path if p]}
    from workbench.fl.aggregator import serve
    from workbench.fl.flower import serve_flower
    from workbench.fl.records import save_federated
    from workbench.train.launcher import spawn

    main = serve if runtime == "local" else serve_flower
    group = spawn(main, (spec, code), {}, nprocs=1, backend="gloo", run_dir=run_dir,
                  runs_lake=runs_lake, name=name,
                  labels={"backend": f"federated ({parts.clients} clients)"},
                  save=save_federated, alerts=alerts, on_alert=on_alert,
                  default_alerts=default_rules(round_timeout))
    return FederatedJob(group, model_fn=model_fn, parts=parts, rounds=rounds,
                        strategy=strategy, task=task, dp=dp, secure=bool(secure), labels=labels)


def default_rules(round_timeout: float = 60.0) -> list[Rule]:
    """The built-in rules of a federated run, over its round records: the global model's test
    loss not finite (critical) or above 5x its median of the last 10 rounds; clients dropped
    from a round; test accuracy below half its median of the last 10 rounds; no round ended
    for twice the round timeout plus a minute (critical); the aggregator silent for 10 s."""
    from workbench.ops import Rule

    return [
        Rule("nonfinite_loss", "test_loss", "nonfinite", severity="critical"),
        Rule("loss_spike", "test_loss", "spike", threshold=5.0, window=10),
        Rule("clients_dropped", "dropped_clients", ">", threshold=0.0),
        Rule("accuracy_drop", "test_accuracy", "below_median", threshold=0.5, window=10),
        Rule("stall", "completed", "stalled", threshold=2 * round_timeout + 60.0,
             severity="critical"),
        Rule("silent_rank", "heartbeat", "stalled", threshold=10.0, severity="critical"),
    ]


class FederatedJob(Job):
    """A running or finished federated job: `history`, `clients`, `participation`, `model`,
    `status`, `outcome`, `wait()`, `stop()`, `monitor()`."""

    def __init__(self, group: Any, *, model_fn: Callable[[], Any], parts: Partitions,
                 rounds: int, strategy: FedAvg, task: Task, dp: DP | None,
                 secure: bool, labels: list[str]) -> None:
        super().__init__(group)
        self.model_fn = model_fn
        self.parts = parts
        self.rounds = rounds
        self.strategy = strategy
        self.task = task
        self.dp = dp
        self.secure = secure
        self._labels = labels
        self._final: pd.DataFrame | None = None  # the aggregator's records, once it ended

    @property
    def label_counts(self) -> pd.DataFrame:
        """The clients' label mix (client, label, rows), as the job's views draw it."""
        import pandas as pd

        from workbench.fl.records import label_counts

        return label_counts(pd.DataFrame({"client": range(len(self._labels)), "round": 0,
                                          "labels": self._labels}))

    @property
    def dp_epsilon(self) -> float | None:
        """The privacy budget, or None without DP."""
        return None if self.dp is None else float(self.dp.epsilon)

    @property
    def history(self) -> pd.DataFrame:
        """One row per round, live: round, sampled, completed, dropped, train_loss,
        test_loss, test_accuracy, local_accuracy (the completed clients' accuracy of the model
        they received, on their own rows), bytes_up, bytes_down, seconds (the round at the
        aggregator), train_seconds (the slowest client's training), client_cpu_seconds (the
        clients' CPU for evaluating and training), epsilon (spent so far), time."""
        from workbench.fl.records import history

        return history(self._records())

    @property
    def participation(self) -> pd.DataFrame:
        """Each client's state after each round (completed, dropped, idle, failed). Live."""
        from workbench.fl.records import participation

        return participation(self._records())

    @property
    def clients(self) -> pd.DataFrame:
        """One row per client, as of the last round: client, pid, rows, rounds_completed,
        state, last_error."""
        frame = self.participation
        last = frame.groupby("client", sort=True).tail(1).set_index("client", drop=False)
        return last.drop(columns=["round"]).reset_index(drop=True)

    @property
    def outcome(self) -> str:
        """How the rounds ended ("finished 50 rounds", "stopped before round 7: it would spend
        epsilon ..."), "" while they run."""
        from workbench.fl.records import outcome

        return outcome(self._records())

    def _records(self) -> pd.DataFrame:
        """The aggregator's records: live from the channel while it runs; once it ended, read
        from its log once and kept (history, participation and outcome all derive from them,
        and a monitor asks for all three on every redraw)."""
        if not self._group.done.is_set():
            return self.metrics
        if self._final is None:
            self._final = self.metrics
        return self._final

    @property
    def model(self) -> torch.nn.Module:
        """The global model as the aggregator last saved it (after the job ends)."""
        import torch

        from workbench.fl.aggregator import model_path

        path = model_path(self.run_dir)
        if not path.exists():
            raise FederatedError(f"the job is {self.status} and has saved no model yet "
                                 f"({path}); wait() for it")
        model = self.model_fn()
        model.load_state_dict(torch.load(path, weights_only=True))
        return model

    def wait(self, timeout: float | None = None) -> torch.nn.Module:
        """Block until the job ends; return the trained model. A failure the aggregator
        explains (too few clients) is raised as that `FederatedError`."""
        try:
            super().wait(timeout)
        except WorkerError as err:
            report = _aggregator_error(self.run_dir)
            if report.startswith("FederatedError: "):
                raise FederatedError(report.removeprefix("FederatedError: ")) from err
            raise
        return self.model

    def stop(self, grace: float = _STOP_GRACE_S) -> None:
        """End the rounds and every process (within `grace` + a few seconds); `wait()` for
        the end."""
        super().stop(grace)

    def __repr__(self) -> str:
        history = self.history
        done = int(history["round"].max()) if len(history) else 0
        return (f"<FederatedJob {self.name} {self.status} round {done}/{self.rounds} "
                f"{self.strategy.name} {self.parts.clients} clients "
                f"run_dir={str(self.run_dir)!r}>")

    def _repr_html_(self) -> str:
        history = self.history.tail(5)
        return (f"<div><b>Federated job {html.escape(self.name)}</b>: {self.status} "
                f"({self.strategy.name}, {self.parts.clients} clients, {self.rounds} rounds)"
                f"<br><code>{html.escape(str(self.run_dir))}</code>"
                f"{history.to_html(index=False)}</div>")


def _check_alerts(alerts: Any, on_alert: Any, round_timeout: float) -> None:
    """`alerts=` and `on_alert=`, refused here rather than once the run directory exists."""
    from workbench.ops.rules import rules_from
    from workbench.train.alerting import callbacks

    rules_from(alerts, default_rules(round_timeout))
    callbacks(on_alert)


def _check_arguments(model_fn: Any, parts: Any, rounds: Any, strategy: Any, loss: Any,
                     train_fn: Any, min_clients: Any, round_timeout: Any, dp: Any, secure: Any,
                     runtime: Any, threads: Any) -> None:
    """Every argument that can be judged alone, before anything is read or started."""
    if not callable(model_fn):
        raise FederatedError(f"model_fn={model_fn!r}: give a function that returns a "
                             "torch.nn.Module")
    for name, fn in (("train_fn", train_fn), ("loss", loss)):
        if fn is not None and not callable(fn):
            raise FederatedError(f"{name}={fn!r}: give a function or None")
    if not isinstance(parts, Partitions):
        raise FederatedError(f"parts={type(parts).__name__}: give the result of "
                             "wb.fl.partition(...)")
    for name, value in (("rounds", rounds), ("min_clients", min_clients),
                        ("threads", threads)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise FederatedError(f"{name}={value!r}: give a whole number, at least 1")
    if min_clients > parts.clients:
        raise FederatedError(f"min_clients={min_clients} but there are {parts.clients} "
                             "clients: give at most that many")
    if not isinstance(strategy, FedAvg):
        raise FederatedError(f"strategy={strategy!r}: give wb.fl.FedAvg(), FedProx() or "
                             "FedAdam()")
    if isinstance(round_timeout, bool) or not isinstance(round_timeout, int | float) \
            or not round_timeout > 0:
        raise FederatedError(f"round_timeout={round_timeout!r}: give seconds, > 0")
    if dp is not None and not isinstance(dp, DP):
        raise FederatedError(f"dp={dp!r}: give wb.fl.DP(epsilon=...) or None")
    if dp is not None and dp.level == "sample":
        if train_fn is not None:
            raise FederatedError("dp=DP(level='sample') trains with Opacus' DP-SGD in the "
                                 "default loop; it cannot wrap a train_fn. Use level='client' "
                                 "or leave train_fn out")
        if strategy.client_config()["mu"]:
            raise FederatedError("dp=DP(level='sample') cannot add FedProx's proximal term "
                                 "(it has no per-example gradient); use FedAvg or FedAdam")
    if not isinstance(secure, bool):
        raise FederatedError(f"secure={secure!r}: give True or False")
    if runtime not in RUNTIMES:
        raise FederatedError(f"runtime={runtime!r}: give one of {list(RUNTIMES)}")
    if runtime == "flower":
        from workbench.fl.flower import check_flower

        check_flower(model_fn, train_fn, loss, strategy, dp, secure)


def _read(path: Path) -> pd.DataFrame:
    import pandas as pd

    if not path.exists():
        raise FederatedError(f"partition file {path} is gone; run wb.fl.partition again")
    return pd.read_parquet(path)


def _test_frame(test: Any) -> pd.DataFrame:
    import pandas as pd

    if isinstance(test, pd.DataFrame):
        return test.reset_index(drop=True)
    from workbench.lake.table import Table

    if isinstance(test, Table):
        return test.to_pandas()
    raise FederatedError(f"test={type(test).__name__}: give a lake table or a DataFrame")


def _check_model(model_fn: Callable[[], Any], frame: pd.DataFrame, task: Task,
                 seed: int) -> None:
    """Round 0 in the notebook: the model takes a row and gives one output per class (or one
    value for a float target)."""
    import torch

    from workbench.fl.data import tensors

    torch.manual_seed(seed)
    model = model_fn()
    if not isinstance(model, torch.nn.Module):
        raise FederatedError(f"model_fn() returned {type(model).__name__}, not a "
                             "torch.nn.Module")
    x, _ = tensors(frame.head(2), task)
    model.eval()
    with torch.no_grad():
        out = model(x)
    per_row = out.reshape(len(x), -1).shape[1] if out.numel() else 0
    wanted = 1 if task.classes is None else len(task.classes)
    if per_row != wanted:
        what = (f"{len(task.classes)} classes in label {task.label!r}" if task.classes
                else f"one float target ({task.label!r})")
        raise FederatedError(f"model_fn()'s model gives {per_row} outputs per row but there "
                             f"are {what}: make its last layer output {wanted}")


def _label_mix(frame: pd.DataFrame, task: Task) -> str:
    """A part's rows per class, as JSON in the classes' order ("" for a float target): what
    the views draw as the label mix, known to the aggregator without reading the part."""
    if task.classes is None:
        return ""
    counts = frame[task.label].value_counts()
    return json.dumps({str(value): int(counts.get(value, 0)) for value in task.classes})


def _aggregator_error(run_dir: Path) -> str:
    from workbench.train.runtime import error_path

    path = error_path(run_dir, 0)
    return json.loads(path.read_text()).get("exception", "") if path.exists() else ""
