"""Errors as the REST API shows them: `ApiError` (a status and a message for the person
calling); `workbench.errors.describe` shows any other exception."""

from __future__ import annotations

from tornado.web import HTTPError

from workbench.errors import WorkbenchError


class ApiError(WorkbenchError, HTTPError):
    """An HTTP error whose message names the argument and says what to do; the handlers send
    it as ``{"message": ...}`` (and tornado logs it as text, never as a format string)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(status, "%s", message)
