"""Presets: whole setups from the committed configs, the app's default, the Train page's picker, and the
rules that turn a training form's choices into the next training's config."""

import pytest
import yaml

from app_helpers import app, button, check, train, upload_slice  # noqa: F401
from genre.config import AlgorithmConfig, DataConfig
from genre.errors import ConfigError
from genre.starter_configs import (CONFIG_DIR, DEFAULT_PRESET, PRESETS, joining_weight, load_preset,
                                   needs_retraining, switched_on, training_setup, weights_to_carry)


@pytest.mark.parametrize("name", list(PRESETS))
def test_each_preset_loads_with_its_weights_and_tuning_off_on_the_sessions_data(name):
    data = DataConfig(source="elsewhere.csv")
    config = load_preset(name, data)
    shipped = yaml.safe_load((CONFIG_DIR / PRESETS[name]).read_text(encoding="utf-8"))
    assert config.data == data and config.name == "session" and not config.tuning.enabled
    assert [(a.name, a.weight) for a in config.algorithms] == [
        (a["name"], float(a.get("weight", 1.0))) for a in shipped["algorithms"]]


def test_the_apps_default_is_the_tuned_mix_with_its_shipped_weights():
    from ui.state import default_config

    config = default_config()
    assert config == load_preset(DEFAULT_PRESET, DataConfig())
    assert [a.name for a in config.algorithms] == ["ease", "sequential", "als", "item_knn", "content"]
    assert len({a.weight for a in config.algorithms}) > 1  # chosen on validation, not all 1.0


def test_an_unknown_preset_names_the_valid_ones():
    with pytest.raises(ConfigError, match="presets: tuned mix, collaborative only"):
        load_preset("best")


def test_the_train_page_loads_a_preset_and_a_saved_run(app):
    upload_slice(app, n_users=60)
    app.switch_page("pages/3_Train.py").run()
    app.selectbox(key="preset_pick").set_value("cold-start: best (ContentToCF two-space)")
    button(app, "Load preset").click().run()
    check(app)
    config = app.session_state["config"]
    assert [a.name for a in config.algorithms] == ["content_to_cf", "content_to_cf_tfidf"]
    assert app.selectbox(key="split_method").value == "cold_items"
    assert app.toggle(key="on_content_to_cf").value and app.toggle(key="on_content_to_cf_tfidf").value
    assert not app.toggle(key="on_ease").value
    assert config.data.source == app.session_state["config"].data.source  # the uploaded data stays

    app.selectbox(key="preset_pick").set_value("collaborative only")
    button(app, "Load preset").click().run()
    assert app.selectbox(key="split_method").value == "temporal"
    train(app, ("popularity",))  # save it, then come back to it from another preset
    app.switch_page("pages/5_Metrics.py").run()
    button(app, "Save this run").click().run()
    check(app)
    app.switch_page("pages/3_Train.py").run()
    app.selectbox(key="preset_pick").set_value("content only")
    button(app, "Load preset").click().run()
    assert [a.name for a in app.session_state["config"].algorithms] == ["content"]
    saved = next(o for o in app.selectbox(key="preset_pick").options if o.startswith("saved run #"))
    app.selectbox(key="preset_pick").set_value(saved)
    button(app, "Load preset").click().run()
    check(app)
    assert [a.name for a in app.session_state["config"].algorithms] == ["popularity"]
    assert app.toggle(key="on_popularity").value and not app.toggle(key="on_content").value


def test_an_algorithm_switched_on_joins_at_the_average_enabled_weight_and_a_known_one_keeps_its_own():
    setup = load_preset(DEFAULT_PRESET)
    enabled = [a.weight for a in setup.algorithms if a.enabled]
    assert joining_weight(setup.algorithms) == pytest.approx(sum(enabled) / len(enabled))
    assert joining_weight([AlgorithmConfig("ease", enabled=False)]) == 1.0  # nothing on: the plain 1.0
    newcomer = switched_on(setup, "popularity", {})
    assert (newcomer.name, newcomer.weight, newcomer.enabled) == ("popularity", joining_weight(setup.algorithms), True)
    ease = setup.algorithm("ease")
    ease.enabled = False
    again = switched_on(setup, "ease", {"l2": 50.0})
    assert (again.weight, again.params, again.enabled) == (ease.weight, {"l2": 50.0}, True)
    assert not ease.enabled  # the setup itself is not edited


def test_a_training_setup_holds_the_forms_choices_and_leaves_the_setup_alone():
    setup = load_preset(DEFAULT_PRESET)
    given = setup.to_dict()
    chosen = [switched_on(setup, "popularity", {})]
    cold = training_setup(setup, split_method="cold_items", share=0.3, algorithms=chosen, normalization="rank",
                          tune=True)
    assert (cold.split.method, cold.split.params) == ("cold_items", {"cold_fraction": 0.3})
    assert [a.name for a in cold.algorithms] == ["popularity"]
    assert (cold.fusion.normalization, cold.tuning.enabled) == ("rank", True)
    assert cold.features == setup.features and setup.to_dict() == given
    last = training_setup(setup, split_method="leave_last_out", share=0.3, algorithms=chosen, normalization="minmax",
                          tune=False)
    assert last.split.params == {}  # it holds out one interaction, whatever the share slider says
    with pytest.raises(ConfigError, match="switch on at least one algorithm"):
        training_setup(setup, split_method="temporal", share=0.2, algorithms=[], normalization="minmax", tune=False)


def test_a_retrain_starts_from_the_live_weights_unless_a_new_setup_brought_its_own():
    setup = load_preset(DEFAULT_PRESET)
    live = {a.name: 0.5 for a in setup.algorithms}
    carried = weights_to_carry(setup, setup.copy(), live)
    assert carried == live
    again = training_setup(setup, split_method="temporal", share=0.2, algorithms=list(setup.algorithms),
                           normalization="minmax", tune=False, live_weights=carried)
    assert [a.weight for a in again.algorithms] == [0.5] * len(setup.algorithms)
    other = load_preset("collaborative only")
    assert weights_to_carry(other, setup, live) == {} and weights_to_carry(setup, None, live) == {}


def test_weights_and_tuning_alone_need_no_retraining():
    trained_from = load_preset(DEFAULT_PRESET)
    setup = trained_from.copy()
    setup.algorithms[0].weight += 0.5
    setup.tuning.enabled = not setup.tuning.enabled
    setup.name = "renamed"
    assert not needs_retraining(setup, trained_from)
    setup.algorithms[0].params["l2"] = 1.0
    assert needs_retraining(setup, trained_from)
