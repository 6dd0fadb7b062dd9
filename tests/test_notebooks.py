"""The notebooks run top to bottom in a real kernel."""

from __future__ import annotations

from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).parent.parent / "notebooks"


@pytest.mark.slow
@pytest.mark.parametrize("name", ["lake.ipynb"])
def test_notebook_runs(name, tmp_path, monkeypatch):
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    monkeypatch.setenv("WORKBENCH_PII_KEY", "notebook-test")
    NotebookClient(nb, timeout=240, kernel_name="python3", resources={
        "metadata": {"path": str(tmp_path)}}).execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    check = next(c for c in nb.cells if "NBVAL_CHECK_OUTPUT" in c.source)
    assert check.outputs[0]["data"]["text/plain"] == "True"
    widget = nb.cells[-1].outputs[0]["data"]
    assert "application/vnd.jupyter.widget-view+json" in widget
