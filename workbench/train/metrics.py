"""The metrics channel of a training run: ranks push records to the notebook, and to disk.

Every rank owns a `MetricsSender`. Each `send(step, **metrics)` makes one record (`rank`,
`step`, `time` and the metrics), appends it to `run_dir/metrics-rank{rank}.jsonl` and pushes the
same bytes over a ZeroMQ PUSH socket to the notebook's `MetricsSink` (a PULL socket).

Why it is built this way:

- Training never waits for the notebook. The PUSH socket has a small high-water mark and every
  send is `NOBLOCK`: when the queue is full (the notebook is slow, gone, or not bound yet) the
  records are dropped from the live channel and counted. Records that come faster than one per
  `PUSH_S` seconds travel together, one message of lines: a ZeroMQ send wakes its I/O thread
  (a syscall and a context switch, ~10-100 us on a busy machine), too dear once per fast step.
  `flush()` sends what waits; `run.steps` calls it when a loop ends, and `close()` does. The
  drop count travels with later records (the `dropped` field: this sender's drops so far), so
  `MetricsSink.drops()` knows the total.
- Nothing is lost. The JSONL file gets every record, dropped or not, so `read_run(run_dir)`
  replays a run after a kernel restart or a crash. Records are encoded and written in batches
  (every `PUSH_S` seconds) and the file is flushed at least every `FLUSH_S` seconds (and on
  close, also after an exception): a flush per record cost a syscall per step, while a rank
  killed by SIGKILL now loses at most its last `FLUSH_S` + `PUSH_S` seconds of records. A
  crash mid-write leaves a truncated line; `read_run` skips and counts it. No fsync: a process
  crash keeps what was flushed, a power cut may not.
- JSON on the wire, not msgpack: the wire message and the JSONL lines are the same bytes
  (encoded once per record), readable by anything. Encoded with orjson: the standard library's
  encoder took 7 of the 12 us that `run.steps` + `run.log` cost per step.
- A record with a non-finite number (a diverged loss) is never dropped from the live channel:
  the alert rules must see it. When the queue is full its line is kept and pushed again with
  the next flush, ahead of newer records (at most `URGENT_MAX` such lines wait).
- The sender is thread-safe: the rank's heartbeat thread (`workbench.train.runtime`) sends
  beside the training loop.
- JSON has no NaN or infinity, so non-finite floats are written as the strings ``"NaN"``,
  ``"Infinity"`` and ``"-Infinity"`` (the tokens JavaScript prints), and decoded back to floats
  on the way in. A string metric spelled exactly like one of those comes back as a float.

Metric values are numbers (bool, int, float), strings, or anything with `.item()` that gives one
(numpy scalars, zero-dimensional torch tensors; `.item()` on a CUDA tensor synchronises).

Only the notebook side needs pandas; it is imported where frames are made, so a rank that only
sends never loads it.
"""

from __future__ import annotations

import math
import operator
import re
import threading
import time
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import zmq

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["MetricsSender", "MetricsSink", "logged_metrics", "read_run"]

COLUMNS = ("rank", "step", "time")
"""The columns every frame starts with; the logged metrics follow in the order first seen."""
# What run.steps() measures in each step record; every other numeric column is a logged metric.
STEP_FIELDS = ("step_s", "data_s", "samples", "tokens", "peak_memory_bytes", "total_steps",
               "copy_s", "comm_s")
# What the runtime reports of the rank itself (heartbeats, current memory): not logged metrics.
SYSTEM_FIELDS = ("heartbeat", "rss_bytes", "gpu_memory_bytes", "step_age_s", "exiting")

_RESERVED = {"rank", "step", "time", "dropped"}
# The strings written for non-finite floats (JSON has none), as floats: for every reader of logs.
DECODE_NONFINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
_FILE_PATTERN = re.compile(r"metrics-rank(\d+)\.jsonl")
_POLL_MS = 50  # how often the sink's receiver thread looks at its stop flag
FLUSH_S = 0.25  # the longest a record waits in a sender's file buffer
PUSH_S = 0.05  # the longest a record waits to be pushed while more records keep coming
URGENT_MAX = 10_000  # non-finite records kept for the channel while its queue is full
_NONFINITE = frozenset(("NaN", "Infinity", "-Infinity"))


def log_path(run_dir: str | Path, rank: int) -> Path:
    """The JSONL file of one rank in a run directory."""
    return Path(run_dir) / f"metrics-rank{rank}.jsonl"


class MetricsSender:
    """The rank side: sends records to a `MetricsSink` without ever blocking, and logs them.

    `address` is the sink's `.address` (the sink need not be bound yet: up to `hwm` records wait
    for it). `run_dir` is created if missing; an existing log of this rank is appended to (a
    partial last line that a crashed predecessor left is ended first, so it stays one line).
    """

    def __init__(self, address: str, rank: int, run_dir: str | Path, *, hwm: int = 1000) -> None:
        self.address = address
        self.rank = operator.index(rank)
        self.path = log_path(run_dir, self.rank)
        self.sent = 0
        self.dropped = 0
        self._lock = threading.Lock()
        self._urgent: list[bytes] = []  # non-finite records the full queue refused, to resend
        self._context = zmq.Context()
        self._socket = self._context.socket(zmq.PUSH)
        self._socket.setsockopt(zmq.SNDHWM, hwm)
        self._socket.setsockopt(zmq.LINGER, 0)  # an implicit close never waits for a dead peer
        self._socket.connect(address)  # a malformed address raises here, before any file opens
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.path, "ab")  # noqa: SIM115
        self._flushed = time.monotonic()
        self._pending: list[dict[str, Any]] = []  # records not written nor pushed yet
        # A rank that exits without close() still logs what waits (at exit, or when collected).
        weakref.finalize(self, _write_pending, self._pending, self._log)
        self._pushed = self._flushed - PUSH_S
        if _ends_mid_line(self.path):
            self._log.write(b"\n")

    def send(self, step: int, **metrics: Any) -> None:
        """Log one record and push it to the notebook (with the records of the last `PUSH_S`
        seconds); drop it from the channel if the queue is full (counted in `.dropped`). Never
        blocks on the network."""
        self.send_at(step, time.time(), metrics)

    def send_at(self, step: int, when: float, metrics: dict[str, Any]) -> None:
        """`send` for a record of an earlier moment (`when`, a `time.time()` value): `run.steps`
        makes its records in batches, each stamped with the end of its step."""
        if self._log.closed:
            raise RuntimeError(f"{self!r} is closed; make a new MetricsSender to send more")
        clash = _RESERVED.intersection(metrics)
        if clash:
            raise ValueError(f"metric names {sorted(clash)} are reserved; rename them "
                             f"(every record already carries {sorted(_RESERVED)})")
        record: dict[str, Any] = {"rank": self.rank, "step": operator.index(step),
                                  "time": when}
        for name, value in metrics.items():
            record[name] = _json_value(name, value)
        with self._lock:
            record["dropped"] = self.dropped
            self._pending.append(record)
            if time.monotonic() - self._pushed >= PUSH_S:
                self._flush()

    def flush(self) -> None:
        """Write the waiting records to the log and push them to the channel as one message
        (dropped and counted if the queue is full, except non-finite ones: kept to resend).
        Encoding them here, together, rather than one by one between training steps, keeps
        that work out of the steps' way."""
        with self._lock:
            self._flush()

    def _flush(self) -> None:
        if not self._pending and not self._urgent:
            return
        lines = [orjson.dumps(record) for record in self._pending]
        now = time.monotonic()
        if lines:
            self._log.write(b"\n".join(lines) + b"\n")
        if now - self._flushed >= FLUSH_S:
            self._log.flush()
            self._flushed = now
        try:
            self._socket.send(b"\n".join([*self._urgent, *lines]), zmq.NOBLOCK)
        except zmq.Again:
            urgent = [line for line, record in zip(lines, self._pending) if _nonfinite(record)]
            self.dropped += len(lines) - len(urgent)
            self._urgent += urgent
            if len(self._urgent) > URGENT_MAX:  # bounded: a run gone NaN for good repeats itself
                self.dropped += len(self._urgent) - URGENT_MAX
                del self._urgent[:len(self._urgent) - URGENT_MAX]
        else:
            self.sent += len(lines) + len(self._urgent)
            self._urgent.clear()
        self._pending.clear()
        self._pushed = now

    def close(self, linger: float = 1.0) -> None:
        """Close the log and the socket. Records still queued get up to `linger` seconds to reach
        the notebook, then are discarded: a dead notebook delays exit by at most that, and
        `linger=0` never waits. Closing twice is harmless."""
        if self._log.closed:
            return
        self.flush()
        deadline = time.monotonic() + linger
        while self._urgent and time.monotonic() < deadline:  # the queue may have room by now
            time.sleep(PUSH_S)
            self.flush()
        self._log.close()
        self._socket.close(linger=int(linger * 1000))
        self._context.term()  # returns once the queue is empty or `linger` has passed

    def __enter__(self) -> MetricsSender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._log.closed else "open"
        return (f"<MetricsSender rank={self.rank} to {self.address} sent={self.sent} "
                f"dropped={self.dropped} log={str(self.path)!r} {state}>")


class MetricsSink:
    """The notebook side: a PULL socket bound to `host` and a free port (or `port`), drained by a
    background thread.

    A thread, rather than reading on demand, so that records keep flowing while the notebook is
    busy in another cell: senders only drop when the notebook process itself cannot keep up.
    The thread releases the GIL while it waits. Every record is kept; `frame()` is a snapshot.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._records: list[dict[str, Any]] = []
        self._drops: dict[int, int] = {}
        self._malformed = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._context = zmq.Context()
        self._socket = self._context.socket(zmq.PULL)
        self._socket.setsockopt(zmq.RCVHWM, 0)  # unbounded: everything is kept anyway
        self._socket.setsockopt(zmq.LINGER, 0)
        try:
            if port:
                self._socket.bind(f"tcp://{host}:{port}")
            else:
                port = self._socket.bind_to_random_port(f"tcp://{host}")
        except zmq.ZMQError as err:
            self._socket.close(linger=0)
            self._context.term()
            raise OSError(f"the metrics sink cannot bind to {host}:{port}: {err}; "
                          "pass port=0 for a free port") from err
        self.address = f"tcp://{host}:{port}"
        # From here on only the thread touches the socket (ZeroMQ sockets are not thread-safe).
        self._thread = threading.Thread(target=self._receive, name=f"MetricsSink {self.address}",
                                        daemon=True)
        self._thread.start()

    def _receive(self) -> None:
        socket = self._socket
        try:
            while not self._stop.is_set():
                if socket.poll(_POLL_MS):
                    self._drain(socket)
            self._drain(socket)
        finally:
            socket.close(linger=0)
            self._context.term()

    def _drain(self, socket: zmq.Socket) -> None:
        """Take every message waiting now, without blocking."""
        while True:
            try:
                message = socket.recv(zmq.NOBLOCK)
            except zmq.Again:
                return
            for line in message.split(b"\n"):  # a sender's records of the last PUSH_S
                try:
                    record, dropped = _record(orjson.loads(line))
                except ValueError:  # not one of our senders: count it, keep receiving
                    with self._lock:
                        self._malformed += 1
                    continue
                with self._lock:
                    self._records.append(record)
                    rank = record["rank"]
                    self._drops[rank] = max(self._drops.get(rank, 0), dropped)

    def frame(self) -> pd.DataFrame:
        """Every record received so far: columns rank, step, time, then each metric (NaN where a
        record lacks it); rows grouped by rank, each rank's in the order it sent them."""
        with self._lock:
            records = list(self._records)
        return _frame(records)

    def records(self, start: int = 0) -> list[dict[str, Any]]:
        """The records received from index `start` on (a copy): a poller takes what is new
        since its last call without building a frame."""
        with self._lock:
            return self._records[start:]

    def drops(self) -> int:
        """Records the senders dropped from the channel, as last reported by each rank (drops
        after a rank's last delivered record cannot be reported; its JSONL file has them)."""
        with self._lock:
            return sum(self._drops.values())

    def __len__(self) -> int:
        with self._lock:
            return len(self._records)

    def close(self) -> None:
        """Stop receiving and release the port; the records stay readable. Idempotent."""
        self._stop.set()
        self._thread.join()

    @property
    def closed(self) -> bool:
        return not self._thread.is_alive()

    def __enter__(self) -> MetricsSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        with self._lock:
            n, ranks, malformed = len(self._records), len(self._drops), self._malformed
            drops = sum(self._drops.values())
        state = "closed" if self.closed else "receiving"
        extra = f" malformed={malformed}" if malformed else ""
        return (f"<MetricsSink {self.address} {state} records={n} ranks={ranks} "
                f"drops={drops}{extra}>")


def read_run(run_dir: str | Path) -> pd.DataFrame:
    """Replay a run from its JSONL files (every rank's), with the same columns as
    `MetricsSink.frame()`.

    A line that is not complete JSON is a record cut short by a crash (the last line, or the one
    before a restarted rank's first record): it is skipped and counted in
    `df.attrs["truncated_lines"]`. Complete JSON that is not a metrics record raises ValueError
    naming the file and line.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise FileNotFoundError(f"run directory {str(run_dir)!r} does not exist")
    files = sorted((int(m.group(1)), p) for p in run_dir.iterdir()
                   if (m := _FILE_PATTERN.fullmatch(p.name)))
    records: list[dict[str, Any]] = []
    truncated = 0
    for _, path in files:
        for number, line in enumerate(path.read_bytes().splitlines(), start=1):
            try:
                obj = orjson.loads(line)
            except orjson.JSONDecodeError:
                truncated += 1
                continue
            try:
                records.append(_record(obj)[0])
            except ValueError as err:
                raise ValueError(f"{path}: line {number} is not a metrics record: {err}") from err
    df = _frame(records)
    df.attrs["truncated_lines"] = truncated
    return df


_PLAIN = {str, bool}  # types JSON carries as they are (ints: within 64 bits, as orjson)
_INT_RANGE = range(-(1 << 63), 1 << 64)


def _write_pending(pending: list[dict[str, Any]], log: Any) -> None:
    """Log records that were never flushed (the sender was not closed)."""
    if pending and not log.closed:
        log.write(b"".join(orjson.dumps(record) + b"\n" for record in pending))
        log.flush()


def _nonfinite(record: dict[str, Any]) -> bool:
    """Whether an encoded record carries a non-finite number (written as a token string)."""
    return any(type(value) is str and value in _NONFINITE for value in record.values())


def _json_value(name: str, value: Any) -> Any:
    """A metric value as JSON can carry it (see the module docstring)."""
    kind = type(value)
    if kind is float and math.isfinite(value) or kind in _PLAIN:  # the common case, first
        return value
    if kind is int:
        if value in _INT_RANGE:
            return value
        raise ValueError(f"metric {name!r} = {value} does not fit in 64 bits; send it as a "
                         "float or a string")
    if not isinstance(value, (bool, int, float, str)) and hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else "Infinity" if value > 0 else "-Infinity"
    if isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"metric {name!r} is a {type(value).__name__}; send a number or a string "
                    "(call .item() on a tensor, or log its parts as separate metrics)")


def _record(record: Any) -> tuple[dict[str, Any], int]:
    """A decoded wire message or JSONL line -> (the record without `dropped`, the sender's drop
    count so far), non-finite floats restored. ValueError when it is not a metrics record."""
    if not isinstance(record, dict):
        raise ValueError(f"a record is a JSON object, not {type(record).__name__}")
    dropped = record.pop("dropped", 0)
    for key, value in (*((key, record.get(key)) for key in COLUMNS), ("dropped", dropped)):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{key!r} must be a number, not {value!r}")
    for key, value in record.items():
        if isinstance(value, str) and value in DECODE_NONFINITE:
            record[key] = DECODE_NONFINITE[value]
    return record, int(dropped)


def _frame(records: list[dict[str, Any]]) -> pd.DataFrame:
    """Records -> a DataFrame: rank, step, time, then the metrics in the order first seen; rows
    stably sorted by rank, so each rank's records keep their order and the live frame and the
    replayed one agree, column order included."""
    import pandas as pd

    records = sorted(records, key=lambda record: record["rank"])  # stable
    columns = dict.fromkeys(COLUMNS)
    for record in records:
        columns.update(dict.fromkeys(record))
    df = pd.DataFrame.from_records(records, columns=list(columns))
    df = df.astype({"rank": "int64", "step": "int64", "time": "float64"})
    return df


def _ends_mid_line(path: Path) -> bool:
    """Whether a log ends in a partial line (a crash mid-write)."""
    if path.stat().st_size == 0:
        return False
    with open(path, "rb") as fh:
        fh.seek(-1, 2)
        return fh.read(1) != b"\n"


def logged_metrics(metrics: pd.DataFrame) -> list[str]:
    """The metrics the training function logged with `run.log` (loss, accuracy, ...), in the
    order first seen: every column other than rank/step/time, what `run.steps()` measures and
    what the runtime reports of the rank (heartbeats, memory), that holds at least one number
    (string-valued metrics cannot be charted)."""
    import pandas as pd

    skip = {*COLUMNS, *STEP_FIELDS, *SYSTEM_FIELDS}
    return [name for name in metrics.columns if name not in skip
            and pd.to_numeric(metrics[name], errors="coerce").notna().any()]
