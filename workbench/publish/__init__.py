"""Publishing: notebooks served as Voila dashboards (`publish`, `dashboards`) and static HTML
snapshots (`export_html`).

``wb.publish`` is the function; this package is callable too, so ``wb.publish(notebook)`` works
even where ``import workbench.publish`` ran first and the import system bound the package to
that name.
"""

import sys
import types

from workbench.publish.errors import NotebookNotFoundError, PublishError
from workbench.publish.export import export_html
from workbench.publish.registry import dashboards
from workbench.publish.server import Dashboard, publish

__all__ = ["Dashboard", "NotebookNotFoundError", "PublishError", "dashboards", "export_html",
           "publish"]


class _CallablePackage(types.ModuleType):
    def __call__(self, *args, **kwargs):
        return publish(*args, **kwargs)


sys.modules[__name__].__class__ = _CallablePackage
