"""The workbench's own directory, where the cluster registry, run folders and the default PII
key file live: ``$WORKBENCH_HOME``, else ``~/.workbench``."""

from __future__ import annotations

import os
from pathlib import Path


def home() -> Path:
    """``$WORKBENCH_HOME``, else ``~/.workbench`` (read on every call, so tests can move it)."""
    return Path(os.environ.get("WORKBENCH_HOME") or Path.home() / ".workbench")
