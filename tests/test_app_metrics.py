"""Metrics page: the mix against its parts, slices, saving and comparing runs, weight sweeps."""

import pytest

from app_helpers import app, array, button, check, finish_job, plain, plotly_specs, train, upload_slice  # noqa: F401


@pytest.fixture
def metrics_page(app):
    upload_slice(app, n_users=60)
    train(app, ("popularity", "item_knn"), p_item_knn_k=50)
    app.switch_page("pages/5_Metrics.py").run()
    check(app)
    return app


def _titles(at):
    return [s["layout"]["title"]["text"] for s in plotly_specs(at)]


def test_metrics_and_slices_are_shown(metrics_page):
    titles = _titles(metrics_page)
    assert "Metrics per algorithm and for the mix" in titles
    assert any(t.endswith("by slice") for t in titles)
    bars = next(s for s in plotly_specs(metrics_page) if s["layout"]["title"]["text"].startswith("Metrics per"))
    assert [trace["name"] for trace in bars["data"]] == ["popularity", "item_knn", "mix"]
    table = metrics_page.dataframe[0].value
    result = metrics_page.session_state["result"]
    assert table.loc["mix", "ndcg@10"] == pytest.approx(result.metrics.loc["mix", "ndcg@10"])


def test_two_saved_runs_are_compared_side_by_side(metrics_page):
    at = metrics_page
    at.text_input(key="run_name").set_value("both")
    button(at, "Save this run").click().run()
    check(at)
    at.switch_page("pages/3_Train.py").run()
    at.slider(key="live_popularity").set_value(0.0).run()
    at.switch_page("pages/5_Metrics.py").run()
    at.text_input(key="run_name").set_value("knn only")
    button(at, "Save this run").click().run()
    check(at)
    saved = at.session_state["saved_runs"]
    assert [r["name"] for r in saved] == ["both", "knn only"]
    assert at.multiselect(key="compare_runs").value == [r["run_id"] for r in saved]
    compare = next(s for s in plotly_specs(at) if s["layout"]["title"]["text"] == "ndcg@10 by run")
    assert compare["data"][0]["x"] == [f"#{r['run_id']} {r['name']}" for r in saved]
    heights = array(compare["data"][0]["y"])
    result = at.session_state["result"]
    assert heights[1] == pytest.approx(result.metrics.loc["item_knn", "ndcg@10"], abs=1e-9)
    assert heights[0] != heights[1]


def test_weight_sweep_draws_the_curve_without_retraining(metrics_page):
    at = metrics_page
    trained_run = at.session_state["trained_run"]
    weights = dict(at.session_state["result"].weights)
    at.selectbox(key="sweep_algo").set_value("popularity")
    at.button(key="run_sweep").click().run()
    check(at)
    finish_job(at)
    title = "ndcg@10 as weight varies (on validation)"
    sweep = next(s for s in plotly_specs(at) if s["layout"]["title"]["text"] == title)
    assert array(sweep["data"][0]["x"]) == pytest.approx([i / 10 for i in range(11)])
    validation = at.session_state["validation_run"][1]  # explored on the carve tuning uses, not on TEST
    assert set(validation.split_.test.index) <= set(trained_run.split_.train.index)
    assert validation.weights_ == weights  # it sweeps around the live mix
    assert array(sweep["data"][0]["y"]) == pytest.approx(list(validation.weight_sweep("popularity")["ndcg@10"]))
    assert any("never on test" in c.value for c in at.caption)
    assert at.session_state["trained_run"] is trained_run
    assert at.session_state["result"].weights == weights  # the mix is unchanged


def test_heat_map_over_two_weights_keeps_the_current_mix(metrics_page):
    at = metrics_page
    before = at.session_state["trained_run"].weights_
    at.button(key="run_grid").click().run()
    check(at)
    finish_job(at)
    heat = next(s for s in plotly_specs(at) if s["layout"]["title"]["text"] == "ndcg@10 over two weights (on validation)")
    grid = at.session_state["grid"][2]
    assert len(grid) == 35 and set(grid["popularity"]) == set(grid["item_knn"])  # all-zero mix left out
    knn_only = grid[(grid["popularity"] == 1.0) & (grid["item_knn"] == 0.0)]  # x = popularity across
    validation = at.session_state["validation_run"][1].result_  # the validation carve's own metrics
    assert knn_only["ndcg@10"].iloc[0] == pytest.approx(validation.metrics.loc["popularity", "ndcg@10"])
    assert heat["data"][0]["type"] == "heatmap"
    assert at.session_state["trained_run"].weights_ == before


def test_compared_runs_show_error_bars_the_within_interval_note_and_the_weights(metrics_page):
    at = metrics_page
    trained_with = at.session_state["trained_run"].weights_["popularity"]
    at.text_input(key="run_name").set_value("both")
    button(at, "Save this run").click().run()
    at.switch_page("pages/3_Train.py").run()
    at.slider(key="live_popularity").set_value(0.05).run()  # a small change: not measurable on 60 users
    at.switch_page("pages/5_Metrics.py").run()
    at.text_input(key="run_name").set_value("less popularity")
    button(at, "Save this run").click().run()
    check(at)
    compare = next(s for s in plotly_specs(at) if s["layout"]["title"]["text"] == "ndcg@10 by run")
    bars = array(compare["data"][0]["error_y"]["array"])
    result = at.session_state["result"]
    assert bars[1] == pytest.approx(result.intervals.loc["mix", "ndcg@10"]) and bars[0] > 0
    notes = [plain(n.value) for n in [*at.info, *at.success]]
    saved = at.session_state["saved_runs"]
    first, second = (f"#{r['run_id']} {r['name']}" for r in saved)
    paired = [n for n in notes if n.startswith((f"{second} − {first} on ndcg@10: +", f"{first} − {second} on ndcg@10: +"))]
    assert len(paired) == 1 and "paired over the same 60 users" in paired[0], notes
    assert paired[0].endswith("within the 95 % interval: not a measurable difference.")
    weights = next(d.value for d in at.dataframe if "differs" in d.value.columns)
    assert list(weights.index) == ["popularity", "item_knn"]
    assert weights.loc["popularity", second] == pytest.approx(0.05) and weights.loc["popularity", first] == trained_with != 0.05
    assert weights["differs"].tolist() == ["≠", ""]
    per_algorithm = next(s for s in plotly_specs(at) if s["layout"]["title"]["text"].startswith("Metrics per"))
    assert all("error_y" in trace for trace in per_algorithm["data"])


def test_use_this_weight_after_a_sweep_sets_the_live_mix_and_the_sliders(metrics_page):
    at = metrics_page
    trained_run = at.session_state["trained_run"]
    at.selectbox(key="sweep_algo").set_value("popularity")
    at.button(key="run_sweep").click().run()
    finish_job(at)
    name, frame, base = at.session_state["sweep"]
    best = frame.loc[frame["ndcg@10"].idxmax(), "weight"]  # validation, ties to the lowest weight
    sweep = next(s for s in plotly_specs(at) if s["layout"]["title"]["text"].endswith("(on validation)"))
    assert array(sweep["data"][-1]["x"]) == [pytest.approx(best)]  # the best point starred
    use = at.button(key="use_sweep_best")
    if best == trained_run.weights_["popularity"]:  # the live mix is the best already: nothing to use
        assert use.disabled
        at.session_state["trained_run"].set_weights({**base, "popularity": 1.0 - best})  # move away, try again
        at.run()
        use = at.button(key="use_sweep_best")
    use.click().run()
    check(at)
    assert trained_run.weights_ == {**base, "popularity": pytest.approx(best)}
    assert at.session_state["result"].weights == trained_run.weights_
    assert "live_popularity" not in at.session_state or at.session_state["live_popularity"] == best
    at.switch_page("pages/3_Train.py").run()
    check(at)
    assert at.slider(key="live_popularity").value == pytest.approx(best)
    assert at.slider(key="live_item_knn").value == pytest.approx(base["item_knn"])
