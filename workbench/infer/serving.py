"""`serve`: a model behind an HTTP endpoint with dynamic batching, from the notebook's process.

``ep = wb.infer.serve(model, example=x)``; ``ep.url``; ``ep.predict(x)``; ``ep.stats()``;
``ep.stop()``. Starlette on uvicorn, in a daemon thread with its own event loop: the engine
loaded in the notebook is the one served (no second process, no model rebuilt elsewhere), and
requests are batched by `workbench.infer.batching`. ``POST /predict`` takes JSON or raw bodies
(`workbench.infer.wire`), ``GET /health`` and ``GET /metrics`` (Prometheus) report on it.

Why Starlette + uvicorn and not LitServe 0.2.19: on a 2-core CPU, the 512-1024-1024-10 MLP on
ONNX Runtime, batches of up to 32 within 5 ms on both, 32 clients sending one-row JSON requests:
this served 2,500-2,780 requests/s at p99 26 ms (mean batch 28-30), LitServe 460-480 at p99
123-129 ms; at 400 offered/s (Poisson) p99 20 ms here, 2.4 s there (saturated). LitServe runs
its API server and workers as separate processes (the model rebuilt in each from
`LitAPI.setup`, not the notebook's engine) and took 2.3 s to start; this starts in 0.1 s.

Safety: bound to 127.0.0.1 by default. On any other interface a token is required on every
route (``Authorization: Bearer <token>``); one is generated when none is given (``ep.token``).
Bodies over ``max_body_mb`` get 413 before they are read. Every endpoint is listed in the
endpoint registry (`wb.endpoints()`, the sidebar), polls it for a stop request, feeds its
error rate and p99 to `wb.ops` rules (alerts to ``on_alert``, ``wb.ops.serve_metrics``), and is
stopped at interpreter exit.
"""

from __future__ import annotations

import atexit
import contextlib
import hmac
import ipaddress
import itertools
import secrets
import socket
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import numpy as np

from workbench.infer import registry, wire
from workbench.infer.batching import Batcher
from workbench.infer.errors import InferError
from workbench.infer.wire import RAW, WireError

if TYPE_CHECKING:
    import pandas as pd
    from starlette.requests import Request
    from starlette.responses import Response

    from workbench.ops import Alert, Rule

LOG_ROWS = 200_000  # request rows kept for stats() (about 20 MB); older ones are dropped
WINDOW_S = 10.0  # the span of the live figures: requests/s, p99, error rate
STATS_COLUMNS = ["time", "status", "rows", "batch_size", "decode_ms", "queue_ms", "model_ms",
                 "encode_ms", "total_ms"]
_BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
_live: set[Endpoint] = set()
_live_lock = threading.Lock()


def default_rules(error_rate_target: float = 0.01,
                  p99_target_ms: float | None = None) -> list[Rule]:
    """An endpoint's built-in rules over its figures of the last 10 s: the share of requests
    answered 5xx above `error_rate_target` for 30 s (critical), and, when a target is given,
    the p99 latency above `p99_target_ms` for 30 s."""
    from workbench.ops import Rule

    rules = [Rule("error_rate", "error_rate", ">", threshold=float(error_rate_target),
                  for_=30.0, severity="critical")]
    if p99_target_ms is not None:
        rules.append(Rule("p99_latency", "p99_ms", ">", threshold=float(p99_target_ms),
                          for_=30.0))
    return rules


class _Recorder:
    """The request log, the batch log and the Prometheus metrics of one endpoint."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Histogram

        self.lock = threading.Lock()
        self.requests: deque[tuple] = deque(maxlen=LOG_ROWS)
        self.batches: deque[tuple[float, int, float, float]] = deque(maxlen=LOG_ROWS)
        self.count = 0
        self.errors = 0
        self.registry = CollectorRegistry(auto_describe=True)
        self.by_code = Counter("workbench_endpoint_requests", "Requests answered, by status",
                               ["code"], registry=self.registry)
        self.latency = Histogram("workbench_endpoint_request_seconds", "Time in the server "
                                 "per request, from its first byte to its answer",
                                 registry=self.registry)
        self.batch_size = Histogram("workbench_endpoint_batch_size", "Rows per model call",
                                    buckets=_BATCH_BUCKETS, registry=self.registry)
        self.queue = Histogram("workbench_endpoint_queue_seconds", "Time requests waited for "
                               "their batch", registry=self.registry)
        self.model = Histogram("workbench_endpoint_model_seconds", "Time per model call",
                               registry=self.registry)

    def request(self, status: int, rows: int, batch: int, parts: dict[str, float],
                total_s: float) -> None:
        """Log one answered request (parts: decode, queue, model, encode seconds)."""
        row = (time.time(), status, rows, batch, *(parts.get(p, 0.0) * 1e3 for p in
                                                     ("decode", "queue", "model", "encode")),
               total_s * 1e3)
        with self.lock:
            self.requests.append(row)
            self.count += 1
            self.errors += status >= 500
        self.by_code.labels(str(status)).inc()
        self.latency.observe(total_s)
        if "queue" in parts:
            self.queue.observe(parts["queue"])

    def batch(self, rows: int, queue_s: float, model_s: float) -> None:
        """Log one model call: its rows, the wait of its oldest request and its time."""
        with self.lock:
            self.batches.append((time.time(), rows, queue_s * 1e3, model_s * 1e3))
        self.batch_size.observe(rows)
        self.model.observe(model_s)

    def window(self, now: float, since: float) -> dict[str, Any]:
        """The live figures over the last `WINDOW_S` seconds (or since `since`, if later)."""
        with self.lock:  # newest first, up to the first row older than the window
            recent = list(itertools.takewhile(lambda row: row[0] >= now - WINDOW_S,
                                              reversed(self.requests)))
            count, errors = self.count, self.errors
        span = max(min(WINDOW_S, now - since), 1e-3)
        totals = np.array([row[-1] for row in recent])
        failed = sum(row[1] >= 500 for row in recent)
        return {"requests_per_s": len(recent) / span,
                "p99_ms": float(np.quantile(totals, 0.99)) if len(recent) else None,
                "error_rate": failed / len(recent) if recent else 0.0,
                "errors": errors, "requests": count}

    def frame(self) -> pd.DataFrame:
        """The request log as a table (`STATS_COLUMNS`), time as UTC timestamps."""
        import pandas as pd

        with self.lock:
            rows = list(self.requests)
        table = pd.DataFrame(rows, columns=STATS_COLUMNS)
        table["time"] = pd.to_datetime(table["time"], unit="s", utc=True)
        return table

    def batch_frame(self) -> pd.DataFrame:
        """The batch log: time, rows, queue_ms (its oldest request's wait), model_ms."""
        import pandas as pd

        with self.lock:
            rows = list(self.batches)
        table = pd.DataFrame(rows, columns=["time", "rows", "queue_ms", "model_ms"])
        table["time"] = pd.to_datetime(table["time"], unit="s", utc=True)
        return table


class _Refused(Exception):
    """A request answered with a 4xx status before it reaches the batch."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class _Service:
    """The HTTP routes over one engine and its batcher (see the module)."""

    def __init__(self, eng: Any, batcher: Batcher, recorder: _Recorder, max_body: int,
                 token: str | None) -> None:
        self.eng = eng
        self.batcher = batcher
        self.recorder = recorder
        self.max_body = max_body
        self.token = None if token is None else f"Bearer {token}".encode()
        inputs = eng.signature.inputs if getattr(eng, "signature", None) is not None else []
        self.dtype = inputs[0].dtype if inputs else None
        self.signature = [{"name": s.name, "shape": list(s.shape), "dtype": str(s.dtype)}
                          for s in inputs] or None

    def app(self) -> Any:
        """The Starlette application, token-checked when a token is set."""
        from starlette.applications import Starlette
        from starlette.routing import Route

        app = Starlette(routes=[Route("/predict", self.predict, methods=["POST"]),
                                Route("/health", self.health, methods=["GET"]),
                                Route("/metrics", self.metrics, methods=["GET"])],
                        lifespan=self.lifespan)
        return app if self.token is None else _Auth(app, self.token, self.recorder)

    @contextlib.asynccontextmanager
    async def lifespan(self, app: Any) -> AsyncIterator[None]:
        """Start the batcher with the server's loop, close it when the server stops."""
        self.batcher.start()
        yield
        await self.batcher.close()

    async def predict(self, request: Request) -> Response:
        """``POST /predict``: decode, check, batch, encode; Server-Timing says where the time
        went."""
        from starlette.responses import Response

        start = time.perf_counter()
        raw = request.headers.get("content-type", "").startswith(RAW)
        try:
            x = self._decode(await self._body(request), request, raw)
        except _Refused as err:
            return self._refuse(err, start)
        decoded = time.perf_counter()
        try:
            done = await self.batcher.submit(x)
        except Exception as err:  # the model failed on this request's batch
            return self._refuse(_Refused(500, f"the model failed on this batch: "
                                              f"{type(err).__name__}: {err}"), start)
        answered = time.perf_counter()
        if raw:
            body, headers = wire.encode_raw(done.output)
        else:
            body, headers = wire.encode_json(done.output), {}
        end = time.perf_counter()
        parts = {"decode": decoded - start, "queue": done.queue_s, "model": done.model_s,
                 "encode": end - answered}
        headers["Server-Timing"] = wire.server_timing(parts)
        self.recorder.request(200, len(x), done.batch_size, parts, end - start)
        return Response(body, media_type=RAW if raw else "application/json", headers=headers)

    async def _body(self, request: Request) -> bytes:
        """The body, refused with 413 once it is known to be over the limit (its declared
        length before reading, then its streamed size)."""
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body:
            raise _Refused(413, f"the body ({int(declared)} bytes) is over this endpoint's "
                                f"limit of {self.max_body} bytes (max_body_mb)")
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > self.max_body:
                raise _Refused(413, f"the body is over this endpoint's limit of "
                                    f"{self.max_body} bytes (max_body_mb)")
            chunks.append(chunk)
        return b"".join(chunks)

    def _decode(self, body: bytes, request: Request, raw: bool) -> np.ndarray:
        """The request's array, checked against the engine's signature; 400 when it is not
        one or does not fit."""
        try:
            x = wire.decode_raw(body, request.headers.get("x-shape"), request.headers.get(
                "x-dtype")) if raw else wire.decode_json(body, self.dtype)
            self.eng.check(x)
        except (WireError, InferError) as err:
            raise _Refused(400, str(err)) from err
        if x.ndim == 0 or len(x) == 0:
            raise _Refused(400, f"no rows to run: the input's shape is {list(x.shape)}; send "
                                "at least one row, batch first")
        return x

    def _refuse(self, err: _Refused, start: float) -> Response:
        """Log a refused request and answer it ``{"message": ...}`` with its status."""
        from starlette.responses import JSONResponse

        self.recorder.request(err.status, 0, 0, {}, time.perf_counter() - start)
        return JSONResponse({"message": err.message}, status_code=err.status)

    async def health(self, request: Request) -> Response:
        """``GET /health``: that it serves, and what."""
        from starlette.responses import JSONResponse

        return JSONResponse({"status": "ok", "engine": self.eng.name, "model": self.eng.model,
                             "signature": self.signature})

    async def metrics(self, request: Request) -> Response:
        """``GET /metrics``: this endpoint's metrics in Prometheus' text format."""
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
        from starlette.responses import Response

        return Response(generate_latest(self.recorder.registry),
                        headers={"Content-Type": CONTENT_TYPE_LATEST})


class _Auth:
    """ASGI middleware: every HTTP request needs ``Authorization: Bearer <token>`` (compared
    in constant time), else 401."""

    def __init__(self, app: Any, expected: bytes, recorder: _Recorder) -> None:
        self.app = app
        self.expected = expected
        self.recorder = recorder

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            given = dict(scope["headers"]).get(b"authorization", b"")
            if not hmac.compare_digest(given, self.expected):
                from starlette.responses import JSONResponse

                self.recorder.request(401, 0, 0, {}, 0.0)
                answer = JSONResponse({"message": "this endpoint needs its token: send "
                                       "'Authorization: Bearer <token>' (ep.token)"},
                                      status_code=401, headers={"WWW-Authenticate": "Bearer"})
                await answer(scope, receive, send)
                return
        await self.app(scope, receive, send)


class Endpoint:
    """A served model: `url` (through the Jupyter server when one proxies), `local_url`,
    `token`, `engine`, `model`, `port`, `id`; `predict`, `stats`, `batches`, `stop`."""

    def __init__(self, eng: Any, sock: socket.socket, *, host: str, token: str | None,
                 max_batch: int, max_delay_ms: float, max_body_mb: float, rules: list[Rule],
                 on_alert: Any, name: str | None) -> None:
        import uvicorn

        from workbench.proxy import jupyter_base

        self.id = uuid.uuid4().hex[:12]
        self.name = name or f"{eng.model}-{eng.name}"
        self.engine, self.model, self.host, self.token = eng.name, eng.model, host, token
        self.max_batch, self.max_delay_ms = max_batch, max_delay_ms
        self.port: int = sock.getsockname()[1]
        self.local_url = f"http://127.0.0.1:{self.port}"
        base = jupyter_base()
        self.url = f"{base}proxy/{self.port}" if base else self.local_url
        self.created = time.time()
        self._recorder = _Recorder()
        batcher = Batcher(eng.run, max_batch, max_delay_ms / 1e3, self._recorder.batch)
        service = _Service(eng, batcher, self._recorder, int(max_body_mb * 2**20), token)
        config = uvicorn.Config(service.app(), log_level="warning", access_log=False,
                                lifespan="on", ws="none", timeout_graceful_shutdown=2,
                                timeout_keep_alive=30)
        self._server = uvicorn.Server(config)
        self._sock = sock
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]},
                                        name=f"workbench-endpoint-{self.id}", daemon=True)
        self._alerts = _EndpointAlerts(self.id, rules, on_alert)
        self._stopping = threading.Event()
        self._stop_lock = threading.Lock()
        self._stopped = False
        self._finished = threading.Event()
        self._monitor = threading.Thread(target=self._watch, daemon=True,
                                         name=f"workbench-endpoint-monitor-{self.id}")

    def _start(self, timeout: float = 30.0) -> None:
        """Start serving; return once uvicorn listens (or raise why it did not)."""
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self._server.should_exit = True
                self._sock.close()
                self._alerts.finish(0.0)
                raise InferError(f"the endpoint on port {self.port} did not start within "
                                 f"{timeout:.0f} s; see the errors printed above")
            time.sleep(0.005)
        registry.register(self._entry("serving", self._recorder.window(time.time(),
                                                                      self.created)))
        with _live_lock:
            _live.add(self)
        self._monitor.start()

    def _entry(self, status: str, figures: dict[str, Any]) -> dict[str, Any]:
        """The registry entry: `registry.COLUMNS`, the owner's pid_created, firing alerts."""
        from workbench.compute.registry import owner_fields

        return {"id": self.id, "url": self.url, "engine": self.engine, "model": self.model,
                "status": status, "requests_per_s": figures["requests_per_s"],
                "p99_ms": figures["p99_ms"], "errors": figures["errors"],
                "requests": figures["requests"], "max_batch": self.max_batch,
                "max_delay_ms": self.max_delay_ms, "host": self.host, "port": self.port,
                "created": self.created, "name": self.name, "local_url": self.local_url,
                "alerts": self._alerts.firing(), **owner_fields()}

    def _watch(self) -> None:
        """About once a second: the live figures to the registry and the alert rules; stop
        when the registry asks."""
        stop_file = registry.stop_path(self.id)
        while not self._stopping.wait(1.0):
            now = time.time()
            figures = self._recorder.window(now, self.created)
            self._alerts.feed(now, figures)
            if stop_file.exists():
                registry.register(self._entry("stopping", figures))
                self.stop()
                return
            registry.register(self._entry("serving", figures))

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving within `timeout` s: in-flight requests get up to 2 s to finish, the
        port is free on return, the registry entry is gone; twice is harmless."""
        with self._stop_lock:
            if self._stopped:
                return
            self._stopped = True
        deadline = time.monotonic() + timeout
        self._stopping.set()
        self._server.should_exit = True
        self._thread.join(max(deadline - time.monotonic() - 0.5, 0.1))
        if self._thread.is_alive():  # connections that outstayed the grace: cut them
            self._server.force_exit = True
            self._thread.join(max(deadline - time.monotonic() - 0.2, 0.1))
        self._sock.close()
        if threading.current_thread() is not self._monitor and self._monitor.is_alive():
            self._monitor.join(max(deadline - time.monotonic(), 0.1))
        self._alerts.finish(max(deadline - time.monotonic(), 0.0))
        registry.unregister(self.id)
        with _live_lock:
            _live.discard(self)
        self._finished.set()

    @property
    def running(self) -> bool:
        """Whether the endpoint serves: false once `stop` has returned (or failed to start)."""
        return self._thread.is_alive() and not self._finished.is_set()

    def predict(self, x: Any, timeout: float = 30.0) -> np.ndarray:
        """Send `x` (rows first) to this endpoint over HTTP as a raw body; its output."""
        import httpx

        x = np.asarray(x)
        body, headers = wire.encode_raw(x)
        headers["Content-Type"] = RAW
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        answer = httpx.post(f"{self.local_url}/predict", content=body, headers=headers,
                            timeout=timeout)
        if answer.status_code != 200:
            raise InferError(f"the endpoint answered {answer.status_code}: "
                             f"{answer.json().get('message', answer.text)}")
        return wire.decode_raw(answer.content, answer.headers.get("x-shape"),
                          answer.headers.get("x-dtype"))

    def stats(self) -> pd.DataFrame:
        """One row per request answered (the last `LOG_ROWS`): time, status, rows,
        batch_size, decode_ms, queue_ms, model_ms, encode_ms, total_ms."""
        return self._recorder.frame()

    def batches(self) -> pd.DataFrame:
        """One row per model call: time, rows, queue_ms of its oldest request, model_ms."""
        return self._recorder.batch_frame()

    def alerts(self) -> pd.DataFrame:
        """Every alert that fired on this endpoint (`wb.ops.Watch.frame`)."""
        return self._alerts.frame()

    def summary(self) -> dict[str, Any]:
        """The live figures of the last 10 s: requests_per_s, p99_ms, error_rate, errors and
        requests so far."""
        return self._recorder.window(time.time(), self.created)

    def __enter__(self) -> Endpoint:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        figures = self.summary()
        p99 = "-" if figures["p99_ms"] is None else f"{figures['p99_ms']:.1f} ms"
        state = "serving" if self.running else "stopped"
        return (f"Endpoint({self.url!r}, engine={self.engine!r}, model={self.model!r}, "
                f"{state}, requests={figures['requests']}, p99={p99})")

    def _repr_html_(self) -> str:
        """A small table for the notebook: URL, engine, model, status, requests, p99."""
        import html

        figures = self.summary()
        p99 = "-" if figures["p99_ms"] is None else f"{figures['p99_ms']:.1f} ms"
        cells = {"URL": self.url, "engine": self.engine, "model": self.model,
                 "status": "serving" if self.running else "stopped",
                 "requests": f"{figures['requests']:,}",
                 "requests/s": f"{figures['requests_per_s']:.1f}", "p99 (10 s)": p99}
        rows = "".join(f"<tr><th style='text-align:left'>{html.escape(k)}</th>"
                       f"<td style='text-align:left'>{html.escape(str(v))}</td></tr>"
                       for k, v in cells.items())
        return f"<table><caption>Endpoint {html.escape(self.name)}</caption>{rows}</table>"


class _EndpointAlerts:
    """An endpoint's rules over its figures (one record a second) and where their alerts go;
    registered with `workbench.ops.live` (a `WatchedRun`) so `wb.ops.serve_metrics` exports
    it."""

    def __init__(self, run_id: str, rules: list[Rule], on_alert: Any) -> None:
        from workbench.ops import Watch, live

        self.run_id = run_id
        self.watch = Watch(rules)
        self.receivers = [] if on_alert is None else _receivers(on_alert)
        self.delivery_failures = 0
        self._lock = threading.Lock()
        self._latest: dict[str, Any] = {}
        live.register(self)

    def feed(self, now: float, figures: dict[str, Any]) -> None:
        """Judge one record of the figures and the clock; deliver what fired or resolved."""
        record = {k: v for k, v in figures.items() if v is not None}
        with self._lock:
            self._latest = {**record, "time": now}
            changes = self.watch.feed([{**record, "run": self.run_id, "rank": 0, "time": now}])
            changes += self.watch.check(now)
        for alert in changes:
            for receiver in self.receivers:
                try:
                    receiver(alert)
                except Exception as err:  # the receiver's failure is counted, not the endpoint's
                    self.delivery_failures += 1
                    print(f"workbench: on_alert {getattr(receiver, '__name__', receiver)!r} "
                          f"failed for {alert.rule} on endpoint {self.run_id}: {err}",
                          file=sys.stderr)

    def firing(self) -> list[str]:
        """The names of the rules firing now."""
        return sorted(a.rule for a in self.current_alerts() if a.state == "firing")

    def latest(self) -> dict[int, dict[str, Any]]:
        """The last record, as rank 0's."""
        with self._lock:
            return {0: dict(self._latest)} if self._latest else {}

    def current_alerts(self) -> list[Alert]:
        """The alerts pending or firing now."""
        with self._lock:
            return self.watch.open()

    def frame(self) -> pd.DataFrame:
        """Every alert that fired, latest state."""
        with self._lock:
            return self.watch.frame()

    def finish(self, timeout: float) -> None:
        """Stop being exported; let webhooks deliver what they hold, for up to `timeout` s."""
        from workbench.ops import live

        live.unregister(self)
        for receiver in self.receivers:
            if hasattr(receiver, "flush"):
                receiver.flush(timeout)


def _receivers(on_alert: Any) -> list[Any]:
    """`on_alert` as receivers, as a training run takes them (callables, webhook URLs)."""
    from workbench.train.alerting import callbacks

    return callbacks(on_alert)


def _load_engine(model: Any, engine: str, example: Any) -> Any:
    """`model` itself when it is a loaded engine (it has run and check), else loaded on
    `engine` (`workbench.infer.engines`) with ONNX Runtime's threads not spinning between
    calls: spinning threads took the cores the HTTP loop needs (measured on the 512-1024-1024
    MLP on 2 cores: capacity 2,478 against 2,234 requests/s, p99 at 80% 367 against 1,009
    ms)."""
    if callable(getattr(model, "run", None)) and callable(getattr(model, "check", None)):
        return model
    from workbench.infer.engines import ENGINES
    from workbench.infer.engines import engine as load

    if engine in ENGINES and ENGINES[engine].onnx and not ENGINES[engine].gpu:
        return load(model, engine, example=example, spin=False)
    return load(model, engine, example=example)


def _bind(host: str, port: int) -> socket.socket:
    """A listening socket on host:port (0: any free port), as uvicorn would make it."""
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise InferError(f"serve(port={port!r}): give a TCP port from 1 to 65535, or 0 for "
                         "any free one")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as err:
        sock.close()
        raise InferError(f"serve(host={host!r}, port={port}): cannot listen there "
                         f"({err.strerror or err}); give a free port, or port=0") from err
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _loopback(host: str) -> bool:
    """Whether `host` is reachable from this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name: it may resolve anywhere


def _check(max_batch: Any, max_delay_ms: Any, max_body_mb: Any) -> None:
    """Refuse batching and size settings that cannot work, naming the argument."""
    if isinstance(max_batch, bool) or not isinstance(max_batch, int) or max_batch < 1:
        raise InferError(f"serve(max_batch={max_batch!r}): give a whole number of rows, >= 1")
    for argument, value in (("max_delay_ms", max_delay_ms), ("max_body_mb", max_body_mb)):
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0 or \
                (argument == "max_body_mb" and value == 0):
            raise InferError(f"serve({argument}={value!r}): give a positive number")


def serve(model_or_exported: Any, engine: str = "onnxruntime", *, example: Any = None,
          max_batch: int = 32, max_delay_ms: float = 5.0, host: str = "127.0.0.1",
          port: int = 0, token: str | None = None, max_body_mb: float = 64.0,
          p99_target_ms: float | None = None, error_rate_target: float = 0.01,
          alerts: Any = "default", on_alert: Any = None, name: str | None = None) -> Endpoint:
    """Serve a model (or `wb.infer.export`'s result, or a loaded engine) on `engine` over
    HTTP with dynamic batching (see the module); the running `Endpoint`. `alerts`: "default"
    (`default_rules` with the targets), a list of `wb.ops.Rule`s or their names, or None."""
    from workbench.ops.rules import rules_from

    _check(max_batch, max_delay_ms, max_body_mb)
    rules = rules_from(alerts, default_rules(error_rate_target, p99_target_ms))
    if token is None and not _loopback(host):
        token = secrets.token_urlsafe(32)  # never an open endpoint beyond this machine
    eng = _load_engine(model_or_exported, engine, example)
    endpoint = Endpoint(eng, _bind(host, port), host=host, token=token, max_batch=max_batch,
                        max_delay_ms=float(max_delay_ms), max_body_mb=float(max_body_mb),
                        rules=rules, on_alert=on_alert, name=name)
    endpoint._start()
    return endpoint


def stop_all() -> None:
    """Stop every endpoint of this process (at interpreter exit, so no thread outlives it)."""
    with _live_lock:
        running = list(_live)
    for endpoint in running:
        endpoint.stop()


atexit.register(stop_all)
