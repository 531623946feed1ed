import pytest

from genre.config import RunConfig, dump_config, load_config
from genre.errors import ConfigError


def test_yaml_round_trip(tmp_path):
    config = RunConfig.from_dict({
        "name": "mix", "algorithms": [{"name": "ease", "params": {"l2": 250}, "weight": 0.7},
                                      {"name": "content", "weight": 0.3}],
        "split": {"method": "temporal", "params": {"test_fraction": 0.2}},
        "evaluation": {"ks": [5, 10]},
    })
    path = tmp_path / "run.yaml"
    path.write_text(dump_config(config))
    loaded = load_config(path)
    loaded.data.source = config.data.source  # paths resolve against the file's folder
    assert loaded == config


def test_relative_data_paths_resolve_against_the_config_folder(tmp_path):
    (tmp_path / "data").mkdir()
    path = tmp_path / "c.yaml"
    path.write_text("data: {source: data}\nalgorithms: [{name: popularity}]\n")
    assert load_config(path).data.source == str(tmp_path / "data")


@pytest.mark.parametrize("text, fragment", [
    ("algorithms: [{name: ease}]\nbogus: 1\n", "unknown key(s) bogus; valid keys: name, data"),
    ("algorithms: [{name: eese}]\n", "unknown algorithm 'eese'; valid names"),
    ("algorithms: [{name: ease, weight: heavy}]\n", "config.algorithms[0].weight must be float"),
    ("evaluation: {ks: 10}\n", "config.evaluation.ks must be a list"),
    ("algorithms: []\n", "config.algorithms is empty"),
    ("seed: !!python/object/apply:os.system ['echo hi']\n", "not valid YAML"),
    ("- just\n- a list\n", "must be a YAML mapping"),
    ("fusion: {normalization: softmax}\n", "normalization must be one of"),
])
def test_invalid_configs_say_what_to_fix(text, fragment):
    with pytest.raises(ConfigError) as error:
        load_config(text)
    assert fragment in str(error.value)


def test_int_weights_are_accepted_as_floats_but_bools_are_not_ints():
    assert RunConfig.from_dict({"algorithms": [{"name": "ease", "weight": 1}]}).algorithms[0].weight == 1.0
    with pytest.raises(ConfigError):
        RunConfig.from_dict({"seed": True})
