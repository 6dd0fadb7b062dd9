"""The `workbench` command: the lake (ingest, tables, history, profile, quarantine, keygen),
inference benchmarks (`bench`), dashboards (`publish`, `dashboards`) and the environment report,
from a shell.

Only `ingest` and `profile` need a Dask cluster: they join `--scheduler` or start a small local
one; the other commands read the Delta logs directly and return at once. A lake error prints
`error: <message>` and exits 2, without a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workbench.compute import Cluster
    from workbench.lake import Lake

# A local cluster for one command: one worker process, so it starts and warms up in seconds
# (pyarrow parsing releases the GIL, so threads still use the cores); --scheduler for more.
LOCAL_THREADS = min(4, os.cpu_count() or 1)
USAGE_ERROR = 2


def main(argv: list[str] | None = None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``); returns the exit status."""
    from workbench.bench.errors import BenchError
    from workbench.compute import ClusterConnectionError
    from workbench.lake import LakeError
    from workbench.publish.errors import PublishError

    args = parser().parse_args(argv)
    try:
        args.run(args)
    except (LakeError, ClusterConnectionError, BenchError, PublishError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return USAGE_ERROR
    return 0


def parser() -> argparse.ArgumentParser:
    """The argument parser of the `workbench` command and its subcommands."""
    from workbench import __version__

    top = argparse.ArgumentParser(prog="workbench", description=__doc__.split("\n\n")[0])
    top.add_argument("--version", action="version", version=f"workbench {__version__}")
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    env = commands.add_parser("env", help="what this machine offers: GPUs, CUDA, packages")
    env.set_defaults(run=_env)

    _add_lake(commands)
    _add_publish(commands)

    from workbench.bench.command import add_parser as add_bench

    add_bench(commands)
    return top


def _add_lake(commands: Any) -> None:
    """`workbench lake ACTION`: ingest, tables, history, profile, quarantine, keygen."""
    lake = commands.add_parser("lake", help="governed Delta tables: ingest, inspect, profile")
    actions = lake.add_subparsers(dest="action", required=True, metavar="ACTION")
    scheduler = argparse.ArgumentParser(add_help=False)
    scheduler.add_argument("--scheduler", metavar="ADDRESS",
                           help="join this Dask scheduler (tcp://host:8786) instead of "
                                "starting a small local cluster")

    ingest = actions.add_parser("ingest", parents=[scheduler],
                                help="ingest CSV / JSON-lines / Parquet files into a table")
    ingest.add_argument("lake", metavar="LAKE", help="the lake's directory or URL")
    ingest.add_argument("source", metavar="SOURCE", nargs="+",
                        help="files, directories or globs (formats may be mixed)")
    ingest.add_argument("--table", "-t", required=True, help="the table to ingest into")
    ingest.add_argument("--pii", nargs="+", default=[], metavar="COL",
                        help="columns to pseudonymise (needs WORKBENCH_PII_KEY or a key file)")
    ingest.add_argument("--dedup", nargs="+", default=[], metavar="COL",
                        help="key columns: drop rows whose key repeats or is already stored")
    ingest.add_argument("--partition-by", nargs="+", default=[], metavar="COL",
                        help="partition a new table by these columns")
    ingest.add_argument("--mode", choices=["append", "overwrite"], default="append")
    ingest.add_argument("--schema-mode", choices=["merge"], default=None,
                        help="'merge': add the source's new columns to the table")
    ingest.add_argument("--encoding", default="utf-8",
                        help="the text files' encoding, any Python codec (default utf-8)")
    ingest.add_argument("--delimiter", default=None,
                        help="the CSV files' delimiter (default: a .tsv's is a tab, a .csv's is "
                             "sniffed: a comma, else ';', tab or '|')")
    ingest.set_defaults(run=_ingest)

    tables = actions.add_parser("tables", help="list the lake's tables")
    tables.add_argument("lake", metavar="LAKE")
    tables.set_defaults(run=_tables)

    table = argparse.ArgumentParser(add_help=False)
    table.add_argument("lake", metavar="LAKE")
    table.add_argument("table", metavar="TABLE")
    actions.add_parser("history", parents=[table], help="a table's versions and row accounting"
                       ).set_defaults(run=_history)
    actions.add_parser("profile", parents=[table, scheduler],
                       help="per-column statistics of a table, computed on a cluster"
                       ).set_defaults(run=_profile)
    quarantine = actions.add_parser("quarantine", parents=[table],
                                    help="rows a table's ingests rejected, and why")
    quarantine.add_argument("--limit", type=int, default=50, metavar="N",
                            help="rows to print (default 50)")
    quarantine.set_defaults(run=_quarantine)

    keygen = actions.add_parser("keygen", help="write a new random PII key file")
    keygen.add_argument("path", metavar="PATH", nargs="?",
                        help="where to write it (default $WORKBENCH_PII_KEY_FILE or "
                             "$WORKBENCH_HOME/pii.key)")
    keygen.set_defaults(run=_keygen)


def _add_publish(commands: Any) -> None:
    """`workbench publish NOTEBOOK...` and `workbench dashboards`."""
    publish = commands.add_parser(
        "publish", help="serve notebooks as Voila dashboards, with a landing page, on "
                        "127.0.0.1 until Ctrl-C")
    publish.add_argument("notebook", metavar="NOTEBOOK", nargs="+",
                         help="the .ipynb files to serve (from one folder), or a folder")
    publish.add_argument("--name", help="the dashboard's name (default: the notebook's stem, "
                                        "or the folder's name)")
    publish.add_argument("--port", type=int, help="the port (default: a free one)")
    publish.add_argument("--lake", metavar="LAKE",
                         help="the lake the dashboard reads (default $WORKBENCH_LAKE, else "
                              "$WORKBENCH_HOME/lake)")
    publish.set_defaults(run=_publish)
    commands.add_parser("dashboards", help="list the dashboards of this machine, running or stopped"
                        ).set_defaults(run=_dashboards)


def _open(path: str) -> Lake:
    """An existing lake; a local path that does not exist is an error, not a new empty lake."""
    from workbench.lake import Lake, LakeError

    if "://" not in path and not os.path.isdir(path):
        raise LakeError(f"no lake at {path}: the directory does not exist (`workbench lake "
                        "ingest` creates a lake)")
    return Lake(path)


def _cluster(args: argparse.Namespace) -> Cluster:
    """The cluster a command runs on: --scheduler's, else a small local one."""
    from workbench.compute import cluster, has_gpu

    if args.scheduler:
        return cluster(args.scheduler)
    if has_gpu():  # one dask-cuda worker per GPU
        return cluster(dashboard=False)
    return cluster(n_workers=1, threads_per_worker=LOCAL_THREADS, dashboard=False)


def _print(text: Any) -> None:
    print(text, flush=True)


def _ingest(args: argparse.Namespace) -> None:
    from workbench.lake import Lake

    lake = Lake(args.lake)
    with _cluster(args):
        report = lake.ingest(args.source, args.table, pii=args.pii, dedup=args.dedup,
                             partition_by=args.partition_by, mode=args.mode,
                             schema_mode=args.schema_mode, encoding=args.encoding,
                             delimiter=args.delimiter,
                             progress=sys.stderr.isatty())
    _print(report)


def _tables(args: argparse.Namespace) -> None:
    frame = _open(args.lake).tables()
    if frame["error"].isna().all():
        frame = frame.drop(columns="error")  # shown only when some table cannot be read
    _print(frame.to_string(index=False) if len(frame) else
           "no tables yet: `workbench lake ingest LAKE SOURCE --table NAME` creates one")


def _history(args: argparse.Namespace) -> None:
    _print(_open(args.lake).table(args.table).history().to_string(index=False))


def _profile(args: argparse.Namespace) -> None:
    table = _open(args.lake).table(args.table)
    with _cluster(args):
        profile = table.profile()
    _print(f"Profile of {profile.name} (version {profile.version}, {profile.rows:,} rows)")
    _print(profile.table.to_string(index=False, na_rep=""))


def _quarantine(args: argparse.Namespace) -> None:
    rows = _open(args.lake).table(args.table).quarantine()
    if not len(rows):
        _print(f"no rows quarantined in {args.table}")
        return
    counts = rows["kind"].value_counts()
    _print(f"{len(rows):,} rows quarantined in {args.table}")
    _print(counts.rename_axis("reason").reset_index(name="rows").to_string(index=False))
    shown = rows.sort_values(["ingested_at", "source", "line"]).head(args.limit)
    _print("")
    _print(shown[["source", "line", "column", "reason", "raw"]].to_string(index=False,
                                                                           na_rep=""))
    if len(rows) > len(shown):
        _print(f"... {len(rows) - len(shown):,} more (--limit N to see more)")


def _keygen(args: argparse.Namespace) -> None:
    from workbench.lake.pii import generate_key_file

    path = generate_key_file(args.path)
    _print(f"wrote a new PII key to {path} (mode 0600); keep it outside the lake and back it up:"
           " without it, new tokens will not match the old ones")


def _publish(args: argparse.Namespace) -> None:
    """Serve until Ctrl-C (or SIGTERM), then stop the server and its kernels."""
    import signal

    from workbench.publish import PublishError, publish

    notebooks = args.notebook[0] if len(args.notebook) == 1 else args.notebook
    dashboard = publish(notebooks, name=args.name, port=args.port, lake=args.lake)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # stop cleanly, as on Ctrl-C
    try:
        _print(f"{dashboard.name}: {dashboard.url}")
        if dashboard.url != dashboard.index_url:
            _print(f"landing page: {dashboard.index_url}")
        _print("serving until Ctrl-C")
        code = dashboard.wait()
        raise PublishError(f"the Voila server of {dashboard.name} exited with code {code}; "
                           f"its log: {dashboard.log_path}")
    except KeyboardInterrupt:
        _print(f"stopping {dashboard.name}")
    finally:
        dashboard.stop()


def _dashboards(args: argparse.Namespace) -> None:
    from workbench.publish import dashboards

    frame = dashboards()
    _print(frame[["name", "status", "url", "notebook", "lake", "pid", "created"]].to_string(
        index=False, na_rep="") if len(frame) else
        "no dashboards: `workbench publish NOTEBOOK` starts one")


def _env(args: argparse.Namespace) -> None:
    from workbench.environment import env

    _print(env().table.to_string(index=False))


if __name__ == "__main__":
    sys.exit(main())
