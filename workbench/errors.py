"""The root of Workbench's errors, and what every layer shows of an exception: one place,
importing nothing (the server extension and the lake both use it, and the server must not load
pandas and pyarrow to start)."""

from __future__ import annotations


class WorkbenchError(Exception):
    """The root of every error Workbench raises on purpose (a bad argument, an unreadable file,
    a failed rank): ``except wb.WorkbenchError`` catches them all. Each package's errors derive
    from it and from the built-in error they always were (``LakeError`` is still a
    ``ValueError``), so existing handlers keep working."""


def describe(error: BaseException) -> str:
    """An exception as one line for a person: its type and the first line of its message
    (deltalake's messages go on with a backtrace)."""
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__
