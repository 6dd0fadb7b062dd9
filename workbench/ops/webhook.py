"""`Webhook`: alerts POSTed in Alertmanager's webhook format, off the caller's thread.

``on_alert=`` takes one (or its URL): an existing Alertmanager receiver, a Slack bridge or a
pager accepts the JSON that `alertmanager_payload` builds, which follows Alertmanager's
``webhook_config`` (version ``"4"``). Calling a `Webhook` only enqueues the alert, so a training
monitor thread never waits on the network; one daemon thread POSTs, retrying with exponential
backoff, and counts what failed (`failures`, `failed`) instead of raising: a receiver that is
down never disturbs the run. `flush` and `close` wait, within a timeout, for the last alerts.
"""

from __future__ import annotations

import http.client
import json
import queue
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timezone
from typing import Any

from workbench.ops.rules import RuleError
from workbench.ops.watch import Alert

#: What Alertmanager sends as ``endsAt`` for an alert still firing: Go's zero time.
ZERO_TIME = "0001-01-01T00:00:00Z"
_FNV_OFFSET, _FNV_PRIME, _SEPARATOR = 14695981039346656037, 1099511628211, 0xFF
_CLOSE = object()  # the worker's sign to stop
_FINAL = frozenset(range(400, 500)) - {408, 429}  # client errors a retry cannot mend


def alertmanager_payload(alerts: list[Alert], *, receiver: str,
                         external_url: str = "") -> dict[str, Any]:
    """`alerts` as the body of one Alertmanager webhook notification (``version`` "4"): the
    group is firing while any of its alerts is; group labels are the labels the alerts share
    among ``alertname`` and ``run``, as a ``group_by: [alertname, run]`` route would make."""
    items = [_alert(a, external_url) for a in alerts]
    common = _common([i["labels"] for i in items])
    group = {k: v for k, v in common.items() if k in ("alertname", "run")}
    return {
        "version": "4",
        "groupKey": "{}:{" + ", ".join(f"{k}={json.dumps(v)}" for k, v in sorted(group.items()))
                    + "}",
        "truncatedAlerts": 0,
        "status": "firing" if any(i["status"] == "firing" for i in items) else "resolved",
        "receiver": receiver,
        "groupLabels": group,
        "commonLabels": common,
        "commonAnnotations": _common([i["annotations"] for i in items]),
        "externalURL": external_url,
        "alerts": items,
    }


def fingerprint(labels: dict[str, str]) -> str:
    """Prometheus' fingerprint of a label set (FNV-1a 64 over the sorted names and values,
    each followed by a 0xff byte), as 16 hex digits: stable across runs and processes."""
    h = _FNV_OFFSET
    for name in sorted(labels):
        for part in (name, labels[name]):
            for byte in (*part.encode(), _SEPARATOR):
                h = ((h ^ byte) * _FNV_PRIME) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


class Webhook:
    """POSTs each alert it is called with to `url` in Alertmanager's webhook format (see the
    module); `delivered` and `failed` count notifications, `failures` the failed tries per
    (rule, run, rank)."""

    def __init__(self, url: str, *, timeout: float = 5.0, retries: int = 3,
                 backoff: float = 0.5, receiver: str = "workbench") -> None:
        self.url = _checked_url(url)
        self.timeout = _seconds("timeout", timeout, zero=False)
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise RuleError(f"Webhook(retries={retries!r}): give a whole number of retries "
                            "after the first try, 0 or more")
        self.retries = retries
        self.backoff = _seconds("backoff", backoff, zero=True)
        if not isinstance(receiver, str) or not receiver:
            raise RuleError(f"Webhook(receiver={receiver!r}): give the receiver's name, a "
                            "non-empty string")
        self.receiver = receiver
        self.delivered = 0
        self.failed = 0
        self.failures: dict[tuple[str, str, int], int] = {}
        self._queue: queue.Queue = queue.Queue()
        self._pending = 0  # alerts enqueued and not yet delivered or given up
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._worker: threading.Thread | None = None

    def __call__(self, alert: Alert) -> None:
        """Enqueue `alert` for delivery and return at once."""
        if not isinstance(alert, Alert):
            raise TypeError(f"Webhook({self.url!r}) takes a wb.ops.Alert, got {alert!r}")
        with self._cond:
            if self._worker is None:  # the first call, or the first since close()
                self._queue, self._stop = queue.Queue(), threading.Event()
                self._worker = threading.Thread(target=self._work, daemon=True,
                                                args=(self._queue, self._stop),
                                                name=f"workbench-webhook {self.url}")
                self._worker.start()
            self._pending += 1
            self._queue.put(alert)

    def flush(self, timeout: float | None = None) -> bool:
        """Wait up to `timeout` seconds (None: no limit) until every alert given so far is
        delivered or given up; whether they all were."""
        with self._cond:
            return self._cond.wait_for(lambda: self._pending == 0, timeout)

    def close(self, timeout: float = 10.0) -> bool:
        """Deliver what can be within `timeout` seconds, then stop the worker; alerts still
        waiting are given up (counted in `failed`). Whether every alert was dealt with in time.
        A later call starts a new worker."""
        deadline = time.monotonic() + timeout
        done = self.flush(timeout)
        with self._cond:
            worker, self._worker = self._worker, None
            if worker is not None:
                self._stop.set()  # cuts a backoff short; a request in flight ends in `timeout`
                self._queue.put(_CLOSE)
        if worker is not None:
            worker.join(max(0.0, deadline - time.monotonic()))
        return done

    def __repr__(self) -> str:
        return (f"Webhook({self.url!r}, delivered={self.delivered}, failed={self.failed}, "
                f"pending={self._pending})")

    def _work(self, alerts: queue.Queue, stop: threading.Event) -> None:
        """The worker thread: deliver `alerts` in order until `close` (`stop`)."""
        while (alert := alerts.get()) is not _CLOSE:
            if stop.is_set():
                self._give_up(alert, 0, "the webhook was closed before it was sent")
            else:
                self._deliver(alert, stop)
            with self._cond:
                self._pending -= 1
                self._cond.notify_all()

    def _deliver(self, alert: Alert, stop: threading.Event) -> None:
        """POST `alert`, retrying with backoff; count the outcome."""
        body = json.dumps(alertmanager_payload([alert], receiver=self.receiver)).encode()
        request = urllib.request.Request(
            self.url, data=body, method="POST",
            headers={"Content-Type": "application/json", "User-Agent": "workbench-webhook"})
        key = (alert.rule, alert.run, alert.rank)
        for attempt in range(self.retries + 1):
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    response.read()
                with self._cond:
                    self.delivered += 1
                return
            except (OSError, ValueError, http.client.HTTPException) as err:
                with self._cond:
                    self.failures[key] = self.failures.get(key, 0) + 1
                final = isinstance(err, urllib.error.HTTPError) and err.code in _FINAL
                if final or attempt == self.retries or \
                        stop.wait(self.backoff * 2 ** attempt):
                    self._give_up(alert, attempt + 1, str(err))
                    return

    def _give_up(self, alert: Alert, tries: int, why: str) -> None:
        """Count `alert` as not delivered and say so, in one line."""
        with self._cond:
            self.failed += 1
        print(f"workbench: webhook {self.url} did not deliver {alert.rule} ({alert.state}) on "
              f"rank {alert.rank} of {alert.run} after {tries} {'try' if tries == 1 else 'tries'}: "
              f"{why}", file=sys.stderr)


def _alert(alert: Alert, external_url: str) -> dict[str, Any]:
    """One alert of the payload: Alertmanager's labels, annotations and times."""
    labels = {"alertname": alert.rule, "severity": alert.severity, "run": alert.run,
              "rank": str(alert.rank)}
    threshold = "none" if alert.threshold is None else f"{alert.threshold:g}"
    return {
        "status": "resolved" if alert.state == "resolved" else "firing",
        "labels": labels,
        "annotations": {"summary": alert.message,
                        "description": f"{alert.message}; threshold {threshold}; the rule's "
                                       f"action: {alert.action}",
                        "value": f"{alert.value:g}", "action": alert.action},
        "startsAt": _rfc3339(alert.started),
        "endsAt": ZERO_TIME if alert.resolved is None else _rfc3339(alert.resolved),
        "generatorURL": external_url,
        "fingerprint": fingerprint(labels),
    }


def _rfc3339(seconds: float) -> str:
    """Unix seconds as RFC 3339 in UTC, to the millisecond (``2024-05-01T12:00:00.250Z``)."""
    stamp = datetime.fromtimestamp(seconds, timezone.utc).isoformat(timespec="milliseconds")
    return stamp.replace("+00:00", "Z")


def _common(maps: list[dict[str, str]]) -> dict[str, str]:
    """The pairs every map in `maps` has, with the same value."""
    if not maps:
        return {}
    return {k: v for k, v in maps[0].items() if all(m.get(k) == v for m in maps[1:])}


def _checked_url(url: Any) -> str:
    """`url` when it is an http(s) URL with a host; a RuleError naming it otherwise."""
    parts = urllib.parse.urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise RuleError(f"on_alert={url!r}: a webhook is an http:// or https:// URL with a "
                        "host (e.g. 'http://alertmanager-bridge:9094/hook'); or give a callable "
                        "taking a wb.ops.Alert, or a list of them")
    return url


def _seconds(argument: str, value: Any, *, zero: bool) -> float:
    """`value` as seconds, > 0 (>= 0 where `zero`); a RuleError naming `argument` otherwise."""
    if isinstance(value, bool) or not isinstance(value, int | float) or \
            not (value >= 0 if zero else value > 0) or value == float("inf"):
        raise RuleError(f"Webhook({argument}={value!r}): give a finite number of seconds, "
                        f"{'0 or more' if zero else 'more than 0'}")
    return float(value)
