"""Binder's configuration and the conda environment, checked without Docker: repo2docker prints
the Dockerfile it would build, the environment files agree with pyproject.toml, and every README
badge opens a file that exists."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

tomllib = pytest.importorskip("tomllib", reason="tomllib is Python 3.11+")

ROOT = Path(__file__).parent.parent
BINDER = ROOT / "binder"
# pip name -> conda-forge name, where they differ; Binder has no GPU, so the CPU build of torch.
CONDA_NAMES = {"torch": "pytorch"}
BINDER_NAMES = {"torch": "pytorch-cpu"}
# In the environments but not pyproject's dependencies: the interpreter, the installer, and
# Node, which builds the sidebar's front-end (pip builds take it from PyPI instead).
CONDA_ONLY = {"python", "pip", "nodejs"}


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def conda_dependencies(path: Path) -> tuple[dict[str, SpecifierSet], list]:
    """The conda packages of an environment file as {name: specifiers} (conda's ``=X`` is
    pip's ``==X``), and its ``pip:`` list."""
    specs, pip = {}, []
    for entry in yaml.safe_load(path.read_text())["dependencies"]:
        if isinstance(entry, dict):
            pip += entry.get("pip", [])
            continue
        name, spec = re.fullmatch(r"([A-Za-z0-9_.-]+)\s*(.*)", entry).groups()
        spec = re.sub(r"^=(?!=)", "==", spec.replace(" ", ""))
        specs[name] = SpecifierSet(spec)
    return specs, pip


def expected(names: dict[str, str]) -> dict[str, SpecifierSet]:
    """pyproject's dependencies and its `infer` extra (ONNX Runtime, which the inference
    notebooks run) as conda packages: other extras dropped, names mapped."""
    out = {}
    project = pyproject()["project"]
    for line in project["dependencies"] + project["optional-dependencies"]["infer"]:
        req = Requirement(line)
        out[names.get(req.name, req.name)] = req.specifier
    return out


@pytest.mark.parametrize("path, names", [(ROOT / "environment.yml", CONDA_NAMES),
                                         (BINDER / "environment.yml", BINDER_NAMES)],
                         ids=["environment.yml", "binder/environment.yml"])
def test_environment_matches_pyproject(path, names):
    specs, _ = conda_dependencies(path)
    python = specs.pop("python")
    want = expected(names)
    got = {name: spec for name, spec in specs.items() if name not in CONDA_ONLY}
    missing = sorted(set(want) - set(got))
    extra = sorted(set(got) - set(want))
    assert not missing, f"{path.name} lacks pyproject dependencies {missing}"
    assert not extra, f"{path.name} has packages pyproject does not depend on: {extra}"
    differ = {n: (str(got[n]), str(want[n])) for n in want if got[n] != want[n]}
    assert not differ, f"{path.name} and pyproject.toml pin differently (conda, pip): {differ}"
    pinned = str(python).removeprefix("==")
    assert pinned in SpecifierSet(pyproject()["project"]["requires-python"])
    assert "jupyterlab" in specs
    if path.parent == BINDER:
        assert specs["nodejs"].contains("20.0.0") and not specs["nodejs"].contains("18.20.0")


def test_users_install_the_package_and_binder_caches_the_environment():
    _, pip = conda_dependencies(ROOT / "environment.yml")
    assert pip == ["-e ."]
    _, binder_pip = conda_dependencies(BINDER / "environment.yml")
    assert binder_pip == []  # no `-e .`: the package would invalidate the cached layer
    post_build = (BINDER / "postBuild").read_text().splitlines()
    assert post_build[:2] == ["#!/bin/bash", "set -e"]
    assert "python -m pip install --no-deps -e ." in post_build
    assert any(line.startswith("python -m workbench.demo ") for line in post_build)
    start = (BINDER / "start").read_text()
    assert "WORKBENCH_LAKE" in start and start.rstrip().endswith('exec "$@"')


def test_repo2docker_builds_from_the_binder_folder(tmp_path):
    """``repo2docker --no-build --debug`` prints the Dockerfile and exits 0; it must use the
    binder/ files (the root environment.yml is the users', not Binder's)."""
    pytest.importorskip("repo2docker", reason="jupyter-repo2docker is in the dev extra")
    out = subprocess.run([sys.executable, "-m", "repo2docker", "--no-build", "--debug",
                          str(ROOT)], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    dockerfile = out.stdout + out.stderr
    assert "FROM " in dockerfile
    assert 'env update -p ${NB_PYTHON_PREFIX} --file "binder/environment.yml"' in dockerfile
    assert "COPY --chown=0:0 src/binder/environment.yml" in dockerfile
    assert "src/environment.yml" not in dockerfile
    assert "RUN ./binder/postBuild" in dockerfile
    assert 'ENV R2D_ENTRYPOINT="${REPO_DIR}/binder/start"' in dockerfile
    # The environment layer is built before the repository is copied, so it is cached.
    assert dockerfile.index("binder/environment.yml") < dockerfile.index("COPY --chown=0:0 src/ ")


def test_readme_badges_open_files_that_exist():
    links = re.findall(r"\]\((https://mybinder\.org/v2/gh/[^)\s]+)\)",
                       (ROOT / "README.md").read_text())
    paths = {}
    for link in links:
        urlpath = parse_qs(urlsplit(link).query)["urlpath"][0]
        kind, _, path = urlpath.partition("/")
        assert kind in ("lab", "voila"), f"badge {link} opens neither JupyterLab nor Voila"
        path = path.removeprefix("tree/").removeprefix("render/")
        paths[kind] = path
        assert (ROOT / path).is_file(), f"the badge {link} opens {path}, which does not exist"
    assert paths == {"lab": "notebooks/quickstart.ipynb",
                     "voila": "notebooks/dashboards/training.ipynb"}
