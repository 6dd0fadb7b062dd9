"""What every layer shows of an exception: one place, importing nothing (the server extension
and the lake both use it, and the server must not load pandas and pyarrow to start)."""

from __future__ import annotations


def describe(error: BaseException) -> str:
    """An exception as one line for a person: its type and the first line of its message
    (deltalake's messages go on with a backtrace)."""
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__
