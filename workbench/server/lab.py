"""`LabServer`: JupyterLab (or Notebook 7) with the Workbench sidebar, started as a child process
(`make demo` ends in one; the browser tests drive one).

It listens on 127.0.0.1 with a fresh random token, reads the lake given to it (its sidebar
lists that lake's tables), and stops with its kernels when `stop()` is called or the
process that started it exits.
"""

from __future__ import annotations

import atexit
import json
import os
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from workbench.compute.probe import free_port
from workbench.publish.serve import terminate

START_TIMEOUT_S = 120.0
APPS = {"jupyterlab": "lab", "notebook": "tree"}  # the app's module -> the page a person opens
STOP_GRACE_S = 10.0


class LabServer:
    """A running JupyterLab: ``url`` (with its token), ``base``, ``token``, ``log``; ``stop()``.
    A context manager."""

    def __init__(self, root_dir: str | os.PathLike[str], *, lake: str | None = None,
                 port: int | None = None, log_path: str | os.PathLike[str] | None = None,
                 extra_args: tuple[str, ...] = (), workbench: bool = True,
                 app: str = "jupyterlab") -> None:
        """``workbench=False`` starts it with the Workbench server extension off (the sidebar
        then says so); ``app="notebook"`` serves Notebook 7 instead of JupyterLab."""
        if app not in APPS:
            raise ValueError(f"app={app!r}: give one of {sorted(APPS)}")
        self.app = app
        self.root_dir = Path(root_dir).resolve()
        self.port = port or free_port()
        self.token = secrets.token_hex(24)
        self.log_path = Path(log_path) if log_path else self.root_dir / ".workbench-lab.log"
        env = dict(os.environ)
        if lake is not None:
            env["WORKBENCH_LAKE"] = str(lake)
        args = [sys.executable, "-m", app, "--no-browser",
                f"--ServerApp.port={self.port}", "--ServerApp.ip=127.0.0.1",
                "--ServerApp.port_retries=0", f"--IdentityProvider.token={self.token}",
                f"--ServerApp.root_dir={self.root_dir}",
                f"--ServerApp.jpserver_extensions={{'workbench.server': {workbench}}}",
                *extra_args]
        if os.geteuid() == 0:  # containers, CI and Binder-like images often run as root
            args.append("--allow-root")
        self._log = open(self.log_path, "w")  # noqa: SIM115 (open for the server's lifetime)
        self.process = subprocess.Popen(args, stdout=self._log, stderr=subprocess.STDOUT,
                                        env=env, start_new_session=True)
        atexit.register(self.stop)
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def url(self) -> str:
        """The app's page with the token: what a person opens."""
        return f"{self.base}{APPS[self.app]}?token={self.token}"

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        request = urllib.request.Request(f"{self.base}api/status",
                                         headers={"Authorization": f"token {self.token}"})
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with code {self.process.returncode} "
                                   f"before it answered; its log:\n{self.log[-4000:]}")
            try:
                with urllib.request.urlopen(request, timeout=2) as response:
                    json.load(response)
                    return
            except (urllib.error.URLError, OSError, ValueError):
                time.sleep(0.3)
        raise TimeoutError(f"JupyterLab did not answer on port {self.port} within "
                           f"{START_TIMEOUT_S:.0f} s; its log:\n{self.log[-4000:]}")

    def stop(self) -> None:
        """Stop the server and its kernels (SIGTERM, SIGKILL after a grace); safe twice."""
        import psutil

        if self.process.poll() is None:
            try:
                procs = [psutil.Process(self.process.pid),
                         *psutil.Process(self.process.pid).children(recursive=True)]
            except psutil.NoSuchProcess:
                procs = []
            terminate(procs, STOP_GRACE_S)
            self.process.wait()
        self._log.close()
        atexit.unregister(self.stop)

    def __enter__(self) -> LabServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.process.poll() is None else "stopped"
        return f"<LabServer {state} {self.base} root_dir={str(self.root_dir)!r}>"
