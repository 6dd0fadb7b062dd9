"""Table names: any existing Delta table opens whatever its directory is called, as long as
the name cannot reach outside the lake; a table this lake creates takes a stricter name."""

from __future__ import annotations

import re
from typing import Any

from workbench.lake.errors import LakeError

_NEW = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def check_name(name: Any, argument: str = "table") -> str:
    """A name that can only be a directory directly under the lake: no separator, no leading
    dot (so neither ``..`` nor a hidden directory), no control character."""
    if (not isinstance(name, str) or not name or "/" in name or "\\" in name
            or name.startswith(".") or _CONTROL.search(name) or len(name.encode()) > 255):
        raise LakeError(f"{argument}={name!r} is not a valid table name: a name is one directory "
                        "under the lake, without '/', '\\', a leading '.' or control "
                        "characters")
    return name


def is_name(name: Any) -> bool:
    """Whether :func:`check_name` takes ``name`` (a directory that can be listed as a table)."""
    try:
        check_name(name)
    except LakeError:
        return False
    return True


def check_new_name(name: Any, argument: str = "table") -> str:
    """A name for a table this lake creates: an identifier, so it is also a valid SQL, Python
    and Spark name. Existing tables under other names still open (:func:`check_name`)."""
    check_name(name, argument)
    if not _NEW.match(name):
        raise LakeError(f"{argument}={name!r}: a new table's name uses letters, digits and "
                        "underscores, starting with a letter or underscore (existing tables "
                        "under other names, e.g. 'sales-2024', open and take appends)")
    return name
