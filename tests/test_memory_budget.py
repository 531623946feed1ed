"""Issue 22 item 3: a memory budget for a run.

Bounds per parameter are not enough: the product matters. Each algorithm and encoder estimates
its peak from its parameters and the data's shape (``peak_bytes``), the run core sums them before
anything is encoded or fitted (genre.run.budget) and refuses the run above the budget
(``GENRE_RUN_MEMORY_MB``, else half the available memory) with one line; list lengths are bounded.
"""

from __future__ import annotations

import time

import pytest

from genre.algorithms import _two_tower_state, make_algorithm, two_tower
from genre.algorithms.ease import EASE
from genre.config import RunConfig, load_config
from genre.errors import ConfigError
from genre.memory import BUDGET_VARIABLE, budget_source, run_memory_budget
from genre.run import fitting
from genre.run.budget import check_run_memory, estimate_run
from genre.run.experiment import Experiment

#: The sample data's shape (users, items, interactions): MovieLens ml-latest-small.
SAMPLE = (610, 9724, 100_836)
GB = 1e9


def one_line(error: pytest.ExceptionInfo) -> str:
    message = str(error.value)
    assert "\n" not in message
    return message


def test_the_budget_is_the_variable_else_half_the_available_memory(monkeypatch):
    monkeypatch.setenv(BUDGET_VARIABLE, "1500")
    assert run_memory_budget() == 1500 * 2**20
    for bad in ("-1", "0", "lots", "nan", "inf"):
        monkeypatch.setenv(BUDGET_VARIABLE, bad)
        with pytest.raises(ConfigError, match=BUDGET_VARIABLE):
            run_memory_budget()
    monkeypatch.delenv(BUDGET_VARIABLE)
    assert 0 < run_memory_budget()
    assert budget_source() == "half the available memory; GENRE_RUN_MEMORY_MB sets it"


def test_a_two_tower_whose_parameters_are_each_in_range_is_refused_by_their_product():
    params = {"batch_size": 65_536, "max_history": 1000, "dim": 1024, "hidden": 4096, "n_negatives": 10_000}
    config = RunConfig.from_dict({"algorithms": [{"name": "two_tower", "params": params}]})
    start = time.perf_counter()
    with pytest.raises(ConfigError) as error:
        check_run_memory(config, *SAMPLE, budget=16 * 2**30)
    assert time.perf_counter() - start < 5
    message = one_line(error)
    assert message.startswith("this run needs about ") and "two_tower: " in message
    assert "lower two_tower.batch_size, max_history or dim, or raise the budget" in message
    # its largest single tensor, one batch's history vectors, is what torch was asked for (35 GB)
    blocks = 65_536 // 8  # the sample's users hold far more than 8 items: a block per 8 pairs
    assert 30 * GB < blocks * 1000 * 1024 * 4 < 36 * GB
    assert make_algorithm("two_tower", **params).peak_bytes(*SAMPLE, 256) > 4 * blocks * 1000 * 1024 * 4
    default = make_algorithm("two_tower").peak_bytes(*SAMPLE, 256)
    assert default < 1 * GB  # the defaults stay small


def test_the_two_tower_estimate_mirrors_the_module_constants():
    assert (_two_tower_state._BLOCK, _two_tower_state._SCORE_BATCH, _two_tower_state._MAX_CONTENT_DIMS) == (
        two_tower._BLOCK, two_tower._SCORE_BATCH, two_tower.MAX_CONTENT_DIMS)


def test_multi_hot_with_max_dense_65536_on_a_large_catalog_is_refused():
    modality = {"name": "genres", "fields": ["genres"], "encoder": "multi-hot", "params": {"max_dense": 65_536}}
    config = RunConfig.from_dict({"features": {"modalities": [modality]},
                                  "algorithms": [{"name": "popularity"}]})
    with pytest.raises(ConfigError) as error:
        check_run_memory(config, 10_000, 65_536, 1_000_000, budget=8 * 2**30)
    message = one_line(error)
    assert "features.modalities[0] multi-hot: 34.4 GB" in message  # the 17.2 GB (16 GiB) block, twice
    assert "lower features.modalities[0].params.max_dense, or raise the budget" in message
    # the default max_dense keeps the same catalog small
    modality["params"] = {}
    fine = RunConfig.from_dict({"features": {"modalities": [modality]}, "algorithms": [{"name": "popularity"}]})
    assert check_run_memory(fine, 10_000, 65_536, 1_000_000, budget=8 * 2**30)


def test_four_ease_entries_are_refused_where_one_fits(monkeypatch, sample_dir):
    monkeypatch.setenv(BUDGET_VARIABLE, "1500")
    entries = [{"name": f"ease{i}", "algorithm": "ease"} for i in range(4)]
    config = RunConfig.from_dict({"data": {"source": str(sample_dir)}, "algorithms": entries})
    assert check_run_memory(RunConfig.from_dict({"algorithms": entries[:1]}), *SAMPLE)
    with pytest.raises(ConfigError) as error:
        check_run_memory(config, *SAMPLE)
    assert "budget is 1.6 GB (GENRE_RUN_MEMORY_MB); switch ease" in one_line(error)
    assert EASE().peak_bytes(*SAMPLE, 0) >= 2 * 4 * SAMPLE[1] ** 2
    # while tuning, the final fits overlap the validation fits: two at once must fit
    one = RunConfig.from_dict({"algorithms": entries[:1]})
    need = sum(n for n, _ in estimate_run(one, *SAMPLE).values())
    assert check_run_memory(one, *SAMPLE, budget=int(1.5 * need))
    with pytest.raises(ConfigError, match="× 2: tuning and the final fits run at once"):
        check_run_memory(one, *SAMPLE, copies=2, budget=int(1.5 * need))

    def must_not_run(*args, **kwargs):
        raise AssertionError("encoded or fitted before the memory check")

    # the whole run: refused before any item is encoded or any model fitted
    monkeypatch.setattr(fitting, "build_features", must_not_run)
    monkeypatch.setattr(EASE, "_fit", must_not_run)
    with pytest.raises(ConfigError, match=r"^this run needs about 3\.\d GB \(ease\d: 0\.8 GB"):
        Experiment(config).train()


def test_lists_are_bounded():
    with pytest.raises(ConfigError) as error:
        RunConfig.from_dict({"evaluation": {"ks": list(range(1, 1001))}})
    assert one_line(error) == "config.evaluation.ks lists 1000 entries; at most 10 are allowed"
    many = [{"name": f"pop{i}", "algorithm": "popularity"} for i in range(33)]
    with pytest.raises(ConfigError, match="config.algorithms lists 33 entries; at most 32"):
        RunConfig.from_dict({"algorithms": many})
    modalities = [{"name": f"m{i}"} for i in range(17)]
    with pytest.raises(ConfigError, match="config.features.modalities lists 17 entries; at most 16"):
        RunConfig.from_dict({"features": {"modalities": modalities}})
    with pytest.raises(ConfigError, match=r"config.algorithms\[0\].features.modalities lists 17"):
        RunConfig.from_dict({"algorithms": [{"name": "content", "features": {"modalities": modalities}}]})
    assert RunConfig.from_dict({"evaluation": {"ks": list(range(1, 11))}, "algorithms": many[:32]})


def test_the_tuned_mix_is_estimated_well_under_the_default_budget():
    config = load_config("configs/tuned_mix.yaml")
    estimates = estimate_run(config, *SAMPLE)
    assert set(estimates) == {"features.modalities[0] tfidf", "ease", "sequential", "als", "item_knn", "content"}
    total = sum(need for need, _ in estimates.values())
    assert total < 1.5 * GB  # EASE's 2 × 4 × 9724² = 0.76 GB dominates
    assert check_run_memory(config, *SAMPLE) == estimates


@pytest.mark.parametrize("name", ["popularity", "item_knn", "sequential", "ease", "als", "bpr", "content",
                                  "genre_pref", "two_tower", "content_to_cf", "profile"])
def test_every_algorithm_estimates_a_positive_size_that_grows_with_the_catalog(name):
    model = make_algorithm(name)
    small, large = model.peak_bytes(100, 1_000, 10_000, 64), model.peak_bytes(100, 100_000, 10_000, 64)
    assert 0 < small < large
