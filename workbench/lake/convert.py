"""Text to typed Arrow values, for the workers' parser and the schema inference alike: one
vectorised cast per clean stretch, null words read as null, and the values that do not convert
named with the reason.

Below both `workbench.lake.parse` and `workbench.lake.sources` (which infers a column's type by
trying these conversions), so neither imports the other for it.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

#: Strings read as null in CSV columns that are not strings (pyarrow's defaults, made explicit so
#: the fast and the line-by-line parser agree).
NULL_VALUES = ["", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
               "1.#QNAN", "N/A", "NA", "NULL", "NaN", "n/a", "nan", "null"]
_NULLS = frozenset(NULL_VALUES)

#: Why a value of bytes that are not UTF-8 is quarantined.
NOT_UTF8 = "bytes that are not UTF-8 (if the file is in another encoding, pass encoding=)"


def convert_text(col: pa.Array | pa.ChunkedArray, target: pa.DataType, exact: bool = False,
                 limit: int | None = None) -> tuple[pa.Array, list[tuple[int, str]]]:
    """Text (string or binary) values as ``target``, with (index, why) for each value that
    does not convert; those become null.

    Binary values must be UTF-8. Null words ("NA", "NULL"...) are null unless ``target`` is
    text. With ``exact``, a number written with a leading zero or a plus sign fails rather than
    lose its text (an inferred column; a declared type converts it). With ``limit``, gives up
    (raising ``TooManyFailures``) once more than ``limit`` values fail.
    """
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks() if col.num_chunks != 1 else col.chunk(0)
    failed: list[tuple[int, str]] = []
    if pa.types.is_binary(col.type):
        bad: list[int] = []
        col = _joined(_cast_halving(col, pa.string(), 0, bad, limit), pa.string())
        failed += [(i, NOT_UTF8) for i in bad]
    if pa.types.is_string(target):
        return col, failed
    numeric = (pa.types.is_integer(target) or pa.types.is_floating(target)
               or pa.types.is_decimal(target))
    if exact and numeric:
        padded = _padded(col)
        if len(padded):
            failed += [(int(i), f"{col[int(i)].as_py()!r} would lose its text as {target}")
                       for i in padded]
            mask = np.zeros(len(col), dtype=bool)
            mask[padded] = True
            col = pc.if_else(pa.array(mask), pa.scalar(None, pa.string()), col)
    try:  # the common case: one cast, as pyarrow's typed reader would convert
        return pc.cast(col, target), failed
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    nulls = _NULL_SET if not pa.types.is_floating(target) else _NULL_SET_FLOAT
    col = pc.if_else(pc.is_in(col, value_set=nulls), pa.scalar(None, pa.string()), col)
    if numeric and not exact and pc.any(pc.starts_with(col, "+")).as_py():
        col = pc.replace_substring_regex(col, pattern=r"^\+", replacement="")  # Arrow's casts
    bad = []
    out = _joined(_cast_halving(col, target, 0, bad, limit), target)
    failed += [(i, f"cannot convert to {target}") for i in bad]
    return out, failed


_NULL_SET = pa.array(sorted(_NULLS), pa.string())
#: For a float column, NaN is a value (as pyarrow's typed reader reads it), not a null word.
_NULL_SET_FLOAT = pa.array(sorted(w for w in _NULLS if w.lstrip("-").lower() != "nan"),
                           pa.string())


def _joined(parts: list[pa.Array], target: pa.DataType) -> pa.Array:
    return parts[0] if len(parts) == 1 else (pa.concat_arrays(parts) if parts
                                              else pa.array([], target))


def _padded(col: pa.Array) -> np.ndarray:
    """Indices of values that start with a plus sign, or with a zero followed by a digit
    (after an optional minus): numbers whose text a conversion would change."""
    if len(col) == 0 or col.buffers()[2] is None:
        return np.empty(0, dtype=np.int64)
    offsets = np.frombuffer(col.buffers()[1], dtype=np.int32)[col.offset:col.offset + len(col)
                                                              + 1]
    # Reads past a value's end land on the zeros appended (and are ruled out by length).
    body = np.append(np.frombuffer(col.buffers()[2], dtype=np.uint8), np.zeros(3, np.uint8))
    start = offsets[:-1]
    # One gather over every value; the few that start with '+', '-' or '0' are looked at.
    first = np.where(np.diff(offsets) > 1, body[start], 0)  # a number of one byte is fine
    maybe = np.flatnonzero((first == ord("+")) | (first == ord("-")) | (first == ord("0")))
    if not len(maybe):
        return maybe
    at, length = start[maybe], offsets[maybe + 1] - start[maybe]
    minus = body[at] == ord("-")
    at, length = at + minus, length - minus
    lead, after = body[at], body[at + 1]
    digit = (after >= ord("0")) & (after <= ord("9")) & (length > 1)
    padded = digit & ((lead == ord("0")) | ((lead == ord("+")) & ~minus))
    hits = maybe[padded]
    if col.null_count and len(hits):
        hits = hits[np.asarray(col.is_valid())[hits]]
    return hits


def convert_strings(values: list[str], target: pa.DataType,
                    limit: int | None = None) -> tuple[pa.Array, list[int]]:
    """Text values as ``target``; the indices that do not convert become null and are returned.

    With ``limit``, gives up (raising ``TooManyFailures``) once more than ``limit`` values fail.
    """
    out, failed = convert_text(pa.array(values, pa.string()), target, limit=limit)
    return out, [i for i, _ in failed]


class TooManyFailures(Exception):
    """More values failed to convert than the caller allows."""


def _cast_halving(arr: pa.Array, target: pa.DataType, offset: int, failed: list[int],
                  limit: int | None) -> list[pa.Array]:
    """Cast ``arr``; where that fails, cast each half, down to single values.

    One vectorised cast per clean stretch: k bad values among n cost O(k log n) casts, not n.
    """
    try:
        return [pc.cast(arr, target)]
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        if len(arr) == 1:
            failed.append(offset)
            if limit is not None and len(failed) > limit:
                raise TooManyFailures from None
            return [pa.nulls(1, target)]
    mid = len(arr) // 2
    return (_cast_halving(arr.slice(0, mid), target, offset, failed, limit)
            + _cast_halving(arr.slice(mid), target, offset + mid, failed, limit))


def convert_values(values: list[Any], target: pa.DataType) -> tuple[pa.Array, list[int]]:
    """Python values (from JSON or a frame) as ``target``, with the indices that do not fit.

    A text column takes any JSON value as its text (``50`` becomes ``"50"``), as a CSV would.
    """
    if pa.types.is_string(target):
        return pa.array([v if v is None or isinstance(v, str) else json.dumps(v, default=str)
                         for v in values], pa.string()), []
    if all(v is None or isinstance(v, str) for v in values):
        return convert_strings(["" if v is None else v for v in values], target)
    whole = _as_array(values, target)
    if whole is not None:
        return whole, []
    out, failed = [], []  # mixed values: one at a time, text parsed as text would be
    for i, v in enumerate(values):
        if isinstance(v, str):
            arr, bad = convert_strings([v], target)
            ok = not bad
            value = arr[0].as_py() if ok else None
        else:
            ok = _as_array([v], target) is not None
            value = v if ok else None
        out.append(value)
        if not ok:
            failed.append(i)
    return pa.array(out, target), failed


def _as_array(values: list[Any], target: pa.DataType) -> pa.Array | None:
    """``values`` as an Arrow array of ``target``, or None when they do not fit it."""
    try:
        return pa.array(values, target)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        return None
