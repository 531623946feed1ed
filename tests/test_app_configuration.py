"""Configuration page: YAML export that the CLI replays to the same metrics, import, and bad input."""

import json

import pytest
import yaml

from app_helpers import app, button, check, finish_job, train, upload_slice  # noqa: F401
from genre import cli
from genre.config import load_config


@pytest.fixture
def trained(app):
    upload_slice(app, n_users=60)
    train(app, ("popularity", "item_knn"), p_item_knn_k=50)
    app.slider(key="live_popularity").set_value(0.25).run()
    app.switch_page("pages/7_Configuration.py").run()
    check(app)
    return app


def test_exported_yaml_round_trips_and_the_cli_replays_the_metrics(trained, tmp_path, capsys):
    at = trained
    text = at.code[0].value
    exported = load_config(text)
    assert exported == at.session_state["trained_run"].config
    shipped = at.session_state["trained_from"].algorithm("item_knn").weight  # the default mix's, kept
    assert {a.name: a.weight for a in exported.algorithms} == {"popularity": 0.25, "item_knn": shipped}
    path = tmp_path / "genre-config.yaml"
    path.write_text(text)
    assert cli.main(["run", str(path), "--json", "--no-save"]) == 0
    replayed = json.loads(capsys.readouterr().out)["metrics"]["mix"]
    shown = at.session_state["result"].metrics.loc["mix"]
    for metric in ("ndcg@10", "recall@10", "coverage@10"):
        assert replayed[metric] == pytest.approx(shown[metric], abs=1e-9)


def test_a_slider_move_is_exported_from_the_trained_run_not_written_into_the_session_config(trained):
    at = trained  # the fixture moved the popularity slider to 0.25
    exported = load_config(at.code[0].value)
    assert exported.algorithm("popularity").weight == 0.25
    assert exported.tuning.enabled is False  # a replay uses the weights as set, it does not re-tune
    config = at.session_state["config"]
    assert config == at.session_state["trained_from"]  # the setup as trained: no weight written back
    assert config.algorithm("popularity").weight != 0.25


def test_import_replaces_the_session_config(trained):
    at = trained
    data = yaml.safe_load(at.code[0].value)
    data["algorithms"] = [{"name": "popularity", "weight": 1.0}, {"name": "ease", "params": {"l2": 100.0}}]
    at.text_area(key="config_text").set_value(yaml.safe_dump(data))
    button(at, "Apply configuration").click().run()
    check(at)
    config = at.session_state["config"]
    assert [a.name for a in config.algorithms] == ["popularity", "ease"]
    assert config.algorithm("ease").params == {"l2": 100.0}
    assert at.session_state["dataset"] is not None
    assert "Configuration applied" in at.success[0].value
    assert at.warning  # the trained model no longer matches the settings


def test_a_bad_config_shows_an_error_and_the_page_still_works(trained):
    at = trained
    at.text_area(key="config_text").set_value("algorithms:\n- name: magic\n")
    button(at, "Apply configuration").click().run()
    assert not at.exception
    assert "magic" in at.error[0].value and "valid names" in at.error[0].value
    assert [a.name for a in at.session_state["config"].algorithms] == ["popularity", "item_knn"]
    at.text_area(key="config_text").set_value("")
    button(at, "Apply configuration").click().run()
    assert "choose a YAML file or paste" in at.error[0].value


def test_auto_tuned_weights_replay_as_explicit_weights(app, tmp_path, capsys):
    upload_slice(app, n_users=60)
    train(app, ("popularity", "item_knn"), p_item_knn_k=50)
    app.button(key="auto_tune").click().run()
    check(app)
    finish_job(app)
    app.switch_page("pages/7_Configuration.py").run()
    exported = load_config(app.code[0].value)
    assert exported.tuning.enabled is False
    tuned = app.session_state["result"].weights
    assert {a.name: a.weight for a in exported.algorithms} == tuned
    path = tmp_path / "tuned.yaml"
    path.write_text(app.code[0].value)
    assert cli.main(["run", str(path), "--json", "--no-save"]) == 0
    replayed = json.loads(capsys.readouterr().out)["metrics"]["mix"]
    assert replayed["ndcg@10"] == pytest.approx(app.session_state["result"].metrics.loc["mix", "ndcg@10"], abs=1e-9)
