"""Train page: train a small mix, re-weight it live without refitting, auto-tune, and readable errors."""

import numpy as np
import pytest

from app_helpers import app, button, check, finish_job, plain, plotly_specs, train, upload_slice  # noqa: F401


@pytest.fixture
def trained(app):
    upload_slice(app, n_users=60)
    return train(app, ("popularity", "item_knn"), p_item_knn_k=50)


def test_training_shows_metrics_timings_and_status(trained):
    result = trained.session_state["result"]
    assert list(result.metrics.index) == ["popularity", "item_knn", "mix"]
    assert trained.session_state["config"].algorithm("item_knn").params["k"] == 50
    assert trained.session_state["trained_run"].models_["item_knn"].k == 50
    titles = [s["layout"]["title"]["text"] for s in plotly_specs(trained)]
    assert "Metrics per algorithm and for the mix" in titles and "Time per stage" in titles
    timing_bars = next(s for s in plotly_specs(trained) if s["layout"]["title"]["text"] == "Time per stage")
    assert "fit item_knn" in timing_bars["data"][0]["y"]
    assert "mix ndcg@10" in [m.label for m in trained.metric]
    trained.switch_page("app.py").run()  # AppTest shows the shared sidebar on the entry page only
    assert "trained: popularity, item_knn" in " ".join(plain(m.value) for m in trained.sidebar.markdown)


def test_an_algorithm_switched_on_joins_at_the_average_weight_of_the_others(trained):
    from ui.state import default_config

    config = trained.session_state["trained_from"]
    preset = [a.weight for a in default_config().algorithms if a.enabled]
    # popularity is not in the default preset: it joins at the preset's average weight, not 1.0
    assert config.algorithm("popularity").weight == pytest.approx(sum(preset) / len(preset))
    assert config.algorithm("popularity").weight < 0.5


def test_weight_slider_reranks_without_refitting(trained):
    trained_run = trained.session_state["trained_run"]
    models = dict(trained_run.models_)
    user = trained_run.user_ids_evaluated[0]
    before = trained_run.recommend(user, k=10, explain=False)["item_id"].tolist()
    trained.slider(key="live_popularity").set_value(0.0).run()
    check(trained)
    result = trained.session_state["result"]
    shipped = trained.session_state["trained_from"].algorithm("item_knn").weight  # the default's, kept
    assert result.weights == {"popularity": 0.0, "item_knn": shipped}
    # with popularity switched off, the mix is item-kNN alone
    assert np.isclose(result.metrics.loc["mix", "ndcg@10"], result.metrics.loc["item_knn", "ndcg@10"])
    after = trained_run.recommend(user, k=10, explain=False)["item_id"].tolist()
    assert after != before
    assert trained.session_state["trained_run"] is trained_run
    assert all(trained_run.models_[n] is m for n, m in models.items())  # nothing was refitted
    assert trained_run.weights_["popularity"] == 0.0 and trained_run.config.algorithm("popularity").weight == 0.0
    # the trained run owns the live weights: the session's setup keeps its starting weight
    starting = trained.session_state["trained_from"].algorithm("popularity").weight
    assert trained.session_state["config"].algorithm("popularity").weight == starting > 0.0
    assert not trained.warning  # weights alone do not make the training stale


def test_auto_tune_sets_the_sliders_and_shows_the_curve(trained):
    trained.button(key="auto_tune").click().run()
    check(trained)
    finish_job(trained)
    tuning = trained.session_state["trained_run"].tuning_
    for name, weight in tuning.weights.items():  # exactly the tuned weights, and the metrics are that mix's
        assert trained.slider(key=f"live_{name}").value == pytest.approx(weight, abs=1e-12)
    assert trained.session_state["result"].weights == pytest.approx(tuning.weights)
    assert trained.session_state["config"] == trained.session_state["trained_from"]  # the setup is untouched
    titles = [s["layout"]["title"]["text"] for s in plotly_specs(trained)]
    assert "Auto-tuning on the validation split" in titles


def test_no_algorithm_is_an_error_and_keeps_the_trained_mix(trained):
    for toggle in trained.toggle:
        if toggle.key.startswith("on_") and not toggle.disabled:
            toggle.set_value(False)
    button(trained, "Train").click().run()
    assert not trained.exception
    assert "switch on at least one algorithm" in trained.error[0].value
    assert list(trained.session_state["result"].weights) == ["popularity", "item_knn"]
    assert [a.name for a in trained.session_state["config"].algorithms] == ["popularity", "item_knn"]


def test_a_slider_move_measures_what_the_page_shows_first_and_the_rest_before_other_pages(trained):
    trained_run = trained.session_state["trained_run"]
    weights = {**trained_run.weights_, "popularity": 0.3}
    quick = trained_run.set_weights(weights, ks=(10,))  # what a slider move measures before the page draws
    assert quick.partial and np.isnan(quick.metrics.loc["mix", "ndcg@20"])
    assert not np.isnan(quick.metrics.loc["popularity", "ndcg@20"])  # each algorithm alone stays measured
    full = trained_run.result_  # read by a page or a save: completed once
    assert not full.partial and trained_run.result_ is full
    assert full.metrics.loc["mix", "ndcg@10"] == quick.metrics.loc["mix", "ndcg@10"]
    assert full.metrics.loc["mix", "ndcg@20"] == trained_run.set_weights(weights).metrics.loc["mix", "ndcg@20"]
    trained.slider(key="live_popularity").set_value(0.2).run()
    check(trained)
    assert not trained.session_state["result"].partial  # the Train page completed it after drawing
    assert trained.session_state["result"].weights["popularity"] == 0.2
