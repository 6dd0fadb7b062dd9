"""One error root: every error class Workbench defines derives from `wb.WorkbenchError` and
keeps the built-in base it always had, so both kinds of handler catch it."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

import workbench as wb
from workbench.errors import WorkbenchError, describe

PACKAGE = Path(wb.__file__).parent
#: Exceptions used only inside a function's control flow, never raised to a caller.
INTERNAL = {"TooManyFailures", "_PortTaken"}


def defined_errors() -> list[tuple[str, str]]:
    """(module, class) of every exception class the package defines, found in its source."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and node.name.endswith(("Error", "Exception")):
                found.append((module, node.name))
    return found


def test_the_source_defines_the_errors_this_test_expects():
    names = {name for _, name in defined_errors()}
    assert {"LakeError", "BenchError", "CompressError", "PublishError", "WorkerError",
            "RunNotFoundError", "ClusterConnectionError", "ApiError"} <= names


@pytest.mark.parametrize(("module", "name"), defined_errors())
def test_every_error_derives_from_the_root(module, name):
    if name in INTERNAL:
        pytest.skip("control flow inside one function, never raised to a caller")
    cls = getattr(importlib.import_module(module), name)
    assert issubclass(cls, WorkbenchError), f"{module}.{name} does not derive from WorkbenchError"


@pytest.mark.parametrize(("name", "builtin"), [
    ("workbench.lake.errors:LakeError", ValueError),
    ("workbench.lake.errors:TableNotFoundError", KeyError),
    ("workbench.bench.errors:BenchError", ValueError),
    ("workbench.compress.errors:QuantizationError", ValueError),
    ("workbench.publish.errors:NotebookNotFoundError", FileNotFoundError),
    ("workbench.train.launcher:WorkerError", RuntimeError),
    ("workbench.train.runs:RunNotFoundError", LookupError),
    ("workbench.compute.cluster:ClusterConnectionError", ConnectionError),
])
def test_errors_keep_their_builtin_base(name, builtin):
    module, cls = name.split(":")
    assert issubclass(getattr(importlib.import_module(module), cls), builtin)


def test_the_root_is_exported_and_catches_a_lake_error(tmp_path):
    assert wb.WorkbenchError is WorkbenchError
    with pytest.raises(wb.WorkbenchError, match="does not exist"):
        wb.Lake(tmp_path / "lake").ingest(tmp_path / "missing.csv", "t")
    assert describe(WorkbenchError("first line\nmore")) == "WorkbenchError: first line"
