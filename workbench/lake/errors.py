"""Errors the lake raises: each names the file, table, column or argument and says what to do."""

from __future__ import annotations

from workbench.errors import WorkbenchError


class LakeError(WorkbenchError, ValueError):
    """Base class of the lake's user-facing errors."""


class SourceError(LakeError):
    """A source file or object cannot be read as given (missing, empty, corrupt, wrong format)."""


class SchemaError(LakeError):
    """The data does not fit the table's schema in a way that rows alone cannot be rejected for."""


class TableNotFoundError(LakeError, KeyError):
    """A table name that the lake does not hold."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class PiiKeyError(LakeError):
    """PII columns were asked for but no pseudonymisation key is configured (or it is unusable)."""


class TableReadError(LakeError):
    """A table whose Delta log or data cannot be read as stored (a corrupt or truncated commit,
    a missing data file); the message names the table."""


class UnsupportedFeatureError(TableReadError):
    """A table that needs a Delta reader feature this lake cannot read (e.g. ``v2Checkpoint``),
    or, ``kind="writer"``, asks writers for what this lake's writer does not do (e.g. column
    mapping): the message names the table and the features; ``features`` lists them."""

    def __init__(self, table: str, features: list[str], engine: str = "",
                 kind: str = "reader") -> None:
        self.table, self.features, self.kind = table, list(features), kind
        # a feature's name quoted; a description ("reader version 4") as it is
        shown = ", ".join(repr(f) if f.isidentifier() else f for f in self.features)
        verb = "read" if kind == "reader" else "write"
        super().__init__(f"table {table!r} needs Delta {kind} feature(s) {shown}, which "
                         f"{engine or 'this lake'} cannot {verb}; {verb} it with an engine "
                         "that supports them (e.g. Spark)"
                         + (", or rewrite it without them" if kind == "reader" else ""))


class DriftError(LakeError):
    """An ingest with ``drift="refuse"`` whose batch drifted from the table's current version:
    nothing was committed. ``report`` is the `workbench.lake.drift.DriftReport` (its
    ``drifted`` columns, their scores)."""

    def __init__(self, message: str, report: object) -> None:
        super().__init__(message)
        self.report = report


class DriftWarning(UserWarning):
    """An ingest with ``drift="warn"`` committed a batch that drifted from the version before."""
