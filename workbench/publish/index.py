"""The landing page of a dashboard server: each published notebook with its title, a one-line
description and a key number read from the lake.

A notebook says what it is in its metadata (``"workbench": {"title", "description", "key"}``)
or, without it, in the first line of its first cell (``# Title: description``). ``key`` names
the number a stakeholder looks for: ``{"table": "_runs", "unit": "run"}`` counts that table's
rows, ``{"tables": true, "unit": "table"}`` the lake's tables (those not starting with ``_``).
Counts come from the Delta logs (no data file is read), so the page costs no kernel.
"""

from __future__ import annotations

import datetime
import html
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.charts import format as fmt


@dataclass(frozen=True)
class Entry:
    """One dashboard on the landing page: where it renders and what it says about itself."""

    path: str  # relative to the server's root, with "/" separators
    title: str
    description: str
    key: dict[str, Any] | None


def entry(root: Path, notebook: Path) -> Entry:
    """The landing-page entry of ``notebook`` (under ``root``): metadata first, else the first
    line of its first cell, else the file's name."""
    from workbench.publish.notebook import read_notebook

    nb = read_notebook(notebook)
    meta = nb.metadata.get("workbench", {})
    first = _first_line(nb.cells)
    title, _, rest = first.partition(": ")
    fallback_title = notebook.stem.replace("_", " ").capitalize()
    return Entry(path=notebook.relative_to(root).as_posix(),
                 title=meta.get("title") or (title if rest else fallback_title),
                 description=meta.get("description") or (rest or first).rstrip("."),
                 key=meta.get("key"))


def _first_line(cells: list) -> str:
    """The first line of prose: a Markdown cell's, or a code cell's opening comment, without
    its ``#`` markers ("" when the notebook opens with code)."""
    for cell in cells:
        lines = [line.strip() for line in cell.source.splitlines() if line.strip()]
        if not lines:
            continue
        if cell.cell_type == "markdown" or lines[0].startswith("#"):
            return re.sub(r"^#+\s*", "", lines[0]).strip()
        return ""
    return ""


def key_number(key: dict[str, Any] | None, lake: Any) -> str:
    """What ``key`` counts in ``lake`` ("4 runs · updated 2 min ago"), or "" when the notebook
    names none, the lake lacks the table, or it cannot be read (the page still lists it)."""
    if not key or lake is None:
        return ""
    unit = key.get("unit", "row")
    try:
        if key.get("tables"):
            names = [n for n in lake.names() if not n.startswith("_")]
            return _count(len(names), unit)
        name = key["table"]
        if name not in lake:
            return f"no {unit}s yet"
        row = lake.table_row(name)
    except Exception:  # a broken table costs its number, never the page
        return ""
    text = _count(row["rows"], unit)
    if row["updated"] is not None:
        age = round((datetime.datetime.now(datetime.timezone.utc) - row["updated"])
                    .total_seconds())
        text += f" · updated {fmt.duration(age)} ago" if age >= 1 else " · updated just now"
    return text


def _count(n: int, unit: str) -> str:
    return f"{fmt.count(n)} {unit}{'' if n == 1 else 's'}"


def index_html(title: str, entries: list[Entry], keys: list[str], base_url: str) -> str:
    """The landing page: one card per dashboard (title as a link, description, key number).
    Self-contained (inline style, no script, nothing fetched), so it works offline."""
    cards = "".join(
        f'<li><a href="{html.escape(base_url)}voila/render/{html.escape(e.path)}">'
        f"{html.escape(e.title)}</a><p>{html.escape(e.description)}</p>"
        + (f'<p class="key">{html.escape(k)}</p>' if k else "") + "</li>"
        for e, k in zip(entries, keys, strict=True))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; color: #222; }}
ul {{ list-style: none; padding: 0; display: grid; gap: 1rem;
     grid-template-columns: repeat(auto-fill, minmax(17rem, 1fr)); }}
li {{ border: 1px solid #ddd; border-radius: 6px; padding: 1rem; }}
a {{ font-size: 1.2rem; font-weight: 600; color: #1565c0; text-decoration: none; }}
p {{ margin: .5rem 0 0; }}
.key {{ font-size: 1.1rem; font-weight: 600; color: #2e7d32; }}
</style></head>
<body><h1>{html.escape(title)}</h1><ul>{cards}</ul></body></html>
"""
