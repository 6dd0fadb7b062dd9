"""The package's shape holds as it grows: every chart is built in `workbench/charts/`, no view
module is over 400 lines, and no function over 80 (the issue that set these limits: one chart
per number, views small enough to read)."""

from __future__ import annotations

import ast
from pathlib import Path

import workbench

PACKAGE = Path(workbench.__file__).parent
#: Plotly's trace and figure constructors (`go.X`): calling one is drawing a chart. A
#: `go.FigureWidget(figure)` of a chart function's figure only wraps it, and is allowed.
CHART_CALLS = {"Bar", "Scatter", "Scattergl", "Heatmap", "Histogram", "Box", "Violin", "Pie",
               "Indicator", "Table", "Figure", "make_subplots"}
#: Where a figure is made from traces the chart functions drew, not drawn anew: the monitor's
#: one FigureWidget (subplots of the charts' traces), and the static export, which re-renders
#: saved plotly JSON.
ASSEMBLERS = {"widgets/training_figure.py", "publish/export.py"}


def _drawn(node: ast.Call) -> str | None:
    """The plotly constructor ``node`` calls, if it draws: ``go.Bar(...)``, ``make_subplots``,
    or a FigureWidget given traces rather than a figure."""
    func = node.func
    if isinstance(func, ast.Name) and func.id == "make_subplots":
        return func.id
    if not (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)
            and func.value.id == "go"):
        return None
    if func.attr == "FigureWidget":
        drawing = len(node.args) > 1 or any(k.arg in ("data", "layout") for k in node.keywords)
        return func.attr if drawing else None
    return func.attr if func.attr in CHART_CALLS else None


def modules() -> list[tuple[str, ast.Module]]:
    return [(path.relative_to(PACKAGE).as_posix(), ast.parse(path.read_text()))
            for path in sorted(PACKAGE.rglob("*.py"))]


def test_charts_are_drawn_only_in_workbench_charts():
    drawn = []
    for name, tree in modules():
        if name.startswith("charts/") or name in ASSEMBLERS:
            continue
        drawn += [f"{name}:{node.lineno} {_drawn(node)}" for node in ast.walk(tree)
                  if isinstance(node, ast.Call) and _drawn(node)]
    assert not drawn, "draw charts with a function in workbench/charts/: " + ", ".join(drawn)


def test_no_view_module_over_400_lines():
    long = {p.name: n for p in (PACKAGE / "widgets").glob("*.py")
            if (n := len(p.read_text().splitlines())) > 400}
    assert not long, f"split these views: {long}"


def test_no_function_over_80_lines():
    long = [f"{name}:{node.lineno} {node.name} ({node.end_lineno - node.lineno + 1} lines)"
            for name, tree in modules() for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            and node.end_lineno - node.lineno + 1 > 80]
    assert not long, "split these functions: " + ", ".join(long)
