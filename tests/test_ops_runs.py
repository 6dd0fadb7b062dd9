"""`wb.ops` rules watching real `wb.launch` runs (gloo, 2 processes): a NaN loss on one rank
fires an alert naming that rank, delivered to `on_alert` and kept in `job.alerts` and the
lake's `_alerts`, while a failing `on_alert` changes nothing in the run; a rule whose action is
"stop" stops the run; only alerts that fired reach the lake."""

from __future__ import annotations

import math
import time

import pytest

import workbench as wb

pytestmark = pytest.mark.timeout(120)


def losses(nan_at: int | None, steps: int = 12) -> float:
    run = wb.train.current()
    for step in range(steps):
        loss = math.nan if run.rank == 1 and nan_at is not None and step >= nan_at else 1.0
        run.log(step=step, loss=loss)
        run.flush()
        time.sleep(0.05)
        if run.should_stop():
            break
    return 0.0


def test_a_nan_loss_fires_naming_the_rank_and_lands_in_alerts(tmp_path):
    seen = []

    def broken(alert):
        raise ConnectionError("pager down")

    lake = wb.Lake(tmp_path / "lake")
    job = wb.launch(losses, 3, run_dir=tmp_path / "run", runs_lake=lake,
                    on_alert=[broken, seen.append])
    assert job.wait(60) == 0.0 and job.status == "succeeded"  # the failing receiver: counted
    assert job._group.alerts.delivery_failures == 1 and job.alerts["delivery_failures"][0] == 1
    alerts = job.alerts
    assert alerts[["rule", "rank", "state", "severity"]].values.tolist() == [
        ["nonfinite_loss", 1, "firing", "critical"]]
    assert [(a.rule, a.rank, a.state) for a in seen] == [("nonfinite_loss", 1, "firing")]
    assert "rank 1" in seen[0].message and seen[0].run == job.run_dir.name
    assert job.recorded is not None
    table = lake.table("_alerts").to_pandas()
    assert table[["run_id", "rule", "rank"]].values.tolist() == [
        [job.run_dir.name, "nonfinite_loss", 1]]


def test_a_stop_rule_stops_the_run(tmp_path):  # a clean run: test_ops_faults
    stop = wb.ops.Rule("nan_stop", "loss", "nonfinite", action="stop")
    job = wb.launch(losses, 2, 10_000, run_dir=tmp_path / "stop", runs_lake=None,
                    alerts=[stop])
    started = time.monotonic()
    job.wait(60)
    assert job.status == "stopped" and time.monotonic() - started < 30
    assert job.alerts["rule"].tolist() == ["nan_stop"]


def test_only_alerts_that_fired_go_to_the_lake(tmp_path):
    lake = wb.Lake(tmp_path / "lake")
    slow = wb.ops.Rule("nan_for_an_hour", "loss", "nonfinite", for_=3600.0)
    job = wb.launch(losses, 3, run_dir=tmp_path / "run", runs_lake=lake, alerts=[slow])
    job.wait(60)
    assert job.alerts["state"].tolist() == ["pending"]  # live views show it
    assert job.recorded is not None and "_alerts" not in lake


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"alerts": "all"}, r"alerts='all': give 'default'"),
    ({"alerts": ["nonfinite"]}, r"no built-in rule is named 'nonfinite'; the built-in rules "
                                r"are \['gpu_memory_growth', "),
    ({"alerts": [3]}, r"alerts: 3 is not a wb.ops.Rule"),
    ({"on_alert": "ftp://hooks.example/alert"}, r"on_alert='ftp://hooks.example/alert'"),
    ({"on_alert": [print, 7]}, r"on_alert=7: give a callable"),
])
def test_bad_alert_arguments_are_refused_before_anything_starts(tmp_path, kwargs, message):
    with pytest.raises((wb.ops.RuleError, TypeError), match=message):
        wb.launch(losses, None, run_dir=tmp_path / "run", runs_lake=None, **kwargs)
    assert not (tmp_path / "run").exists()
