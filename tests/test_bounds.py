"""Typed bounds on every parameter a config can set (issue 10 §3, §5), declared beside each class."""

import inspect
import math
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from genre.algorithms import ALGORITHM_NAMES, algorithm_class, make_algorithm
from genre.algorithms.ease import EASE
from genre.bounds import BOUNDS, RUN_CONFIG_BOUNDS, bounds_for, check
from genre.config import RunConfig, parse_config_text
from genre.constraints import Bound, Flag, ListOf, OneOf, Pair, Text
from genre.encoders import ENCODER_NAMES, make_encoder
from genre.encoders.registry import encoder_class
from genre.errors import ConfigError

SECTIONS = [*((name, algorithm_class(name)) for name in ALGORITHM_NAMES),
            *((f"encoder:{name}", encoder_class(name)) for name in ENCODER_NAMES)]


@pytest.mark.parametrize("section, cls", SECTIONS, ids=[section for section, _ in SECTIONS])
def test_every_parameter_of_every_algorithm_and_encoder_has_a_constraint_its_default_meets(section, cls):
    params = {p.name: p.default for p in inspect.signature(cls).parameters.values()}
    assert set(cls._parameter_constraints) == set(params), f"{section}: parameters and constraints differ"
    for param, default in params.items():
        if default is not inspect.Parameter.empty:
            assert check(default, cls._parameter_constraints[param], f"{section}.{param}") == default


def test_the_table_is_built_from_the_classes_and_is_what_bounds_for_returns():
    assert set(BOUNDS) == {*ALGORITHM_NAMES, *(f"encoder:{n}" for n in ENCODER_NAMES), *RUN_CONFIG_BOUNDS}
    for section, cls in SECTIONS:
        assert BOUNDS[section] is cls._parameter_constraints
    for section, constraints in BOUNDS.items():
        for param, constraint in constraints.items():
            assert bounds_for(section, param) is constraint


_HOSTILE_NGRAMS = ("features: {modalities: [{name: t, fields: [title], encoder: tfidf, "
                   "params: {ngram_range: [1, 1000000]}}]}")


@pytest.mark.parametrize("build", [lambda: make_encoder("tfidf", ngram_range=[1, 1_000_000]),
                                   lambda: parse_config_text(_HOSTILE_NGRAMS)], ids=["python", "config"])
def test_a_hostile_ngram_range_is_refused_with_one_line(build):
    with pytest.raises(ConfigError) as error:
        build()
    message = str(error.value)
    assert message.endswith("ngram_range must be a pair (low, high) of integers in [1, 5] with low <= high; "
                            "got [1, 1000000]") and "\n" not in message


def test_pairs_are_ordered_and_come_back_as_tuples():
    assert make_encoder("tfidf", ngram_range=[1, 3]).ngram_range == (1, 3)
    for value in ([2, 1], [1], (1, 2, 3), "12", [1, 2.5]):
        with pytest.raises(ConfigError, match=r"^tfidf\.ngram_range must be a pair"):
            make_encoder("tfidf", ngram_range=value)


@pytest.mark.parametrize("build, message", [
    (lambda: make_encoder("tfidf", sublinear_tf="no"), "tfidf.sublinear_tf must be true or false; got 'no'"),
    (lambda: make_encoder("tfidf", sublinear_tf=1), "tfidf.sublinear_tf must be true or false; got 1"),
    (lambda: parse_config_text("algorithms: [{name: two_tower, params: {pooling: max}}]"),
     "two_tower.pooling must be one of 'attention', 'mean'; got 'max'"),
    (lambda: OneOf(("a", "b")).check(True, "x.choice"), "x.choice must be one of 'a', 'b'; got True"),
    (lambda: ListOf(Bound(1, 1000, int), max_len=3).check([10, 0], "x.ks"),
     "x.ks[1] must be an integer in [1, 1000]; got 0"),
    (lambda: ListOf(Bound(1, 1000, int), max_len=3).check([1, 2, 3, 4], "x.ks"),
     "x.ks must be a list of at most 3 values, each an integer in [1, 1000]; got [1, 2, 3, 4]"),
    (lambda: ListOf(Flag(), max_len=3).check("abc", "x.flags"), "x.flags must be a list of at most 3 values"),
    (lambda: make_encoder("precomputed", path="a\0b"), "precomputed.path must be a text of at most 4096"),
    (lambda: make_encoder("sentence-transformers", model="m" * 5000), "sentence-transformers.model must be a text"),
])
def test_bool_choice_list_and_text_violations_are_refused_with_one_line(build, message):
    with pytest.raises(ConfigError) as error:
        build()
    assert str(error.value).startswith(message) and "\n" not in str(error.value) and len(str(error.value)) < 300


def test_each_constraint_type_accepts_and_normalises_what_it_allows():
    assert Flag().check(np.bool_(True), "f") is True and Flag(none_ok=True).check(None, "f") is None
    assert ListOf(Bound(1, 10, int), max_len=2).check((1, 2.0), "l") == [1, 2]
    assert Pair(Bound(0.0, 1.0)).check([0, 1], "p") == (0.0, 1.0)
    assert OneOf(("mean", "attention")).check("mean", "o") == "mean"
    assert Text(8).check(Path("a/b"), "t") == Path("a/b")


def test_min_df_is_a_document_count_or_a_fraction_as_scikit_learn_reads_it():
    assert [make_encoder("tfidf", min_df=v).min_df for v in (1, 2.0, 0.5, 0)] == [1, 2, 0.5, 0.0]
    assert isinstance(make_encoder("tfidf", min_df=1).min_df, int)  # 1.0 would mean "in every document"
    with pytest.raises(ConfigError, match=r"an integer in \[1, 1000000\] or a number in \[0, 1\]; got 2.5"):
        make_encoder("tfidf", min_df=2.5)


def test_the_python_api_is_checked_by_fit_before_any_work():
    train = sp.csr_matrix(np.eye(3, dtype=np.float32))
    with pytest.raises(ConfigError, match=r"^ease\.l2 must be a number in \(0, 1e\+07\]; got -1$"):
        EASE(l2=-1).fit(train)
    with pytest.raises(ConfigError, match=r"^als\.factors must be an integer in \[1, 1024\]; got 1000000000$"):
        make_algorithm("als", factors=10**9).fit(train)
    with pytest.raises(ConfigError, match=r"^ease\.max_items"):
        EASE().set_params(max_items=0).clone().fit(train)


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
