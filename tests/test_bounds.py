"""Typed bounds on every number a config can set (issue 10 §3, §5)."""

import inspect
import math

import numpy as np
import pytest

from genre.algorithms import ALGORITHM_NAMES, algorithm_class
from genre.bounds import BOUNDS, Bound, bounds_for, check
from genre.config import RunConfig, parse_config_text
from genre.encoders import ENCODER_NAMES, encoder_params
from genre.errors import ConfigError


def _numeric_params(signature_params: dict) -> set[str]:
    return {name for name, default in signature_params.items()
            if isinstance(default, (int, float)) and not isinstance(default, bool)}


@pytest.mark.parametrize("name", ALGORITHM_NAMES)
def test_every_numeric_algorithm_parameter_has_a_bound_and_its_default_fits(name):
    params = {p.name: p.default for p in inspect.signature(algorithm_class(name)).parameters.values()}
    assert _numeric_params(params) <= set(BOUNDS[name]), f"{name}: unbounded numbers"
    assert set(BOUNDS[name]) <= set(params), f"{name}: bounds for parameters it does not have"
    for param, bound in BOUNDS[name].items():
        assert check(params[param], bound, f"{name}.{param}") == params[param]


@pytest.mark.parametrize("name", ENCODER_NAMES)
def test_every_numeric_encoder_parameter_is_bounded(name):
    params = encoder_params(name)
    assert _numeric_params(params) <= set(BOUNDS.get(f"encoder:{name}", {})), name


def test_check_message_names_the_field_the_range_and_the_value():
    with pytest.raises(ConfigError, match=r"^als\.factors must be an integer in \[1, 1024\]; got 1000000000$"):
        check(10**9, bounds_for("als", "factors"), "als.factors")


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, "12", True, None, [1], np.float64("nan")])
def test_non_finite_and_non_numbers_are_refused(value):
    with pytest.raises(ConfigError, match="ease.l2 must be a number"):
        check(value, bounds_for("ease", "l2"), "ease.l2")


def test_open_ends_integral_floats_numpy_scalars_and_none():
    assert check(64.0, bounds_for("als", "factors"), "f") == 64 and isinstance(check(64.0, bounds_for("als", "factors"), "f"), int)
    assert check(np.int64(3), bounds_for("item_knn", "k"), "k") == 3
    assert check(1, bounds_for("ease", "l2"), "l2") == 1.0
    assert check(None, bounds_for("fusion", "temperature"), "t") is None
    with pytest.raises(ConfigError, match=r"\(0, 1e\+07\]"):
        check(0, bounds_for("ease", "l2"), "ease.l2")
    with pytest.raises(ConfigError, match=r"\(0, 1\)"):
        check(1.0, bounds_for("split", "test_fraction"), "split.test_fraction")
    with pytest.raises(ConfigError, match="integer"):
        check(2.5, bounds_for("als", "factors"), "als.factors")
    assert Bound(1, 5, int).describe() == "an integer in [1, 5]"
    assert bounds_for("ease", "no_such_param") is None and bounds_for("no_such_algorithm", "k") is None


@pytest.mark.parametrize("text, message", [
    ("seed: -1", "config.seed must be an integer in [0, 4294967295]; got -1"),
    ("fusion: {temperature: 0}", "config.fusion.temperature must be a number in (0, 1e+06]"),
    ("tuning: {n_trials: 1000000000}", "config.tuning.n_trials must be an integer in [1, 10000]"),
    ("evaluation: {ks: [10, 1000000000000]}", "config.evaluation.ks[1] must be an integer in [1, 1000]"),
    ("algorithms: [{name: sequential, params: {window: 1000000000000}}]", "sequential.window must be an integer"),
    ("algorithms: [{name: als, params: {factors: 1000000000}}]", "als.factors must be an integer in [1, 1024]"),
    ("algorithms: [{name: ease, params: {l2: .nan}}]", "ease.l2 must be a number in (0, 1e+07]; got nan"),
    ("algorithms: [{name: ease, weight: .inf}]", "config.algorithms[0].weight must be a number"),
    ("algorithms: [{name: two_tower, params: {batch_size: ten}}]", "two_tower.batch_size must be an integer"),
    ("algorithms: [{name: ease, params: {unknown_knob: .inf}}]", "ease.unknown_knob must be a finite number"),
    ("features: {modalities: [{name: img, fields: [p], encoder: image, params: {size: 100000}}]}",
     "config.features.modalities[0].params.size must be an integer in [32, 1024]"),
    ("split: {method: temporal, params: {test_fraction: 1.5}}", "config.split.params.test_fraction"),
    ("tuning: {metric: accuracy}", "unknown metric 'accuracy'; valid: auc, or NAME@K"),
    ("tuning: {metric: ndcg@100000}", "config.tuning.metric cut-off must be an integer in [1, 1000]"),
    ("data: {encoding: klingon-8}", "unknown text encoding 'klingon-8'"),
    ("data: {encoding: base64}", "unknown text encoding 'base64'"),  # a codec, but not text
])
def test_configs_out_of_bounds_fail_with_one_line(text, message):
    with pytest.raises(ConfigError) as error:
        parse_config_text(text)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_valid_numbers_are_normalized_and_validate_never_mutates():
    config = parse_config_text("algorithms: [{name: als, params: {factors: 64.0, regularization: 1}}]\n"
                               "tuning: {metric: coverage@20}\ndata: {encoding: latin-1}")
    assert config.algorithms[0].params == {"factors": 64, "regularization": 1.0}
    before = config.to_dict()
    config.validate()
    assert config.to_dict() == before


def test_validate_catches_values_set_in_code_as_well():
    config = RunConfig()
    config.seed = -5
    with pytest.raises(ConfigError, match="config.seed"):
        config.validate()
    config = RunConfig()
    config.algorithms[0].params["l2"] = float("inf")
    with pytest.raises(ConfigError, match="ease.l2"):
        config.validate()
