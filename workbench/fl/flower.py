"""`wb.fl.launch(..., runtime="flower")`: the same rounds on Flower's deployment engine.

The aggregator rank (`serve_flower`, started by `wb.fl.launch` as the native `serve` is) writes a
Flower app into ``run_dir/flower_app``, starts ``flower-superlink`` and one ``flower-supernode``
per partition as processes on loopback (``FLWR_HOME`` is ``run_dir/flwr``, whose ``config.toml``
holds the connection), submits the app with ``flwr run`` and re-logs, as ``run.log`` records, what
the ServerApp writes to ``run_dir/flower-records.jsonl``: the same ``event="round"``,
``event="client"`` and ``event="end"`` records the native aggregator logs, so `job.history`,
`job.clients` and the lake tables read them unchanged. At the end, or on a stop, it ends every
process of the deployment: the ones it started, their descendants (the SuperLink's
``flower-superexec`` leads a session of its own, with the ``flwr-serverapp`` under it), and any
Flower process with this ``FLWR_HOME`` (a ``flwr-clientapp`` outlives a stopped SuperNode).

The ServerApp (`server_app`) runs workbench's rounds over Flower's `Grid`: the strategy's
sampling, ``client_config()`` and ``step()`` on the row-weighted mean delta, and
`workbench.fl.local.evaluate` on the test file. The ClientApp (`client_app`) runs workbench's
local loop (or ``train_fn``) on the one partition file its SuperNode's ``--node-config`` names.
Same seed, same initial weights and loader shuffles as the native runtime.

Nothing received over the network is unpickled: weights travel as `ArrayRecord`s (``.npy``
bytes, loaded with ``allow_pickle=False``), settings as `ConfigRecord`/`MetricRecord` scalars,
the job's description as JSON in the app's run config, and ``model_fn``/``train_fn``/``loss``
as ``module:qualname`` references whose module files go into the app bundle (FAB).

Flower starts one ``flwr-clientapp`` process per message (each imports flwr, torch and pandas)
and an idle SuperNode polls every 3 s: on a busy 2-core box, 3 clients of sklearn's digits took
15-29 s a round here against 0.1-0.3 s natively, with the same 0.1 s of training in each.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
import traceback
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from workbench.fl.aggregator import STARTUP_S, model_path
from workbench.fl.client import ENV_CLIENT
from workbench.fl.errors import FederatedError
from workbench.fl.rounds import ClientState, GlobalModel, round_record, too_few
from workbench.fl.strategies import FedAdam, FedAvg, FedProx

if TYPE_CHECKING:
    import psutil
    import torch
    from flwr.app import Message
    from flwr.clientapp import ClientApp
    from flwr.serverapp import Grid, ServerApp

    from workbench.fl.data import Task
    from workbench.train.runtime import Run

__all__ = ["check_flower", "client_app", "serve_flower", "server_app"]

APP_DIR = "flower_app"
HOME_DIR = "flwr"  # FLWR_HOME: Flower's config.toml, installed apps and the processes' logs
RECORDS_FILE = "flower-records.jsonl"
SERVER_MODULE = "workbench_serverapp"
CLIENT_MODULE = "workbench_clientapp"
STRATEGIES = {cls.__name__: cls for cls in (FedAvg, FedProx, FedAdam)}
_POLL_S = 0.2  # the ServerApp's pulls for replies, and serve_flower's look at its records
_TERM_GRACE_S = 1.0  # SIGTERM -> SIGKILL for the deployment's processes (job.stop allows 5 s)
_GONE_GRACE_S = 2.0  # the ServerApp process gone -> its last records surely read
_FLWR_RUN_TIMEOUT_S = 120.0
_FLOWER_NAMES = ("flwr-", "flower-")  # flower-superlink/-supernode/-superexec, flwr-*app

_PYPROJECT = """\
# Written by workbench.fl.flower for one federated job; `flwr run` bundles this directory.
[project]
name = "workbench-federated"
version = "1.0.0"
description = "A workbench federated job (wb.fl.launch(..., runtime='flower'))"
license = "Apache-2.0"
dependencies = []

[tool.flwr.app]
publisher = "workbench"

[tool.flwr.app.components]
serverapp = "{server}:app"
clientapp = "{client}:app"

[tool.flwr.app.config]
job = {job}
"""
_APP_MODULE = '''\
"""The {kind} of a workbench federated job (written by workbench.fl.flower)."""

from workbench.fl.flower import {factory}

app = {factory}()
'''


# -- in the notebook ---------------------------------------------------------------------------

def check_flower(model_fn: Callable[..., Any], train_fn: Callable[..., Any] | None,
                 loss: Callable[..., Any] | None, strategy: FedAvg, dp: Any,
                 secure: bool) -> None:
    """What `runtime="flower"` cannot run, refused in the notebook before anything starts."""
    if sys.version_info < (3, 11) or importlib.util.find_spec("flwr") is None:
        raise FederatedError("runtime='flower' needs Flower (flwr 1.x, Python >= 3.11): "
                             "pip install 'workbench[flower]'")
    if dp is not None:
        raise FederatedError("dp= is not available with runtime='flower'; use the native "
                             "runtime (runtime='local') for differential privacy")
    if secure:
        raise FederatedError("secure=True is not available with runtime='flower' (Flower's "
                             "SecAgg+ workflow is not wired); use the native runtime "
                             "(runtime='local') for secure aggregation")
    if type(strategy) not in STRATEGIES.values():
        raise FederatedError(f"strategy={type(strategy).__name__}: runtime='flower' sends the "
                             "strategy's fields to the ServerApp as JSON, so only FedAvg, "
                             "FedProx and FedAdam themselves run there; use runtime='local'")
    for name, fn in (("model_fn", model_fn), ("train_fn", train_fn), ("loss", loss)):
        if fn is not None:
            function_ref(fn, name)


def function_ref(fn: Callable[..., Any], name: str) -> str:
    """``module:qualname`` of `fn`, checked to import back to `fn`: how the Flower app names
    the user's code (a function only the notebook has cannot reach Flower's processes)."""
    module = getattr(fn, "__module__", None)
    qualname = getattr(fn, "__qualname__", "")
    how = (f"runtime='flower' imports {name} in the processes Flower starts, from the app it "
           "packages: define it in a module file (e.g. models.py beside the notebook) and import "
           "it (from models import ...)")
    if module in (None, "__main__") or not qualname or "<" in qualname:
        where = "in the notebook (__main__)" if module == "__main__" else \
            f"as {qualname or fn!r}, which no module exposes"
        raise FederatedError(f"{name}={fn!r} is defined {where}. {how}")
    found: Any = None
    with suppress(ImportError, AttributeError):
        found = importlib.import_module(module)
        for part in qualname.split("."):
            found = getattr(found, part)
    if found is not fn:
        raise FederatedError(f"{name}={fn!r} is not importable as {module}:{qualname}. {how}")
    source = _source_file(module)
    if source is not None and (source.name.startswith("test_") or
                               source.stem.endswith("_test")):
        raise FederatedError(f"{name} is defined in {source.name}, a file Flower's app bundle "
                             "leaves out (test_*.py, *_test.py): move it to another module")
    return f"{module}:{qualname}"


# -- the aggregator rank ----------------------------------------------------------------------

def serve_flower(spec: dict[str, Any], code: bytes) -> None:
    """The aggregator rank's main for `runtime="flower"`: deploy on loopback, run the app,
    re-log its records, end every process."""
    import cloudpickle

    from workbench.train.runtime import current

    run = current()
    functions = cloudpickle.loads(code)  # the notebook's payload: importable, so by reference
    records = run.run_dir / RECORDS_FILE
    records.touch()
    job = _job(spec, functions, run.run_dir)
    app = write_app(run.run_dir / APP_DIR, job, [fn for fn in functions if fn is not None])
    deployment = Deployment(run.run_dir / HOME_DIR, spec["paths"], spec["threads"])
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        deployment.start(app)
        _follow(run, deployment, records)
    finally:
        deployment.close()
        signal.signal(signal.SIGTERM, previous)


def _job(spec: dict[str, Any], functions: tuple[Any, Any, Any], run_dir: Path
         ) -> dict[str, Any]:
    """The job as the ServerApp and ClientApps read it (JSON in the app's run config)."""
    task = spec["task"]
    refs = [None if fn is None else function_ref(fn, name)
            for fn, name in zip(functions, ("model_fn", "train_fn", "loss"))]
    return {"clients": len(spec["paths"]), "rounds": spec["rounds"],
            "min_clients": spec["min_clients"], "round_timeout": spec["round_timeout"],
            "seed": spec["seed"], "threads": spec["threads"],
            "strategy": spec["strategy"].describe(),
            "task": {"label": task.label, "features": list(task.features),
                     "classes": None if task.classes is None else list(task.classes)},
            "model_fn": refs[0], "train_fn": refs[1], "loss": refs[2],
            "labels": spec["labels"],
            "test_path": spec["test_path"], "records_path": str(run_dir / RECORDS_FILE),
            "model_path": str(model_path(run_dir))}


def write_app(app_dir: Path, job: dict[str, Any], functions: list[Callable[..., Any]]) -> Path:
    """The Flower app directory: pyproject.toml ([tool.flwr.app] components and the job as its
    run config), the two generated app modules, and the module files of the user's functions."""
    app_dir.mkdir(parents=True)
    for module in sorted({fn.__module__ for fn in functions}):
        _copy_module(module, app_dir)
    for name, kind, factory in ((SERVER_MODULE, "ServerApp", "server_app"),
                                (CLIENT_MODULE, "ClientApp", "client_app")):
        (app_dir / f"{name}.py").write_text(_APP_MODULE.format(kind=kind, factory=factory))
    (app_dir / "pyproject.toml").write_text(_PYPROJECT.format(
        server=SERVER_MODULE, client=CLIENT_MODULE, job=json.dumps(json.dumps(job))))
    return app_dir


def _copy_module(module: str, app_dir: Path) -> None:
    """Put a user module into the app: a top-level module's file, or its whole top-level
    package's .py files. Installed modules (and workbench) are imported from the environment."""
    top = module.partition(".")[0]
    source = _source_file(module)
    if top == "workbench" or source is None or _installed(source):
        return
    if "." not in module:
        shutil.copy2(source, app_dir / source.name)
        return
    package = _source_file(top)
    if package is None:
        raise FederatedError(f"module {module!r} has no package directory to copy into the "
                             "Flower app")
    shutil.copytree(package.parent, app_dir / top,
                    ignore=lambda _, names: [n for n in names if n == "__pycache__" or
                                             (not n.endswith(".py") and "." in n)])


def _source_file(module: str) -> Path | None:
    spec = importlib.util.find_spec(module)
    origin = None if spec is None else spec.origin
    return Path(origin) if origin and origin.endswith(".py") else None


def _installed(path: Path) -> bool:
    """True for a file of the standard library or of an installed package."""
    paths = sysconfig.get_paths()
    roots = {Path(paths[key]).resolve() for key in ("stdlib", "purelib", "platlib")}
    return any(path.resolve().is_relative_to(root) for root in roots)


def _follow(run: Run, deployment: Deployment, records: Path) -> None:
    """Re-log the ServerApp's records until its end record, a stop, or its failure."""
    started = time.monotonic()
    seen = False  # the ServerApp's process, or a record from it
    gone_at: float | None = None
    step = 0
    pending = ""  # a line the ServerApp is still writing
    with records.open() as file:
        while True:
            if run.should_stop():
                run.log(step=step, event="end", outcome="stopped by the notebook")
                run.flush()
                return
            *lines, pending = (pending + file.read()).split("\n")
            events = []
            for line in lines:
                record = json.loads(line)
                if record["event"] == "error":
                    raise _server_error(record)
                step = record.pop("step")
                run.log(step=step, **record)
                events.append(record["event"])
            if events:
                seen = True
                run.flush()  # a round's records show in the notebook now, not with the next
            if "end" in events:
                return
            if deployment.server_running():
                seen, gone_at = True, None
            elif seen or time.monotonic() - started > _startup_s(deployment):
                gone_at = gone_at or time.monotonic()
                if time.monotonic() - gone_at > _GONE_GRACE_S:
                    what = "ended without a result" if seen else "did not start"
                    raise FederatedError(f"the Flower ServerApp {what}; its log:\n"
                                         f"{deployment.log_tail()}")
            time.sleep(_POLL_S)


def _startup_s(deployment: Deployment) -> float:
    return STARTUP_S + 10.0 * len(deployment.paths)  # the processes start on few cores


def _server_error(record: dict[str, Any]) -> Exception:
    exception = record.get("exception", "")
    if exception.startswith("FederatedError: "):
        return FederatedError(exception.removeprefix("FederatedError: "))
    return RuntimeError(f"the Flower ServerApp failed: {exception}\n{record.get('traceback')}")


def _exit_on_sigterm(signum: int, frame: Any) -> None:
    """SIGTERM (the launcher ending the job) unwinds serve_flower, whose `finally` ends the
    deployment's processes, which Flower starts in sessions of their own."""
    raise SystemExit(128 + signum)


class Deployment:
    """A SuperLink and one SuperNode per partition on loopback, under one FLWR_HOME."""

    def __init__(self, home: Path, paths: list[str], threads: int) -> None:
        import workbench

        self.home, self.paths = home, paths
        self.bin = Path(sys.executable).parent
        self.procs: list[subprocess.Popen] = []
        self.superlink: subprocess.Popen | None = None
        self.run_id = ""
        root = str(Path(workbench.__file__).resolve().parents[1])  # this workbench, importable
        pythonpath = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)
        self.env = {**os.environ, "FLWR_HOME": str(home), "FLWR_TELEMETRY_ENABLED": "0",
                    "FLWR_DISABLE_UPDATE_CHECK": "1", "OMP_NUM_THREADS": str(threads),
                    "FLWR_SUPEREXEC_TASK_POLL_INTERVAL": "0.5", "PYTHONPATH": pythonpath,
                    "PATH": os.pathsep.join((str(self.bin), os.environ.get("PATH", "")))}

    def start(self, app: Path) -> None:
        """SuperLink, then the SuperNodes and `flwr run` (which need it listening)."""
        for tool in ("flower-superlink", "flower-supernode", "flwr"):
            if not (self.bin / tool).exists():
                raise FederatedError(f"{tool} is not in {self.bin}: pip install "
                                     "'workbench[flower]'")
        from workbench.compute.probe import free_port

        self.home.mkdir(parents=True, exist_ok=True)
        port = free_port()
        (self.home / "config.toml").write_text(
            f'[superlink]\ndefault = "local"\n\n[superlink.local]\n'
            f'address = "127.0.0.1:{port}"\ninsecure = true\n')
        self.superlink = self._start("superlink", [
            "flower-superlink", "--insecure", "--port", str(port),
            "--disable-runtime-dependency-installation"])
        self._wait_listening(port)
        for i, path in enumerate(self.paths):
            node_config = (f"partition-id={i} num-partitions={len(self.paths)} "
                           f"data-path={json.dumps(path)}")
            self._start(f"supernode-{i}", [
                "flower-supernode", "--insecure", "--superlink", f"127.0.0.1:{port}",
                "--port", str(free_port()), "--node-config", node_config])
        done = subprocess.run([str(self.bin / "flwr"), "run", str(app), "--format", "json"],
                              env=self.env, cwd=self.home, capture_output=True, text=True,
                              timeout=_FLWR_RUN_TIMEOUT_S, check=False)
        start = done.stdout.find("{")
        answer = {} if start < 0 else json.JSONDecoder().raw_decode(done.stdout[start:])[0]
        if done.returncode or not answer.get("success"):
            raise FederatedError(f"flwr run failed (exit code {done.returncode}):\n"
                                 f"{done.stdout[-2000:]}{done.stderr[-2000:]}")
        self.run_id = str(answer["run-id"])

    def _start(self, name: str, argv: list[str]) -> subprocess.Popen:
        with (self.home / f"{name}.log").open("ab") as log:
            proc = subprocess.Popen([str(self.bin / argv[0]), *argv[1:]], env=self.env,
                                    stdout=log, stderr=subprocess.STDOUT, cwd=self.home)
        self.procs.append(proc)
        return proc

    def _wait_listening(self, port: int) -> None:
        deadline = time.monotonic() + _startup_s(self)
        while time.monotonic() < deadline:
            if self.superlink is not None and self.superlink.poll() is not None:
                raise FederatedError(f"flower-superlink exited with code "
                                     f"{self.superlink.returncode}:\n{self._log('superlink')}")
            with suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
                return
            time.sleep(_POLL_S)
        raise FederatedError(f"flower-superlink did not listen on port {port} within "
                             f"{_startup_s(self):.0f} s:\n{self._log('superlink')}")

    def server_running(self) -> bool:
        """Whether the run's flwr-serverapp process (a grandchild of the SuperLink) lives."""
        import psutil

        if self.superlink is None or self.superlink.poll() is not None:
            return False
        with suppress(psutil.Error):
            for proc in psutil.Process(self.superlink.pid).children(recursive=True):
                with suppress(psutil.Error):
                    if proc.status() != psutil.STATUS_ZOMBIE and \
                            any("flwr-serverapp" in part for part in proc.cmdline()[:2]):
                        return True
        return False

    def log_tail(self) -> str:
        """The run's log as the SuperLink kept it (`flwr log`), else the SuperLink's own."""
        if self.run_id and self.superlink is not None and self.superlink.poll() is None:
            with suppress(subprocess.TimeoutExpired):
                done = subprocess.run([str(self.bin / "flwr"), "log", self.run_id, "--show"],
                                      env=self.env, cwd=self.home, capture_output=True,
                                      text=True, timeout=60, check=False)
                return (done.stdout + done.stderr)[-3000:]
        return self._log("superlink")

    def _log(self, name: str) -> str:
        path = self.home / f"{name}.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def close(self) -> None:
        """End every process of this deployment: the ones started here, their descendants,
        and any Flower process with this FLWR_HOME (a flwr-clientapp orphaned when its
        SuperNode went); SIGTERM, then SIGKILL after a grace."""
        import psutil

        for _ in range(3):  # a SuperExec may start a process while the others end
            family = self._family()
            if not family:
                break
            for proc in family:
                with suppress(psutil.Error):
                    proc.terminate()
            _, alive = psutil.wait_procs(family, timeout=_TERM_GRACE_S)
            for proc in alive:
                with suppress(psutil.Error):
                    proc.kill()
            psutil.wait_procs(alive, timeout=1.0)
        for proc in self.procs:
            with suppress(subprocess.TimeoutExpired):
                proc.wait(1.0)

    def _family(self) -> list[psutil.Process]:
        import psutil

        found: dict[int, psutil.Process] = {}
        for popen in self.procs:
            with suppress(psutil.Error):
                proc = psutil.Process(popen.pid)
                found.update({p.pid: p for p in (proc, *proc.children(recursive=True))})
        for proc in psutil.process_iter(["name"]):
            if proc.pid in found or not (proc.info["name"] or "").startswith(_FLOWER_NAMES):
                continue
            with suppress(psutil.Error):
                if proc.environ().get("FLWR_HOME") == str(self.home):
                    found[proc.pid] = proc
        alive = []
        for proc in found.values():
            with suppress(psutil.Error):
                if proc.status() != psutil.STATUS_ZOMBIE:
                    alive.append(proc)
        return alive


# -- the ServerApp ----------------------------------------------------------------------------

def server_app() -> ServerApp:
    """The ServerApp: workbench's rounds over Flower's Grid, reported to the records file."""
    from flwr.app import Context
    from flwr.serverapp import ServerApp

    app = ServerApp()

    @app.main()
    def main(grid: Grid, context: Context) -> None:
        job = json.loads(str(context.run_config["job"]))
        with open(job["records_path"], "a") as records:
            try:
                Rounds(grid, job, records).run()
            except BaseException as err:
                _write(records, {"step": 0, "event": "error",
                                 "exception": f"{type(err).__name__}: {err}",
                                 "traceback": traceback.format_exc()})
                raise

    return app


@dataclass
class Site(ClientState):
    """A client as the ServerApp knows it: its state and the SuperNode that holds it."""

    node: int | None = None


class Rounds:
    """The ServerApp's job: find the sites, then sample, train, combine, evaluate, report."""

    def __init__(self, grid: Grid, job: dict[str, Any], records: IO[str]) -> None:
        import numpy as np
        import torch

        self.grid, self.job, self.records = grid, job, records
        torch.set_num_threads(job["threads"])
        self.model = GlobalModel(_load(job["model_fn"]), _load(job["loss"]), _task(job),
                                 job["seed"], job["test_path"])
        self.rng = np.random.default_rng(job["seed"])
        fields = dict(job["strategy"])
        self.strategy: FedAvg = STRATEGIES[fields.pop("strategy")](**fields)
        self.sites = {i: Site(i, labels=job["labels"][i]) for i in range(job["clients"])}
        self.round = 0
        self.bytes_up = self.bytes_down = 0

    def run(self) -> None:
        self._find_sites()
        for r in range(1, self.job["rounds"] + 1):
            self.round = r
            alive = [s for s in self.sites.values() if s.alive]
            if len(alive) < self.job["min_clients"]:
                raise FederatedError(too_few(r, self.sites, self.job["min_clients"]))
            ids = [s.id for s in alive]
            size = self.strategy.sample_size(len(ids), self.job["min_clients"])
            self._round(sorted(int(i) for i in self.rng.choice(ids, size, replace=False)))
            self.model.save(self.job["model_path"])
        self._log(event="end", outcome=f"finished {self.job['rounds']} rounds")

    def _find_sites(self) -> None:
        """Wait for every SuperNode, then ask each which partition it holds (a query message,
        the native client's hello)."""
        from flwr.app import Message, RecordDict

        wait = max(STARTUP_S, self.job["round_timeout"])
        deadline = time.monotonic() + wait
        while len(list(self.grid.get_node_ids())) < len(self.sites) and \
                time.monotonic() < deadline:
            time.sleep(_POLL_S)
        nodes = list(self.grid.get_node_ids())
        replies = self._exchange([Message(RecordDict(), node, "query") for node in nodes],
                                 deadline)
        errors = []
        for node, reply in replies.items():
            if reply.has_error():
                errors.append(f"SuperNode {node}: {reply.error.reason}")
                continue
            site = reply.content["site"]
            i = int(site["partition-id"])
            if i not in self.sites or self.sites[i].node is not None:
                errors.append(f"SuperNode {node}: partition-id={i} is not one of "
                              f"0..{len(self.sites) - 1} or is held by another SuperNode")
                continue
            found = self.sites[i]
            found.node, found.rows, found.pid = node, int(site["rows"]), int(site["pid"])
            found.ready, found.state = True, "idle"
        for site in self.sites.values():
            if site.node is None:
                site.fail(f"no SuperNode answered for partition {site.id} within {wait:.0f} s"
                          + "".join(f"\n{e}" for e in errors))
            self._log_site(site)

    def _round(self, sampled: list[int]) -> None:
        from flwr.app import ArrayRecord, ConfigRecord, Message, RecordDict

        start = time.perf_counter()
        for site in self.sites.values():
            site.start_round()
        config = {**self.strategy.client_config(), "round": self.round}
        config["batch_size"] = config["batch_size"] or 0  # ConfigRecord has no None
        messages = []
        for i in sampled:
            arrays = ArrayRecord(self.model.weights)
            self.bytes_down += _nbytes(arrays)
            messages.append(Message(RecordDict({"arrays": arrays,
                                                "config": ConfigRecord(config)}),
                                    self.sites[i].node, "train", group_id=str(self.round)))
        timeout = self.job["round_timeout"]
        replies = self._exchange(messages, time.monotonic() + timeout)
        updates: dict[int, dict[str, torch.Tensor]] = {}
        for i in sampled:
            site = self.sites[i]
            reply = replies.get(site.node)
            if reply is None:
                site.drop(f"round {self.round}: no update within {timeout:g} s")
            elif reply.has_error():
                site.fail(f"round {self.round}: {reply.error.reason}")
            else:
                try:
                    updates[i] = self._accept(site, reply)
                except (KeyError, TypeError, ValueError) as err:
                    site.drop(f"round {self.round}: malformed update ({err})")
        if updates:
            total = sum(self.sites[i].rows for i in updates)
            delta = self.model.mean_delta(updates, {i: self.sites[i].rows / total
                                                    for i in updates})
            self.model.weights = self.strategy.step(self.model.weights, delta)
        done = [self.sites[i] for i in updates]
        self._log(**round_record(len(sampled), done, self.model.evaluate(), self.bytes_up,
                                 self.bytes_down, time.perf_counter() - start))
        self.bytes_up = self.bytes_down = 0
        for site in self.sites.values():
            self._log_site(site)

    def _exchange(self, messages: list[Message], deadline: float) -> dict[int, Message]:
        """Push `messages` and pull their replies, by sending node, until all came back or
        the deadline passed (Grid.send_and_receive waits 3 s between pulls)."""
        pending = set(self.grid.push_messages(messages))
        replies: dict[int, Message] = {}
        while pending and time.monotonic() < deadline:
            for reply in self.grid.pull_messages(list(pending)):
                pending.discard(reply.metadata.reply_to_message_id)
                replies[reply.metadata.src_node_id] = reply
            if pending:
                time.sleep(_POLL_S)
        return replies

    def _accept(self, site: Site, reply: Message) -> dict[str, torch.Tensor]:
        """A checked update (the native aggregator's checks: the global weights' names, shapes
        and dtypes, finite floats, numeric figures); the site's figures recorded."""
        import torch

        from workbench.fl.wire import WireError, check, signature

        arrays = reply.content["arrays"]
        delta = arrays.to_torch_state_dict()
        check(delta, signature(self.model.weights))
        bad = [n for n in self.model.floats if not torch.isfinite(delta[n]).all()]
        if bad:
            raise WireError(f"non-finite values in {bad[:3]}")
        metrics = reply.content["metrics"]
        values = {k: metrics[k] for k in ("train_loss", "local_accuracy", "seconds",
                                          "cpu_seconds")}
        if not all(isinstance(v, int | float) for v in values.values()):
            raise TypeError(f"metrics {values} are not numbers")
        self.bytes_up += _nbytes(arrays)
        site.complete(values)
        return delta

    def _log(self, **record: Any) -> None:
        _write(self.records, {"step": self.round, **record})

    def _log_site(self, site: Site) -> None:
        self._log(**site.record())


def _write(records: IO[str], record: dict[str, Any]) -> None:
    records.write(json.dumps(record) + "\n")
    records.flush()


def _nbytes(arrays: Any) -> int:
    return sum(len(array.data) for array in arrays.values())


# -- the ClientApp ----------------------------------------------------------------------------

def client_app() -> ClientApp:
    """The ClientApp: which partition this SuperNode holds (query), and a round of workbench's
    local loop on it (train)."""
    from flwr.app import Context
    from flwr.clientapp import ClientApp

    app = ClientApp()

    @app.query()
    def query(msg: Message, context: Context) -> Message:
        return _answer(msg, lambda: _site(context))

    @app.train()
    def train(msg: Message, context: Context) -> Message:
        return _answer(msg, lambda: _train(msg, context))

    return app


def _answer(msg: Message, work: Callable[[], Any]) -> Message:
    """The reply to `msg`: `work()`'s records, or an error carrying the traceback (Flower's
    own error reply keeps only the exception's type and message)."""
    from flwr.app import Error, Message, RecordDict
    from flwr.common.constant import ErrorCode

    try:
        return Message(RecordDict(work()), reply_to=msg)
    except Exception as err:
        return Message(Error(ErrorCode.CLIENT_APP_RAISED_EXCEPTION,
                             f"{type(err).__name__}: {err}\n{traceback.format_exc()}"),
                       reply_to=msg)


def _site(context: Any) -> dict[str, Any]:
    import pyarrow.parquet as pq
    from flwr.app import ConfigRecord

    rows = pq.ParquetFile(str(context.node_config["data-path"])).metadata.num_rows
    return {"site": ConfigRecord({"partition-id": int(context.node_config["partition-id"]),
                                  "rows": rows, "pid": os.getpid()})}


def _train(msg: Message, context: Any) -> dict[str, Any]:
    """One round on this site's partition, as the native client's `Client.train`."""
    import pandas as pd
    import torch
    from flwr.app import ArrayRecord, MetricRecord

    from workbench.fl.data import tensors
    from workbench.fl.local import client_round, default_loss, train

    job = json.loads(str(context.run_config["job"]))
    client = int(context.node_config["partition-id"])
    os.environ[ENV_CLIENT] = str(client)
    torch.set_num_threads(job["threads"])
    task = _task(job)
    classification = task.classes is not None
    loss = _load(job["loss"]) or default_loss(classification)
    train_fn = _load(job["train_fn"])
    with open(str(context.node_config["data-path"]), "rb") as file:  # its one partition
        x, y = tensors(pd.read_parquet(file), task)
    model = _load(job["model_fn"])()
    _warm_up(model, x, y, loss)
    config = dict(msg.content["config"])
    config["batch_size"] = config["batch_size"] or None  # ConfigRecord has no None
    delta, figures = client_round(
        model, x, y, msg.content["arrays"].to_torch_state_dict(), config,
        train_fn or (lambda m, loader, c: train(m, loader, c, loss)), seed=job["seed"],
        client=client, loss=loss, classification=classification)
    return {"arrays": ArrayRecord(delta),
            "metrics": MetricRecord({name: figures[name] for name in (
                "train_loss", "local_accuracy", "seconds", "cpu_seconds")})}


def _warm_up(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, loss: Any) -> None:
    """One SGD step on a copy, before the seed and the clock: a fresh process's first backward
    and optimiser step load a second of lazy modules, which is start-up, not training (the
    native client does the same before its hello)."""
    import copy

    import torch

    copy_ = copy.deepcopy(model)
    optimizer = torch.optim.SGD(copy_.parameters(), lr=0.0)
    loss(copy_(x[:2]), y[:2]).backward()
    optimizer.step()


# -- shared -----------------------------------------------------------------------------------

def _task(job: dict[str, Any]) -> Task:
    from workbench.fl.data import Task

    task = job["task"]
    classes = task["classes"]
    return Task(task["label"], tuple(task["features"]),
                None if classes is None else tuple(classes))


def _load(ref: str | None) -> Any:
    """The object a ``module:qualname`` reference names (None for None)."""
    if ref is None:
        return None
    module, _, qualname = ref.partition(":")
    found: Any = importlib.import_module(module)
    for part in qualname.split("."):
        found = getattr(found, part)
    return found
