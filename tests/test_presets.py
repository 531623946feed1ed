"""Presets: whole setups from the committed configs, the app's default, and the Train page's picker."""

import pytest
import yaml

from app_helpers import app, button, check, train, upload_slice  # noqa: F401
from genre.config import DataConfig
from genre.errors import ConfigError
from genre.starter_configs import CONFIG_DIR, DEFAULT_PRESET, PRESETS, load_preset


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
    app.selectbox(key="preset_pick").set_value("cold-start: ContentToCF two-space")
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
