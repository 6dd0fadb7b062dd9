"""Cheap checks of a scheduler address or a URL with a plain socket, no Dask client or HTTP
request; and a free port.

The registries use `reachable` to tell a running cluster or dashboard from a stopped one, and
the reprs use it with `REPR_PROBE_S`; `cluster(address)` uses `speaks_dask` too, because
distributed waits forever for a handshake from a port that accepts connections but is not a Dask
server (a dashboard's 8787 given in place of the scheduler's 8786).
"""

from __future__ import annotations

import socket
import struct
from urllib.parse import SplitResult, urlsplit

# Schemes whose address is a host:port that accepts TCP connections, and their default ports.
_SOCKET_SCHEMES = {"tcp", "tls", "ws", "wss", "http", "https"}
_DEFAULT_PORTS = {"http": 80, "ws": 80, "https": 443, "wss": 443}
# The most a repr waits on a probe: a loopback port answers or refuses within microseconds, so
# this bounds only a remote or filtered address.
REPR_PROBE_S = 0.2

# A Dask handshake is one length-prefixed message of a few hundred bytes.
_HEADER = struct.Struct("Q")
_MAX_HANDSHAKE = 2**26


def reachable(address: str, timeout: float = 0.5) -> bool:
    """Whether a scheduler address or an http(s) URL accepts a TCP connection within `timeout`
    seconds: a connect, not a request, since a dashboard's page may run a notebook to answer.

    Addresses with no socket behind them (`inproc://`, `ucx://`) count as reachable: only
    their owner can tell, and its liveness is checked separately.
    """
    parts = _split(address)
    if parts.scheme not in _SOCKET_SCHEMES:
        return True
    try:
        port = parts.port or _DEFAULT_PORTS.get(parts.scheme)
        with socket.create_connection((parts.hostname, port), timeout=timeout):
            return True
    except (OSError, TypeError, ValueError):
        return False


def speaks_dask(address: str, timeout: float) -> bool:
    """Whether a `tcp://` address opens with a Dask handshake: a Dask server sends its own
    first, so a silent or garbled peer is something else. Other schemes are not checked."""
    parts = _split(address)
    if parts.scheme != "tcp":
        return True
    try:
        with socket.create_connection((parts.hostname, parts.port), timeout=timeout) as sock:
            header = sock.recv(_HEADER.size, socket.MSG_WAITALL)
    except (OSError, TypeError, ValueError):
        return False
    return len(header) == _HEADER.size and 0 < _HEADER.unpack(header)[0] < _MAX_HANDSHAKE


def _split(address: str) -> SplitResult:
    """The address as URL parts; a bare host:port means tcp, as it does for distributed."""
    return urlsplit(address if "://" in address else f"tcp://{address}")


def free_port() -> int:
    """A TCP port free on loopback now (a training rendezvous, a dashboard server)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
