"""`wb.ops.Webhook`: alerts POSTed to a real HTTP receiver on loopback in Alertmanager's webhook
format (version 4, every field as Alertmanager documents it, firing and resolved), retried with
backoff, failures counted and never raised, and a caller that never waits on the network."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import workbench as wb
from workbench.ops import Alert, Rule, RuleError, Watch
from workbench.ops.webhook import ZERO_TIME, alertmanager_payload, fingerprint


class Receiver:
    """An HTTP server on loopback that records each POST and answers with the next of
    `statuses` (200 once they run out)."""

    def __init__(self, statuses: tuple[int, ...] = ()) -> None:
        self.posts: list[dict] = []
        statuses_left = list(statuses)
        posts = self.posts

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                posts.append({"path": self.path, "type": self.headers["Content-Type"],
                              "body": json.loads(body)})
                self.send_response(statuses_left.pop(0) if statuses_left else 200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                """Quiet: the test reads `posts`."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    made: list[Receiver] = []

    def make(*statuses: int) -> Receiver:
        made.append(Receiver(statuses))
        return made[-1]

    yield make
    for r in made:
        r.close()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def alert(state: str = "firing", *, rule: str = "hot", rank: int = 0, run: str = "r1") -> Alert:
    return Alert(rule, "warning", run, rank, state, 91.5, 80.0, 1_700_000_000.25,
                 1_700_000_060.5 if state == "resolved" else None,
                 f"{rule} on rank {rank} of {run}: temp > 80 (value 91.5)", "notify")


def rfc3339(text: str) -> datetime:
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)", text), text
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def assert_alertmanager_v4(body: dict, receiver: str) -> None:
    """`body` as Alertmanager's webhook_config documents it: every field, with its type."""
    assert set(body) == {"version", "groupKey", "truncatedAlerts", "status", "receiver",
                         "groupLabels", "commonLabels", "commonAnnotations", "externalURL",
                         "alerts"}
    assert body["version"] == "4" and body["receiver"] == receiver
    assert isinstance(body["groupKey"], str) and isinstance(body["externalURL"], str)
    assert type(body["truncatedAlerts"]) is int and body["truncatedAlerts"] == 0
    assert body["status"] in ("firing", "resolved")
    for field in ("groupLabels", "commonLabels", "commonAnnotations"):
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in body[field].items())
    assert isinstance(body["alerts"], list) and body["alerts"]
    for item in body["alerts"]:
        assert set(item) == {"status", "labels", "annotations", "startsAt", "endsAt",
                             "generatorURL", "fingerprint"}
        assert item["status"] in ("firing", "resolved")
        for field in ("labels", "annotations"):
            assert all(isinstance(k, str) and isinstance(v, str)
                       for k, v in item[field].items())
        assert {"alertname", "severity", "run", "rank"} <= set(item["labels"])
        assert {"summary", "description"} <= set(item["annotations"])
        assert isinstance(item["generatorURL"], str)
        assert re.fullmatch(r"[0-9a-f]{16}", item["fingerprint"])
        assert item["fingerprint"] == fingerprint(item["labels"])
        started = rfc3339(item["startsAt"])
        if item["status"] == "firing":
            assert item["endsAt"] == ZERO_TIME  # as Alertmanager sends a firing alert
        else:
            assert rfc3339(item["endsAt"]) >= started
    assert body["status"] == ("firing" if any(a["status"] == "firing" for a in body["alerts"])
                              else "resolved")
    assert set(body["groupLabels"].items()) <= set(body["commonLabels"].items())


def test_firing_and_resolved_alerts_of_a_watch_arrive_as_alertmanager_v4(receiver):
    sink = receiver()
    hook = wb.ops.Webhook(sink.url, receiver="team-ml")
    watch = Watch([Rule("hot", "temp", ">", threshold=80, severity="critical")])
    changes = watch.feed([{"run": "r1", "rank": 3, "time": 1_700_000_000.0, "temp": 95.0},
                          {"run": "r1", "rank": 3, "time": 1_700_000_042.5, "temp": 70.0}])
    assert [a.state for a in changes] == ["firing", "resolved"]
    for a in changes:
        hook(a)
    assert hook.flush(timeout=10)
    assert (hook.delivered, hook.failed, hook.failures) == (2, 0, {})
    assert [p["path"] for p in sink.posts] == ["/hook", "/hook"]
    assert {p["type"] for p in sink.posts} == {"application/json"}
    firing, resolved = (p["body"] for p in sink.posts)
    for body in (firing, resolved):
        assert_alertmanager_v4(body, "team-ml")
    assert firing["status"] == "firing" and resolved["status"] == "resolved"
    labels = {"alertname": "hot", "severity": "critical", "run": "r1", "rank": "3"}
    assert firing["alerts"][0]["labels"] == labels == resolved["alerts"][0]["labels"]
    assert firing["alerts"][0]["fingerprint"] == resolved["alerts"][0]["fingerprint"]
    assert firing["groupLabels"] == {"alertname": "hot", "run": "r1"}
    assert firing["groupKey"] == '{}:{alertname="hot", run="r1"}'
    assert firing["alerts"][0]["startsAt"] == "2023-11-14T22:13:20.000Z"
    assert resolved["alerts"][0]["endsAt"] == "2023-11-14T22:14:02.500Z"
    assert "rank 3 of r1" in firing["alerts"][0]["annotations"]["summary"]
    assert hook.close(timeout=5)


def test_the_payload_groups_alerts_by_what_they_share():
    body = alertmanager_payload([alert(rank=0), alert("resolved", rank=1)], receiver="x",
                                external_url="http://workbench:8888")
    assert_alertmanager_v4(body, "x")
    assert body["status"] == "firing"  # while any alert of the group fires
    assert body["commonLabels"] == {"alertname": "hot", "severity": "warning", "run": "r1"}
    assert body["externalURL"] == "http://workbench:8888"
    assert [a["status"] for a in body["alerts"]] == ["firing", "resolved"]
    assert len({a["fingerprint"] for a in body["alerts"]}) == 2
    assert fingerprint({}) == "cbf29ce484222325"  # FNV-1a's offset: Prometheus' empty set


def test_a_receiver_that_fails_twice_gets_the_alert_on_the_third_try(receiver):
    sink = receiver(500, 500)
    hook = wb.ops.Webhook(sink.url, backoff=0.01)
    hook(alert())
    assert hook.flush(timeout=10)
    assert len(sink.posts) == 3 and sink.posts[0]["body"] == sink.posts[2]["body"]
    assert (hook.delivered, hook.failed) == (1, 0)
    assert hook.failures == {("hot", "r1", 0): 2}
    hook.close(timeout=5)


def test_a_client_error_is_not_retried(receiver, capsys):
    sink = receiver(400)
    hook = wb.ops.Webhook(sink.url, backoff=0.01)
    hook(alert())
    assert hook.flush(timeout=10)
    assert len(sink.posts) == 1 and (hook.delivered, hook.failed) == (0, 1)
    assert "HTTP Error 400" in capsys.readouterr().err
    hook.close(timeout=5)


def test_an_unreachable_url_is_counted_and_never_blocks_the_caller(capsys):
    url = f"http://127.0.0.1:{closed_port()}/hook"
    hook = wb.ops.Webhook(url, retries=2, backoff=0.01)
    waits = []
    for rank in range(5):
        t = time.perf_counter()
        hook(alert(rank=rank))
        waits.append(time.perf_counter() - t)
    assert max(waits) < 0.05, waits  # enqueued: the network is the worker's
    assert hook.flush(timeout=10)
    assert (hook.delivered, hook.failed) == (0, 5)
    assert hook.failures == {("hot", "r1", rank): 3 for rank in range(5)}  # 1 try + 2 retries
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 5 and all(url in line for line in lines)
    assert "hot (firing) on rank 4 of r1 after 3 tries" in lines[-1]
    t = time.perf_counter()
    assert hook.close(timeout=5)
    assert time.perf_counter() - t < 1


def test_close_returns_within_its_timeout_and_gives_up_what_is_left(capsys):
    hook = wb.ops.Webhook(f"http://127.0.0.1:{closed_port()}/", retries=5, backoff=30)
    for rank in range(3):
        hook(alert(rank=rank))
    t = time.perf_counter()
    assert not hook.close(timeout=0.3)  # the first alert sits in a 30 s backoff
    assert time.perf_counter() - t < 2
    assert hook.flush(timeout=5) and (hook.delivered, hook.failed) == (0, 3)
    assert "closed before it was sent" in capsys.readouterr().err


def test_a_receiver_that_never_answers_times_out():
    with socket.socket() as silent:  # accepts connections (the backlog), never replies
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        hook = wb.ops.Webhook(f"http://127.0.0.1:{silent.getsockname()[1]}/", timeout=0.2,
                              retries=0)
        t = time.perf_counter()
        hook(alert())
        assert hook.flush(timeout=10)
        assert time.perf_counter() - t < 3 and (hook.delivered, hook.failed) == (0, 1)
        hook.close(timeout=1)


def test_a_closed_webhook_starts_again_when_called(receiver):
    sink = receiver()
    hook = wb.ops.Webhook(sink.url)
    hook(alert())
    assert hook.close(timeout=5)
    hook(alert("resolved"))
    assert hook.close(timeout=5) and hook.delivered == 2
    assert [p["body"]["status"] for p in sink.posts] == ["firing", "resolved"]
    assert "delivered=2" in repr(hook)


@pytest.mark.parametrize(("kwargs", "named"), [
    ({"url": "ftp://example.com/hook"}, "on_alert='ftp://example.com/hook'"),
    ({"url": "hooks.example.com"}, "on_alert='hooks.example.com'"),
    ({"url": "http://"}, "on_alert='http://'"),
    ({"url": 42}, "on_alert=42"),
    ({"timeout": 0}, "timeout=0"),
    ({"timeout": "5"}, "timeout='5'"),
    ({"retries": -1}, "retries=-1"),
    ({"retries": 1.5}, "retries=1.5"),
    ({"backoff": -0.1}, "backoff=-0.1"),
    ({"receiver": ""}, "receiver=''"),
])
def test_bad_arguments_are_refused_by_name(kwargs, named):
    kwargs = {"url": "http://127.0.0.1:9/hook", **kwargs}
    with pytest.raises(RuleError, match=re.escape(named)) as raised:
        wb.ops.Webhook(kwargs.pop("url"), **kwargs)
    assert isinstance(raised.value, ValueError) and "give" in str(raised.value)
    if "url" in named or "on_alert" in named:
        assert "http://" in str(raised.value) and "callable" in str(raised.value)
