"""The lake: governed Delta tables (ingest, quarantine, pseudonymisation, profiles, versions)."""

from workbench.lake.errors import (
           LakeError,
           PiiKeyError,
           SchemaError,
           SourceError,
           TableNotFoundError,
)
from workbench.lake.lake import Lake
from workbench.lake.profile import Profile
from workbench.lake.report import IngestReport
from workbench.lake.table import Table

__all__ = ["IngestReport", "Lake", "LakeError", "PiiKeyError", "Profile", "SchemaError",
           "SourceError", "Table", "TableNotFoundError"]
