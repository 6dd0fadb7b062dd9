"""The lake: governed Delta tables (ingest, quarantine, pseudonymisation, profiles, versions)."""

from workbench.lake.drift import DriftReport
from workbench.lake.errors import (
           DriftError,
           DriftWarning,
           LakeError,
           PiiKeyError,
           SchemaError,
           SourceError,
           TableNotFoundError,
           TableReadError,
           UnsupportedFeatureError,
)
from workbench.lake.lake import Lake
from workbench.lake.profile import Profile
from workbench.lake.report import IngestReport
from workbench.lake.table import Table

__all__ = ["DriftError", "DriftReport", "DriftWarning", "IngestReport", "Lake", "LakeError",
           "PiiKeyError", "Profile", "SchemaError", "SourceError", "Table",
           "TableNotFoundError", "TableReadError", "UnsupportedFeatureError", "default_lake"]


def default_lake() -> Lake:
    """The lake that dashboards and the sidebar read when given none: ``$WORKBENCH_LAKE``, else
    ``$WORKBENCH_HOME/lake`` (opening it writes nothing; a missing one has no tables)."""
    from workbench.home import default_lake_path

    return Lake(default_lake_path())
