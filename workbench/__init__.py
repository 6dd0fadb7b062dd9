"""Workbench: a Jupyter-first workbench for AI infrastructure.

``import workbench as wb`` is cheap: every name below loads its module on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbench.lazy import lazy_exports

__version__ = "0.1.0"

if TYPE_CHECKING:
    from workbench import bench, charts, compress, fl, infer, kernels, lake, ops, train, widgets
    from workbench.compute import Cluster, cluster, clusters
    from workbench.environment import env
    from workbench.errors import WorkbenchError
    from workbench.infer.registry import endpoints
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
    "WorkbenchError": "workbench.errors",
    "endpoints": "workbench.infer.registry",
}
# `publish` is also a package (workbench.publish), resolved above to its function.
_SUBMODULES = {"bench", "charts", "compress", "compute", "fl", "infer", "kernels", "lake",
               "ops", "train", "widgets"}

__all__ = ["Cluster", "IngestReport", "Lake", "Profile", "Table", "cluster", "clusters",
           "compute", "env", "kernels", "lake", "launch", "runs", "train", "widgets",
           "Dashboard", "dashboards", "default_lake", "export_html", "publish",
           "bench", "charts", "compress", "endpoints", "fl", "infer", "ops", "WorkbenchError"]


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """Where the built JupyterLab extension lies, for `jupyter labextension develop` (installs
    of the package put it in share/jupyter/labextensions themselves)."""
    return [{"src": "labextension", "dest": "@workbench-ai/jupyterlab"}]


__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS, _SUBMODULES)
