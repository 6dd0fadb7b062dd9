"""Errors as the REST API shows them: `ApiError` (a status and a message for the person
calling), and `describe` for any other exception."""

from __future__ import annotations

from tornado.web import HTTPError


class ApiError(HTTPError):
    """An HTTP error whose message names the argument and says what to do; the handlers send
    it as ``{"message": ...}`` (and tornado logs it as text, never as a format string)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(status, "%s", message)


def describe(error: BaseException) -> str:
    """An exception as one line for a person: its type and the first line of its message."""
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__
