"""Where records and lines begin in CSV bytes, honouring RFC 4180 quoting.

A line break inside a quoted field belongs to the field, so record boundaries depend on how
many quote characters come before them: a break ends a record only after an even number. This
module answers that with numpy over the positions of quotes and breaks, never per byte in
Python. Lines are physical: LF, CRLF and a lone CR each end one (Python's universal newlines,
and what both pyarrow and the csv module treat as a record's end outside quotes).
"""

from __future__ import annotations

from typing import Any

import numpy as np

QUOTE, LF, CR = 34, 10, 13
_CHUNK = 1 << 16  # bytes per step when looking for a boundary in a file
_COUNT_CHUNK = 8 << 20  # bytes per step when counting through a file


def _bytes(data: Any) -> np.ndarray:
    return np.frombuffer(data, dtype=np.uint8)


def breaks(buf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(position, length) of each line break: LF, a lone CR, or CRLF (length 2, at the CR)."""
    lf = np.flatnonzero(buf == LF)
    cr = np.flatnonzero(buf == CR)
    crlf = np.zeros(len(cr), dtype=bool)
    if len(cr):
        follows = cr + 1 < len(buf)
        crlf[follows] = buf[cr[follows] + 1] == LF
    lf = np.setdiff1d(lf, cr[crlf] + 1, assume_unique=True)
    pos = np.concatenate((lf, cr))
    length = np.concatenate((np.ones(len(lf), np.int64), np.where(crlf, 2, 1)))
    order = np.argsort(pos, kind="stable")
    return pos[order], length[order]


def record_spans(data: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(starts, ends, lines) of the non-blank records of ``data``, which begins at a record
    boundary. ``lines`` is each record's 0-based physical line within ``data``;
    ``data[starts[i]:ends[i]]`` is its text without the break."""
    buf = _bytes(data)
    pos, length = breaks(buf)
    quotes = np.flatnonzero(buf == QUOTE)
    outside = np.searchsorted(quotes, pos) % 2 == 0
    ends = np.append(pos[outside], len(buf))
    starts = np.concatenate(([0], pos[outside] + length[outside]))
    lines = np.concatenate(([0], np.flatnonzero(outside) + 1))
    keep = ends > starts
    return starts[keep], ends[keep], lines[keep]


def count_lines(data: Any) -> int:
    """Physical line breaks in ``data`` (a CRLF split across two calls counts twice: callers
    that step through a file use :func:`lines_before`)."""
    return len(breaks(_bytes(data))[0])


def lines_before(f: Any, end: int, universal: bool = True) -> int:
    """The number of line breaks in the first ``end`` bytes of the open file ``f``: LF, CRLF
    and lone CRs (``universal``), or LFs alone (JSON lines, where a CR is blank space)."""
    n, pos, last_cr = 0, 0, False
    while pos < end:
        chunk = _bytes(f.read_at(min(_COUNT_CHUNK, end - pos), pos))
        if not universal:
            n += int(np.count_nonzero(chunk == LF))
            pos += len(chunk)
            continue
        n += count_lines(chunk)
        if last_cr and len(chunk) and chunk[0] == LF:
            n -= 1  # the CRLF across the step's edge, counted once by each side
        last_cr = bool(len(chunk)) and chunk[-1] == CR
        pos += len(chunk)
    return n


def count_quotes(f: Any, start: int, end: int) -> int:
    """Quote characters in bytes ``[start, end)`` of the open file ``f``."""
    n, pos = 0, start
    while pos < end:
        chunk = f.read_at(min(_COUNT_CHUNK, end - pos), pos)
        n += chunk.count(b'"')
        pos += len(chunk)
    return n


def record_start(f: Any, pos: int, odd: bool, size: int, quoted: bool = True) -> int:
    """The first record boundary at or after ``pos`` in the open file ``f`` of ``size`` bytes.

    ``odd``: whether an odd number of quote characters precede ``pos``. A boundary is the
    byte after an LF that is outside quotes (or the file's start or end); without ``quoted``
    (JSON lines, where a raw line break never sits inside a value) every LF is one.
    """
    if pos <= 0:
        return 0
    if pos >= size:
        return size
    at = pos - 1  # the byte before pos may be the LF that ends the previous record
    chunk = f.read_at(1, at)
    inside = odd ^ (quoted and chunk == b'"')  # parity before `at`
    while at < size:
        buf = _bytes(f.read_at(min(_CHUNK, size - at), at))
        lf = np.flatnonzero(buf == LF)
        if quoted:
            quotes = np.flatnonzero(buf == QUOTE)
            lf = lf[(np.searchsorted(quotes, lf) + int(inside)) % 2 == 0]
            inside ^= bool(len(quotes) % 2)
        if len(lf):
            return at + int(lf[0]) + 1
        at += len(buf)
    return size
