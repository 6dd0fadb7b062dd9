"""`wb.export_html(notebook_or_widgets, path)`: a static HTML snapshot for sharing where no
server runs (an e-mail attachment, a wiki page, a file share).

The page is self-contained and works offline: plotly.js is embedded once and every chart is
drawn from its own data, so charts keep zoom and hover. Widgets become what they show at that
moment: an HTML widget its HTML, a box its children, a tab every tab under its title, a picker
its current choice; buttons, which could do nothing there, are left out. No source code is
shown, as in a published dashboard.

A notebook is run first, in a fresh kernel in its own directory (``lake=`` sets that kernel's
``WORKBENCH_LAKE``); the kernel snapshots the widgets the notebook displayed, since they live
there. A cell that raises ends the run, and the page shows its error, as Voila does.
"""

from __future__ import annotations

import base64
import html
import json
import os
import tempfile
import warnings
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.publish.errors import PublishError

if TYPE_CHECKING:
    from workbench.lake import Lake

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
PLOTLY_JSON = "application/vnd.plotly.v1+json"
CELL_TIMEOUT_S = 300
_SNAPSHOT_CELL = """\
from workbench.publish.export import write_snapshots as __wb_write_snapshots
__wb_write_snapshots({ids!r}, {path!r})
del __wb_write_snapshots"""
_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0;
       color: #1f2328; background: #fff; }
main { max-width: 1400px; margin: 0 auto; padding: 16px 24px 48px; }
.workbench-note { color: #57606a; font-size: 0.85em; border-bottom: 1px solid #d0d7de;
                  padding-bottom: 8px; }
table { border-collapse: collapse; font-size: 0.85em; margin: 6px 0; }
th, td { padding: 3px 8px; border-bottom: 1px solid #d8dee4; text-align: right; }
th { background: #f6f8fa; }
pre { background: #f6f8fa; padding: 8px; overflow: auto; font-size: 0.85em; }
pre.stderr { color: #57606a; }
pre.error { background: #ffebe9; color: #82071e; white-space: pre-wrap; }
.wb-hbox { display: flex; flex-flow: row wrap; gap: 8px; align-items: flex-start; }
.wb-vbox { display: flex; flex-direction: column; gap: 4px; }
.wb-hbox > *, .wb-vbox > * { min-width: 0; }
.wb-choice { margin: 4px 0; }
section.wb-tab { border-left: 3px solid #d0d7de; padding-left: 10px; margin: 10px 0; }
"""


def export_html(notebook_or_widgets: Any, path: str | os.PathLike, *, title: str | None = None,
                lake: Lake | str | os.PathLike | None = None,
                timeout: int = CELL_TIMEOUT_S) -> Path:
    """Write a static HTML snapshot of a notebook (a path to an .ipynb file, run first) or of
    widgets and other displayable objects (one, or a list) to ``path``; returns the path.

    ``title`` defaults to the notebook's stem or the first object's type. ``lake`` (a `Lake`,
    path or URL) is the notebook kernel's ``WORKBENCH_LAKE``; ``timeout``: seconds per cell.
    """
    target = Path(os.fspath(path)).expanduser()
    if target.suffix.lower() not in (".html", ".htm"):
        raise PublishError(f"path={str(target)!r}: a snapshot is an HTML file; end it in .html")
    if isinstance(notebook_or_widgets, (str, os.PathLike)):
        notebook = Path(os.fspath(notebook_or_widgets)).expanduser().resolve()
        body = _notebook_body(notebook, lake, timeout)
        title = title or notebook.stem
        source = notebook.name
    else:
        if lake is not None:
            raise PublishError("lake= is for notebooks (it sets their kernel's WORKBENCH_LAKE);"
                               " widgets already read their lake")
        objects = (list(notebook_or_widgets) if isinstance(notebook_or_widgets, (list, tuple))
                   else [notebook_or_widgets])
        if not objects:
            raise PublishError("export_html got an empty list: nothing to snapshot")
        body = "\n".join(f"<div class='wb-output'>{snapshot_html(o)}</div>" for o in objects)
        title = title or type(objects[0]).__name__
        source = "a live notebook"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(page(body, title, source), encoding="utf-8")
    return target


def page(body: str, title: str, source: str) -> str:
    """The whole HTML document around ``body``; plotly.js is embedded when a chart needs it."""
    from workbench import __version__

    script = ""
    if "Plotly.newPlot" in body:
        from plotly.offline import get_plotlyjs

        script = f'<script type="text/javascript">{get_plotlyjs()}</script>'
    made = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M")
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<meta name='generator' content='workbench {__version__}'>"
        f"<title>{html.escape(title)}</title><style>{_CSS}</style>{script}</head>\n<body><main>"
        f"<p class='workbench-note'>A static snapshot of {html.escape(source)}, made {made} "
        "UTC. Charts keep zoom and hover; pickers show the choice made at that time.</p>\n"
        f"{body}\n</main></body></html>\n")


def snapshot_html(obj: Any) -> str:
    """What ``obj`` shows now, as static HTML: a widget tree, a plotly figure, or anything with
    an HTML repr (a DataFrame, a Lake, a Dashboard)."""
    import ipywidgets as w
    from plotly.basedatatypes import BaseFigure

    if isinstance(obj, BaseFigure):
        return figure_html(obj)
    if not isinstance(obj, w.Widget):
        if hasattr(obj, "_repr_html_"):
            return obj._repr_html_() or ""
        return f"<pre>{html.escape(repr(obj))}</pre>"
    layout = getattr(obj, "layout", None)
    if layout is not None and getattr(layout, "display", None) == "none":
        return ""
    if isinstance(obj, (w.Tab, w.Accordion, w.Stack)):
        titles = list(obj.titles) + [""] * len(obj.children)
        return "".join(f"<section class='wb-tab'><h4>{html.escape(t or '')}</h4>"
                       f"{snapshot_html(c)}</section>" for t, c in zip(titles, obj.children))
    if isinstance(obj, w.Box):
        style = ""
        columns = getattr(layout, "grid_template_columns", None)
        if isinstance(obj, w.GridBox) and columns:
            style = f" style='display:grid; gap:8px; grid-template-columns:{html.escape(columns)}'"
        row = isinstance(obj, w.HBox) or "row" in (getattr(layout, "flex_flow", None) or "")
        kind = "wb-hbox" if row else "wb-vbox"
        inner = "".join(f"<div>{part}</div>" for part in map(snapshot_html, obj.children)
                        if part)
        return f"<div class='{kind}'{style}>{inner}</div>"
    if isinstance(obj, (w.HTML, w.HTMLMath)):
        return _described(obj, obj.value)
    if isinstance(obj, w.Label):
        return f"<span>{html.escape(str(obj.value))}</span>"
    if isinstance(obj, w.Button):
        return ""  # an action: nothing it could do in a static page
    if isinstance(obj, w.Output):  # a dashboard chart too: plotly's mimetype in an Output
        return _sized(layout, "".join(output_html(o, {}) for o in obj.outputs))
    if isinstance(obj, w.Image):
        data = base64.b64encode(obj.value).decode()
        return f"<img src='data:image/{html.escape(obj.format)};base64,{data}'>"
    if hasattr(obj, "options") and hasattr(obj, "label"):  # Dropdown, Select, ToggleButtons...
        label = obj.label
        if isinstance(label, tuple):  # the multiple-selection pickers
            return _choice(obj, ", ".join(map(str, label)))
        return _choice(obj, "" if label is None else str(label))
    if isinstance(obj, w.ValueWidget):
        return _choice(obj, str(obj.value))
    return (f"<p><i>({html.escape(type(obj).__name__)}: a live widget that a static page "
            "cannot show)</i></p>")


def figure_html(figure: Any) -> str:
    """A plotly figure as a div and the script that draws it (plotly.js comes with the page)."""
    import plotly.io as pio

    return pio.to_html(figure, full_html=False, include_plotlyjs=False, default_width="100%",
                       config={"displaylogo": False, "responsive": True})


def write_snapshots(model_ids: list[str], path: str) -> None:
    """In a kernel: write ``{model_id: snapshot_html(widget)}`` of the widgets that the
    notebook displayed to the JSON file ``path`` (export_html reads it back)."""
    from ipywidgets.widgets.widget import _instances

    snapshots = {mid: snapshot_html(_instances[mid]) for mid in model_ids if mid in _instances}
    Path(path).write_text(json.dumps(snapshots), encoding="utf-8")


def _sized(layout: Any, inner: str) -> str:
    """``inner`` in a box as wide as ``layout`` (an Output's) says, when it says: a chart fills
    its box, and a box in a row that wraps gets no width of its own."""
    sizes = {"width": getattr(layout, "width", None),
             "max-width": getattr(layout, "max_width", None)}
    styles = [f"{css}:{html.escape(str(value))}" for css, value in sizes.items() if value]
    return f"<div style='{'; '.join(styles)}'>{inner}</div>" if styles and inner else inner


def _described(obj: Any, inner: str) -> str:
    description = getattr(obj, "description", "")
    return (f"<div class='wb-choice'><b>{html.escape(description)}</b> {inner}</div>"
            if description else inner)


def _choice(obj: Any, label: str) -> str:
    return _described(obj, f"<span>{html.escape(label)}</span>") if getattr(
        obj, "description", "") else f"<div class='wb-choice'>{html.escape(label)}</div>"


def output_html(output: dict[str, Any], snapshots: dict[str, str]) -> str:
    """One notebook output as HTML; a widget view is replaced by its snapshot."""
    from nbconvert.filters.ansi import strip_ansi

    kind = output.get("output_type")
    if kind == "stream":
        css = "stderr" if output.get("name") == "stderr" else "stdout"
        return f"<pre class='{css}'>{html.escape(_text(output.get('text', '')))}</pre>"
    if kind == "error":
        trace = strip_ansi("\n".join(output.get("traceback", [])))
        return (f"<pre class='error'>{html.escape(output.get('ename', ''))}: "
                f"{html.escape(output.get('evalue', ''))}\n\n{html.escape(trace)}</pre>")
    data = output.get("data", {})
    view = data.get(WIDGET_VIEW)
    if view is not None and view.get("model_id") in snapshots:
        return snapshots[view["model_id"]]
    if PLOTLY_JSON in data:
        import plotly.graph_objects as go

        return figure_html(go.Figure(data[PLOTLY_JSON]))
    if "text/html" in data:
        return _text(data["text/html"])
    if "image/svg+xml" in data:
        return _text(data["image/svg+xml"])
    for mime in ("image/png", "image/jpeg", "image/gif"):
        if mime in data:
            return f"<img src='data:{mime};base64,{_text(data[mime]).strip()}'>"
    if "text/markdown" in data:
        return _markdown(_text(data["text/markdown"]))
    if "text/plain" in data:
        return f"<pre>{html.escape(_text(data['text/plain']))}</pre>"
    return ""


def _text(value: str | list[str]) -> str:
    return "".join(value) if isinstance(value, list) else value


def _markdown(source: str) -> str:
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    return markdown2html_mistune(source)


def _notebook_body(notebook: Path, lake: Any, timeout: int) -> str:
    """Run ``notebook`` in a fresh kernel, snapshot the widgets it displayed there, and render
    its markdown and outputs (no sources)."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    from workbench.publish.notebook import read_notebook
    from workbench.publish.server import lake_location

    nb = read_notebook(notebook)

    env = dict(os.environ)
    if lake is not None:
        env["WORKBENCH_LAKE"] = lake_location(lake)
    kernel = nb.metadata.get("kernelspec", {}).get("name", "python3")
    client = NotebookClient(nb, timeout=timeout, kernel_name=kernel,
                            resources={"metadata": {"path": str(notebook.parent)}})
    failed = None
    with tempfile.TemporaryDirectory(prefix="workbench-export-") as tmp:
        snapshot_file = Path(tmp) / "widgets.json"
        try:
            with client.setup_kernel(env=env):
                for index, cell in enumerate(nb.cells):
                    if cell.cell_type != "code":
                        continue
                    try:
                        client.execute_cell(cell, index)
                    except CellExecutionError:
                        failed = index
                        break
                ids = [o["data"][WIDGET_VIEW]["model_id"] for c in nb.cells
                       if c.cell_type == "code" for o in c.get("outputs", [])
                       if WIDGET_VIEW in o.get("data", {})]
                probe = nbformat.v4.new_code_cell(_SNAPSHOT_CELL.format(
                    ids=ids, path=str(snapshot_file)))
                nb.cells.append(probe)
                try:
                    client.execute_cell(probe, len(nb.cells) - 1, store_history=False)
                finally:
                    nb.cells.pop()
        except CellTimeoutError as exc:
            raise PublishError(f"a cell of {notebook} ran longer than timeout={timeout} s; "
                               "raise timeout= or make the cell faster") from exc
        except DeadKernelError as exc:
            raise PublishError(f"the kernel running {notebook} died ({exc})") from exc
        except CellExecutionError as exc:  # the snapshot itself failed
            raise PublishError(f"could not snapshot the widgets of {notebook}: {exc}") from exc
        snapshots = json.loads(snapshot_file.read_text(encoding="utf-8"))
    if failed is not None:
        warnings.warn(f"cell {failed} of {notebook} raised; the snapshot shows its error and "
                      "stops there, as the dashboard does", stacklevel=3)
    parts = []
    for index, cell in enumerate(nb.cells):
        if failed is not None and index > failed:
            break
        if cell.cell_type == "markdown":
            parts.append(f"<div class='wb-markdown'>{_markdown(cell.source)}</div>")
        elif cell.cell_type == "code":
            parts.extend(f"<div class='wb-output'>{output_html(o, snapshots)}</div>"
                         for o in cell.get("outputs", []))
    return "\n".join(parts)
