import pytest

from genre.config import RunConfig, dump_config, load_config, parse_config_text
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


# ---------------------------------------------------------------------------- a bounded parser (issue 10 §3)
def _laughs(levels: int = 9) -> str:
    text, previous = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n', "a"
    for name in "bcdefghijklm"[:levels - 1]:
        text += f"{name}: &{name} [{', '.join(['*' + previous] * 9)}]\n"
        previous = name
    return text


def test_billion_laughs_fails_before_building_anything():
    text = _laughs()
    assert len(text) < 600  # 9 ** 9 "lol"s once expanded
    with pytest.raises(ConfigError, match="expands to more than 20000 values"):
        parse_config_text(text)


def test_aliases_within_the_limit_are_fine():
    config = parse_config_text("algorithms:\n  - &e {name: ease, params: {l2: 100}}\n"
                               "evaluation: {ks: &k [5, 10]}\nsplit: {method: temporal}\n")
    assert config.algorithms[0].params == {"l2": 100.0} and config.evaluation.ks == [5, 10]


@pytest.mark.parametrize("text, message", [
    ("a: &a [*a]\n", "recursive YAML alias"),
    ("a: " + "[" * 40 + "]" * 40 + "\n", "nests deeper than 32 levels"),
    ("a: " + "[" * 5000 + "]" * 5000 + "\n", "nests deeper"),
    ("name: x\n#" + "x" * (300 * 1024) + "\n", "larger than 256 KB"),
])
def test_deep_recursive_or_huge_yaml_is_refused(text, message):
    with pytest.raises(ConfigError, match=message):
        parse_config_text(text)


def test_parse_config_text_never_reads_a_path(tmp_path):
    secret = tmp_path / "run.yaml"
    secret.write_text("name: from a file\n")
    with pytest.raises(ConfigError, match="must be a YAML mapping at the top level, got str"):
        parse_config_text(str(secret))
    with pytest.raises(ConfigError, match="YAML text"):
        parse_config_text(secret)
    assert load_config(secret).name == "from a file"  # the CLI's loader does read paths


def test_load_config_refuses_a_folder_and_an_oversized_file(tmp_path):
    with pytest.raises(ConfigError, match="is a folder; give the path of a .yaml file"):
        load_config(tmp_path)
    big = tmp_path / "big.yaml"
    big.write_text("name: big\n#" + "x" * (300 * 1024) + "\n")
    with pytest.raises(ConfigError, match="larger than 256 KB"):
        load_config(big)
