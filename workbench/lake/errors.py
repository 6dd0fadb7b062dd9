"""Errors the lake raises: each names the file, table, column or argument and says what to do."""

from __future__ import annotations


class LakeError(ValueError):
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
