"""Pseudonymisation of PII columns with a keyed hash; the key never enters the lake.

The key comes from ``WORKBENCH_PII_KEY`` (any secret string) or a key file
(``WORKBENCH_PII_KEY_FILE``, default ``~/.workbench/pii.key``). Tokens are
``SipHash-2-4(key, value)`` written as 16 hex digits, so the same value under the same key
gives the same token across ingests, files and machines: joins and dedup keep working.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import secrets
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from workbench.home import home
from workbench.lake.errors import PiiKeyError


def default_key_file() -> Path:
    """Where the key file is looked for when ``WORKBENCH_PII_KEY_FILE`` is unset."""
    return Path(os.environ.get("WORKBENCH_PII_KEY_FILE") or home() / "pii.key")


def generate_key_file(path: str | os.PathLike | None = None) -> Path:
    """Write a new random key file (mode 0600) and return its path; refuses to overwrite one."""
    path = Path(path) if path is not None else default_key_file()
    if path.exists():
        raise PiiKeyError(f"key file {path} already exists; delete it first to rotate the key "
                          "(tokens made with the old key will no longer match new ones)")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_hex(32) + "\n")
    return path


def load_key(lake_root: str | None = None) -> bytes | None:
    """The 16-byte SipHash key derived from the configured secret, or None when none is set.

    A key file inside the lake directory is refused: the key must never be stored with the data.
    """
    secret = os.environ.get("WORKBENCH_PII_KEY")
    if not secret:
        path = default_key_file()
        if not path.is_file():
            return None
        if lake_root is not None and _inside(path, lake_root):
            raise PiiKeyError(f"the PII key file {path} lies inside the lake {lake_root}; "
                              "move it outside the lake so the key is never stored with the data")
        secret = path.read_text().strip()
        if not secret:
            raise PiiKeyError(f"the PII key file {path} is empty; write a secret into it or "
                              "create a new one with `workbench lake keygen`")
    return hashlib.sha256(b"workbench-pii-v1:" + secret.encode()).digest()[:16]


def require_key(columns: tuple[str, ...], lake_root: str | None = None) -> bytes:
    """The key for pseudonymising ``columns``; a clear error when none is configured."""
    key = load_key(lake_root)
    if key is None:
        raise PiiKeyError(
            f"pii={list(columns)} needs a pseudonymisation key and none is configured: set the "
            f"environment variable WORKBENCH_PII_KEY to a secret, or create a key file with "
            f"`workbench lake keygen` (it is read from {default_key_file()})")
    return key


def key_id(key: bytes) -> str:
    """A public fingerprint of the key, stored with the table so a different key is noticed."""
    return hashlib.sha256(b"workbench-key-id:" + key).hexdigest()[:16]


def tokens(values: pa.Array | pa.ChunkedArray, key: bytes) -> pa.Array:
    """Pseudonymise a column: every non-null value becomes a 16-hex-digit token (nulls stay)."""
    from workbench.kernels import keyed_hash

    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)
            or pa.types.is_binary(values.type)):
        values = pc.cast(values, pa.string())
    hashes = np.asarray(keyed_hash(values, key).fill_null(0), dtype=np.uint64)
    return hex_strings(hashes, values.is_valid())


def hex_strings(hashes: np.ndarray, valid: pa.Array | None = None) -> pa.Array:
    """uint64 values as fixed-width lowercase hex strings (null where ``valid`` is false), built
    from buffers without a Python loop."""
    from workbench.kernels import hex_digits

    n = len(hashes)
    offsets = np.arange(0, 16 * (n + 1), 16, dtype=np.int32)
    nulls = 0 if valid is None else valid.false_count
    bitmap = None
    if nulls:
        bitmap = pa.py_buffer(np.packbits(valid.to_numpy(zero_copy_only=False),
                                          bitorder="little"))
    return pa.Array.from_buffers(pa.string(), n, [bitmap, pa.py_buffer(offsets),
                                                  pa.py_buffer(hex_digits(hashes))],
                                 null_count=nulls)


def token(value: str, key: bytes) -> str:
    """The token of one value (used for raw text in quarantine); bytes that were not UTF-8
    (kept as surrogates) are hashed as they were, so a value's token never depends on them."""
    return tokens(pa.array([value.encode("utf-8", "surrogateescape")], pa.binary()),
                  key)[0].as_py()


def scrub_csv_line(raw: str, header: list[str], pii: tuple[str, ...], key: bytes,
                   delimiter: str = ",") -> str:
    """A quarantined CSV record (quoted line breaks and all) with its PII fields replaced by
    tokens; bytes that are not UTF-8 (kept as surrogates) stay in the other fields.

    When the line cannot be split into exactly the header's fields, nobody can tell which part
    is personal, so the whole line is withheld and replaced by its token.
    """
    try:
        rows = list(csv.reader(io.StringIO(raw, newline=""), delimiter=delimiter, strict=True))
    except csv.Error:
        rows = []
    fields = rows[0] if len(rows) == 1 else None
    if fields is None or len(fields) != len(header):
        return withheld(raw, key)
    for i, name in enumerate(header):
        if name in pii and fields[i] != "":
            fields[i] = token(fields[i], key)
    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter, lineterminator="").writerow(fields)
    return buf.getvalue()


def scrub_record(raw: str, pii: tuple[str, ...], key: bytes) -> str:
    """A quarantined JSON record with its PII keys' values replaced by tokens (or withheld)."""
    try:
        record = json.loads(raw)
    except ValueError:
        return withheld(raw, key)
    if not isinstance(record, dict):
        return withheld(raw, key)
    for name in pii:
        if record.get(name) is not None:
            record[name] = token(str(record[name]), key)
    return json.dumps(record, default=str)


def withheld(raw: str, key: bytes) -> str:
    """What quarantine keeps of raw text that may hold PII in an unknown place."""
    return f"<withheld: unparseable text in a table with PII columns; token {token(raw, key)}>"


def _inside(path: Path, root: str) -> bool:
    if "://" in root and not root.startswith("file://"):
        return False
    root_path = Path(root.removeprefix("file://")).resolve()
    return root_path in path.resolve().parents
