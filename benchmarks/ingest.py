"""Lake ingest throughput against DuckDB and plain Dask, on the same CSV files, in one run.

    .venv/bin/python benchmarks/ingest.py [--size-gb 1.0] [--repeat 1] [--data DIR] [--profile]

Methods (each writes Parquet from the same cached CSV files, page cache warm):

1. ``Lake.ingest(files, "events", pii=["user_email"], dedup=["event_id"])`` into a fresh lake:
   schema inference, validation, one pseudonymised column, dedup and a Delta commit, on the
   ``workbench.compute.cluster()`` started with its defaults before any timing.
2. DuckDB: ``COPY (SELECT * FROM read_csv('DIR/*.csv')) TO 'out.parquet' (FORMAT parquet)``
   (in this process, default threads = all cores).
3. Plain Dask: ``dask.dataframe.read_csv(files).to_parquet(out)`` on the same cluster.
4. The floor: one task per file on the same cluster, each only pyarrow's ``read_csv`` and
   ``write_table`` (snappy), the two steps any CSV-to-Parquet ingest pays. Not a competitor:
   it says how fast an ingest on this cluster could be at best, to weigh the targets.

Before timing, each method runs once on a small sample (imports, numba's cached kernels and
DuckDB's first query are not what is measured); each timed run then takes the best of
``--repeat`` rounds. The table shows seconds, MB/s of CSV input, throughput ratios (>1
means faster than the reference) and CPU seconds (this process and the cluster's workers),
which are steadier than wall time on a shared machine. ``--profile`` also profiles, in this
process, the ingest's worker-side work on one piece (cProfile) and the driver's dedup decision.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import platform
import pstats
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _data import EventFiles, event_files  # noqa: E402

TARGET_VS_DUCKDB = 0.8
TARGET_VS_DASK = 1.5
PII_KEY = "workbench-benchmark-key (not a secret)"
FLOOR = "floor: read_csv + write_table"


@dataclass
class Result:
    method: str
    times: list[float] = field(default_factory=list)
    cpus: list[float] = field(default_factory=list)
    rows: int = 0
    note: str = ""

    @property
    def best(self) -> float:
        return min(self.times)

    @property
    def cpu(self) -> float:
        """CPU seconds of the fastest run."""
        return self.cpus[self.times.index(self.best)]


def cpu_seconds() -> float:
    """User + system CPU time of this process and its children (the cluster's workers)."""
    import psutil

    me = psutil.Process()
    total = 0.0
    for proc in [me, *me.children(recursive=True)]:
        try:
            t = proc.cpu_times()
        except psutil.Error:
            continue
        total += t.user + t.system
    return total


class Measure:
    """Wall and CPU seconds of a block: ``with Measure() as m: ...; m.wall, m.cpu``."""

    def __enter__(self) -> Measure:
        self.cpu0, self.t0 = cpu_seconds(), time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self.t0
        self.cpu = cpu_seconds() - self.cpu0


def parquet_rows(path: Path) -> int:
    """Rows in a Parquet file, or in all Parquet files under a directory (from footers)."""
    import pyarrow.parquet as pq

    files = [path] if path.is_file() else sorted(path.rglob("*.parquet"))
    return sum(pq.ParquetFile(f).metadata.num_rows for f in files)


def run_ingest(files: list[Path], out: Path) -> tuple[Measure, object]:
    from workbench.lake import Lake

    shutil.rmtree(out, ignore_errors=True)
    lake = Lake(out)
    with Measure() as m:
        report = lake.ingest([str(f) for f in files], "events", pii=["user_email"],
                             dedup=["event_id"], progress=False)
    return m, report


def run_duckdb(pattern: str, out: Path) -> Measure:
    import duckdb

    out.unlink(missing_ok=True)
    con = duckdb.connect()
    with Measure() as m:
        con.execute(f"COPY (SELECT * FROM read_csv('{pattern}')) TO '{out}' (FORMAT parquet)")
    con.close()
    return m


def run_dask(files: list[Path], out: Path) -> Measure:
    import dask.dataframe as dd

    shutil.rmtree(out, ignore_errors=True)
    with Measure() as m:
        dd.read_csv([str(f) for f in files]).to_parquet(str(out))
    return m


def _copy_file(path: str, out: str) -> int:
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    table = pcsv.read_csv(path, read_options=pcsv.ReadOptions(use_threads=False))
    pq.write_table(table, out, compression="snappy")
    return table.num_rows


def run_floor(client: object, files: list[Path], out: Path) -> tuple[Measure, int]:
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    with Measure() as m:
        futures = [client.submit(_copy_file, str(f), str(out / f"{f.stem}.parquet"), pure=False)
                   for f in files]
        rows = sum(client.gather(futures))
    return m, rows


def warm_page_cache(files: list[Path]) -> float:
    t0 = time.perf_counter()
    for f in files:
        with open(f, "rb") as fh:
            while fh.read(16 << 20):
                pass
    return time.perf_counter() - t0


def sample_files(data: EventFiles, work: Path, nbytes: int = 4 << 20) -> list[Path]:
    """Two small CSV files cut from the head of the first file, for the warm-up runs."""
    head = data.files[0].read_bytes()[:nbytes]
    head = head[: head.rfind(b"\n") + 1]
    header, _, body = head.partition(b"\n")
    lines = body.split(b"\n")
    half = len(lines) // 2
    directory = work / "sample"
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, chunk in enumerate((lines[:half], lines[half:])):
        path = directory / f"sample-{i}.csv"
        path.write_bytes(header + b"\n" + b"\n".join(x for x in chunk if x) + b"\n")
        paths.append(path)
    return paths


def machine() -> str:
    model = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        import psutil

        mem = f"{psutil.virtual_memory().total / 2**30:.0f} GiB"
    except ImportError:
        mem = "? GiB"
    return f"{os.cpu_count()} cores ({model or 'unknown CPU'}), {mem}"


def versions() -> str:
    import dask
    import deltalake
    import duckdb
    import pyarrow

    return (f"python {platform.python_version()}, duckdb {duckdb.__version__}, "
            f"dask {dask.__version__}, deltalake {deltalake.__version__}, "
            f"pyarrow {pyarrow.__version__}")


def ratio(a: float, b: float) -> str:
    return f"{b / a:.2f}x"


def print_table(results: list[Result], data: EventFiles) -> None:
    by = {r.method: r for r in results}
    duck, dask_ = by["DuckDB COPY"].best, by["plain Dask"].best
    mb = data.bytes / 1e6
    print()
    print("| method | seconds | MB/s | vs DuckDB | vs Dask | CPU s | rows written |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r.method} | {r.best:.1f} | {mb / r.best:.0f} | {ratio(r.best, duck)} | "
              f"{ratio(r.best, dask_)} | {r.cpu:.1f} | {r.rows:,} |")
    print()
    print("- vs DuckDB / vs Dask: throughput relative to that method (>1 = faster); CPU s: "
          "user+system seconds of this process and the cluster's workers during the run")
    for r in results:
        runs = ", ".join(f"{t:.1f}" for t in r.times)
        print(f"- {r.method}: runs {runs} s{'; ' + r.note if r.note else ''}")
    ingest = by["Lake.ingest"].best
    for name, ref, target in (("DuckDB", duck, TARGET_VS_DUCKDB),
                              ("plain Dask", dask_, TARGET_VS_DASK)):
        got = ref / ingest
        verdict = "met" if got >= target else "MISSED"
        print(f"- target: ingest >= {target}x {name} throughput: {got:.2f}x, {verdict}")
    floor = by[FLOOR].best
    print(f"- the floor (parse and write alone) is {dask_ / floor:.2f}x plain Dask: an ingest "
          f"doing more can reach at most that")


def profile_piece(data: EventFiles, work: Path, top: int = 12) -> None:
    """Where the ingest's time goes, measured in this process (no cluster): cProfile of the
    worker-side work on one piece (parse, then write with ~2% of rows dropped, as dedup does),
    and the driver-side dedup decision over the keys of all files.

    Rebuilds the ingest's Spec the way ``workbench.lake.ingest.ingest`` does, with its private
    helpers (``_target_schema``, ``_write_kept``), which may move.
    """
    from types import SimpleNamespace

    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pcsv

    from workbench.kernels import KeySet
    from workbench.lake import ingest as ingest_mod
    from workbench.lake import pii as pii_mod
    from workbench.lake.parse import Spec, dedup_keys, parse_piece
    from workbench.lake.sources import expand, infer_schema, merge_schemas, pieces_for_files

    files = expand([str(f) for f in data.files])
    t0 = time.perf_counter()
    source = merge_schemas([infer_schema(f) for f in files])
    t_schema = time.perf_counter() - t0
    pieces = pieces_for_files(files)
    pii = ("user_email",)
    target = ingest_mod._target_schema("events", source, None, None, None, pii)
    spec = Spec("events", target, pii, pii_mod.require_key(pii), ("event_id",))
    uri = str(work / "profile-lake" / "events")
    shutil.rmtree(work / "profile-lake", ignore_errors=True)
    os.makedirs(uri, exist_ok=True)
    piece = pieces[0]
    parse_piece(pieces[-1], spec)  # warm: numba's cached kernels load on first use

    prof = cProfile.Profile()
    t0 = time.perf_counter()
    prof.enable()
    parsed = parse_piece(piece, spec)
    t1 = time.perf_counter()
    keep = np.ones(parsed.table.num_rows, bool)
    keep[::50] = False
    ingest_mod._write_kept(parsed, keep, uri, (), "part-prof")
    prof.disable()
    t2 = time.perf_counter()
    shutil.rmtree(work / "profile-lake", ignore_errors=True)
    total = t2 - t0
    print(f"\nprofile of one piece in this process ({(piece.end - piece.start) / 1e6:.1f} MB, "
          f"{parsed.rows_in:,} rows): parse_piece {t1 - t0:.2f} s + write {t2 - t1:.2f} s "
          f"= {total:.2f} s ({len(pieces)} pieces in all)")
    print(f"{'function (self time)':<58} {'s':>6} {'%':>5}")
    rows = sorted(pstats.Stats(prof).stats.items(), key=lambda kv: -kv[1][2])[:top]
    for (path, line, func), (_, ncalls, tottime, _cum, _) in rows:
        where = f"{Path(path).name}:{line}({func})" if line else func
        print(f"{where[:52] + f' x{ncalls}':<58} {tottime:6.3f} {100 * tottime / total:5.1f}")
    print(f"{'workbench function (cumulative time)':<58} {'s':>6} {'%':>5}")
    rows = sorted(((k, v) for k, v in pstats.Stats(prof).stats.items()
                   if f"workbench{os.sep}" in k[0]), key=lambda kv: -kv[1][3])[:top]
    for (path, line, func), (_, ncalls, _tot, cumtime, _) in rows:
        where = f"{Path(path).parent.name}/{Path(path).name}:{line}({func})"
        print(f"{where[:52] + f' x{ncalls}':<58} {cumtime:6.3f} {100 * cumtime / total:5.1f}")

    # The driver's dedup decision over the keys of every row, as the ingest computes them.
    keys = []
    for f in data.files:
        ids = pcsv.read_csv(f, convert_options=pcsv.ConvertOptions(
            include_columns=["event_id"], column_types={"event_id": pa.int64()}))
        keys.append(SimpleNamespace(keys=dedup_keys(ids, ("event_id",))))
    seen = KeySet(sum(len(k.keys) for k in keys))  # sized up front, as the ingest does
    t0 = time.perf_counter()
    kept = [seen.add(k.keys) for k in keys]
    t_dedup = time.perf_counter() - t0
    dropped = sum(int((~k).sum()) for k in kept)
    print(f"driver: schema inference over {len(files)} files {t_schema:.2f} s; dedup decision "
          f"(KeySet.add, piece by piece) over {sum(len(k.keys) for k in keys):,} keys "
          f"{t_dedup:.2f} s ({dropped:,} duplicates)")


def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="/tmp/workbench-bench-ingest",
                        help="directory for the generated CSV files (cached between runs)")
    parser.add_argument("--size-gb", type=float, default=1.0,
                        help="total CSV size in GB (10**9 bytes); default 1.0")
    parser.add_argument("--repeat", type=int, default=1,
                        help="rounds; the best per method (default 1)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--profile", action="store_true",
                        help="also profile one piece's worker-side work and the driver's dedup")
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.size_gb <= 0:
        parser.error("--repeat must be at least 1 and --size-gb positive")

    os.environ.setdefault("WORKBENCH_PII_KEY", PII_KEY)
    data_dir = Path(args.data) / f"events-{args.size_gb:g}gb-seed{args.seed}"
    data = event_files(data_dir, args.size_gb, seed=args.seed)
    work = Path(args.data) / "work"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    print(f"machine: {machine()}\nversions: {versions()}")
    print(f"page cache warmed: read {data.bytes / 1e9:.2f} GB in "
          f"{warm_page_cache(data.files):.1f} s")

    from workbench.compute import cluster

    with cluster() as c:
        print(f"cluster: {c!r}")
        sample = sample_files(data, work)
        m_i, _ = run_ingest(sample, work / "warm-lake")
        m_d = run_duckdb(str(sample[0].parent / "*.csv"), work / "warm-duck.parquet")
        m_k = run_dask(sample, work / "warm-dask")
        m_f, _ = run_floor(c.client, sample, work / "warm-floor")
        print(f"warm-up on {sum(p.stat().st_size for p in sample) / 1e6:.1f} MB: ingest "
              f"{m_i.wall:.2f} s, DuckDB {m_d.wall:.2f} s, Dask {m_k.wall:.2f} s, floor "
              f"{m_f.wall:.2f} s")

        ingest = Result("Lake.ingest")
        duck = Result("DuckDB COPY")
        dask_ = Result("plain Dask")
        floor = Result(FLOOR)
        pattern = str(data.directory / "*.csv")
        loads = [load()]
        for r in range(args.repeat):
            m, report = run_ingest(data.files, work / "lake")
            ingest.times.append(m.wall)
            ingest.cpus.append(m.cpu)
            ingest.rows = report.rows_written
            ingest.note = (f"report: rows_in {report.rows_in:,}, rows_written "
                           f"{report.rows_written:,}, duplicates_dropped "
                           f"{report.duplicates_dropped:,}, rows_quarantined "
                           f"{report.rows_quarantined:,}, files {report.files_written}")
            if report.rows_in != data.rows or report.rows_written != data.distinct_ids:
                ingest.note += (f" (EXPECTED rows_in {data.rows:,}, rows_written "
                                f"{data.distinct_ids:,})")
            print(f"round {r + 1}: ingest {m.wall:.1f} s", flush=True)
            shutil.rmtree(work / "lake")

            m = run_duckdb(pattern, work / "duck.parquet")
            duck.times.append(m.wall)
            duck.cpus.append(m.cpu)
            duck.rows = parquet_rows(work / "duck.parquet")
            print(f"round {r + 1}: DuckDB {m.wall:.1f} s", flush=True)
            (work / "duck.parquet").unlink()

            m = run_dask(data.files, work / "dask")
            dask_.times.append(m.wall)
            dask_.cpus.append(m.cpu)
            dask_.rows = parquet_rows(work / "dask")
            print(f"round {r + 1}: Dask {m.wall:.1f} s", flush=True)
            shutil.rmtree(work / "dask")

            m, floor.rows = run_floor(c.client, data.files, work / "floor")
            floor.times.append(m.wall)
            floor.cpus.append(m.cpu)
            print(f"round {r + 1}: floor {m.wall:.1f} s", flush=True)
            shutil.rmtree(work / "floor")
            loads.append(load())

    duck.note = dask_.note = "parse and write only (no validation, PII or dedup): all rows"
    floor.note = "pyarrow's reader and writer alone, a task per file: the least an ingest costs"
    print(f"\n{len(data.files)} CSV files, {data.bytes / 1e9:.2f} GB, {data.rows:,} rows "
          f"({data.duplicates:,} duplicate event ids); best of {args.repeat}; load average "
          f"(1/5/15 min) {' -> '.join(loads)}")
    print_table([ingest, duck, dask_, floor], data)
    if args.profile:
        profile_piece(data, work)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
