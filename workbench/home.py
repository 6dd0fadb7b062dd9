"""The workbench's own directory, where the cluster registry, run folders and the default PII
key file live: ``$WORKBENCH_HOME``, else ``~/.workbench``."""

from __future__ import annotations

import os
from pathlib import Path


def home() -> Path:
    """``$WORKBENCH_HOME``, else ``~/.workbench`` (read on every call, so tests can move it)."""
    return Path(os.environ.get("WORKBENCH_HOME") or Path.home() / ".workbench")


def default_lake_path() -> str:
    """Where the dashboards look for the lake: ``$WORKBENCH_LAKE`` (a directory or an object-store
    URL), else ``home() / "lake"``."""
    return os.environ.get("WORKBENCH_LAKE") or str(home() / "lake")
