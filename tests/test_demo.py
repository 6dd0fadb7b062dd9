"""The main job (`make demo SERVE=0`), small: every stage runs and lands in the lake and the
report, and the model beats chance."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

import workbench as wb


@pytest.mark.slow
@pytest.mark.timeout(420)
def test_the_main_job_writes_everything_and_the_model_learns(tmp_path):
    out = subprocess.run([sys.executable, "-m", "workbench.demo", "--no-serve", "--out",
                          str(tmp_path), "--rows", "2000", "--epochs", "8", "--report",
                          str(tmp_path / "report.html")],
                         capture_output=True, text=True, timeout=400)
    assert out.returncode == 0, out.stderr[-3000:]
    found = re.search(r"Held-out accuracy ([\d.]+) \(chance: ([\d.]+)", out.stdout)
    assert found, out.stdout[-3000:]
    accuracy, chance = map(float, found.groups())
    assert accuracy > chance + 0.15
    lake = wb.Lake(tmp_path / "lake")
    assert {"events", "gapminder", "continents_train", "_runs", "_run_metrics",
            "_bench"} <= set(lake.names())
    runs = lake.table("_runs").to_pandas()
    assert runs["status"].tolist() == ["succeeded"] and runs["samples_per_s"][0] > 0
    bench = lake.table("_bench").to_pandas()
    assert {"fp32", "int8", "pruned", "student"} <= set(bench["variant"])
    report = (tmp_path / "report.html").read_text()
    assert report.count("plotly") > 3 and "demo" in report
    assert "Dashboards not served (--no-serve)" in out.stdout
