"""The built wheel carries the JupyterLab extension and enables the server extension: installed
into a fresh environment with no Node on PATH, Jupyter reports both enabled and OK."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
LABEXTENSION = "share/jupyter/labextensions/@workbench-ai/jupyterlab"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The project's wheel. The front-end was built by the install (`make`); building it again
    here would take a minute, so the wheel is packed from that build with the hooks off, and
    built with them when there is none yet."""
    out = tmp_path_factory.mktemp("dist")
    env = dict(os.environ)
    if (REPO / "workbench" / "labextension" / "package.json").exists():
        env["HATCH_BUILD_NO_HOOKS"] = "true"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(out), str(REPO)], check=True, env=env, timeout=600)
    (found,) = out.glob("workbench-*.whl")
    return found


def test_the_wheel_holds_the_built_extension_and_the_server_config(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    data = next(n.split("/data/")[0] for n in names if "/data/" in n) + "/data/"
    assert f"{data}{LABEXTENSION}/package.json" in names
    assert f"{data}{LABEXTENSION}/install.json" in names
    assert any(n.startswith(f"{data}{LABEXTENSION}/static/remoteEntry.") for n in names)
    assert f"{data}etc/jupyter/jupyter_server_config.d/workbench.json" in names
    assert f"{data}etc/jupyter/voila.json" in names
    assert "workbench/server/__init__.py" in names
    assert not any(n.endswith(".ts") or "node_modules" in n for n in names)


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_the_installed_wheel_is_enabled_without_node(wheel, tmp_path):
    """A fresh venv gets the wheel without dependencies (it sees this environment's through a
    path file, as a plain site directory, so the editable install's hooks do not apply), and
    runs Jupyter with a PATH that has no node."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = Path(subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_path("
                                "'purelib'))"], capture_output=True, text=True,
                               check=True).stdout.strip())
    (site / "deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q",
                    "--no-deps", str(wheel)], check=True, timeout=300)
    # The fresh venv's bin only: no node, no jupyter of the outer environment.
    env = {"PATH": str(venv / "bin"), "HOME": str(tmp_path), "JUPYTER_PLATFORM_DIRS": "1"}
    assert shutil.which("node", path=env["PATH"]) is None
    imported = subprocess.run([python, "-c", "import workbench.server, sys; "
                               "print(workbench.server.__file__)"], env=env, cwd=tmp_path,
                              capture_output=True, text=True, check=True).stdout
    assert imported.startswith(str(venv)), f"workbench came from {imported}, not the wheel"

    labext = subprocess.run([python, "-m", "jupyterlab.labextensions", "list"], env=env,
                            cwd=tmp_path, capture_output=True, text=True, timeout=120)
    listing = _plain(labext.stdout + labext.stderr)
    assert re.search(r"@workbench-ai/jupyterlab v[\d.]+ enabled OK \(python, workbench\)",
                     listing), listing
    server = subprocess.run([python, "-m", "jupyter_server.extension.serverextension", "list"],
                            env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    listing = _plain(server.stdout + server.stderr)
    assert re.search(r"workbench\.server enabled\s+- Validating workbench\.server\.\.\.\s+"
                     r"workbench\.server\s+OK", listing), listing


def _plain(text: str) -> str:
    """Jupyter's listing without its terminal colours."""
    return re.sub(r"\x1b\[[0-9;]*m", "", text)
