"""Which view shows a result: a registry the views layer fills, so data never imports its views.

``import workbench.widgets`` registers a view factory per result class (`register`), naming the
class by its dotted path so that no data module is imported to do it. A result asks for its
view when it is shown (`view`, `show`); if nothing is registered for it yet, the module named by
`VIEWS_MODULE` is imported by name first, and a result that still has no view shows its plain
repr. This module imports nothing from the package.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import Any

#: The module whose import registers the package's views.
VIEWS_MODULE = "workbench.widgets"

ViewFactory = Callable[..., Any]
_views: dict[str, ViewFactory] = {}


def class_path(cls: type) -> str:
    """A class's dotted ``module.QualName``: the key it is registered under."""
    return f"{cls.__module__}.{cls.__qualname__}"


def register(result: type | str, factory: ViewFactory) -> None:
    """Show instances of `result` (a class, or its `class_path`) and of its subclasses with
    ``factory(instance, **options)``; a later registration replaces an earlier one."""
    _views[result if isinstance(result, str) else class_path(result)] = factory


def find(obj: Any) -> ViewFactory | None:
    """The factory registered for `obj`'s class or its nearest base, importing `VIEWS_MODULE`
    when nothing is registered and it has not been imported yet; None when there is none."""
    factory = _registered(type(obj))
    if factory is None and VIEWS_MODULE not in sys.modules:
        importlib.import_module(VIEWS_MODULE)
        factory = _registered(type(obj))
    return factory


def view(obj: Any, **options: Any) -> Any:
    """The view of `obj`, built with `options` by its registered factory."""
    factory = find(obj)
    if factory is None:
        raise LookupError(f"no view is registered for {class_path(type(obj))}: register one "
                          "with workbench.display.register(cls, factory)")
    return factory(obj, **options)


def show(obj: Any) -> None:
    """Display `obj` in the notebook: as its registered view, else as its plain repr (for a
    result's ``_ipython_display_``, which must not display the result itself again)."""
    from IPython.display import display

    factory = find(obj)
    if factory is None:
        display(plain_bundle(obj), raw=True)
    else:
        display(factory(obj))


def plain_bundle(obj: Any) -> dict[str, str]:
    """What a notebook shows of `obj` without a view: its text repr, and its HTML one if any."""
    bundle = {"text/plain": repr(obj)}
    to_html = getattr(obj, "_repr_html_", None)
    if to_html is not None:
        bundle["text/html"] = to_html()
    return bundle


def _registered(cls: type) -> ViewFactory | None:
    for klass in cls.__mro__:
        factory = _views.get(class_path(klass))
        if factory is not None:
            return factory
    return None
