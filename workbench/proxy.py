"""Links that work where users are: on JupyterHub, Binder or any Jupyter server under a base URL
other than ``/``, a browser reaches only that server, so a local port (a published dashboard,
Dask's dashboard) is linked through jupyter-server-proxy at ``{base}proxy/...``.

The base comes from JupyterHub's ``JUPYTERHUB_SERVICE_PREFIX`` or from ``BASE_ENV``, which the
Workbench server extension sets for the kernels it starts when its base URL is not ``/``.
"""

from __future__ import annotations

import importlib.util
import os
import re

BASE_ENV = "WORKBENCH_JUPYTER_BASE_URL"
DASK_DEFAULT_LINK = "{scheme}://{host}:{port}/status"


def jupyter_base() -> str | None:
    """The Jupyter server's base URL (ending in "/") when links must go through it and
    jupyter-server-proxy can carry them; None where a loopback URL is what users open."""
    base = os.environ.get(BASE_ENV) or os.environ.get("JUPYTERHUB_SERVICE_PREFIX")
    if not base or base == "/" or importlib.util.find_spec("jupyter_server_proxy") is None:
        return None
    return base.rstrip("/") + "/"


def dask_dashboard_link() -> str | None:
    """Dask's ``distributed.dashboard.link`` template through the Jupyter server (as
    dask-labextension documents for JupyterHub), or None to keep Dask's own."""
    import dask

    base = jupyter_base()
    link = dask.config.get("distributed.dashboard.link", default=DASK_DEFAULT_LINK)
    if base is None or link != DASK_DEFAULT_LINK:
        return None  # not behind a server, or the user chose a link: theirs wins
    return base + "proxy/{port}/status"


def local_address(link: str) -> str:
    """What a link points at on this machine: a path through jupyter-server-proxy
    (``{base}proxy/[absolute/]PORT/...``) is ``http://127.0.0.1:PORT/``; anything else is
    itself. For probing whether the process behind a link still serves."""
    found = re.match(r"/(?:.*/)?proxy/(?:absolute/)?(\d+)/", link)
    return f"http://127.0.0.1:{found[1]}/" if found else link
