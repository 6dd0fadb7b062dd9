"""The ops charts on real-shaped `_alerts`, `_drift` and `_runs` rows (`ops_lake`) and on empty
ones: what each bar and cell stands for, severities' and verdicts' colours, units on the axes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from ops_lake import T0, alerts_table, drift_table, runs_table

from workbench import charts
from workbench.charts.alert_timeline import SEVERITY_COLOURS, latest
from workbench.charts.drift_history import VERDICTS


def test_alert_timeline_draws_a_bar_per_fired_alert_by_severity():
    alerts = alerts_table()
    now = T0 + 3600
    figure = charts.alert_timeline(alerts, now=now)
    by_severity = {trace.name: trace for trace in figure.data}
    assert list(by_severity) == ["warning", "critical"]  # least severe first, info absent
    for name, trace in by_severity.items():
        assert trace.marker.color == SEVERITY_COLOURS[name] and trace.orientation == "h"
    warning, critical = by_severity["warning"], by_severity["critical"]
    assert list(warning.y) == ["run-wide-0001 · rank 1", "events@v3"]  # a table has no rank
    np.testing.assert_allclose(warning.x, [300_000, 60_000])  # ms: resolved - started
    assert pd.Timestamp(warning.base[0]) == pd.Timestamp(T0 + 60, unit="s")
    # Firing ones run to `now`.
    np.testing.assert_allclose(critical.x, [(now - T0 - 600) * 1e3, (now - T0 + 1800) * 1e3])
    assert "stall on rank 0 of run-wide-0001" in critical.customdata[0]
    assert "firing, 50 min" in critical.customdata[0]
    assert figure.layout.xaxis.type == "date" and figure.layout.xaxis.title.text == "time (UTC)"
    assert figure.layout.showlegend and figure.layout.height >= 200


def test_alert_timeline_reads_a_jobs_alerts_and_leaves_pending_ones_out():
    job = alerts_table().rename(columns={"run_id": "run"})
    job.loc[0, "state"] = "pending"
    figure = charts.alert_timeline(job, now=T0 + 3600)
    assert sum(len(t.y) for t in figure.data) == 3
    empty = charts.alert_timeline(job.iloc[:0])
    assert not empty.data and empty.layout.title.text == "No alert has fired"


def test_latest_keeps_each_alerts_last_row():
    alerts = alerts_table()
    opened = alerts.iloc[[0]].assign(state="firing", resolved=np.nan)
    both = pd.concat([opened, alerts], ignore_index=True)  # its firing row, then resolved
    kept = latest(both)
    assert len(kept) == len(alerts)
    assert kept.loc[kept["rule"] == "throughput_drop", "state"].tolist() == ["resolved"]


def test_utilisation_stacks_compute_and_transfer_under_r():
    runs = runs_table()
    figure = charts.utilisation(runs)
    compute, transfer, r = figure.data
    assert [compute.name, r.name] == ["compute", "R"]
    assert list(compute.x) == ["mlp-narrow", "mlp-wide"]  # oldest first; unknown R left out
    np.testing.assert_allclose(compute.y, [1.2, 5.4])
    np.testing.assert_allclose(transfer.y, [0.8, 0.6])
    np.testing.assert_allclose(r.y, [0.6, 0.9])
    assert list(r.text) == ["60%", "90%"] and r.yaxis == "y2"
    assert figure.layout.yaxis.title.text == "step time (s)"
    assert figure.layout.yaxis2.title.text == "R %"
    assert figure.layout.yaxis2.tickformat.endswith("%") and figure.layout.barmode == "stack"
    assert "1.2 s computing, 800 ms moving data" in compute.customdata[0]


def test_utilisation_names_runs_that_share_a_name_and_draws_ranks():
    runs = runs_table().assign(name="mlp")
    assert list(charts.utilisation(runs).data[0].x) == ["mlp · run-narr", "mlp · run-wide"]
    ranks = pd.DataFrame({"rank": [0, 1, "all"], "compute_s": [2.0, 1.0, 3.0],
                          "transfer_s": [0.0, 1.0, 1.0], "utilisation": [1.0, 0.5, 0.75]})
    assert list(charts.utilisation(ranks).data[0].x) == ["rank 0", "rank 1", "all"]
    empty = charts.utilisation(runs_table().iloc[:1])
    assert not empty.data and "No run has timed" in empty.layout.title.text


def test_drift_history_is_a_verdict_grid_with_psi_in_each_cell():
    drift = drift_table()
    figure = charts.drift_history(drift)
    (heat,) = figure.data
    assert list(heat.y) == ["events · amount", "events · country", "scores · accuracy"]
    assert list(heat.x) == ["v2", "v3"]
    codes = {v: i for i, v in enumerate(VERDICTS)}
    z = np.asarray(heat.z, dtype=float)
    assert z[0].tolist() == [codes["stable"], codes["drift"]]
    assert z[1].tolist() == [codes["moderate"], codes["stable"]]
    assert z[2, 0] == codes["stable"] and np.isnan(z[2, 1])  # scores has no v3: blank
    assert heat.text[0][1] == "0.31" and heat.text[2][1] == ""
    assert "drift against v1: PSI 0.31, KS 0.155" in heat.customdata[0][1]
    assert heat.customdata[2][1] == "no report"
    assert list(heat.colorbar.ticktext) == list(VERDICTS)


def test_drift_history_shows_added_and_removed_columns_in_grey():
    drift = drift_table()
    added = drift.iloc[[2]].assign(column="channel", verdict="added", psi=np.nan)
    heat = charts.drift_history(pd.concat([drift, added], ignore_index=True)).data[0]
    row = list(heat.y).index("events · channel")
    assert heat.z[row][1] == list(VERDICTS).index("added") and heat.text[row][1] == ""
    assert VERDICTS["added"] == "#8c959f"


def test_drift_history_keeps_the_latest_report_of_a_version():
    drift = drift_table()
    again = drift.iloc[[2]].assign(psi=0.08, verdict="stable",
                                   time=drift["time"].max() + pd.Timedelta(minutes=5))
    heat = charts.drift_history(pd.concat([drift, again], ignore_index=True)).data[0]
    assert heat.text[0][1] == "0.08"
    empty = charts.drift_history(drift.iloc[:0])
    assert not empty.data and empty.layout.title.text == "No drift report yet"


@pytest.mark.parametrize("draw, table", [(charts.alert_timeline, alerts_table),
                                         (charts.drift_history, drift_table),
                                         (charts.utilisation, runs_table)])
def test_ops_charts_are_plain_json_for_a_page(draw, table):
    """What the REST API and a dashboard send: JSON without NaN (plotly writes null)."""
    text = draw(table()).to_json()
    assert "NaN" not in text
