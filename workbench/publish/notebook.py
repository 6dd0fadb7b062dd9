"""`read_notebook`: a notebook file read, or one clear error saying what is wrong with it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from workbench.publish.errors import NotebookNotFoundError, PublishError


def read_notebook(path: Path) -> Any:
    """The notebook at ``path`` (nbformat v4), or a clear error: missing, not an .ipynb file,
    or unreadable."""
    import nbformat

    if not path.exists():
        raise NotebookNotFoundError(f"no notebook at {path}: check the path (an .ipynb file)")
    if not path.is_file() or path.suffix != ".ipynb":
        raise PublishError(f"{path} is not a notebook: give an .ipynb file")
    try:
        return nbformat.read(path, as_version=4)
    except Exception as exc:  # nbformat raises JSON, validation and reader errors alike
        raise PublishError(f"{path} is not a readable notebook ({type(exc).__name__}: {exc}); "
                           "open it in JupyterLab to repair it") from exc
