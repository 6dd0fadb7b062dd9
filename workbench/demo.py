"""The main job on the embedded default (``make demo``): build a governed lake from real and
generated sources on a local Dask cluster, and show what happened to every row."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m workbench.demo", description=__doc__)
    parser.add_argument("--out", default="out/demo", help="where sources and the lake go")
    parser.add_argument("--rows", type=int, default=25_000, help="events per generated file")
    args = parser.parse_args(argv)

    import workbench as wb

    pd.set_option("display.width", 160)
    pd.set_option("display.max_columns", 20)
    print(wb.env())
    with wb.cluster() as c:
        print(c)
        lake, reports = build_lake(Path(args.out).resolve(), rows_per_file=args.rows)
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
        print("\nlake.tables()")
        print(lake.tables().to_string(index=False))
        print(f"\nThe lake is at {lake.uri}; open it in a notebook with "
              f"wb.widgets.LakeBrowser(wb.Lake({lake.uri!r})).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
