"""wb.bench.latency: the harness's own accuracy (overhead, a busy-wait of known length, agreement
with torch.utils.benchmark), its percentiles, the scenarios, bad input, the `_bench` rows, the
widget and the `workbench bench` command."""

from __future__ import annotations

import re
import time

import numpy as np
import pyarrow as pa
import pytest
import torch

import workbench as wb
from workbench.bench import BenchError
from workbench.bench.records import BENCH_COLUMNS, BENCH_SCHEMA, CDF_QUANTILES
from workbench.models import DemoClassifier


def spin(ns: int):
    """A function of known duration: it spins on the clock until `ns` nanoseconds have passed
    since it was called (a deadline, so being descheduled midway does not lengthen it)."""
    clock = time.perf_counter_ns

    def busy_wait(x):
        deadline = clock() + ns
        while clock() < deadline:
            pass

    busy_wait.__qualname__ = f"busy_wait_{ns // 1000}us"
    return busy_wait


def noop(x):
    return None


@pytest.fixture
def rows():
    return torch.randn(256, 4, generator=torch.Generator().manual_seed(0))


# ---------------------------------------------------------------- accuracy of the harness


def test_harness_overhead_per_timed_call_is_under_5_microseconds(rows):
    res = wb.bench.latency(noop, rows, batch_sizes=(1,), min_samples=30_000, progress=False)
    row = res.table.iloc[0]
    # Inside the timed region: two clock reads and a call of a function that does nothing.
    assert row["p50_ms"] < 0.005 and row["samples"] == 30_000
    # And per request overall, the loop's bookkeeping outside the timed region included.
    assert 1 / row["throughput"] < 5e-6


@pytest.mark.parametrize("ms, samples", [(1, 300), (10, 60)])
def test_p50_of_a_calibrated_busy_wait_is_within_2_percent(rows, ms, samples):
    res = wb.bench.latency(spin(ms * 1_000_000), rows, batch_sizes=(1,), min_samples=samples,
                           warmup=3, progress=False)
    p50 = res.table["p50_ms"].iloc[0]
    assert abs(p50 - ms) / ms < 0.02, p50
    assert res.table["samples"].iloc[0] >= samples


@pytest.mark.slow
def test_median_agrees_with_torch_utils_benchmark_timer_within_5_percent():
    from torch.utils.benchmark import Timer

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(256, 512), torch.nn.ReLU(),
                                torch.nn.Linear(512, 256)).eval()
    x = torch.randn(64, 256)
    timer = Timer("model(x)", globals={"model": model, "x": x}, num_threads=1)
    ours, theirs = [], []
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # Timer's default; one thread is also the steadiest on 2 cores
    try:
        # Alternating rounds, so that a change in the machine's load (it is shared) falls on
        # both alike; each side's median is over single calls (Timer: one call per timeit).
        for _ in range(7):
            res = wb.bench.latency(model, x, batch_sizes=(64,), min_samples=120, warmup=20,
                                   progress=False)
            ours.append(np.median(res.samples[64]))
            with torch.inference_mode():
                theirs.append(np.median([timer.timeit(1).median * 1e3 for _ in range(120)]))
    finally:
        torch.set_num_threads(threads)
    # Round by round (each pair measured under the same load), the median of the ratios.
    ratio = float(np.median(np.divide(ours, theirs)))
    assert abs(ratio - 1) < 0.05, (ratio, ours, theirs)


def test_percentiles_equal_numpys_on_the_recorded_samples(rows):
    res = wb.bench.latency(DemoClassifier(), rows, batch_sizes=(1, 16), min_samples=300,
                           progress=False)
    records = res.records().to_pandas()
    for (_, row), (_, rec) in zip(res.table.iterrows(), records.iterrows()):
        s = res.samples[row["batch_size"]]
        assert row["samples"] == len(s) == 300
        for name, q in (("p50_ms", 0.5), ("p90_ms", 0.9), ("p95_ms", 0.95), ("p99_ms", 0.99)):
            assert row[name] == pytest.approx(np.quantile(s, q), rel=1e-12, abs=0)
        assert row["max_ms"] == s.max() and row["mean_ms"] == pytest.approx(s.mean(), rel=1e-12)
        np.testing.assert_allclose(rec["cdf_ms"], np.quantile(s, CDF_QUANTILES), rtol=1e-12)
        assert row["p50_ms"] <= row["p90_ms"] <= row["p95_ms"] <= row["p99_ms"] <= row["max_ms"]


# ---------------------------------------------------------------- scenarios


@pytest.mark.slow
def test_server_latency_rises_as_qps_approaches_capacity(rows):
    service = spin(1_000_000)  # 1 ms a request: 1000 requests/s on an idle core

    def run(scenario, qps=None, samples=300):
        return wb.bench.latency(service, rows, batch_sizes=(1,), scenario=scenario, qps=qps,
                                min_samples=samples, warmup=3, progress=False).table.iloc[0]

    # The capacity as this (shared, 2-core) machine gives it now: one request after another.
    capacity = 1e3 / run("single-stream", samples=150)["mean_ms"]
    light, heavy = run("server", 0.25 * capacity, 150), run("server", 0.9 * capacity)
    # An M/D/1 queue: mean latency 1.17 service times at 25% load, 5.5 at 90%.
    assert heavy["mean_ms"] > 2 * light["mean_ms"], (capacity, light, heavy)
    assert heavy["p99_ms"] > 2 * light["p99_ms"] and heavy["p50_ms"] > light["p50_ms"]
    assert light["throughput"] == pytest.approx(0.25 * capacity, rel=0.3)
    assert light["scenario"] == "server" and light["qps"] == pytest.approx(0.25 * capacity)


def test_offline_scenario_reports_throughput_of_back_to_back_requests(rows):
    res = wb.bench.latency(spin(200_000), rows, batch_sizes=(4,), scenario="offline",
                           min_samples=150, warmup=2, progress=False)
    row = res.table.iloc[0]
    assert row["scenario"] == "offline" and np.isnan(row["qps"])
    assert row["p50_ms"] == pytest.approx(0.2, rel=0.02)
    # Back to back: the windows' wall time is the requests' time (a preempted request is slow
    # in both), so throughput is the batch over the mean latency: 4 samples per 0.2 ms.
    assert row["throughput"] == pytest.approx(4 / (row["mean_ms"] / 1e3), rel=0.05)


def test_requests_cycle_through_the_rows_and_tuple_inputs_are_spread(rows):
    seen = []

    def record(x, y):
        assert torch.equal(y, x * 10)
        seen.extend(x[:, 0].tolist())

    x = torch.arange(10.0).reshape(10, 1)
    wb.bench.latency(record, (x, x * 10), batch_sizes=(4,), min_samples=12, warmup=0,
                     progress=False)
    assert len(seen) % 4 == 0 and len(seen) >= 4 * 13  # the untimed first call, the rest timed
    assert seen == [float(i % 10) for i in range(len(seen))]


def test_numpy_inputs_stay_numpy_for_a_function_and_become_tensors_for_a_module():
    kinds = []
    x = np.random.default_rng(0).standard_normal((32, 4)).astype(np.float32)
    wb.bench.latency(lambda a: kinds.append(type(a)), x, batch_sizes=(2,), min_samples=3,
                     warmup=0, progress=False)
    assert set(kinds) == {np.ndarray}

    class Probe(DemoClassifier):
        def forward(self, a):
            kinds.append((type(a), self.training))
            return super().forward(a)

    model = Probe().train()
    res = wb.bench.latency(model, x, batch_sizes=(2,), min_samples=3, warmup=0, progress=False)
    assert set(kinds[-3:]) == {(torch.Tensor, False)}  # eval mode while measured
    assert model.training  # restored
    assert res.params == sum(p.numel() for p in model.parameters())
    assert (res.model, res.variant, res.device) == ("Probe", "fp32", "cpu")


def test_float_inputs_are_cast_to_a_half_precision_models_dtype(rows):
    torch.manual_seed(0)
    model = DemoClassifier().to(torch.bfloat16)
    res = wb.bench.latency(model, rows, batch_sizes=(8,), min_samples=9, warmup=0,
                           progress=False)
    assert res.variant == "bf16" and res.table["samples"][0] == 9
    labels = torch.arange(len(rows))  # integer parts stay as they are
    seen = []
    wb.bench.latency(lambda a, b: seen.append((a.dtype, b.dtype)), (rows, labels),
                     batch_sizes=(2,), min_samples=1, warmup=0, progress=False)
    assert set(seen) == {(torch.float32, torch.int64)}


def test_import_workbench_bench_and_compress_stays_light():
    import subprocess
    import sys

    code = ("import sys, workbench.bench, workbench.compress, workbench.cli; "
            "print([m for m in ('torch', 'torchao', 'pandas', 'plotly') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"


def test_stable_needs_three_agreeing_windows():
    from workbench.bench.harness import _agree
    from workbench.bench.scenarios import Window

    steady = [Window(np.full(10, 1.0), 0.010) for _ in range(3)]
    assert _agree(steady, 1)
    jumpy = [*steady[:2], Window(np.full(10, 1.5), 0.015)]
    assert not _agree(jumpy, 1)


# ---------------------------------------------------------------- bad input


def test_a_model_that_fails_names_the_batch_size(rows):
    def small_only(x):
        if len(x) > 4:
            raise ValueError("this model takes at most 4 rows")
        return x

    with pytest.raises(BenchError, match=r"failed on a batch of 8 rows \(batch size 8\): "
                                         r"ValueError: this model takes at most 4 rows"):
        wb.bench.latency(small_only, rows, batch_sizes=(1, 8), min_samples=3, progress=False)


def test_bad_input_gets_a_clear_error(rows):
    model = DemoClassifier()
    cases = [
        (dict(inputs=rows[:10], batch_sizes=(1, 32)), r"batch_sizes \[32\] do not fit the "
                                                       r"inputs: they have 10 rows"),
        (dict(batch_sizes=()), "batch_sizes is empty"),
        (dict(batch_sizes=(0,)), "batch_sizes must be positive ints"),
        (dict(qps=100.0), r"qps=100.0 only applies to scenario='server'.*drop qps"),
        (dict(scenario="offline", qps=5), "only applies to scenario='server'"),
        (dict(scenario="server"), r"scenario='server' needs qps"),
        (dict(scenario="server", qps=-1), "qps must be a positive number"),
        (dict(scenario="multi-stream"), "scenario must be one of"),
        (dict(min_samples=0), "min_samples must be a positive int"),
        (dict(warmup=-1), "warmup must be"),
        (dict(duration=0), "duration must be a positive"),
        (dict(inputs=(rows, rows[:5])), "first dimensions differ"),
        (dict(inputs=[1.0, 2.0]), r"inputs\[0\] is a float"),
        (dict(inputs=torch.tensor(3.0)), "is a scalar"),
    ]
    for kwargs, message in cases:
        kwargs = {"inputs": rows, "min_samples": 3, "progress": False, **kwargs}
        with pytest.raises(BenchError, match=message):
            wb.bench.latency(model, **kwargs)
    with pytest.raises(BenchError, match="must be an nn.Module or a callable"):
        wb.bench.latency("model", rows)


def test_inputs_on_another_device_than_the_model(rows):
    on_meta = DemoClassifier().to("meta")  # a second device that every machine has
    with pytest.raises(BenchError, match=r"the inputs are on cpu but the model is on meta: "
                                         r"move them .*or pass device='meta'"):
        wb.bench.latency(on_meta, rows, batch_sizes=(1,), min_samples=3, progress=False)


def test_device_is_where_it_runs_and_a_bad_device_is_refused():
    """(Moving a model and its inputs to a GPU is tested in test_bench_gpu.)"""
    model = DemoClassifier()
    rows = np.zeros((8, 4), dtype=np.float32)
    res = wb.bench.latency(model, rows, batch_sizes=(2,), min_samples=3, device="cpu",
                           progress=False)
    assert res.device == "cpu"
    with pytest.raises(BenchError, match="'warp:0' is not a torch device"):
        wb.bench.latency(model, rows, batch_sizes=(2,), min_samples=3, device="warp:0",
                         progress=False)
    if not torch.cuda.is_available():
        with pytest.raises(BenchError, match="no CUDA GPU"):
            wb.bench.latency(model, rows, batch_sizes=(2,), min_samples=3, device="cuda:0",
                             progress=False)


# ---------------------------------------------------------------- results


def test_save_appends_rows_in_the_bench_schema(tmp_path, rows):
    lake = wb.Lake(tmp_path / "lake")
    res = wb.bench.latency(DemoClassifier(), rows, batch_sizes=(1, 8), min_samples=30,
                           progress=False)
    assert res.save(lake) == 0
    res2 = wb.bench.latency(spin(10_000), rows, batch_sizes=(2,), scenario="server", qps=500,
                            min_samples=30, progress=False)
    assert res2.save(lake, model="spinner", variant="busy") == 1
    table = lake.table("_bench")
    arrow = pa.table(table._dt.to_pyarrow_dataset().to_table())
    assert arrow.schema.names[:len(BENCH_COLUMNS)] == list(BENCH_COLUMNS)
    for field in BENCH_SCHEMA:
        assert arrow.schema.field(field.name).type == field.type, field.name
    df = table.to_pandas().sort_values(["time", "batch_size"]).reset_index(drop=True)
    assert len(df) == 3
    assert df["model"].tolist() == ["DemoClassifier", "DemoClassifier", "spinner"]
    assert df["variant"].tolist() == ["fp32", "fp32", "busy"]
    assert df["bench_id"].nunique() == 2 and df["bench_id"][0] == res.bench_id
    assert df["params"].tolist()[:2] == [res.params] * 2 and df["params"][2] == -1
    assert df["qps"].isna().tolist() == [True, True, False] and df["qps"][2] == 500
    assert df["size_mb"].isna().all() and df["metric"].isna().all()
    assert (df["metric_name"] == "").all()
    assert [len(c) for c in df["cdf_ms"]] == [101] * 3
    assert df["samples"].tolist() == [30, 30, 30] and df["stable"].dtype == bool


def test_table_repr_and_widget(rows):
    res = wb.bench.latency(DemoClassifier(), rows, batch_sizes=(1, 4, 16), min_samples=60,
                           progress=False)
    assert list(res.table.columns) == ["batch_size", "scenario", "qps", "p50_ms", "p90_ms",
                                       "p95_ms", "p99_ms", "max_ms", "mean_ms", "throughput",
                                       "samples", "stable"]
    assert "DemoClassifier [fp32] on cpu" in repr(res) and "<table" in res._repr_html_()

    view = res.widget()
    assert isinstance(view, wb.widgets.LatencyView)
    (hist,) = view.histogram.figure.data
    samples = res.samples[1]
    hidden = int(re.search(r"(\d+) slower requests", view.tail.value).group(1)) if (
        view.tail.value) else 0
    assert sum(hist.y) + hidden == len(samples) and hidden <= len(samples) // 100 + 1
    assert hist.customdata[0].endswith(" ms") and " to " in hist.customdata[0]
    cdf, marks = view.cdf.figure.data
    assert cdf.y[0] == 0 and cdf.y[-1] == 1 and list(marks.y) == [0.5, 0.9, 0.99]
    assert list(marks.x) == res.table.loc[0, ["p50_ms", "p90_ms", "p99_ms"]].tolist()
    assert marks.text[0].startswith("p50 ") and marks.text[0].endswith(" ms")
    trade = view.tradeoff.figure.data[0]
    assert list(trade.x) == res.table["p99_ms"].tolist()
    assert list(trade.y) == res.table["throughput"].tolist()
    assert "samples/s" in trade.customdata[0] and "e+" not in view.stats.value
    assert "p50 latency (ms)" in view.stats.value  # headers name their unit
    first = view.histogram
    view.batch_picker.value = 16
    assert view.histogram is not first and view.chart_box.children == (view.histogram,
                                                                       view.cdf)
    assert "batch size 16" in view.histogram.figure.layout.title.text


# ---------------------------------------------------------------- the command


def test_workbench_bench_command_prints_and_saves(tmp_path, capsys):
    from workbench.cli import main

    lake = tmp_path / "lake"
    code = main(["bench", "workbench.models:DemoClassifier", "--input-shape", "4",
                 "--batch-sizes", "1,8", "--min-samples", "30", "--name", "demo",
                 "--lake", str(lake), "--save"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "DemoClassifier [fp32] on cpu, single-stream" in out and "p50_ms" in out
    assert "saved 2 rows" in out
    df = wb.Lake(lake).table("_bench").to_pandas()
    assert sorted(df["batch_size"]) == [1, 8] and set(df["model"]) == {"demo"}



def test_workbench_bench_command_takes_a_function_and_inputs_from_a_module(tmp_path, capsys,
                                                                        monkeypatch):
    from workbench.cli import main

    (tmp_path / "served.py").write_text(
        "import numpy as np\n"
        "def predict(x):\n    return x.sum(axis=1)\n"
        "def requests():\n    return np.ones((10, 3))\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    code = main(["bench", "served:predict", "--inputs", "served:requests", "--batch-sizes", "2",
                 "--scenario", "server", "--qps", "1000", "--min-samples", "30"])
    out = capsys.readouterr().out
    assert code == 0 and "predict on cpu, server at 1000 qps" in out


@pytest.mark.parametrize("args, message", [
    (["--input-shape", "5"], "the model failed on a batch of 1 rows (batch size 1)"),
    (["--input-shape", "4", "--qps", "10"], "qps=10.0 only applies to scenario='server'"),
    (["--input-shape", "4", "--save"], "--save needs --lake DIR"),
    (["--input-shape", "4", "--batch-sizes", "1,x"], "--batch-sizes must be comma-separated"),
    (["--input-shape", "4", "--rows", "4", "--batch-sizes", "2"], None),
])
def test_workbench_bench_command_errors(capsys, args, message):
    from workbench.cli import main

    code = main(["bench", "workbench.models:DemoClassifier", "--min-samples", "3", *args])
    captured = capsys.readouterr()
    if message is None:
        assert code == 0, captured.err
    else:
        assert code == 2 and f"error: {message}" in captured.err, captured.err


def test_workbench_bench_command_names_a_bad_model(capsys):
    from workbench.cli import main

    assert main(["bench", "workbench.models:Nothing", "--input-shape", "4"]) == 2
    assert "'workbench.models' has no attribute 'Nothing'" in capsys.readouterr().err
    assert main(["bench", "no_such_module_xyz:f", "--input-shape", "4"]) == 2
    assert "cannot import module 'no_such_module_xyz'" in capsys.readouterr().err
