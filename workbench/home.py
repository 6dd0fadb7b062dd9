"""The workbench's own directory, where the registries (clusters, dashboards), run folders and
the default PII key file live: ``$WORKBENCH_HOME``, else ``~/.workbench``."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any


def home() -> Path:
    """``$WORKBENCH_HOME``, else ``~/.workbench`` (read on every call, so tests can move it)."""
    return Path(os.environ.get("WORKBENCH_HOME") or Path.home() / ".workbench")


def default_lake_path() -> str:
    """Where the dashboards look for the lake: ``$WORKBENCH_LAKE`` (a directory or an object-store
    URL), else ``home() / "lake"``."""
    return os.environ.get("WORKBENCH_LAKE") or str(home() / "lake")


def private_dir(name: str) -> Path:
    """``home() / name``, created private to this user (mode 0700) when missing: where the
    registries of clusters and dashboards keep one JSON file per entry."""
    path = home() / name
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.chmod(0o700)
    return path


def write_json(path: Path, obj: Any) -> Path:
    """Write ``obj`` as JSON to ``path`` atomically (a temporary file beside it, renamed into
    place): a reader sees the old file or the new one, never half of one."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(obj, fh)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def live_entries(name: str, required: set[str],
                 alive: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
    """The entries of the registry ``private_dir(name)`` (one JSON file each), oldest first by
    their "created". Files that are unreadable, lack a ``required`` key, or whose entry is not
    ``alive`` are deleted as they are found."""
    entries = []
    for path in private_dir(name).glob("*.json"):
        try:
            entry = json.loads(path.read_text())
        except (OSError, ValueError):
            entry = None
        if not isinstance(entry, dict) or not entry.keys() >= required or not alive(entry):
            path.unlink(missing_ok=True)
            continue
        entries.append(entry)
    return sorted(entries, key=lambda entry: entry.get("created", 0))


def new_run_dir(name: str) -> Path:
    """A new run directory's path, ``home() / "runs" / "<stamp>-<name>-<id>"`` (not created):
    where training runs and federated jobs keep their files."""
    import time
    import uuid

    return home() / "runs" / f"{time.strftime('%Y%m%d-%H%M%S')}-{name}-{uuid.uuid4().hex[:6]}"
