"""Paths sent by clients, resolved inside the server's root directory or refused.

A client path is relative to ``root_dir``: absolute paths, ``..`` components, null bytes and
paths whose real location (symbolic links resolved) leaves the root are refused before anything
is read, as are hidden files and directories unless the contents manager allows them.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath
from typing import Any

from workbench.server.errors import ApiError


def resolve(root: str | os.PathLike[str], value: Any, argument: str, *,
            allow_hidden: bool = False) -> Path:
    """The real path of client path ``value`` (named ``argument`` in errors) under ``root``:
    400 for a value that is not a relative path inside it, 403 when it resolves outside it."""
    if not isinstance(value, str) or not value.strip():
        raise ApiError(400, f"{argument}: give a path relative to the server's root directory, "
                            f"as text (got {value!r})")
    if "\x00" in value:
        raise ApiError(400, f"{argument}: {value!r} contains a null byte; give a plain path")
    parts = PurePosixPath(value.replace("\\", "/")).parts
    if os.path.isabs(value) or value.startswith(("/", "\\")):
        raise ApiError(400, f"{argument}: {value!r} is absolute; give a path relative to the "
                            "server's root directory")
    if ".." in parts:
        raise ApiError(400, f"{argument}: {value!r} leaves the server's root directory; give a "
                            "path inside it")
    if not allow_hidden and any(part.startswith(".") and part != "." for part in parts):
        raise ApiError(403, f"{argument}: {value!r} is hidden (a name starting with '.'); the "
                            "server does not serve hidden files")
    base = os.path.realpath(root)
    real = os.path.realpath(os.path.join(base, *parts))
    if os.path.commonpath([base, real]) != base:
        raise ApiError(403, f"{argument}: {value!r} resolves outside the server's root "
                            "directory (through a symbolic link); give a path inside it")
    return Path(real)


def existing_file(root: str | os.PathLike[str], value: Any, argument: str, *,
                  suffixes: tuple[str, ...], allow_hidden: bool = False) -> Path:
    """`resolve`, then check that the path is a file with one of ``suffixes``: 400 naming the
    argument when it is missing, a directory, or of another kind."""
    path = resolve(root, value, argument, allow_hidden=allow_hidden)
    if path.suffix.lower() not in suffixes:
        raise ApiError(400, f"{argument}: {value!r} is not a {', '.join(suffixes)} file; pick "
                            "one of those")
    if not path.exists():
        raise ApiError(400, f"{argument}: {value!r} does not exist under the server's root "
                            "directory; check the path")
    if not path.is_file():
        raise ApiError(400, f"{argument}: {value!r} is not a file; give a file")
    return path
