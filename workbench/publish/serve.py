"""The dashboard server process: the dashboard app (`workbench.publish.app`), plus a watchdog
that shuts it down when the process that published it is gone
(``python -m workbench.publish.serve``).

`wb.publish` starts this instead of ``python -m voila`` so that a dashboard never outlives the
notebook or shell that published it, even when that one was killed and cleaned nothing up.
Shutting down goes through Voila's own SIGTERM handling, which stops every kernel it started
(each kernel runs in a session of its own, so killing a process group would miss them); what
is still alive after a grace period is killed.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
import time

POLL_S = 1.0
GRACE_S = 15.0


def kill_children(grace: float) -> None:
    """Terminate every process under this one, then kill those still alive after ``grace``."""
    import psutil

    terminate(psutil.Process().children(recursive=True), grace)


def terminate(procs: list, grace: float) -> None:
    """SIGTERM each of ``procs`` (psutil processes), SIGKILL those alive after ``grace``."""
    import psutil

    for proc in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.terminate()
    _, alive = psutil.wait_procs(procs, timeout=grace)
    for proc in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.kill()


def watch(pid: int, created: float) -> None:
    """Poll the publishing process; when it is gone, stop Voila (SIGTERM to ourselves), and if
    that has not ended this process within the grace period, kill the kernels and exit."""
    from workbench.compute.registry import owner_alive

    while owner_alive({"pid": pid, "pid_created": created}):
        time.sleep(POLL_S)
    print(f"workbench: the publishing process {pid} is gone; stopping the dashboard",
          file=sys.stderr, flush=True)
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(GRACE_S)
    kill_children(grace=2.0)
    os._exit(1)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m workbench.publish.serve",
        description="Serve a notebook with Voila while the publishing process lives.")
    parser.add_argument("--parent-pid", type=int, required=True)
    parser.add_argument("--parent-created", type=float, required=True)
    parser.add_argument("--notebook", action="append", default=[], dest="notebooks",
                        help="a published notebook, relative to the served folder (repeat)")
    parser.add_argument("--title", default="Dashboards", help="the landing page's heading")
    parser.add_argument("--fresh", type=float, default=60.0,
                        help="seconds after which a preheated page is rendered again")
    parser.add_argument("voila_args", nargs=argparse.REMAINDER,
                        help="Voila's arguments, after --")
    args = parser.parse_args(argv)
    voila_args = args.voila_args[1:] if args.voila_args[:1] == ["--"] else args.voila_args
    threading.Thread(target=watch, args=(args.parent_pid, args.parent_created),
                     name="workbench publisher watchdog", daemon=True).start()
    from workbench.publish.app import DashboardApp

    # Kernel websockets deflate their messages too. (A dict given on the command line is
    # deprecated.)
    DashboardApp.launch_instance(argv=voila_args, notebooks=args.notebooks, title=args.title,
                                 fresh=args.fresh,
                                 tornado_settings={"websocket_compression_options": {}})


if __name__ == "__main__":
    main()
