"""The package's import graph: no import cycles, and data never imports its views.

Every ``import`` written in ``workbench/**/*.py`` is an arrow from its module, whether it runs
when the module loads or only when a function runs (a lazy import is still a dependency).
Relative imports are resolved; ``from pkg import name`` points at ``pkg.name`` where that is a
module, else at ``pkg``. Only written imports count: the parent packages Python initialises on
the way are not arrows, and neither is ``importlib.import_module`` of a name (a lookup, which is
how `workbench.display` reaches the views). Imports under ``if TYPE_CHECKING:`` never run, so the
cycle check ignores them; the layer check counts them (a data module has no reason to name a
view, even in a type hint).
"""

from __future__ import annotations

import ast
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

import workbench

ROOT = Path(workbench.__file__).parent
#: The data layers (DESIGN.md), which never import the views layers below.
DATA = ("lake", "train", "fl", "ops", "infer", "bench", "compress", "kernels", "compute")
VIEWS = ("widgets", "charts", "publish", "server")


@dataclass(frozen=True)
class Arrow:
    """`source` imports `target` at `line`; `typing` when only under ``if TYPE_CHECKING:``."""

    source: str
    target: str
    line: int
    typing: bool


def package_modules(root: Path = ROOT) -> dict[str, tuple[Path, bool]]:
    """Every module of the package: dotted name -> (its file, whether it is a package)."""
    modules = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        is_package = parts[-1] == "__init__"
        modules[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return modules


def arrows(source: str, module: str, is_package: bool, modules: Collection[str]) -> list[Arrow]:
    """The arrows from `module`, whose source text is `source`, to the other `modules`."""
    found = _Imports(module if is_package else module.rpartition(".")[0])
    found.visit(ast.parse(source))
    out = []
    for name, line, typing in found.names:
        target = _resolve(name, modules)
        if target is not None and target != module:
            out.append(Arrow(module, target, line, typing))
    return out


def cycles(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """One cycle through each group of modules that import each other (each strongly connected
    component of more than one module, found with Tarjan's algorithm), as the modules along
    it with the first repeated at the end."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    components: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = {stack.pop()}
            while node not in component:
                component.add(stack.pop())
            if len(component) > 1:
                components.append(component)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [_cycle_through(graph, min(c), c) for c in components]


class _Imports(ast.NodeVisitor):
    """The imported names of one module: (dotted name, line, under TYPE_CHECKING)."""

    def __init__(self, package: str) -> None:
        self.package = package  # what a relative import is relative to
        self.names: list[tuple[str, int, bool]] = []
        self._typing = False

    def visit_If(self, node: ast.If) -> None:
        if not _is_type_checking(node.test):
            self.generic_visit(node)
            return
        outer, self._typing = self._typing, True
        for child in node.body:
            self.visit(child)
        self._typing = outer
        for child in node.orelse:
            self.visit(child)

    def visit_Import(self, node: ast.Import) -> None:
        self.names += [(alias.name, node.lineno, self._typing) for alias in node.names]

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = node.module or ""
        if node.level:
            parts = self.package.split(".")
            parts = parts[: len(parts) - node.level + 1] + ([node.module] if node.module else [])
            base = ".".join(parts)
        self.names += [(f"{base}.{alias.name}", node.lineno, self._typing)
                       for alias in node.names]


def _is_type_checking(test: ast.expr) -> bool:
    return ((isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
            or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"))


def _resolve(name: str, modules: Collection[str]) -> str | None:
    """The module of `modules` an imported dotted name lands in (``pkg.mod.Class`` ->
    ``pkg.mod``), or None for a name outside them."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def _cycle_through(graph: Mapping[str, Iterable[str]], start: str,
                   members: set[str]) -> list[str]:
    """A shortest path from `start` back to itself inside `members` (breadth first)."""
    came_from: dict[str, str] = {}
    frontier = [start]
    while frontier:
        step = []
        for node in frontier:
            for nxt in sorted(graph.get(node, ())):
                if nxt == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(came_from[path[-1]])
                    return [*reversed(path), start]
                if nxt in members and nxt not in came_from:
                    came_from[nxt] = node
                    step.append(nxt)
        frontier = step
    raise AssertionError(f"no cycle through {start} in {sorted(members)}")


@pytest.fixture(scope="module")
def package_arrows() -> list[Arrow]:
    modules = package_modules()
    return [arrow for name, (path, is_package) in modules.items()
            for arrow in arrows(path.read_text(), name, is_package, modules)]


def _in(module: str, layers: tuple[str, ...]) -> bool:
    return any(module == f"workbench.{layer}" or module.startswith(f"workbench.{layer}.")
               for layer in layers)


def test_the_package_has_no_import_cycles(package_arrows):
    graph: dict[str, set[str]] = {}
    lines: dict[tuple[str, str], int] = {}
    for arrow in package_arrows:
        if not arrow.typing:
            graph.setdefault(arrow.source, set()).add(arrow.target)
            lines.setdefault((arrow.source, arrow.target), arrow.line)
    found = [" -> ".join(f"{a}:{lines[a, b]}" for a, b in zip(cycle, cycle[1:])) + f" -> {cycle[0]}"
             for cycle in cycles(graph)]
    assert not found, ("import cycles (module:line of the import -> ...); move what they share "
                       "into a module below both:\n" + "\n".join(found))


def test_data_never_imports_its_views(package_arrows):
    found = [f"{a.source}:{a.line} imports {a.target}" for a in package_arrows
             if _in(a.source, DATA) and _in(a.target, VIEWS)]
    assert not found, ("data modules import views (register a view with workbench.display "
                       "instead):\n" + "\n".join(found))


def test_every_kind_of_import_is_an_arrow():
    modules = package_modules()
    source = """
from typing import TYPE_CHECKING
import os
import workbench.home
from . import names
from .. import display
from .errors import LakeError
if TYPE_CHECKING:
    from workbench.widgets import ProfileView
else:
    import workbench.kernels.kll
def load():
    from workbench.kernels import quantiles
"""
    found = {(a.target, a.line, a.typing)
             for a in arrows(source, "workbench.lake.table", False, modules)}
    assert found == {("workbench.home", 4, False), ("workbench.lake.names", 5, False),
                     ("workbench.display", 6, False), ("workbench.lake.errors", 7, False),
                     ("workbench.widgets", 9, True), ("workbench.kernels.kll", 11, False),
                     ("workbench.kernels", 13, False)}
    in_package = arrows("from .profile import Profile\nfrom . import lake\n", "workbench.lake",
                        True, modules)
    assert [a.target for a in in_package] == ["workbench.lake.profile", "workbench.lake.lake"]


def test_a_cycle_is_found_with_the_modules_along_it():
    graph = {"a": {"b"}, "b": {"c", "d"}, "c": {"a"}, "d": set(), "e": {"a", "f"}, "f": {"e"}}
    assert sorted(cycles(graph)) == [["a", "b", "c", "a"], ["e", "f", "e"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
