"""The federated charts on `dashboard_lake`'s two runs and on empty tables: their traces, axis
titles with units, the states' colours, and that NaN (no test data, no DP) never raises."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from dashboard_lake import FL_IID, FL_SKEW
from dashboard_lake import fl_tables as lake_rows

from workbench import charts
from workbench.charts.participation import STATES


@pytest.fixture(scope="module")
def fl_tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Both runs' `_fl_rounds` and `_fl_clients` rows, as the lake holds them."""
    return lake_rows()


def one_run(table: pd.DataFrame, run_id: str = FL_IID) -> pd.DataFrame:
    """A run's rows without run_id and name, as a live job's `history` has them."""
    return table[table["run_id"] == run_id].drop(columns=["run_id", "name"])


def test_accuracy_is_a_line_per_run_and_quantity_in_percent(fl_tables):
    rounds, _ = fl_tables
    figure = charts.fl_accuracy(rounds)
    assert [t.name for t in figure.data] == [
        "fedavg-iid · test", "fedavg-iid · local", "fedavg-skew · test", "fedavg-skew · local"]
    assert figure.layout.yaxis.title.text == "accuracy %"
    assert figure.layout.yaxis.tickformat.endswith("%")  # fractions shown as percentages
    assert figure.layout.xaxis.title.text == "round" and figure.layout.showlegend
    iid = rounds[rounds["run_id"] == FL_IID]
    np.testing.assert_allclose(figure.data[0].y, iid["test_accuracy"])
    assert list(figure.data[0].x) == [1, 2, 3, 4, 5]
    assert figure.data[0].line.color == figure.data[1].line.color  # a run has one colour
    assert figure.data[0].line.color != figure.data[2].line.color
    assert figure.data[1].line.dash != figure.data[0].line.dash


def test_one_run_is_labelled_by_quantity_and_a_shared_name_by_id(fl_tables):
    rounds, _ = fl_tables
    live = charts.fl_accuracy(one_run(rounds))
    assert [t.name for t in live.data] == ["test", "local"]
    twins = charts.fl_loss(rounds.assign(name="fedavg"))
    assert [t.name for t in twins.data][::2] == ["fedavg fl-iid-0 · train",
                                                 "fedavg fl-skew- · train"]


def test_a_run_without_test_data_or_labels_says_so(fl_tables):
    rounds = one_run(fl_tables[0]).assign(test_accuracy=np.nan, local_accuracy=np.nan,
                                           test_loss=np.nan)
    figure = charts.fl_accuracy(rounds)
    assert figure.data == () and "no test data" in figure.layout.title.text
    assert [t.name for t in charts.fl_loss(rounds).data] == ["train"]
    gap = one_run(fl_tables[0]).assign(test_accuracy=[0.5, np.nan, 0.7, 0.8, np.nan])
    assert np.isnan(charts.fl_accuracy(gap).data[0].y[1])  # a gap, not a failure


def test_loss_and_bytes(fl_tables):
    rounds, _ = fl_tables
    loss = charts.fl_loss(one_run(rounds, FL_SKEW))
    assert [t.name for t in loss.data] == ["train", "test"]
    assert loss.layout.yaxis.title.text == "loss"
    sent = charts.fl_bytes(one_run(rounds, FL_SKEW))
    assert [t.name for t in sent.data] == ["up (to the server)", "down (to the clients)"]
    assert sent.layout.yaxis.title.text == "sent (MB)"
    # Client 3 dropped in round 2: one update fewer went up; the model went down to all 4.
    np.testing.assert_allclose(sent.data[0].y, [1.616032, 1.212024, 1.616032, 1.212024,
                                                1.212024])
    np.testing.assert_allclose(sent.data[1].y, [1.616032] * 5)


def test_privacy_spent_against_its_budget(fl_tables):
    rounds, _ = fl_tables
    figure = charts.privacy_spent(rounds, budget=2.0)
    assert [t.name for t in figure.data] == ["fedavg-skew · ε", "budget ε = 2"]  # iid: no DP
    np.testing.assert_allclose(figure.data[0].y, 0.6 * np.sqrt([1, 2, 3, 4, 5]))
    budget = figure.data[-1]
    assert budget.line.dash == "dash" and list(budget.y) == [2.0, 2.0]
    assert list(budget.x) == [1, 5]
    assert figure.layout.yaxis.title.text == "ε spent"
    assert [t.name for t in charts.privacy_spent(one_run(rounds, FL_SKEW)).data] == ["ε"]
    no_dp = charts.privacy_spent(one_run(rounds, FL_IID), budget=2.0)
    assert no_dp.data == () and "no differential privacy" in no_dp.layout.title.text


def test_participation_is_a_grid_of_states_with_errors_on_hover(fl_tables):
    _, clients = fl_tables
    figure = charts.participation(clients[clients["run_id"] == FL_SKEW])
    (heat,) = figure.data
    assert list(heat.y) == ["client 0", "client 1", "client 2", "client 3"]
    assert list(heat.x) == [1, 2, 3, 4, 5]
    code = {state: i for i, state in enumerate(STATES)}
    z = np.asarray(heat.z)
    assert (z[:3] == code["completed"]).all()
    assert list(z[3]) == [code["completed"], code["dropped"], code["completed"],
                          code["failed"], code["failed"]]
    assert list(heat.colorbar.ticktext) == list(STATES)
    # Each state's code falls in its own colour's band of the scale.
    bands = {colour: [] for colour in STATES.values()}
    for edge, colour in heat.colorscale:
        bands[colour].append(edge)
    for state, i in code.items():
        low, high = bands[STATES[state]]
        assert low <= (i + 0.5) / len(STATES) <= high
    assert heat.customdata[3][1][0] == "dropped"
    assert "deadline" in heat.customdata[3][1][1] and heat.customdata[0][0][1] == ""
    assert "%{customdata[1]}" in heat.hovertemplate
    assert figure.layout.xaxis.title.text == "round"
    # Given every run, the last run's rows are drawn; a missing report stays blank.
    assert np.array_equal(np.asarray(charts.participation(clients).data[0].z), z)
    partial = clients[(clients["run_id"] == FL_SKEW)
                      & ~((clients["client"] == 1) & (clients["round"] == 5))]
    assert np.isnan(np.asarray(charts.participation(partial).data[0].z)[1, 4])


def test_an_unknown_state_and_an_error_with_markup_are_safe(fl_tables):
    clients = one_run(fl_tables[1]).copy()
    clients.loc[clients.index[0], ["state", "last_error"]] = ["rebooting", "<b>bad</b>"]
    heat = charts.participation(clients).data[0]
    assert np.isnan(np.asarray(heat.z)[0, 0])
    assert heat.customdata[0][0][1] == "<br>&lt;b&gt;bad&lt;/b&gt;"


@pytest.mark.parametrize("chart, table", [
    (charts.fl_accuracy, 0), (charts.fl_loss, 0), (charts.fl_bytes, 0),
    (charts.privacy_spent, 0), (charts.participation, 1)])
def test_an_empty_table_gives_an_empty_figure_that_says_nothing_yet(fl_tables, chart, table):
    empty = fl_tables[table].iloc[0:0]
    figure = chart(empty)
    assert figure.data == ()
    assert figure.layout.title.text.startswith("No ") and "yet" in figure.layout.title.text
    assert figure.layout.xaxis.visible is False
    live = chart(empty.drop(columns=["run_id", "name"]))  # a job before its first round
    assert live.data == () and live.layout.title.text == figure.layout.title.text
