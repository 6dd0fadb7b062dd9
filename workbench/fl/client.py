"""One federated client: a process the aggregator starts (``python -m workbench.fl.client``).

Its code (``model_fn``, ``train_fn``, ``loss``, pickled by value in the notebook) and its
settings come from its parent over its stdin pipe, as `wb.launch` sends a rank its function;
nothing that arrives over the network is unpickled. It opens one data file, its own partition,
then talks to the aggregator over a ZeroMQ DEALER socket in `workbench.fl.wire`'s messages:

- ``keys`` (secure rounds): a fresh X25519 key pair; the public half goes back;
- ``train``: load the global weights, evaluate them on its rows, train (the default loop, the
  user's ``train_fn``, or DP-SGD with Opacus), and send back the delta to the global weights
  (clipped for client-level DP; weighted and masked for secure aggregation);
- ``stop``: exit.

A failure is sent as an ``error`` message with the traceback, also written to
``run_dir/error-client{i}.json``, and the process exits 1. Like a rank, a client kills itself
(and its process group) when its parent, the aggregator, is gone.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
import warnings
from pathlib import Path
from typing import Any

ENV_CLIENT = "WORKBENCH_FL_CLIENT"  # the client's id, for model_fn/train_fn that need it


def error_path(run_dir: str | Path, client: int) -> Path:
    return Path(run_dir) / f"error-client{client}.json"


class Client:
    """The client's state between messages: its rows, model and socket."""

    def __init__(self, spec: dict[str, Any], code: bytes) -> None:
        import cloudpickle
        import pandas as pd
        import zmq

        from workbench.fl.data import tensors

        self.spec = spec
        self.id: int = spec["client"]
        self.socket = zmq.Context.instance().socket(zmq.DEALER)
        self.socket.setsockopt(zmq.IDENTITY, f"client-{self.id}".encode())
        self.socket.setsockopt(zmq.LINGER, 2000)
        self.socket.connect(spec["address"])
        self.model_fn, self.train_fn, loss = cloudpickle.loads(code)
        with open(spec["path"], "rb") as file:  # the one partition this client may read
            frame = pd.read_parquet(file)
        self.task = spec["task"]
        self.x, self.y = tensors(frame, self.task)
        self.classification = self.task.classes is not None
        from workbench.fl.local import default_loss

        self.loss = loss or default_loss(self.classification)
        self.model = self.model_fn()
        self._key: Any = None
        self._warm_up()

    def _warm_up(self) -> None:
        """One SGD step on a copy of the model, before saying hello: torch's first backward
        and optimiser step load a second of lazy modules, which belongs to startup, not to the
        first round."""
        import copy

        import torch

        if self.spec["dp"] is not None and self.spec["dp"].level == "sample":
            import opacus  # noqa: F401 (a second of imports, out of the first round)
        model = copy.deepcopy(self.model)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.0)
        self.loss(model(self.x[:2]), self.y[:2]).backward()
        optimizer.step()

    def send(self, header: dict[str, Any], tensors: dict[str, Any] | None = None) -> None:
        from workbench.fl.wire import encode

        header = {**header, "client": self.id, "token": self.spec["token"]}
        self.socket.send_multipart(encode(header, tensors))

    def serve(self) -> int:
        from workbench.fl.wire import decode

        self.send({"type": "hello", "pid": os.getpid(), "rows": len(self.x)})
        while True:
            header, tensors = decode(self.socket.recv_multipart())
            kind = header["type"]
            if kind == "stop":
                return 0
            if kind == "keys":
                from workbench.fl.secure import new_key

                self._key, public = new_key()
                self.send({"type": "key", "round": header["round"], "public_key": public})
            elif kind == "train":
                self.train(header, tensors)

    def train(self, header: dict[str, Any], weights: dict[str, Any]) -> None:
        from workbench.fl.local import client_round

        dp = self.spec["dp"]
        model = self.model if dp is None or dp.level != "sample" \
            else self.model_fn()  # Opacus hooks a model: a fresh one each round
        delta, figures = client_round(
            model, self.x, self.y, weights, {**header["config"], "round": header["round"]},
            self._fit, seed=self.spec["seed"], client=self.id, loss=self.loss,
            classification=self.classification)
        if dp is not None and dp.level == "client":
            from workbench.fl.privacy import clip_update

            delta = clip_update(delta, dp.clip)
        out = self._secure(delta, header) if self.spec["secure"] else delta
        self.send({"type": "update", "round": header["round"], "rows": len(self.x),
                   **figures}, out)

    def _fit(self, model: Any, loader: Any, config: dict[str, Any]) -> dict[str, Any]:
        import torch

        from workbench.fl.local import train

        dp = self.spec["dp"]
        if dp is not None and dp.level == "sample":
            from opacus import PrivacyEngine

            with warnings.catch_warnings():
                # Said once in the docs rather than every round in the notebook: Opacus' noise
                # comes from torch's generator, not a CSPRNG (secure_mode needs torchcsprng),
                # and its per-sample hooks trip torch's full-backward-hook notice.
                warnings.filterwarnings("ignore", message="Secure RNG turned off")
                warnings.filterwarnings("ignore", message="Full backward hook is firing")
                engine = PrivacyEngine(accountant="rdp")
                private, optimizer, loader = engine.make_private(
                    module=model, optimizer=torch.optim.SGD(model.parameters(), lr=config["lr"]),
                    data_loader=loader, noise_multiplier=self.spec["noise"],
                    max_grad_norm=dp.clip)
                return train(private, loader, config, self.loss, optimizer=optimizer)
        if self.train_fn is not None:
            return self.train_fn(model, loader, config)
        return train(model, loader, config, self.loss)

    def _secure(self, delta: dict[str, Any], header: dict[str, Any]) -> dict[str, Any]:
        """The weighted float delta as one fixed-point vector under this client's masks."""
        import torch

        from workbench.fl.secure import mask

        names = [n for n in sorted(delta) if torch.is_floating_point(delta[n])]
        flat = torch.cat([delta[n].reshape(-1).double() for n in names]) * header["weight"]
        peers = {int(k): v for k, v in header["peers"].items()}
        masked = mask(flat.numpy(), self.id, self._key, peers, header["round"])
        self._key = None  # one round, one key
        return {"masked": torch.from_numpy(masked.view("int32").copy())}


def main() -> int:
    """Read this client's payload from stdin, then serve the aggregator until told to stop."""
    import cloudpickle

    from workbench.train.runtime import watch_parent

    watch_parent()
    spec, code = cloudpickle.loads(sys.stdin.buffer.read())  # from the parent: trusted
    for entry in spec["sys_path"]:
        if entry not in sys.path:
            sys.path.append(entry)
    import torch

    torch.set_num_threads(spec["threads"])
    client: Client | None = None
    try:
        client = Client(spec, code)
        return client.serve()
    except BaseException as err:
        report = {"client": spec["client"], "pid": os.getpid(), "time": time.time(),
                  "exception": f"{type(err).__name__}: {err}", "traceback": traceback.format_exc()}
        error_path(spec["run_dir"], spec["client"]).write_text(json.dumps(report))
        if client is not None:
            client.send({"type": "error", "exception": report["exception"],
                         "traceback": report["traceback"]})
        sys.stderr.write(report["traceback"])
        return 1


if __name__ == "__main__":
    sys.exit(main())
