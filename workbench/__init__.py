"""Workbench: a Jupyter-first workbench for AI infrastructure.

``import workbench as wb`` is cheap: every name below loads its module on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from workbench import bench, compress, kernels, lake, train, widgets
    from workbench.compute import Cluster, cluster, clusters
    from workbench.environment import env
    from workbench.lake import IngestReport, Lake, Profile, Table, default_lake
    from workbench.publish import Dashboard, dashboards, export_html, publish
    from workbench.train.launcher import launch
    from workbench.train.runs import runs

_EXPORTS = {
    "cluster": "workbench.compute",
    "clusters": "workbench.compute",
    "Cluster": "workbench.compute",
    "env": "workbench.environment",
    "Lake": "workbench.lake",
    "Table": "workbench.lake",
    "Profile": "workbench.lake",
    "IngestReport": "workbench.lake",
    "launch": "workbench.train",
    "runs": "workbench.train.runs",  # the module: its `runs`, whatever workbench.train binds
    "default_lake": "workbench.lake",
    "publish": "workbench.publish",
    "dashboards": "workbench.publish",
    "export_html": "workbench.publish",
    "Dashboard": "workbench.publish",
}
# `publish` is also a package (workbench.publish), resolved above to its function.
_SUBMODULES = {"bench", "compress", "compute", "kernels", "lake", "train", "widgets"}

__all__ = ["Cluster", "IngestReport", "Lake", "Profile", "Table", "cluster", "clusters",
           "compute", "env", "kernels", "lake", "launch", "runs", "train", "widgets",
           "Dashboard", "dashboards", "default_lake", "export_html", "publish",
           "bench", "compress"]


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """Where the built JupyterLab extension lies, for `jupyter labextension develop` (installs
    of the package put it in share/jupyter/labextensions themselves)."""
    return [{"src": "labextension", "dest": "@workbench-ai/jupyterlab"}]


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        value = importlib.import_module(f"workbench.{name}")
    elif name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
    else:
        raise AttributeError(f"module 'workbench' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
