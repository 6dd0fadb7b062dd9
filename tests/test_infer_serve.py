"""wb.infer.serve: real endpoints on loopback, the demo model on ONNX Runtime. Results equal to
direct engine calls, batches formed under concurrency, 200 simultaneous requests each answered
with its own output, every bad input refused without disturbing a request in flight, the token
off loopback, stop within 5 s with the port free, the registry, /metrics, /health, the proxied
URL, an error-rate alert, and the open-loop load generator."""

from __future__ import annotations

import asyncio
import socket
import time

import httpx
import numpy as np
import orjson
import pytest
import torch
from prometheus_client.parser import text_string_to_metric_families

from workbench.infer import registry
from workbench.infer.serving import serve
from workbench.proxy import BASE_ENV

RAW = "application/octet-stream"


@pytest.fixture(scope="module")
def eng(tmp_path_factory):
    """The demo classifier (4 inputs -> 5 classes) on ONNX Runtime, exported once."""
    from workbench.infer.engines import engine
    from workbench.infer.exporter import export
    from workbench.models import DemoClassifier

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("export") / "demo.onnx"
    return engine(export(DemoClassifier(), torch.randn(8, 4), path=path), "onnxruntime")


def rows(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, 4)).astype("float32")


def raw(x: np.ndarray, **headers: str) -> dict:
    """httpx arguments for a raw body."""
    return {"content": x.astype(x.dtype.newbyteorder("<")).tobytes(),
            "headers": {"Content-Type": RAW, "X-Shape": ",".join(map(str, x.shape)),
                        "X-Dtype": x.dtype.name, **headers}}


def from_raw(answer: httpx.Response) -> np.ndarray:
    shape = tuple(int(d) for d in answer.headers["x-shape"].split(","))
    return np.frombuffer(answer.content, dtype=answer.headers["x-dtype"]).reshape(shape)


def close(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and np.allclose(a, b, rtol=1e-5, atol=1e-6)


def wait_for(predicate, timeout: float = 5.0) -> bool:
    """Whether `predicate()` became true within `timeout` s (the monitor ticks once a second)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def test_200_at_once_each_own_answer_batched(eng):
    """200 distinct one-row requests at once (half raw, half JSON), a multi-row request and one
    larger than max_batch: each answer is the engine's own output for its input, batches of
    more than one row formed, and Server-Timing splits the time."""
    inputs = [rows(1, seed) for seed in range(200)]

    async def send(client: httpx.AsyncClient, i: int) -> np.ndarray:
        if i % 2:
            answer = await client.post("/predict", **raw(inputs[i]))
            assert answer.status_code == 200, answer.text
            return from_raw(answer)
        answer = await client.post("/predict", json={"inputs": inputs[i].tolist()})
        assert answer.status_code == 200, answer.text
        assert {"decode", "queue", "model", "encode"} <= {
            part.split(";")[0].strip() for part in answer.headers["server-timing"].split(",")}
        return np.asarray(answer.json()["outputs"], dtype="float32")

    async def burst(url: str) -> list[np.ndarray]:
        limits = httpx.Limits(max_connections=200)
        async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
            return await asyncio.gather(*(send(client, i) for i in range(200)))

    with serve(eng, max_batch=32, max_delay_ms=20) as ep:
        answers = asyncio.run(burst(ep.local_url))
        for x, out in zip(inputs, answers):
            assert close(out, eng.run(x))
        many, big = rows(5, 1000), rows(40, 1001)
        assert close(ep.predict(many), eng.run(many))
        assert close(ep.predict(big), eng.run(big))  # over max_batch: run alone, not refused
        stats, batches = ep.stats(), ep.batches()
    assert len(stats) == 202 and (stats["status"] == 200).all()
    assert batches["rows"].max() > 1 and (stats["batch_size"] > 1).sum() > 100
    assert batches["rows"].sum() == 200 + 5 + 40 and 40 in set(batches["rows"])
    assert (stats[["decode_ms", "queue_ms", "model_ms", "encode_ms"]] >= 0).all().all()


async def chunks(chunk: bytes, n: int):
    """A body sent in chunks, with no Content-Length."""
    for _ in range(n):
        yield chunk


def bad_cases(eng) -> list[tuple[str, dict, int, tuple[str, ...]]]:
    """(what, httpx arguments, status, words the message must hold)."""
    return [
        ("malformed JSON", {"content": b'{"inputs": [[1, 2', "headers": {
            "Content-Type": "application/json"}}, 400, ("malformed JSON",)),
        ("no inputs", {"json": {"input": [[1, 2, 3, 4]]}}, 400, ('"inputs"',)),
        ("ragged", {"json": {"inputs": [[1, 2, 3, 4], [1, 2]]}}, 400, ("rectangular",)),
        ("strings", {"json": {"inputs": [["a", "b", "c", "d"]]}}, 400, ("numbers",)),
        ("wrong shape", {"json": {"inputs": [[1, 2, 3]]}}, 400,
         ("expected x[batch, 4] float32", "given shape [1, 3]")),
        ("wrong dtype", raw(rows(2).astype("float64")), 400, ("float32", "float64")),
        ("bad X-Shape", raw(rows(2), **{"X-Shape": "2,x"}), 400, ("X-Shape",)),
        ("bad X-Dtype", raw(rows(2), **{"X-Dtype": "object"}), 400, ("X-Dtype",)),
        ("size mismatch", raw(rows(2), **{"X-Shape": "3,4"}), 400, ("32 bytes", "48")),
        ("oversized", raw(rows(2000)), 413, ("limit",)),
        ("oversized, streamed", {"content": chunks(b"0" * 8192, 3), "headers": {
            "Content-Type": RAW, "X-Shape": "1536,4", "X-Dtype": "float32"}}, 413, ("limit",)),
    ]


def test_bad_requests_refused_and_disturb_no_request_in_flight(eng):
    """Each bad request gets its status and a message naming what was wrong, while a good
    request waiting in the queue still gets its own answer."""
    good = rows(3, 7)
    expected = eng.run(good)

    async def both(url: str, arguments: dict) -> tuple[httpx.Response, httpx.Response]:
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            waiting = asyncio.create_task(client.post("/predict", **raw(good)))
            await asyncio.sleep(0.01)  # the good request is queued (max_delay_ms=150)
            bad = await client.post("/predict", **arguments)
            return await waiting, bad

    with serve(eng, max_delay_ms=150, max_body_mb=0.02) as ep:
        for what, arguments, status, words in bad_cases(eng):
            ok, bad = asyncio.run(both(ep.local_url, arguments))
            assert bad.status_code == status, (what, bad.text)
            message = bad.json()["message"]
            assert all(word in message for word in words), (what, message)
            assert ok.status_code == 200 and close(from_raw(ok), expected), what
        stats = ep.stats()
    assert (stats["status"] >= 400).sum() == len(bad_cases(eng))


def test_token_required_off_loopback(eng):
    """Bound to every interface, the endpoint makes a token and answers 401 without it (on
    every route), while a request with it in flight is answered; a token given on loopback is
    required too."""
    with serve(eng, host="0.0.0.0", max_delay_ms=100) as ep:
        assert ep.token and len(ep.token) >= 32
        good = rows(2, 3)

        async def check() -> None:
            async with httpx.AsyncClient(base_url=ep.local_url, timeout=30) as client:
                bearer = {"Authorization": f"Bearer {ep.token}"}
                waiting = asyncio.create_task(client.post("/predict", **raw(good, **bearer)))
                await asyncio.sleep(0.01)
                for headers in ({}, {"Authorization": "Bearer wrong"},
                                {"Authorization": ep.token}):
                    answer = await client.post("/predict", **raw(good, **headers))
                    assert answer.status_code == 401 and "token" in answer.json()["message"]
                    assert (await client.get("/health", headers=headers)).status_code == 401
                ok = await waiting
                assert ok.status_code == 200 and close(from_raw(ok), eng.run(good))
                assert (await client.get("/metrics", headers=bearer)).status_code == 200

        asyncio.run(check())
        assert close(ep.predict(good), eng.run(good))
    with serve(eng, token="s3cret") as ep:
        assert httpx.get(f"{ep.local_url}/health").status_code == 401
        assert httpx.get(f"{ep.local_url}/health",
                         headers={"Authorization": "Bearer s3cret"}).status_code == 200


def test_stop_within_5s_frees_port_idempotent(eng):
    """stop() returns within 5 s with a request in flight, the port binds again afterwards,
    and a second stop does nothing."""
    ep = serve(eng, max_delay_ms=5)
    port = ep.port
    assert not port_free(port)
    with httpx.Client(base_url=ep.local_url) as client:
        assert client.post("/predict", **raw(rows(1))).status_code == 200
    started = time.monotonic()
    ep.stop()
    assert time.monotonic() - started < 5
    assert port_free(port) and not ep.running
    ep.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/health")


def test_registry_lists_and_stops_endpoint(eng):
    """The registry lists a serving endpoint with its figures, and a stop request through it
    (as the sidebar sends) stops the endpoint and removes the entry."""
    ep = serve(eng, max_batch=16, max_delay_ms=2, name="demo")
    try:
        for _ in range(5):
            ep.predict(rows(2))
        assert wait_for(lambda: [e["requests"] for e in registry.entries()] == [5])
        row = registry.endpoints().set_index("id").loc[ep.id]
        assert row["url"] == ep.url and row["engine"] == "onnxruntime"
        assert row["model"] == "DemoClassifier" and row["max_batch"] == 16
        assert row["status"] == "serving" and row["requests"] == 5 and row["p99_ms"] > 0
        assert registry.request_stop(ep.id)
        assert wait_for(lambda: not ep.running)
        assert ep.id not in set(registry.endpoints()["id"])
        assert port_free(ep.port)
    finally:
        ep.stop()


def test_metrics_and_health(eng):
    """/metrics parses as Prometheus text and counts requests by status and batch sizes;
    /health names the engine, model and signature."""
    with serve(eng) as ep:
        for _ in range(3):
            ep.predict(rows(2))
        assert httpx.post(f"{ep.local_url}/predict", json={"inputs": [[1]]}).status_code == 400
        health = httpx.get(f"{ep.local_url}/health").json()
        text = httpx.get(f"{ep.local_url}/metrics").text
    assert health == {"status": "ok", "engine": "onnxruntime", "model": "DemoClassifier",
                      "signature": [{"name": "x", "shape": [None, 4], "dtype": "float32"}]}
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in text_string_to_metric_families(text) for s in family.samples}
    assert samples["workbench_endpoint_requests_total", (("code", "200"),)] == 3
    assert samples["workbench_endpoint_requests_total", (("code", "400"),)] == 1
    assert samples["workbench_endpoint_batch_size_count", ()] == 3
    assert samples["workbench_endpoint_batch_size_sum", ()] == 6
    assert samples["workbench_endpoint_model_seconds_count", ()] == 3


def test_url_through_jupyter_server(eng, monkeypatch):
    """Behind a Jupyter server (JupyterHub, Binder) the URL goes through its proxy; the local
    URL stays on loopback."""
    monkeypatch.setenv(BASE_ENV, "/user/x/")
    with serve(eng) as ep:
        assert ep.url == f"/user/x/proxy/{ep.port}"
        assert ep.local_url == f"http://127.0.0.1:{ep.port}"
        assert ep.url in repr(ep) and ep.url in ep._repr_html_()


class FailsOnNaN:
    """The engine, failing on a batch that holds a NaN (a model error, answered 500)."""

    def __init__(self, eng) -> None:
        self.eng, self.name, self.model, self.signature = eng, eng.name, eng.model, eng.signature

    def check(self, x: np.ndarray) -> None:
        self.eng.check(x)

    def run(self, x: np.ndarray) -> np.ndarray:
        if np.isnan(x).any():
            raise RuntimeError("NaN in the batch")
        return self.eng.run(x)


def test_model_error_fails_its_batch_and_raises_error_rate_alert(eng):
    """A model error answers its batch 500 with a message; requests in other batches succeed;
    the error rate fires the endpoint's rule, delivered to on_alert, listed in the registry
    entry and exported through wb.ops.live."""
    from workbench.ops import Rule, live, serve_metrics

    fired = []
    rule = Rule("errors", "error_rate", ">", threshold=0.1, for_=0.0)
    with serve(FailsOnNaN(eng), max_delay_ms=1, alerts=[rule], on_alert=fired.append) as ep:
        assert ep._alerts in live.sources()
        for _ in range(3):
            bad = httpx.post(f"{ep.local_url}/predict", **raw(np.full((1, 4), np.nan, "f4")))
            assert bad.status_code == 500 and "NaN in the batch" in bad.json()["message"]
        assert close(ep.predict(rows(2)), eng.run(rows(2)))
        assert wait_for(lambda: fired)
        assert fired[0].rule == "errors" and fired[0].state == "firing"
        assert wait_for(lambda: [e["alerts"] for e in registry.entries()] == [["errors"]])
        assert registry.entries()[0]["errors"] == 3
        assert ep.alerts()["rule"].tolist() == ["errors"]
        with serve_metrics() as exporter:  # wb.ops.serve_metrics exports the endpoint's figures
            scraped = httpx.get(exporter.url).text
        assert f'ALERTS{{alertname="errors",alertstate="firing",rank="0",run="{ep.id}"' \
            in scraped and f'workbench_error_rate{{rank="0",run="{ep.id}"}}' in scraped
    assert ep._alerts not in live.sources()


def test_default_rules_follow_the_targets():
    from workbench.infer.serving import default_rules

    rules = {r.name: r for r in default_rules(0.05, p99_target_ms=50)}
    assert rules["error_rate"].threshold == 0.05 and rules["error_rate"].for_ == 30
    assert rules["p99_latency"].threshold == 50 and rules["p99_latency"].metric == "p99_ms"
    assert [r.name for r in default_rules()] == ["error_rate"]


def test_open_loop_load_splits_the_time(eng):
    """measure() sends Poisson arrivals at the offered rate, raw or JSON, and splits each
    request's time into the server's parts and HTTP."""
    from workbench.infer.load import measure

    with serve(eng, max_delay_ms=2) as ep:
        result = measure(ep.url, rows(4), qps=200, duration_s=1.0, body="raw")
        as_json = measure(ep.local_url + "/predict", [rows(1), rows(2)], qps=100,
                          duration_s=0.5, body="json")
    table = result.table
    assert 120 < len(table) < 280 and (table["status"] == 200).all()
    assert (table["http_ms"] > 0).all() and (table["model_ms"] > 0).all()
    summary = result.summary()
    assert summary["p99_ms"] >= summary["p50_ms"] > 0 and summary["errors"] == 0
    assert len(as_json.ok) == len(as_json.table) > 20


def test_bad_settings_refused(eng):
    from workbench.infer.errors import InferError

    for kwargs in ({"max_batch": 0}, {"max_delay_ms": -1}, {"max_body_mb": 0}, {"port": 70000}):
        with pytest.raises(InferError, match=next(iter(kwargs))):
            serve(eng, **kwargs)
    with serve(eng) as ep, pytest.raises(InferError, match="cannot listen"):
        serve(eng, port=ep.port)
    assert orjson.loads(orjson.dumps(registry.entries())) == []


def test_the_harness_server_scenario_targets_an_endpoint(eng, tmp_path):
    """wb.bench.latency over real HTTP: Poisson arrivals at qps, the rows an endpoint's, saved
    to `_bench`; any other scenario is refused with why."""
    import workbench as wb
    from workbench.bench import BenchError

    x = rows(64, seed=4)
    with serve(eng, max_batch=8, max_delay_ms=2) as ep:
        res = wb.bench.latency(ep, x, batch_sizes=(1, 2), scenario="server", qps=150,
                               min_samples=150)
        answered = len(ep.stats())
        with pytest.raises(BenchError, match="scenario='server' with qps"):
            wb.bench.latency(ep, x, scenario="single-stream")
    table = res.table.set_index("batch_size")
    assert answered == table["samples"].sum() and (table["p50_ms"] > 0).all()
    assert table.loc[2, "throughput"] == pytest.approx(2 * table.loc[1, "throughput"], rel=0.3)
    lake = wb.Lake(tmp_path / "lake")
    res.save(lake)
    saved = lake.table("_bench").to_pandas()
    assert set(saved["engine"]) == {"endpoint (onnxruntime)"}
    assert (saved["scenario"] == "server").all() and (saved["qps"] == 150).all()
