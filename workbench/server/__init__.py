"""The Workbench Jupyter server extension: the REST API under ``{base_url}workbench/api/`` that
the JupyterLab sidebar calls (docs/rest-api.md).

Enabled with ``{"ServerApp": {"jpserver_extensions": {"workbench.server": true}}}`` (the file
jupyter-config/jupyter_server_config.d/workbench.json); configured through
``c.WorkbenchServer`` (see `workbench.server.settings`).
"""

from __future__ import annotations

import atexit
import os
from typing import Any


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "workbench.server"}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    """Read the settings, start the extension's state (threads, sampler) and add its routes."""
    from workbench.proxy import BASE_ENV
    from workbench.server.handlers import routes
    from workbench.server.settings import WorkbenchServer
    from workbench.server.state import ServerState

    gzip(serverapp.web_app)
    base_url = serverapp.web_app.settings["base_url"]
    if base_url != "/":  # kernels started here link dashboards through this server
        os.environ.setdefault(BASE_ENV, base_url)
    settings = WorkbenchServer(parent=serverapp)
    allow_hidden = bool(getattr(serverapp.contents_manager, "allow_hidden", False))
    state = ServerState(settings, serverapp.root_dir, allow_hidden)
    serverapp.web_app.settings["workbench"] = state
    serverapp.web_app.add_handlers(".*$", routes(serverapp.web_app.settings["base_url"]))
    atexit.register(state.close)
    serverapp.log.info("Workbench REST API at %sworkbench/api/ (lakes: %s)",
                       serverapp.web_app.settings["base_url"], ", ".join(state.lakes))


def gzip(web_app: Any) -> None:
    """Gzip the server's responses, as ``compress_response`` would, unless it was set to False:
    a remote visitor of a dashboard at ``/voila/render/...`` (Binder, JupyterHub) downloads
    7 MB of scripts, 2 MB gzipped. The setting is read only when the app is built, before any
    extension loads, hence tornado's transform added here."""
    from tornado.web import GZipContentEncoding

    if web_app.settings.get("compress_response", True) and \
            GZipContentEncoding not in web_app.transforms:
        web_app.add_transform(GZipContentEncoding)
