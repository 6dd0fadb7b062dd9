"""GET tables: each configured lake's tables, one row each, cached per table by its Delta log
version so that listing a lake of hundreds of tables re-reads only the tables that changed.

A table's key is the highest ``_delta_log/NNN.json`` of the table and of its quarantine table
(whose commits change the ``quarantined`` count), each found by one directory listing. The row
itself is `Lake.table_row`, the function `Lake.tables()` uses. A table that cannot be read is a
row with its error (cached under its key too, so a broken table is not re-read every time); a
lake that cannot be listed is an error on the lake alone.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Any

from workbench.errors import describe
from workbench.server.encode import epoch

ROW_FIELDS = ("name", "version", "rows", "bytes", "columns", "quarantined", "updated")
_COMMIT = re.compile(r"^(\d{20})\.json$")


def log_version(fs: Any, table_path: str) -> int:
    """The latest version of the Delta table at ``table_path`` (its highest numbered commit
    file), from one listing of its ``_delta_log``; -1 when it has none."""
    from pyarrow.fs import FileSelector

    infos = fs.get_file_info(FileSelector(f"{table_path}/_delta_log", allow_not_found=True))
    versions = [int(m.group(1)) for info in infos if (m := _COMMIT.match(info.base_name))]
    return max(versions, default=-1)


def error_row(name: str, error: BaseException) -> dict[str, Any]:
    """The row of a table that cannot be read: its name and why, every figure null."""
    return {**dict.fromkeys(ROW_FIELDS), "name": name, "error": describe(error)}


@dataclass
class _Cached:
    key: tuple[int, int]
    row: dict[str, Any]


class LakeListing:
    """The cached table rows of one lake. `rows()` reads (call it from a worker thread); one
    call at a time per lake."""

    def __init__(self, uri: str, storage_options: dict[str, str] | None = None) -> None:
        self.uri = uri
        self.storage_options = storage_options
        self._cache: dict[str, _Cached] = {}
        self._lock = threading.Lock()

    def rows(self) -> list[dict[str, Any]]:
        """One row per table (``ROW_FIELDS`` plus ``error``), in name order. Raises what the
        lake itself raises when it cannot be listed."""
        from workbench.lake import Lake
        from workbench.lake.files import filesystem
        from workbench.lake.ingest import QUARANTINE_SUFFIX

        lake = Lake(self.uri, storage_options=self.storage_options)
        fs, root = filesystem(lake.uri)
        with self._lock:
            rows, cache = [], {}
            for name in lake.names():
                try:
                    key = (log_version(fs, f"{root}/{name}"),
                           log_version(fs, f"{root}/{name}{QUARANTINE_SUFFIX}"))
                except OSError as err:
                    rows.append(error_row(name, err))
                    continue
                cached = self._cache.get(name)
                if cached is None or cached.key != key:
                    cached = _Cached(key, _row(lake, name))
                cache[name] = cached
                rows.append(cached.row)
            self._cache = cache  # tables that are gone are forgotten
        return rows


def _row(lake: Any, name: str) -> dict[str, Any]:
    """`Lake.table_row` as JSON (``updated`` in unix seconds, ``error`` null), or the error
    row when the table cannot be read (a corrupt log, a missing data file's metadata)."""
    try:
        row = lake.table_row(name)
    except Exception as err:  # any failure to read one table is that table's row, not the lake's
        return error_row(name, err)
    return {**{k: row[k] for k in ROW_FIELDS}, "updated": epoch(row["updated"]), "error": None}
