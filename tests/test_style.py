"""The tree stays `ruff` clean: the project's lint rules hold in CI, not only on a laptop; and
notebooks are committed clean, so no saved output shows a stale result or a dead link."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent
# nbval (`make test`) compares a cell marked so with its saved output, which must be kept, with
# an execution count (nbval skips an unrun cell): the one output a committed notebook may hold.
CHECKED = "# NBVAL_CHECK_OUTPUT"


def test_ruff_is_clean():
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "workbench", "tests",
                             "benchmarks"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_committed_notebooks_have_no_outputs_but_nbval_references():
    import nbformat

    listed = subprocess.run(["git", "ls-files", "*.ipynb"], cwd=ROOT, capture_output=True,
                            text=True, check=True).stdout.split()
    assert listed, "git ls-files found no notebooks"
    dirty = []
    for path in listed:
        notebook = nbformat.read(ROOT / path, as_version=4)
        for index, cell in enumerate(notebook.cells):
            if cell.cell_type != "code":
                continue
            if not cell.source.startswith(CHECKED):
                if cell.outputs or cell.execution_count is not None:
                    dirty.append(f"{path} cell {index}: outputs or an execution count")
                continue
            kinds = {(out.output_type, *out.get("data", {})) for out in cell.outputs}
            if not kinds <= {("execute_result", "text/plain"), ("stream",)}:
                dirty.append(f"{path} cell {index}: an nbval reference that is not plain text")
    assert not dirty, "strip them (jupyter nbconvert --clear-output): " + "; ".join(dirty)


def test_notebook_checkpoints_are_ignored():
    result = subprocess.run(["git", "check-ignore", "-q", "notebooks/.ipynb_checkpoints/x.ipynb"],
                            cwd=ROOT)
    assert result.returncode == 0, ".ipynb_checkpoints/ is missing from .gitignore"
