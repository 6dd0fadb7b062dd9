"""wb.bench.compare: variants and engines are both rows of one table, each checked against
eager before it is timed, with the scenarios' figures, accuracy, the engine to pick and why a
slow row is slow; rows that cannot run say why while the others run; `_bench` keeps them."""

from __future__ import annotations

import math
import sys
import warnings

import numpy as np
import pytest
import torch

import workbench as wb
from workbench.bench import BenchError
from workbench.bench.comparison import TABLE_COLUMNS

TIMING = {"min_samples": 30, "warmup": 2, "progress": False}


def test_engines_side_by_side_in_every_scenario(trained, task, tmp_path):
    res = wb.bench.compare(trained, task.x_test,
                           engines=["eager", "onnxruntime", "onnxruntime-int8"],
                           scenarios=["single-stream", "server", "offline"], batch_sizes=(1, 8),
                           eval=(task.x_test, task.y_test), **TIMING)
    table = res.table
    assert list(table.columns) == TABLE_COLUMNS
    assert len(table) == 3 * 3 * 2 and set(table["variant"]) == {"fp32"}
    assert table["parity_ok"].all() and (table["p50_ms"] > 0).all()
    by = table.set_index(["engine", "scenario", "batch_size"])
    assert by.loc[("onnxruntime", "single-stream", 1), "max_rel_diff"] < 1e-4
    assert by.loc[("eager", "single-stream", 1), "speedup"] == 1
    eager_acc = by.loc[("eager", "offline", 1), "accuracy"]
    assert by.loc[("onnxruntime", "offline", 1), "accuracy"] == pytest.approx(eager_acc)
    assert by.loc[("onnxruntime-int8", "offline", 1), "accuracy"] >= eager_acc - 0.01
    for engine in ("eager", "onnxruntime", "onnxruntime-int8"):  # 80% of offline capacity
        for b in (1, 8):
            offline = by.loc[(engine, "offline", b), "throughput"]
            assert by.loc[(engine, "server", b), "qps"] == pytest.approx(0.8 * offline / b)
    assert by.loc[("onnxruntime-int8", "offline", 1), "size_mb"] < \
        by.loc[("onnxruntime", "offline", 1), "size_mb"]

    fastest = res.fastest
    assert len(fastest) == 6 and fastest["parity_ok"].all()
    for pick in fastest.itertuples():
        same = table[(table["scenario"] == pick.scenario)
                     & (table["batch_size"] == pick.batch_size)]
        assert pick.speedup == same["speedup"].max()
        assert "pick this" in pick.note
    assert "Comparison(DemoClassifier: 3 engine(s)" in repr(res) and "<table" in \
        res._repr_html_()

    lake = wb.Lake(tmp_path / "lake")
    assert res.save(lake) == 0
    rows = lake.table("_bench").to_pandas()
    assert len(rows) == len(table) and rows["bench_id"].unique().tolist() == [res.bench_id]
    assert sorted(rows["engine"].unique()) == ["eager", "onnxruntime", "onnxruntime-int8"]
    assert rows["parity_ok"].all() and (rows["metric_name"] == "accuracy").all()
    saved = rows.set_index(["engine", "scenario", "batch_size"]).sort_index()
    np.testing.assert_allclose(saved["p50_ms"], by.sort_index()["p50_ms"])


def test_variants_and_engines_are_both_rows(trained, task):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        variants = {"fp32": trained, "int8": wb.compress.quantize(trained),
                    "pruned": wb.compress.prune(trained, 0.3)}
    res = wb.bench.compare(variants, task.x_test, engines=["eager", "onnxruntime"],
                           batch_sizes=(4,), eval=(task.x_test, task.y_test), **TIMING)
    table = res.table
    assert list(table["variant"].unique()) == ["fp32", "int8", "pruned"]
    assert set(zip(table["variant"], table["engine"])) == {
        (v, e) for v in variants for e in ("eager", "onnxruntime")}
    pruned = table[table["variant"] == "pruned"].set_index("engine")
    assert pruned.loc["onnxruntime", "parity_ok"]  # pruned weights export as they are
    for row in table.itertuples():
        if row.speedup < 1 and "pick this" not in row.note:  # slower: says on what, and why
            assert "slower than fp32 on eager: runs" in row.note
        if math.isnan(row.p50_ms):
            assert row.note and not row.parity_ok


def test_a_model_the_exporter_refuses_still_runs_on_eager(task):
    class Branchy(torch.nn.Module):
        def forward(self, x):
            return x * 2 if x.sum() > 0 else x

    res = wb.bench.compare(Branchy(), task.x_test, engines=["eager", "onnxruntime"],
                           batch_sizes=(2,), **TIMING)
    by = res.table.set_index("engine")
    assert by.loc["eager", "p50_ms"] > 0
    assert math.isnan(by.loc["onnxruntime", "p50_ms"]) and not by.loc["onnxruntime",
                                                                      "parity_ok"]
    assert "data-dependent control flow" in by.loc["onnxruntime", "note"]


def test_an_engine_that_is_not_installed_is_one_line_and_the_others_run(trained, task,
                                                                          monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    res = wb.bench.compare(trained, task.x_test, engines=["eager", "onnxruntime-int8"],
                           batch_sizes=(2,), **TIMING)
    by = res.table.set_index("engine")
    assert by.loc["eager", "p50_ms"] > 0
    assert by.loc["onnxruntime-int8", "note"] == ("engine 'onnxruntime-int8' needs ONNX "
                                                  "Runtime: pip install 'workbench[infer]'")


def test_a_plain_function_and_a_metric_function(trained, task):
    def agreement(engine):
        return float((np.asarray(engine(task.x_test)).argmax(1) ==
                      trained(task.x_test).argmax(1).numpy()).mean())

    res = wb.bench.compare({"model": trained, "identity": lambda x: x}, task.x_test,
                           batch_sizes=(2,), eval=agreement, model_name="demo", **TIMING)
    table = res.table.set_index("variant")
    assert "agreement" in table.columns and table.loc["model", "agreement"] == 1
    assert math.isnan(table.loc["identity", "size_mb"])
    rows = res.records().to_pandas()
    assert rows["model"].tolist() == ["demo", "demo"]
    assert (rows["metric_name"] == "agreement").all()


def test_compare_bad_input(trained, task):
    with pytest.raises(BenchError, match="non-empty dict"):
        wb.bench.compare({}, task.x_test)
    with pytest.raises(BenchError, match=r"models\['x'\] is a int"):
        wb.bench.compare({"x": 3}, task.x_test)
    with pytest.raises(BenchError, match=r"engines must be .*unknown: \['tensorflow'\]"):
        wb.bench.compare(trained, task.x_test, engines=["tensorflow"])
    with pytest.raises(BenchError, match=r"scenarios must be .*unknown: \['burst'\]"):
        wb.bench.compare(trained, task.x_test, scenarios=["burst"])
    with pytest.raises(BenchError, match="as many labels as rows"):
        wb.bench.compare(trained, task.x_test, eval=(task.x_test, task.y_test[:3]))

    def broken(engine):
        raise RuntimeError("no labels here")

    with pytest.raises(BenchError, match="eval failed on engine 'eager': RuntimeError: no "
                                         "labels here"):
        wb.bench.compare(trained, task.x_test, eval=broken, batch_sizes=(1,), **TIMING)
    with pytest.raises(BenchError, match="must return a number"):
        wb.bench.compare(trained, task.x_test, eval=lambda e: "good", batch_sizes=(1,),
                         **TIMING)


def test_a_bfloat16_variant_takes_the_same_float32_inputs(trained, task):
    """A half-precision variant is fed the float32 inputs every engine takes (cast by its
    engine) and compared with fp32 eager."""
    import copy

    half = copy.deepcopy(trained).to(torch.bfloat16)
    res = wb.bench.compare({"fp32": trained, "bf16": half}, task.x_test,
                           engines=["eager", "onnxruntime"], batch_sizes=(4,), **TIMING)
    table = res.table.set_index(["variant", "engine"])
    assert table.loc[("bf16", "eager"), "p50_ms"] > 0 and table.loc[("bf16", "eager"),
                                                                     "parity_ok"]
    assert table.loc[("fp32", "onnxruntime"), "max_rel_diff"] < 1e-4
