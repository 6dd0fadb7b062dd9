"""The main job (`make demo SERVE=0`), small: every stage runs and lands in the lake and the
report, the model beats chance, and the ops tables have something real in them."""

from __future__ import annotations

import math
import re
import subprocess
import sys

import pytest

import workbench as wb


@pytest.mark.slow
@pytest.mark.timeout(420)
def test_the_main_job_writes_everything_and_the_model_learns(tmp_path):
    out = subprocess.run([sys.executable, "-m", "workbench.demo", "--no-serve", "--out",
                          str(tmp_path), "--rows", "2000", "--epochs", "8", "--rounds", "4",
                          "--report",
                          str(tmp_path / "report.html")],
                         capture_output=True, text=True, timeout=400)
    assert out.returncode == 0, out.stderr[-3000:]
    found = re.search(r"Held-out accuracy ([\d.]+) \(chance: ([\d.]+)", out.stdout)
    assert found, out.stdout[-3000:]
    accuracy, chance = map(float, found.groups())
    assert accuracy > chance + 0.15
    lake = wb.Lake(tmp_path / "lake")
    assert {"events", "gapminder", "continents_train", "_runs", "_run_metrics",
            "_bench", "_fl_rounds", "_fl_clients"} <= set(lake.names())
    runs = lake.table("_runs").to_pandas().set_index("name")
    assert runs["status"].tolist() == ["succeeded", "succeeded"]
    assert runs.loc["train_continents", "samples_per_s"] > 0
    utilisation = runs.loc["train_continents", "utilisation"]
    assert math.isfinite(utilisation) and 0 < utilisation < 1
    drift = lake.table("_drift").to_pandas()
    assert (drift["table"] == "gapminder_by_year").all() and (drift["version"] == 1).all()
    assert "lifeExp" in set(drift.loc[drift["verdict"] == "drift", "column"])
    alerts = lake.table("_alerts").to_pandas().query("rule == 'drift'")
    assert alerts[["run_id", "severity", "state"]].values.tolist() == [
        ["gapminder_by_year@v1", "warning", "firing"]]
    assert "DriftWarning: table gapminder_by_year v1: drift in columns" in out.stdout
    rounds = lake.table("_fl_rounds").to_pandas()
    assert rounds["round"].tolist() == [1, 2, 3, 4] and (rounds["completed"] >= 4).all()
    assert rounds["test_accuracy"].iloc[-1] > chance
    assert runs.loc["fedavg", "backend"] == "federated (5 clients)"
    bench = lake.table("_bench").to_pandas()
    assert {"fp32", "int8", "pruned", "student"} <= set(bench["variant"])
    assert {"eager", "onnxruntime", "onnxruntime-int8", "endpoint (onnxruntime)"} <= set(
        bench["engine"])
    assert bench["note"].str.contains("pick this").any()  # the table names the engine to pick
    served = bench[bench["engine"] == "endpoint (onnxruntime)"]
    assert sorted(served["qps"]) == [100, 400, 1000] and (served["p99_ms"] > 0).all()
    assert re.search(r"Served at http://127\.0\.0\.1:\d+ \(POST /predict\)", out.stdout)
    report = (tmp_path / "report.html").read_text()
    assert "<title>Workbench demo</title>" in report
    assert report.count("Plotly.newPlot(") >= 5  # lake, training and inference charts
    for shown in ("events", "gapminder", "succeeded", "int8", "pruned", "student", "fedavg"):
        assert shown in report, f"the static report does not show {shown!r}"
    assert "Dashboards not served (--no-serve)" in out.stdout


@pytest.mark.slow
@pytest.mark.timeout(420)
def test_the_main_job_serves_jupyterlab_and_its_dashboards_until_ctrl_c(tmp_path):
    import json
    import signal
    import urllib.request

    demo = subprocess.Popen(
        [sys.executable, "-m", "workbench.demo", "--out", str(tmp_path), "--rows", "2000",
         "--epochs", "3", "--rounds", "2", "--report", str(tmp_path / "report.html")],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        # as in a terminal: a process started in the background by a shell ignores SIGINT
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        urls, lab, index = {}, None, None
        for line in demo.stdout:
            if found := re.search(r"Dashboard (\w+): (http://127\.0\.0\.1:\d+/\S+)", line):
                urls[found[1]] = found[2]
            if found := re.search(r"landing page: (http://127\.0\.0\.1:\d+/)$", line):
                index = found[1]
            if found := re.search(r"Workbench sidebar: (http://127\.0\.0\.1:\d+/)lab\?token="
                                  r"(\w+)", line):
                lab = found.groups()
            if "Serving JupyterLab and the dashboards until Ctrl-C" in line:
                break
        assert set(urls) == {"lake_health", "training", "federated", "inference", "ops"}
        with urllib.request.urlopen(index, timeout=60) as page:
            landing = page.read().decode()
        assert all(url.removeprefix(index[:-1]) in landing for url in urls.values())
        for url in urls.values():
            with urllib.request.urlopen(url, timeout=180) as page:
                assert page.status == 200 and "import workbench" not in page.read().decode()
        assert lab, "the demo printed no JupyterLab URL with its token"

        def api(route):
            request = urllib.request.Request(f"{lab[0]}workbench/api/{route}",
                                             headers={"Authorization": f"token {lab[1]}"})
            with urllib.request.urlopen(request, timeout=60) as response:
                return json.load(response)

        # What the sidebar shows: the demo's lake, its run, its dashboards and its cluster.
        tables = {t["name"]: t for t in api("tables")["lakes"][0]["tables"]}
        assert {"events", "gapminder", "_runs"} <= set(tables)
        assert tables["gapminder"]["rows"] == 1704
        runs = api("runs")["runs"]  # the training run and the federated one, beside it
        assert sorted((r["name"], r["status"]) for r in runs) == [
            ("fedavg", "succeeded"), ("train_continents", "succeeded")]
        assert [d["name"] for d in api("dashboards")["dashboards"]] == ["dashboards"]
        assert len(api("clusters")["clusters"]) == 1
        (endpoint,) = api("endpoints")["endpoints"]  # the sidebar's fifth section
        assert (endpoint["engine"], endpoint["model"]) == ("onnxruntime", "DemoClassifier")
        demo.send_signal(signal.SIGINT)
        assert "Stopping JupyterLab and the dashboards" in demo.stdout.read()
        assert demo.wait(timeout=60) == 0
        assert wb.dashboards().empty and wb.endpoints().empty
    finally:
        demo.kill()
        demo.wait()
