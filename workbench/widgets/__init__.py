"""Notebook views (ipywidgets; charts as plotly mimetype outputs in Output widgets, the live
training monitor a plotly FigureWidget); each loads on first use.

Importing this package registers the view of each result class with `workbench.display`, which
is how a result finds its view without importing this layer (data never imports its views).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from workbench.display import register as _register
from workbench.lazy import lazy_exports

_EXPORTS = {"LakeBrowser": ".lake_browser", "ProfileView": ".profile",
            "TrainingMonitor": ".training",
            "LakeHealth": ".lake_health", "TrainingRuns": ".training_runs",
            "InferenceResults": ".inference_results",
            "LatencyView": ".bench", "CompareView": ".bench",
            "RunComparisonView": ".run_comparison", "PartitionsView": ".federated",
            "FederatedMonitor": ".federated", "FederatedRuns": ".federated_runs",
            "OpsBoard": ".ops_board"}
__all__ = sorted(_EXPORTS)

#: The view of each result class, the class named by its dotted path (nothing is imported).
VIEWS = {"workbench.lake.profile.Profile": "ProfileView",
         "workbench.train.launcher.Job": "TrainingMonitor",
         "workbench.bench.harness.LatencyResult": "LatencyView",
         "workbench.bench.comparison.Comparison": "CompareView",
         "workbench.train.comparison.RunComparison": "RunComparisonView",
         "workbench.fl.partitions.Partitions": "PartitionsView",
         "workbench.fl.job.FederatedJob": "FederatedMonitor"}


__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS)


def _factory(view: str) -> Callable[..., Any]:
    """Builds a `view` of a result, loading the view's module only when one is first built."""
    def build(result: Any, **options: Any) -> Any:
        return __getattr__(view)(result, **options)

    return build


for _result, _view in VIEWS.items():
    _register(_result, _factory(_view))
