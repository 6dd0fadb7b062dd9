"""`wb.publish(notebooks)`: notebooks served as Voila dashboards, and the `Dashboard` handle.

Each `publish` starts one dashboard server (`workbench.publish.app`, Voila's standalone app) on
127.0.0.1 (a free port unless one is given), as ``python -m workbench.publish.serve`` so that it
stops with the process that published it. It serves the notebooks given (one, several, or a
folder's) and a landing page listing them. It is configured for people who don't read code:

- sources stripped (``--strip_sources=True``): the page shows outputs and widgets only;
- pages preheated (Voila's kernel pool, one kernel per notebook), refreshed when older than
  ``fresh`` seconds and the lake has changed (`workbench.publish.app`), so a visitor's first
  chart does not wait for a kernel to start and run the notebook;
- responses gzipped and kernel websockets deflated (`workbench.publish.app`);
- execute requests refused: Voila's kernel manager passes only comm, kernel-info and shutdown
  messages from the page to the kernel (its ``allowed_message_types``), so a visitor can move
  the widgets but run no code;
- a per-cell timeout (``--VoilaExecutor.timeout``), so a hung cell ends in an error, not a
  page that never loads;
- idle kernels culled (``--MappingKernelManager.cull_idle_timeout``): a page closed without
  saying goodbye does not keep its kernel forever;
- no tracebacks: a cell that raises shows one sentence (`ERROR_NOTE`), its author finds the
  error by running the notebook;
- the Voila template ``workbench`` (share/jupyter/voila/templates/workbench): Voila's lab
  template without the fonts it fetches from a CDN, so every page works offline;
- behind JupyterHub, Binder or a Jupyter server under a base URL, Voila's base URL is the path
  through that server's jupyter-server-proxy (`workbench.proxy`), and `Dashboard.url` is that
  path: the page is never only at 127.0.0.1.

A page closed in the browser asks Voila to shut its kernel down, but Voila 0.5 refuses that
request (a missing XSRF argument, voila-dashboards/voila#1458): culling is what frees it.

The dashboard reads its lake from ``WORKBENCH_LAKE``; ``lake=`` sets it for the server.
"""

from __future__ import annotations

import atexit
import errno
import html
import importlib.util
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.compute.probe import REPR_PROBE_S, free_port, reachable
from workbench.compute.registry import owner_fields
from workbench.proxy import jupyter_base
from workbench.publish import registry
from workbench.publish.errors import NotebookNotFoundError, PublishError
from workbench.publish.notebook import read_notebook
from workbench.publish.serve import terminate

if TYPE_CHECKING:
    from workbench.lake import Lake

START_TIMEOUT_S = 60.0
CELL_TIMEOUT_S = 300
CULL_IDLE_S = 900
STOP_GRACE_S = 10.0
# What a visitor reads under a cell that ran past the limit (after Voila's "Cell execution timed
# out, aborting notebook execution.").
TIMEOUT_NOTE = ("The rest of this dashboard was not run: a cell took longer than {} s. Its author "
                "can raise the limit with wb.publish(..., cell_timeout=SECONDS).")
ERROR_NOTE = ("This part of the dashboard could not be drawn; its author can see why by running "
              "the notebook.")
FRESH_S = 60.0
_PORT_TRIES = 3  # a free port picked here can be taken before Voila binds it: pick another

# Dashboards this process published that still run, oldest first.
_live: list[Dashboard] = []


class Dashboard:
    """A running dashboard server: ``url``, ``index_url``, ``pages``, ``name``, ``notebook``,
    ``lake``; ``stop()``.

    It stops when this process exits (and, through a watchdog in the server, even when this
    process is killed). A context manager; renders as a link in a notebook.
    """

    def __init__(self, *, name: str, notebook: Path, pages: list[str], port: int,
                 base_url: str, lake: str | None, process: subprocess.Popen, log_path: Path,
                 entry_id: str) -> None:
        self.name = name
        self.notebook = notebook
        self.pages = pages
        self.port = port
        self.base_url = base_url
        self.lake = lake
        self.process = process
        self.log_path = log_path
        self.id = entry_id
        self.created = time.time()

    @property
    def index_url(self) -> str:
        """The landing page: every published notebook with a line and a key number."""
        return self._address(self.base_url)

    @property
    def url(self) -> str:
        """What a person opens: the notebook's page when one was published, else the landing
        page. A path on the Jupyter server when it proxies (JupyterHub, Binder), else a
        loopback URL."""
        return self.page_url(self.pages[0]) if len(self.pages) == 1 else self.index_url

    def page_url(self, page: str) -> str:
        """Where ``page`` (one of `pages`) renders, addressed as `url` is."""
        return self._address(f"{self.base_url}voila/render/{urllib.parse.quote(page)}")

    @property
    def local_url(self) -> str:
        """The server's own address on 127.0.0.1 (for this machine's processes)."""
        return f"http://127.0.0.1:{self.port}{self.base_url}"

    def _address(self, path: str) -> str:
        return path if self.base_url != "/" else f"http://127.0.0.1:{self.port}{path}"

    @property
    def running(self) -> bool:
        """Whether the server process is still alive."""
        return self.process.poll() is None

    @property
    def status(self) -> str:
        """"running" while the server process runs and its port accepts a connection (a loopback
        probe, at most `REPR_PROBE_S`), else "stopped": what the reprs say, so a link said to
        be running works."""
        serving = self.running and reachable(f"tcp://127.0.0.1:{self.port}", REPR_PROBE_S)
        return "running" if serving else "stopped"

    @property
    def log(self) -> str:
        """The server's log so far (Voila's messages, kernel starts, tracebacks)."""
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def wait(self, timeout: float | None = None) -> int | None:
        """Block until the server exits (or ``timeout`` seconds pass); its exit code, or None
        when it still runs."""
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self) -> None:
        """Stop the server and every kernel it started; safe to call twice.

        SIGTERM lets Voila shut its kernels down; whatever is left after a grace period (the
        kernels run in sessions of their own, so they are found as the server's descendants,
        collected before it exits) is killed. The log is deleted, unless the server had exited
        by itself (then it tells why).
        """
        running = self.process.poll() is None
        self._stop()
        if running:
            self.log_path.unlink(missing_ok=True)

    def _stop(self) -> None:
        import psutil

        if self in _live:
            _live.remove(self)
        registry.unregister(self.id)
        if self.process.poll() is None:
            try:
                family = psutil.Process(self.process.pid).children(recursive=True)
            except psutil.NoSuchProcess:
                family = []
            self.process.terminate()
            try:
                self.process.wait(STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(STOP_GRACE_S)
            terminate(family, STOP_GRACE_S)  # kernels the server did not stop itself

    def __enter__(self) -> Dashboard:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return (f"<Dashboard {self.name!r} {self.status} at {self.url} "
                f"notebook={str(self.notebook)!r}>")

    def _repr_html_(self) -> str:
        state = self.status
        link = (f'<a href="{html.escape(self.url)}" target="_blank">{html.escape(self.url)}</a>'
                if state == "running" else html.escape(self.url))
        rows = [("Dashboard", f"<b>{html.escape(self.name)}</b> ({state})"), ("URL", link),
                ("Notebook" if self.notebook.suffix == ".ipynb" else "Notebooks",
                 f"<code>{html.escape(str(self.notebook))}</code>"),
                ("Lake", f"<code>{html.escape(self.lake)}</code>" if self.lake else
                 "<code>WORKBENCH_LAKE</code> or the default")]
        body = "".join(f'<tr><th style="text-align:left">{k}</th>'
                       f'<td style="text-align:left">{v}</td></tr>' for k, v in rows)
        return f"<table>{body}</table>"


def publish(notebook: str | os.PathLike | Sequence[str | os.PathLike], name: str | None = None,
            port: int | None = None, *, lake: Lake | str | os.PathLike | None = None,
            title: str | None = None, preheat: bool = True, fresh: float = FRESH_S,
            cell_timeout: int = CELL_TIMEOUT_S,
            cull_idle: int = CULL_IDLE_S, start_timeout: float = START_TIMEOUT_S) -> Dashboard:
    """Serve ``notebook`` (a notebook, a list of notebooks in one folder, or a folder: all its
    notebooks) as Voila dashboards with a landing page, on 127.0.0.1, and return the
    `Dashboard` once the server answers.

    ``name`` defaults to the notebook's stem (the folder's name for several); publishing a name
    this process already serves replaces that dashboard, one another process serves is an
    error. ``port`` defaults to a free one. ``lake`` (a `Lake`, path or URL) becomes the
    server's ``WORKBENCH_LAKE``. ``title``: the landing page's heading.

    ``preheat``: render each page ahead in a kernel of its own, so a visitor need not wait
    (False: a kernel per visit, none held in between). A preheated notebook runs again, in the
    background, after every visit: publish one with side effects (training, writing tables)
    with ``preheat=False``. ``fresh``: seconds after which a preheated page is rendered again
    if the lake changed. ``cell_timeout``: seconds a cell may run; ``cull_idle``: seconds an
    idle kernel is kept.
    """
    path, root, pages = _check_notebooks(notebook)
    if not 0 < cell_timeout < cull_idle:
        raise PublishError(
            f"cell_timeout={cell_timeout} and cull_idle={cull_idle}: give 0 < cell_timeout < "
            "cull_idle (seconds), or a kernel still running a cell could be culled under it")
    _check_voila()
    if port is not None:
        _check_port(port)
    if not fresh > 0:
        raise PublishError(f"fresh={fresh!r}: give the seconds after which a preheated page is "
                           "rendered again (a number > 0)")
    name = name or path.stem
    for mine in [d for d in _live if d.name == name]:
        mine.stop()
    for entry in registry.live_entries():
        if entry["name"] == name:
            raise PublishError(
                f"a dashboard named {name!r} is already running at {entry['url']} (published "
                f"by process {entry['pid']}): stop it there, or pass another name=")
    env = os.environ.copy()
    lake_uri = None
    if lake is not None:
        env["WORKBENCH_LAKE"] = lake_uri = lake_location(lake)
    options = [f"--VoilaExecutor.timeout={int(cell_timeout)}",
               f"--VoilaExecutor.cell_timeout_instruction={TIMEOUT_NOTE.format(cell_timeout)}",
               f"--MappingKernelManager.cull_idle_timeout={int(cull_idle)}",
               f"--MappingKernelManager.cull_interval={max(1, min(60, int(cull_idle) // 2))}",
               # A kernel still stuck in a timed-out cell sends nothing: cull it all the same.
               "--MappingKernelManager.cull_busy=True",
               f"--VoilaExecutor.cell_error_instruction={ERROR_NOTE}",
               f"--preheat_kernel={bool(preheat)}", "--pool_size=1", "--template=workbench"]
    served = {"root": root, "pages": pages, "title": title or name, "fresh": fresh}
    attempt = 1
    while True:
        chosen = port if port is not None else free_port()
        try:
            return _start(path, name, chosen, lake_uri, env, options, served, start_timeout)
        except _PortTaken:
            if port is not None or attempt == _PORT_TRIES:
                raise PublishError(
                    f"port {chosen} on 127.0.0.1 is in use: pass another port=, or none to "
                    "get a free one") from None
            attempt += 1


def lake_location(lake: Lake | str | os.PathLike) -> str:
    """A lake as ``WORKBENCH_LAKE`` names it: its URL, or its absolute path (the server and the
    kernels run in the notebook's directory, so a relative path would point elsewhere)."""
    uri = getattr(lake, "uri", None)
    if uri is not None:
        return uri
    text = os.fspath(lake)
    return text if "://" in text else os.path.abspath(text)


class _PortTaken(Exception):
    """Voila found its port taken (by a process that bound it after we checked)."""


def _start(path: Path, name: str, port: int, lake_uri: str | None, env: dict[str, str],
           options: list[str], served: dict[str, Any], start_timeout: float) -> Dashboard:
    import psutil

    jupyter = jupyter_base()
    base_url = f"{jupyter}proxy/absolute/{port}/" if jupyter else "/"

    owner = owner_fields()  # this process: the server dies with it, its entry is pruned with it
    entry_id = uuid.uuid4().hex[:12]
    logs = registry.registry_dir() / "logs"
    logs.mkdir(exist_ok=True)
    log_path = logs / f"{entry_id}.log"
    command = [
        sys.executable, "-m", "workbench.publish.serve",
        f"--parent-pid={owner['pid']}", f"--parent-created={owner['pid_created']}",
        *[f"--notebook={page}" for page in served["pages"]], f"--title={served['title']}",
        f"--fresh={served['fresh']}",
        "--", str(served["root"]), "--no-browser", f"--port={port}", "--Voila.port_retries=0",
        "--Voila.ip=127.0.0.1", f"--Voila.base_url={base_url}", "--strip_sources=True",
        *options]
    with open(log_path, "wb") as log:
        # A session of its own: Ctrl-C in a terminal reaches the publisher, which stops the
        # server, rather than Voila's interactive shutdown prompt.
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, cwd=served["root"], env=env,
                                   start_new_session=True)
    dashboard = Dashboard(name=name, notebook=path, pages=served["pages"], port=port,
                          base_url=base_url, lake=lake_uri, process=process, log_path=log_path,
                          entry_id=entry_id)
    try:
        _wait_until_serving(dashboard, start_timeout)
    except BaseException:
        dashboard._stop()  # the log stays: the error names it
        raise
    registry.register({
        "id": entry_id, "name": name, "url": dashboard.url, "port": port,
        "notebook": str(path), "lake": lake_uri, "server_pid": process.pid,
        "server_created": psutil.Process(process.pid).create_time(),
        **owner, "created": dashboard.created, "log": str(log_path)})
    _live.append(dashboard)
    return dashboard


def _wait_until_serving(dashboard: Dashboard, timeout: float) -> None:
    """Poll a static path of the server (not the notebook, which would start a kernel); any
    HTTP answer means it serves."""
    probe = dashboard.local_url + "voila/static/"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not dashboard.running:
            log = dashboard.log
            if "already in use" in log:
                dashboard.log_path.unlink(missing_ok=True)  # the error names the port instead
                raise _PortTaken()
            raise PublishError(
                f"Voila exited with code {dashboard.process.returncode} before serving "
                f"{dashboard.notebook}; the end of its log ({dashboard.log_path}):\n"
                + "\n".join(log.splitlines()[-15:]))
        try:
            with urllib.request.urlopen(probe, timeout=2):
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.2)
    raise PublishError(f"Voila did not answer at {dashboard.url} within {timeout:g} s; its log: "
                       f"{dashboard.log_path}")


def _check_notebooks(notebook: str | os.PathLike | Sequence[str | os.PathLike]
                     ) -> tuple[Path, Path, list[str]]:
    """``(path, root, pages)``: what was published (a notebook or folder, absolute), the folder
    served and the notebooks' paths relative to it, each checked to be a readable notebook."""
    if isinstance(notebook, (str, os.PathLike)):
        path = Path(os.fspath(notebook)).expanduser().resolve()
        if path.is_dir():
            found = sorted(p for p in path.rglob("*.ipynb")
                           if ".ipynb_checkpoints" not in p.parts)
            if not found:
                raise NotebookNotFoundError(f"no notebook in the folder {path}: give a folder "
                                            "with .ipynb files, or a notebook")
            notebooks = found
        else:
            notebooks = [path]
    else:
        notebooks = [Path(os.fspath(n)).expanduser().resolve() for n in notebook]
        if not notebooks:
            raise PublishError("no notebooks given: give a notebook, a list of them, or a folder")
        path = Path(os.path.commonpath([n.parent for n in notebooks]))
    for nb in notebooks:
        read_notebook(nb)
    root = path if path.is_dir() else path.parent
    pages = [nb.relative_to(root).as_posix() for nb in notebooks]
    if len(set(pages)) != len(pages):
        raise PublishError(f"a notebook is given twice in {[str(n) for n in notebook]}: give "
                           "each once")
    return path, root, pages


def _check_voila() -> None:
    """Voila and a Python kernel must be importable by this interpreter, which runs both."""
    missing = [m for m in ("voila", "ipykernel") if importlib.util.find_spec(m) is None]
    if missing:
        raise PublishError(
            f"wb.publish needs {' and '.join(missing)}, not installed for {sys.executable}: "
            f"pip install {' '.join(missing)} (both are dependencies of workbench; reinstall it "
            "with pip install -e .)")


def _check_port(port: int) -> None:
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise PublishError(f"port={port!r} is not a TCP port: give an int from 1 to 65535, or "
                           "none to get a free one")
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server will
        try:
            s.bind(("127.0.0.1", port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                reason = "in use" if exc.errno == errno.EADDRINUSE else "not allowed"
                raise PublishError(f"port {port} on 127.0.0.1 is {reason}: pass another port=,"
                                   " or none to get a free one") from exc
            raise


def stop_all() -> None:
    """Stop every dashboard this process published (at interpreter exit too)."""
    for dashboard in list(_live):
        dashboard.stop()


atexit.register(stop_all)

