"""The aggregating process of a federated job: it starts the clients, runs the rounds and
reports each one to the notebook.

It runs as the single rank of a `wb.launch` job (`workbench.train.launcher.spawn`), so it has
that machinery for free: the notebook's supervision, the metrics channel (``run.log``: one
``event="round"`` record per round and one ``event="client"`` record per client and round), the
run directory, ``job.json``, the stop file, and a watchdog that kills it when the notebook dies.
Its clients are its own children (``python -m workbench.fl.client``), given their code and
settings over a stdin pipe; each watches for this process the same way, so killing either the
notebook or the aggregator leaves no client behind.

The aggregator never opens a partition: it knows each client's row count from the partition
table the notebook made, and reads only the held-out test file.
"""

from __future__ import annotations

import json
import math
import os
import secrets
import signal
import subprocess
import sys
import time
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.fl.errors import FederatedError
from workbench.fl.rounds import ClientState, GlobalModel, round_record, too_few
from workbench.fl.wire import WireError
from workbench.train.launcher import describe_exit

if TYPE_CHECKING:
    import torch

    from workbench.train.runtime import Run

MODEL_FILE = "model.pt"
STARTUP_S = 120.0  # clients import torch and read their rows; on a busy 2-core box ~10-20 s
_POLL_MS = 20
_EXIT_GRACE_S = 3.0  # "stop" sent -> SIGKILL for clients still there


class Stopped(Exception):
    """The notebook asked the job to stop (`job.stop()`)."""


@dataclass
class LocalClient(ClientState):
    """A client process of this aggregator: its state, process and the token its messages
    carry."""

    proc: subprocess.Popen | None = None
    token: str = ""


def serve(spec: dict[str, Any], code: bytes) -> None:
    """The aggregator's main (the launched rank's function)."""
    import torch

    from workbench.train.runtime import current

    torch.set_num_threads(spec["threads"])
    aggregator = Aggregator(current(), spec, code)
    try:
        aggregator.run_rounds()
    except Stopped:
        aggregator.end("stopped by the notebook")
    finally:
        aggregator.close()


class Aggregator:
    """The rounds: sample, (exchange keys,) send the model, gather updates, combine, evaluate."""

    def __init__(self, run: Run, spec: dict[str, Any], code: bytes) -> None:
        import cloudpickle
        import numpy as np
        import torch
        import zmq

        from workbench.fl.wire import signature

        self.run, self.spec = run, spec
        self.strategy = spec["strategy"]
        model_fn, _, loss = cloudpickle.loads(code)
        self.model = GlobalModel(model_fn, loss, spec["task"], spec["seed"], spec["test_path"])
        self.signature = signature(self.model.weights)
        self.rng = np.random.default_rng(spec["seed"])
        self.accountant = spec["accountant"]
        self.noise = torch.Generator().manual_seed(secrets.randbits(63))  # DP noise: unguessable
        self.bytes_up = self.bytes_down = 0
        self.round = 0
        self.outcome = ""
        self.socket = zmq.Context.instance().socket(zmq.ROUTER)
        self.socket.setsockopt(zmq.LINGER, 0)
        model_bytes = sum(t.numel() * t.element_size() for t in self.model.weights.values())
        # zmq drops a peer that sends more than this (a flood); exact sizes are checked by decode
        self.socket.setsockopt(zmq.MAXMSGSIZE, 2 * model_bytes + (1 << 20))
        port = self.socket.bind_to_random_port("tcp://127.0.0.1")
        self.address = f"tcp://127.0.0.1:{port}"
        self.poller = zmq.Poller()
        self.poller.register(self.socket, zmq.POLLIN)
        self.clients = {i: self._start_client(i, rows, code)
                        for i, rows in enumerate(spec["rows"])}

    # -- processes ---------------------------------------------------------------------------

    def _start_client(self, i: int, rows: int, code: bytes) -> LocalClient:
        import cloudpickle

        from workbench.fl.client import ENV_CLIENT

        token = secrets.token_hex(16)
        spec = {"client": i, "token": token, "address": self.address,
                "path": self.spec["paths"][i], "task": self.model.task,
                "seed": self.spec["seed"],
                "dp": self.spec["dp"], "noise": self.accountant.noise if self.accountant else None,
                "secure": self.spec["secure"], "threads": self.spec["threads"],
                "run_dir": str(self.run.run_dir), "sys_path": self.spec["sys_path"]}
        env = {**os.environ, ENV_CLIENT: str(i), "OMP_NUM_THREADS": str(self.spec["threads"])}
        proc = subprocess.Popen([sys.executable, "-m", "workbench.fl.client"],
                                stdin=subprocess.PIPE, env=env)
        proc.stdin.write(cloudpickle.dumps((spec, code)))  # the parent's payload, over a pipe
        proc.stdin.close()
        return LocalClient(i, rows, pid=proc.pid, labels=self.spec["labels"][i], proc=proc,
                           token=token)

    def close(self) -> None:
        """Save the model, then tell every client to stop and kill what is still there."""
        from workbench.fl.wire import encode

        self.model.save(model_path(self.run.run_dir))  # first: a stop's grace may run out
        for client in self.clients.values():
            if client.proc.poll() is None:  # a ROUTER drops what it cannot route: no raise
                self._send(client, encode({"type": "stop"}))
        deadline = time.monotonic() + _EXIT_GRACE_S
        for client in self.clients.values():
            with suppress(subprocess.TimeoutExpired):
                client.proc.wait(max(deadline - time.monotonic(), 0))
            if client.proc.poll() is None:
                with suppress(ProcessLookupError):
                    os.kill(client.proc.pid, signal.SIGKILL)
                client.proc.wait()
        self.socket.close()

    def _reap(self) -> None:
        """Mark clients whose process has gone, with why."""
        from workbench.fl.client import error_path

        for client in self.clients.values():
            code = client.proc.poll()
            if code is None or client.failed:
                continue
            report = error_path(self.run.run_dir, client.id)
            if report.exists():
                data = json.loads(report.read_text())
                client.fail(f"{data['exception']}\n{data['traceback']}")
            else:
                client.fail(f"the process was {describe_exit(code)}")

    # -- the job -----------------------------------------------------------------------------

    def run_rounds(self) -> None:
        self._wait_ready()
        for r in range(1, self.spec["rounds"] + 1):
            self.round = r
            alive = [c for c in self.clients.values() if c.alive]
            if len(alive) < self.spec["min_clients"]:
                raise FederatedError(too_few(r, self.clients, self.spec["min_clients"]))
            ids = [c.id for c in alive]
            size = self.strategy.sample_size(len(ids), self.spec["min_clients"])
            sampled = sorted(int(i) for i in self.rng.choice(ids, size, replace=False))
            if self.accountant is not None:
                after = self.accountant.after(sampled)
                if after > self.accountant.dp.epsilon:
                    self.end(f"stopped before round {r}: it would spend epsilon {after:.3g}, over "
                             f"the budget of {self.accountant.dp.epsilon:g}")
                    return
            self._round(sampled)
        self.end(f"finished {self.spec['rounds']} rounds")

    def end(self, outcome: str) -> None:
        self.outcome = outcome
        self.run.log(step=self.round, event="end", outcome=outcome)
        self.run.flush()

    def _wait_ready(self) -> None:
        wait = max(STARTUP_S, self.spec["round_timeout"])
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            self._reap()
            if all(c.ready or c.failed for c in self.clients.values()):
                break
            self._receive({}, time.monotonic() + 0.2, "hello")
        for client in self.clients.values():
            if not client.ready and not client.failed:
                client.fail(f"did not start within {wait:.0f} s")
            elif client.ready:
                client.state = "idle"
        for client in self.clients.values():
            self._log_client(client)
        self.run.flush()

    def _round(self, sampled: list[int]) -> None:
        start = time.perf_counter()
        for client in self.clients.values():
            client.start_round()
        participants = sampled
        while True:  # secure rounds restart without a client that dropped after the keys
            updates = self._train(participants)
            lost = [i for i in participants if i not in updates]
            if not (self.spec["secure"] and lost and updates):
                break
            participants = [i for i in participants if i in updates]
            if len(participants) < self.spec["min_clients"]:
                updates = {}
                break
        if updates:
            self.model.weights = self.strategy.step(self.model.weights, self._combine(updates))
            if self.accountant is not None:
                self.accountant.spend(sampled)
        done = [self.clients[i] for i in updates]
        epsilon = self.accountant.epsilon if self.accountant is not None else math.nan
        self.run.log(step=self.round, **round_record(
            len(sampled), done, self.model.evaluate(), self.bytes_up, self.bytes_down,
            time.perf_counter() - start, epsilon))
        self.bytes_up = self.bytes_down = 0
        for client in self.clients.values():
            self._log_client(client)
        self.run.flush()  # the round is seen in the notebook now, not with the next one
        self.model.save(model_path(self.run.run_dir))

    def _train(self, participants: list[int]) -> dict[int, dict[str, Any]]:
        """One attempt at a round: the updates that came back, by client."""
        from workbench.fl.wire import encode

        deadline = time.monotonic() + self.spec["round_timeout"]
        config = self.strategy.client_config()
        if self.accountant is not None and self.accountant.dp.level == "client":
            config["clip"] = self.accountant.dp.clip
        header: dict[str, Any] = {"type": "train", "round": self.round, "config": config}
        if self.spec["secure"]:
            keys = self._exchange_keys(participants, deadline)
            participants = sorted(keys)
            total = sum(self.clients[i].rows for i in participants)
            header["peers"] = {str(i): keys[i] for i in participants}
        frames = encode(header, self.model.weights)
        sent = {}
        for i in participants:
            client = self.clients[i]
            if self.spec["secure"]:
                weight = self._weight(client.rows, total, len(participants))
                frames = encode({**header, "weight": weight}, self.model.weights)
            self._send(client, frames)
            sent[i] = time.perf_counter()
        updates = self._receive(dict.fromkeys(participants), deadline, "update")
        for i, update in updates.items():
            update["round_trip"] = update["received"] - sent[i]
        return updates

    def _exchange_keys(self, participants: list[int], deadline: float) -> dict[int, str]:
        from workbench.fl.wire import encode

        for i in participants:
            self._send(self.clients[i], encode({"type": "keys", "round": self.round}))
        keys = self._receive(dict.fromkeys(participants), deadline, "key")
        return {i: message["public_key"] for i, message in keys.items()}

    def _send(self, client: LocalClient, frames: list[bytes]) -> None:
        self.socket.send_multipart([f"client-{client.id}".encode(), *frames])
        self.bytes_down += sum(len(f) for f in frames)

    def _receive(self, waiting: dict[int, Any], deadline: float, kind: str
                 ) -> dict[int, dict[str, Any]]:
        """Messages of `kind` from the clients in `waiting` until each answered, failed or
        the deadline passed; a client whose message is malformed or late is dropped for the
        round, with the reason kept."""
        got: dict[int, dict[str, Any]] = {}
        while time.monotonic() < deadline:
            if self.run.should_stop():
                raise Stopped
            self._reap()
            pending = [i for i in waiting if i not in got and not self.clients[i].failed
                       and self.clients[i].state != "dropped"]
            if kind != "hello" and not pending:
                break
            if not self.poller.poll(_POLL_MS):
                continue
            identity, *frames = self.socket.recv_multipart()
            self.bytes_up += sum(len(f) for f in frames)
            message = self._accept(identity, frames, kind)
            if message is not None and message["client"] in waiting:
                got[message["client"]] = message
                if kind == "hello" and not waiting:
                    break
        for i in waiting:
            client = self.clients[i]
            if i not in got and not client.failed and client.state != "dropped":
                client.drop(f"round {self.round}: no {kind} within "
                            f"{self.spec['round_timeout']:g} s")
        return got

    def _accept(self, identity: bytes, frames: list[bytes], kind: str) -> dict[str, Any] | None:
        """A checked message, or None (the reason is kept on the client it claims to be)."""
        from workbench.fl.wire import decode

        client = self._sender(identity)
        if client is None:
            return None  # not one of ours: nothing to attribute it to
        try:
            header, tensors = decode(frames)
            if header.get("client") != client.id or header.get("token") != client.token:
                raise WireError("a message whose client id or token is not this client's")
            if header["type"] == "error":
                client.fail(f"{header.get('exception', '')}\n{header.get('traceback', '')}")
                return None
            if header["type"] == "hello":
                client.ready, client.state = True, "idle"
                return {"client": client.id} if kind == "hello" else None
            if header.get("round") != self.round or header["type"] != kind:
                return None  # an answer to an earlier round, late: not an error
            if kind == "update":
                self._check_update(header, tensors)
            return {**header, "tensors": tensors, "client": client.id,
                    "received": time.perf_counter()}
        except (WireError, KeyError, TypeError, ValueError) as err:
            client.drop(f"round {self.round}: malformed {kind} ({err})")
            return None

    def _check_update(self, header: dict[str, Any], tensors: dict[str, Any]) -> None:
        import torch

        from workbench.fl.wire import check

        if self.spec["secure"]:
            n = sum(self.model.weights[name].numel() for name in self.model.floats)
            check(tensors, {"masked": ("int32", (n,))})
        else:
            check(tensors, self.signature)
            bad = [n for n in self.model.floats if not torch.isfinite(tensors[n]).all()]
            if bad:
                raise WireError(f"non-finite values in {bad[:3]}")
        for field in ("seconds", "cpu_seconds", "train_loss", "local_accuracy"):
            value = header.get(field)  # JSON has no NaN: a missing figure comes as null
            if value is None:
                header[field] = math.nan
            elif isinstance(value, bool) or not isinstance(value, int | float):
                raise WireError(f"header field {field!r} is {value!r}, not a number")

    def _sender(self, identity: bytes) -> LocalClient | None:
        name = identity.decode("ascii", "replace")
        if not name.startswith("client-") or not name[7:].isdigit():
            return None
        return self.clients.get(int(name[7:]))

    # -- combining ---------------------------------------------------------------------------

    def _weight(self, rows: int, total: int, count: int) -> float:
        """A client's share of the average: its share of the rows, or 1/count under
        client-level DP (whose noise is calibrated to a uniform mean)."""
        if self.accountant is not None and self.accountant.dp.level == "client":
            return 1.0 / count
        return rows / total

    def _combine(self, updates: dict[int, dict[str, Any]]) -> dict[str, torch.Tensor]:
        """The round's averaged delta (secure: the unmasked sum of pre-weighted deltas), with
        client-level DP's noise; the completed clients' figures recorded."""
        import torch

        from workbench.fl.privacy import clip_update
        from workbench.fl.secure import unmask_sum

        weights, floats = self.model.weights, self.model.floats
        dp = self.accountant.dp if self.accountant is not None else None
        client_dp = dp is not None and dp.level == "client"
        if self.spec["secure"]:
            flat = torch.from_numpy(unmask_sum([u["tensors"]["masked"].numpy().view("uint32")
                                                for u in updates.values()]))
            delta, offset = {}, 0
            for name in floats:
                n = weights[name].numel()
                delta[name] = flat[offset:offset + n].reshape(weights[name].shape).to(
                    weights[name].dtype)
                offset += n
            delta = self.model.with_counters(delta, {i: {} for i in updates})
        else:
            total = sum(self.clients[i].rows for i in updates)
            tensors = {i: clip_update(u["tensors"], dp.clip) if client_dp else u["tensors"]
                       for i, u in updates.items()}  # clipped again: enforce what clients do
            shares = {i: self._weight(self.clients[i].rows, total, len(updates))
                      for i in updates}
            delta = self.model.mean_delta(tensors, shares)
        if client_dp:
            std = self.accountant.noise * dp.clip / len(updates)
            for name in floats:
                delta[name] += torch.normal(0.0, std, size=delta[name].shape,
                                            generator=self.noise).to(delta[name].dtype)
        for i, update in updates.items():
            self.clients[i].complete(update, update["round_trip"])
        return delta

    # -- reporting ---------------------------------------------------------------------------

    def _log_client(self, client: LocalClient) -> None:
        self.run.log(step=self.round, **client.record())


def model_path(run_dir: str | Path) -> Path:
    """Where the aggregator saves the global model (a state dict, for ``weights_only`` loads)."""
    return Path(run_dir) / MODEL_FILE
