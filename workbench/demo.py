"""The main job on the embedded default (``make demo``): build a governed lake from real and
generated sources on a local Dask cluster, profile it, check a table's drift between year
ranges, train the demo model with `wb.launch` (its utilisation R in `_runs`), benchmark and
compress it on every CPU engine, serve it and measure it over HTTP, write all of it into the
lake, snapshot the dashboards to
``out/report.html``, then serve JupyterLab (its Workbench sidebar showing the demo's cluster,
lake, run and dashboards) and the dashboards until Ctrl-C (``--no-serve``: exit)."""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import time
from pathlib import Path

import pandas as pd


def build_lake(root: Path, *, rows_per_file: int = 25_000, progress: bool = True):
    """Write the demo sources under ``root`` and ingest them into ``root/lake``; returns
    (lake, reports)."""
    import workbench as wb
    from workbench.datasets import write_events, write_plotly_datasets
    from workbench.lake.pii import default_key_file, generate_key_file, load_key

    sources = root / "sources"
    lake_dir = root / "lake"
    shutil.rmtree(lake_dir, ignore_errors=True)
    if load_key() is None:  # the demo needs a PII key: one of its own, kept outside the lake
        os.environ["WORKBENCH_PII_KEY_FILE"] = str(root / "pii.key")
        if not default_key_file().exists():
            generate_key_file()
        print(f"PII key: {default_key_file()} (set WORKBENCH_PII_KEY to use your own)")
    datasets = write_plotly_datasets(sources / "plotly")
    events = write_events(sources / "events", rows_per_file=rows_per_file)
    lake = wb.Lake(lake_dir)
    reports = [lake.ingest(path, path.stem, progress=progress) for path in datasets]
    reports.append(lake.ingest(events[:-1], "events", pii=["user_email"], dedup=["event_id"],
                               progress=progress))
    # A late delivery, as JSON lines: dedup also drops events that are already in the table.
    reports.append(lake.ingest(events[-1], "events", dedup=["event_id"], progress=progress))
    return lake, reports


def check_drift(lake, table: str = "gapminder_by_year"):
    """Re-ingest the lake's `gapminder` rows into `table` in two batches, the years to 1977 and
    then those from 1982 with ``drift="warn"``: a later world, longer lives and higher incomes,
    so the second ingest records its comparison in `_drift` and a drift alert in `_alerts`, what
    the ops dashboard shows. The `DriftWarning` is printed as the demo's output (any other
    warning is shown as usual). Returns the second batch's `DriftReport`."""
    import warnings

    from workbench.lake import DriftWarning

    gapminder = lake.table("gapminder").to_pandas()
    lake.ingest(gapminder[gapminder["year"] <= 1977], table, progress=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report = lake.ingest(gapminder[gapminder["year"] >= 1982], table, drift="warn",
                             progress=False)
    for warning in caught:
        if issubclass(warning.category, DriftWarning):
            print(f"DriftWarning: {warning.message}")
        else:
            warnings.showwarning(warning.message, warning.category, warning.filename,
                                 warning.lineno)
    return report.drift


DASHBOARDS = Path(__file__).resolve().parent.parent / "notebooks" / "dashboards"


def train_model(lake, epochs: int):
    """Train the demo model with `wb.launch` (2 CPU processes, or every GPU) on the lake's
    demo task; the run lands in the lake's `_runs`, and its directory where every run's goes
    (``$WORKBENCH_HOME/runs``), so the sidebar lists it. Returns (job, result)."""
    import workbench as wb
    from workbench.models import train_continents

    job = wb.launch(train_continents, lake.uri, epochs=epochs, runs_lake=lake)
    print(f"training on {job.nprocs} {job.device} process(es): {job.run_dir}", flush=True)
    return job, job.wait(timeout=600)


def federate(lake, rounds: int):
    """The demo task federated over 5 sites with Dirichlet(0.5) label skew (`wb.fl`): one
    client process per site, FedAvg, the held-out table evaluated every round; the run lands in
    the lake's `_fl_rounds`/`_fl_clients`. Returns the finished job."""
    import workbench as wb
    from workbench.models import LABEL, TEST_TABLE, TRAIN_TABLE, federated_classifier

    parts = wb.fl.partition(lake.table(TRAIN_TABLE), clients=5, label=LABEL,
                            scheme="dirichlet", alpha=0.5, seed=0)
    job = wb.fl.launch(federated_classifier, parts, rounds=rounds, min_clients=4,
                       strategy=wb.fl.FedAvg(local_epochs=2, batch_size=16, lr=0.1),
                       test=lake.table(TEST_TABLE), runs_lake=lake)
    print(f"federated learning over {parts.clients} client processes: {job.run_dir}",
          flush=True)
    job.wait(timeout=600)
    return job


def bench_and_compress(lake, trained: dict, epochs: int):
    """Benchmark the trained model, then it and its int8, pruned and distilled variants on
    every CPU engine but torch.compile (eager, ONNX Runtime fp32 and int8) on the held-out
    rows, side by side, into the lake's `_bench`. Returns (latency result, comparison)."""
    import torch

    import workbench as wb
    from workbench.models import FEATURES, LABEL, TRAIN_TABLE, DemoClassifier, held_out

    model = DemoClassifier()
    model.load_state_dict(trained["state_dict"])
    model.eval()
    x, y = held_out(lake, trained["mean"], trained["std"])

    res = wb.bench.latency(model, x, batch_sizes=(1, 16, 128), min_samples=300)
    res.save(lake, model="demo", variant="fp32")
    loader = lake.table(TRAIN_TABLE).to_torch(list(FEATURES), LABEL, 64,
                                              normalize=(trained["mean"], trained["std"]))
    torch.manual_seed(1)
    student = wb.compress.distill(model, DemoClassifier(hidden=16), loader, epochs=epochs)
    variants = {"fp32": model, "int8": wb.compress.quantize(model),
                "pruned": wb.compress.prune(model, 0.5), "student": student}
    comparison = wb.bench.compare(variants, x, engines=["eager", "onnxruntime",
                                                        "onnxruntime-int8"],
                                  scenarios=["single-stream", "offline"], batch_sizes=(1, 32),
                                  eval=(x, y), min_samples=300, model_name="demo")
    comparison.save(lake, model="demo")
    return res, comparison, model, x


def serve_and_load(lake, model, x):
    """Serve the model behind `wb.infer.serve` (ONNX Runtime, dynamic batching) and measure it
    over HTTP with Poisson arrivals at three loads, into `_bench`. Returns the endpoint, still
    serving, and the measurements' table."""
    import workbench as wb

    endpoint = wb.infer.serve(model, engine="onnxruntime", example=x[:8], name="demo")
    rows = []
    for qps in (100, 400, 1000):
        res = wb.bench.latency(endpoint, x, batch_sizes=(1,), scenario="server", qps=qps,
                               min_samples=qps * 3)
        res.save(lake, model="demo")
        rows.append(res.table.assign(offered=qps))
    return endpoint, pd.concat(rows, ignore_index=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m workbench.demo", description=__doc__)
    parser.add_argument("--out", default="out/demo", help="where sources and the lake go")
    parser.add_argument("--rows", type=int, default=25_000, help="events per generated file")
    parser.add_argument("--epochs", type=int, default=30, help="training epochs")
    parser.add_argument("--rounds", type=int, default=10, help="federated rounds")
    parser.add_argument("--report", default="out/report.html",
                        help="where the static snapshot of the dashboards goes")
    parser.add_argument("--no-serve", dest="serve", action="store_false",
                        help="exit after writing everything instead of serving the dashboards")
    args = parser.parse_args(argv)

    import workbench as wb

    pd.set_option("display.width", 160)
    pd.set_option("display.max_columns", 20)
    out = Path(args.out).resolve()
    print(wb.env())
    with wb.cluster() as c:
        print(c)
        lake, reports = build_lake(out, rows_per_file=args.rows)
        from workbench.models import write_continents

        write_continents(lake)
        print("\nIngest reports")
        print(pd.DataFrame([{
            "table": r.table, "version": r.version, "rows_in": r.rows_in,
            "written": r.rows_written, "quarantined": r.rows_quarantined,
            "duplicates": r.duplicates_dropped, "MB": round(r.bytes_in / 1e6, 2),
            "seconds": round(r.seconds, 2)} for r in reports]).to_string(index=False))
        events = lake.table("events")
        print("\nQuarantined events by reason")
        print(events.quarantine()["kind"].value_counts().to_string())
        print("\nProfile of events")
        print(events.profile().table[["column", "type", "count", "null_fraction", "distinct",
                                      "min", "max", "mean", "p50"]].to_string(index=False))
        print("\nDrift check: gapminder by year, 1952-1977 then 1982-2007 (drift='warn')")
        drift = check_drift(lake)
        print(drift.table[["column", "kind", "psi", "ks", "verdict"]].to_string(index=False))

    job, trained = train_model(lake, args.epochs)
    print(f"\nHeld-out accuracy {trained['accuracy']:.3f} (chance: {trained['chance']:.3f}, "
          f"always the most common continent)")
    print(job.summary())
    federated = federate(lake, args.rounds)
    print(f"\nFederated rounds over 5 sites ({federated.outcome})")
    print(federated.history[["round", "completed", "train_loss", "test_accuracy",
                             "bytes_up", "seconds"]].to_string(index=False))
    res, comparison, model, x = bench_and_compress(lake, trained, epochs=args.epochs)
    endpoint, served = serve_and_load(lake, model, x)
    print("\nInference latency of the demo model (single-stream, CPU)")
    print(res.table.to_string(index=False))
    print("\nThe demo model and its compressed variants on every CPU engine")
    print(comparison.table.drop(columns="note").to_string(index=False))
    print("\nThe engine to pick")
    print(comparison.fastest[["scenario", "batch_size", "variant", "engine", "p50_ms",
                              "throughput", "speedup", "note"]].to_string(index=False))
    print(f"\nServed at {endpoint.url} (POST /predict), under Poisson load over HTTP")
    print(served[["offered", "p50_ms", "p90_ms", "p99_ms", "throughput", "samples"]]
          .to_string(index=False))
    batches = endpoint.batches()
    print(f"{len(endpoint.stats())} requests in {len(batches)} model calls "
          f"(up to {batches['rows'].max()} rows a call)")
    print("\nlake.tables()")
    print(lake.tables().to_string(index=False))

    views = [wb.widgets.LakeHealth(lake), wb.widgets.TrainingRuns(lake),
             wb.widgets.FederatedRuns(lake), wb.widgets.InferenceResults(lake),
             wb.widgets.OpsBoard(lake)]
    report = wb.export_html(views, Path(args.report).resolve(), title="Workbench demo")
    print(f"\nThe lake: {lake.uri}\nTraining run: {job.run_dir}\nStatic report: {report}")
    if not args.serve:
        endpoint.stop()
        print("Dashboards not served (--no-serve). Serve them with: workbench publish "
              f"{DASHBOARDS} --lake {lake.uri}")
        return 0
    try:
        return serve(lake)
    finally:
        endpoint.stop()


def serve(lake) -> int:
    """Publish the dashboards (one server, with their landing page), keep a cluster up and
    serve JupyterLab on the repository (its sidebar lists them, the lake's tables, the runs and
    the demo's endpoint) until Ctrl-C or SIGTERM."""
    import workbench as wb
    from workbench.server.lab import LabServer

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # a `kill` stops them cleanly too
    cluster = wb.cluster()
    board = lab = None
    try:
        board = wb.publish(DASHBOARDS, lake=lake, title="Workbench demo dashboards")
        print(f"Dashboards, with their landing page: {board.index_url}")
        for page in board.pages:
            print(f"Dashboard {Path(page).stem}: {board.page_url(page)}")
        lab = LabServer(DASHBOARDS.parent.parent, lake=lake.uri,
                        log_path=Path(lake.uri).parent / "jupyterlab.log")
        print(f"Cluster: {cluster.address} (dashboard {cluster.dashboard_link})")
        print(f"JupyterLab, with the Workbench sidebar: {lab.url}")
        print("Serving JupyterLab and the dashboards until Ctrl-C.", flush=True)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        print("\nStopping JupyterLab and the dashboards.")
    finally:
        if lab is not None:
            lab.stop()
        if board is not None:
            board.stop()
        cluster.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
