"""`wb.ops`: rules and their lifecycle over record streams (the semantics of Prometheus'
alerting rules: pending until the condition has held for `for_`, firing, resolved when it
clears; one alert per rule, run and rank), and rules refused with the argument named."""

from __future__ import annotations

import math
import statistics

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import workbench as wb
from workbench.ops import Rule, RuleError, Watch


def records(metric: str, values, *, rank: int = 0, run: str = "r1", start: float = 0.0,
            every: float = 1.0) -> list[dict]:
    return [{"run": run, "rank": rank, "step": i, "time": start + i * every, metric: v}
            for i, v in enumerate(values)]


def test_a_nonfinite_loss_fires_at_once_naming_the_rank_and_once_only():
    watch = Watch(wb.ops.default_rules())
    clean = records("loss", [1.0, 0.9, 0.8], rank=0)
    bad = records("loss", [1.0, 0.9, math.nan, math.nan, math.inf], rank=1)
    assert watch.feed(clean) == []
    fired = watch.feed(bad)
    assert [(a.rule, a.rank, a.state, a.severity) for a in fired] == [
        ("nonfinite_loss", 1, "firing", "critical")]
    assert fired[0].started == 2.0 and "rank 1 of r1: loss is not finite" in fired[0].message
    assert len(watch.frame()) == 1  # no flood: NaN after NaN is the same alert
    resolved = watch.feed(records("loss", [0.7], rank=1, start=10))
    assert [(a.state, a.resolved) for a in resolved] == [("resolved", 10.0)]
    frame = watch.frame()
    assert list(frame.columns) == ["rule", "severity", "run", "rank", "state", "value",
                                   "threshold", "started", "resolved", "message"]
    assert frame["state"].tolist() == ["resolved"]


def test_pending_then_firing_after_for_then_resolved():
    watch = Watch([Rule("hot", "temp", ">", threshold=80, for_=5.0)])
    assert watch.feed(records("temp", [90, 91, 92])) == []  # t = 0, 1, 2: pending
    assert watch.frame()["state"].tolist() == ["pending"]
    assert watch.check(now=4.0) == []
    fired = watch.check(now=5.0)
    assert [a.state for a in fired] == ["firing"] and fired[0].started == 0.0
    assert [a.state for a in watch.feed(records("temp", [70], start=6))] == ["resolved"]


def test_a_pending_alert_that_clears_is_forgotten():
    watch = Watch([Rule("hot", "temp", ">", threshold=80, for_=5.0)])
    watch.feed(records("temp", [90, 70]))
    assert watch.check(now=10.0) == [] and watch.frame().empty


def test_spike_and_below_median_compare_with_the_recent_median():
    watch = Watch([Rule("spike", "loss", "spike", threshold=10, window=10),
                   Rule("drop", "samples_per_s", "below_median", threshold=0.5, window=10)])
    losses = [1.0] * 10 + [12.0]
    assert [a.rule for a in watch.feed(records("loss", losses))] == ["spike"]
    speeds = [100.0] * 10 + [60.0, 40.0]
    fired = watch.feed(records("samples_per_s", speeds, rank=1))
    assert [(a.rule, a.rank, a.value) for a in fired] == [("drop", 1, 40.0)]
    # too little history: no median yet, no alert
    assert Watch([Rule("spike", "loss", "spike", threshold=2, window=10)]).feed(
        records("loss", [1.0, 50.0])) == []


def test_rising_memory_fires_on_a_leak_not_on_noise():
    leak = [1e9 + 10e6 * i for i in range(30)]
    noise = [1e9 + (5e6 if i % 2 else -5e6) for i in range(30)]
    rule = Rule("leak", "rss_bytes", "rising", threshold=0.0, window=20)
    assert [a.rank for a in Watch([rule]).feed(records("rss_bytes", leak, rank=3))] == [3]
    assert Watch([rule]).feed(records("rss_bytes", noise)) == []


def test_a_stalled_rank_fires_by_the_clock_and_resolves_when_it_steps_again():
    watch = Watch([Rule("stall", "step_s", "stalled", threshold=30)])
    watch.feed(records("step_s", [0.1, 0.1], rank=0))
    watch.feed(records("step_s", [0.1, 0.1, 0.1], rank=1, start=0))
    assert watch.check(now=20.0) == []
    fired = watch.check(now=40.0)
    assert sorted(a.rank for a in fired) == [0, 1]
    resolved = watch.feed(records("step_s", [0.1], rank=1, start=41))
    assert [(a.rank, a.state) for a in resolved] == [(1, "resolved")]


def test_records_without_the_metric_or_with_text_are_not_judged():
    watch = Watch([Rule("nan", "loss", "nonfinite")])
    assert watch.feed([{"run": "r", "rank": 0, "time": 0.0, "acc": 0.5},
                       {"run": "r", "rank": 0, "time": 1.0, "loss": "n/a"}]) == []


@pytest.mark.parametrize(("make", "message"), [
    (lambda: Rule("x", "loss", "above"), r"op='above'; give one of \['>', '<', 'nonfinite'"),
    (lambda: Rule("x", "loss", ">"), r"op '>' needs a threshold"),
    (lambda: Rule("x", "loss", "spike", threshold=-2, window=5), r"threshold=-2: must be > 0"),
    (lambda: Rule("x", "loss", "spike", threshold=2), r"op 'spike' needs a window"),
    (lambda: Rule("x", "loss", "rising", window=2), r"window=2: .* at least 3"),
    (lambda: Rule("x", "loss", ">", threshold="1"), r"threshold='1': give a number"),
    (lambda: Rule("x", "loss", ">", threshold=1, for_=-1), r"for_=-1: must be >= 0"),
    (lambda: Rule("x", "loss", ">", threshold=1, severity="fatal"), r"severity='fatal'"),
    (lambda: Rule("x", "loss", ">", threshold=1, action="reboot"), r"action='reboot'"),
    (lambda: Rule("x", "tput", "below_median", threshold=2, window=5), r"in \(0, 1\)"),
    (lambda: Rule("", "loss", "nonfinite"), r"name=''"),
    (lambda: Watch(["nonfinite"]), r"'nonfinite' is not a wb.ops.Rule"),
    (lambda: Watch([Rule("a", "x", "nonfinite"), Rule("a", "y", "nonfinite")]), "must differ"),
])
def test_bad_rules_are_refused_naming_the_argument(make, message):
    with pytest.raises(RuleError, match=message):
        make()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from([0.0, 1.0, 2.0, 3.0, math.nan]), min_size=3, max_size=40),
       st.integers(3, 8))
def test_rising_keeps_its_window_as_a_full_pass_over_it_would(values, window):
    rule = Rule("leak", "rss", "rising", threshold=0.0, window=window)
    watch = Watch([rule])
    finite: list[float] = []
    for i, value in enumerate(values):
        watch.feed([{"run": "r", "rank": 0, "time": float(i), "rss": value}])
        held = [a.state for a in watch.open()] == ["firing"]
        if math.isfinite(value):
            finite.append(value)
        last = finite[-window:]
        ups = sum(b > a for a, b in zip(last, last[1:]))
        downs = sum(b < a for a, b in zip(last, last[1:]))
        expected = (math.isfinite(value) and len(last) == window
                    and ups >= 0.5 * (window - 1) and ups >= 0.8 * (ups + downs)
                    and statistics.linear_regression(range(window), last).slope > 0)
        assert held == expected, (values[:i + 1], window)
