"""What a comparison's rows say to a person: each row's speed-up over the baseline (the first
variant on eager), the engine to pick per scenario and batch size, and why a slow row is slow
(the kernel or provider it ran on) with what is fast for it.

Single-stream is judged by p50 latency; offline and server by throughput (the server scenario
offers each engine 80% of its own capacity, so its latencies are not comparable across
engines, but the load each one carries is)."""

from __future__ import annotations

import math
from typing import Any


def annotate(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`rows`, in place, with `speedup` (against the baseline's eager row at the same scenario
    and batch size) and their notes: the fastest row per scenario and batch size, and for a row
    slower than the baseline, what it runs on and the fastest engine for its variant."""
    if not rows:
        return rows
    import pandas as pd

    from workbench.bench.records import speedups

    base = rows[0]["variant"]
    table = pd.DataFrame(rows, columns=["variant", "engine", "scenario", "batch_size",
                                        "p50_ms", "throughput"])
    for r, speedup in zip(rows, speedups(table)):
        r["speedup"] = float(speedup)
    timed = [r for r in rows if not math.isnan(r["p50_ms"])]
    best = _best(timed, ("scenario", "batch_size"))
    best_of_variant = _best(timed, ("variant", "scenario", "batch_size"))
    for row in timed:
        notes = [row["note"]] if row["note"] else []
        key = (row["scenario"], row["batch_size"])
        if best.get(key) is row:
            notes.append(f"fastest {row['scenario']} at batch {row['batch_size']}, "
                         f"{row['speedup']:.1f}x {base} eager: pick this")
        elif row["speedup"] < 1:
            mine = best_of_variant.get((row["variant"], *key))
            top = best.get(key)
            tip = (f"; {mine['engine']} is fastest for {row['variant']} ({mine['speedup']:.1f}x)"
                   if mine is not None and mine is not row else
                   f"; fastest here: {top['variant']} on {top['engine']} ({top['speedup']:.1f}x)"
                   if top is not None else "")
            notes.append(f"{1 / row['speedup']:.1f}x slower than {base} on eager: runs "
                         f"{row['kernel']}{tip}")
        row["note"] = "; ".join(notes)
    return rows


def _best(rows: list[dict[str, Any]], keys: tuple[str, ...]) -> dict[tuple, dict[str, Any]]:
    """Per `keys`, the row of highest speed-up among those whose parity held."""
    best: dict[tuple, dict[str, Any]] = {}
    for row in rows:
        key = tuple(row[k] for k in keys)
        if row["parity_ok"] and (key not in best or row["speedup"] > best[key]["speedup"]):
            best[key] = row
    return best
