"""Lazy package exports: a package's public names load their module on first use, so
``import workbench`` (and each subpackage) stays cheap and loads no torch, pandas or zmq."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any


def lazy_exports(namespace: dict[str, Any], exports: Mapping[str, str],
                 modules: Iterable[str] = ()) -> tuple[Callable[[str], Any], Callable[[], list]]:
    """The ``__getattr__`` and ``__dir__`` (PEP 562) of the package whose ``globals()`` is
    ``namespace``: each name in ``exports`` is that attribute of the module named there (``.x``
    relative to the package), each name in ``modules`` the submodule itself. A loaded name is
    cached in the package, so the lookup runs once."""
    package = namespace["__name__"]
    submodules = frozenset(modules)

    def __getattr__(name: str) -> Any:
        if name in submodules:
            value = importlib.import_module(f"{package}.{name}")
        elif name in exports:
            value = getattr(importlib.import_module(exports[name], package), name)
        else:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(namespace.get("__all__", ())))

    return __getattr__, __dir__
