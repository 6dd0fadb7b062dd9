"""Notebook views (ipywidgets and plotly FigureWidgets); each loads on first use."""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {"LakeBrowser": "lake_browser", "ProfileView": "profile",
            "TrainingMonitor": "training",
            "LakeHealth": "dashboards", "TrainingRuns": "dashboards",
            "InferenceResults": "dashboards",
            "LatencyView": "bench", "CompareView": "bench"}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'workbench.widgets' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"workbench.widgets.{_EXPORTS[name]}"), name)
    globals()[name] = value
    return value
