"""minilm-adapted: the real packaged MiniLM, its top layer fine-tuned on planted consecutive pairs.

Small budgets (tens of steps over a 40-item catalog) keep each adaptation to seconds.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from app_helpers import app  # noqa: F401 (the fixture)
from genre.config import FeaturesConfig, ModalityConfig
from genre.data import Dataset
from genre.encoders import EmbeddingCache, Modality, build_item_vectors, encode_with_report, make_encoder
from genre.encoders.adapted import consecutive_pairs
from genre.errors import ConfigError, EncoderError
from genre.split import temporal_split

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"
N_ITEMS = 40
#: Fast, step-bounded adaptation (the time budget is far away, so the result is reproducible).
FAST = {"max_steps": 12, "batch_pairs": 32, "val_every": 4, "patience": 10, "budget_s": 120.0, "lr": 2e-3,
        "threads": 1}


@pytest.fixture(scope="module")
def texts() -> list[str]:
    movies = pd.read_csv(SAMPLE / "movies.csv", nrows=N_ITEMS)
    return [f"{t} | {g.replace('|', ', ')}" for t, g in zip(movies["title"], movies["genres"])]


def planted(n_users: int = 120, seed: int = 1) -> pd.DataFrame:
    """Each user watches three planted pairs (2k, 2k+1) back to back, in a random order."""
    rng = np.random.default_rng(seed)
    rows = []
    for user in range(n_users):
        for t, k in enumerate(rng.choice(N_ITEMS // 2, size=3, replace=False)):
            rows += [(user, 2 * k, 10 * t), (user, 2 * k + 1, 10 * t + 1)]
    return pd.DataFrame(rows, columns=["user", "item", "timestamp"])


def adapted(frame: pd.DataFrame, texts: list[str], **params) -> tuple[np.ndarray, object]:
    encoder = make_encoder("minilm-adapted", **{**FAST, **params})
    encoder.use_interactions(frame, texts)
    return encoder.encode(texts), encoder


def _pair_cosines(vectors: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    return np.einsum("ij,ij->i", vectors[pairs[:, 0]], vectors[pairs[:, 1]])


def test_planted_consecutive_items_end_up_closer(texts):
    before = make_encoder("minilm").encode(texts)
    after, encoder = adapted(planted(), texts)
    assert after.shape == (N_ITEMS, 384) and after.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(after, axis=1), 1.0, atol=1e-5)
    plants = np.array([(2 * k, 2 * k + 1) for k in range(N_ITEMS // 2)])
    controls = np.array([(2 * k, (2 * k + 3) % N_ITEMS) for k in range(N_ITEMS // 2)])  # never adjacent
    gain_planted = _pair_cosines(after, plants) - _pair_cosines(before, plants)
    gain_control = _pair_cosines(after, controls) - _pair_cosines(before, controls)
    assert gain_planted.mean() > 0.1 and gain_planted.mean() > gain_control.mean() + 0.1
    assert (gain_planted > gain_control).mean() > 0.8
    report = encoder.last_report["adaptation"]
    assert report["steps"] == FAST["max_steps"] and report["val_mrr_best"] > report["val_mrr_frozen"]
    assert report["best_step"] > 0 and report["checks"][0]["step"] == 0


def test_step_zero_is_the_frozen_model(texts):
    frozen = make_encoder("minilm").encode(texts)
    at_start, _ = adapted(planted(), texts, max_steps=1, val_every=1, lr=1e-9, max_tokens=128)
    np.testing.assert_allclose(at_start, frozen, atol=5e-3)  # float16 token states: equal to rounding


def test_same_seed_same_vectors_and_the_cache_skips_training(texts, tmp_path):
    cache = EmbeddingCache(tmp_path)
    frame = planted()
    first = make_encoder("minilm-adapted", **FAST)
    first.use_interactions(frame, texts)
    vectors, report = encode_with_report(first, texts, cache)
    assert report["cache_misses"] == N_ITEMS and "adaptation" in report

    again, _ = adapted(frame, texts)  # trained again, from the same seed
    np.testing.assert_allclose(again, vectors, atol=1e-5)

    second = make_encoder("minilm-adapted", **FAST)
    second.use_interactions(frame.copy(), list(texts))
    assert second.id == first.id
    cached, report = encode_with_report(second, texts, cache)
    assert report["cache_hits"] == N_ITEMS and "adaptation" not in report
    assert second._top is None, "a cache hit must not train"
    np.testing.assert_array_equal(cached, vectors)

    other = make_encoder("minilm-adapted", **FAST)
    other.use_interactions(planted(seed=2), texts)  # a different train frame
    assert other.id != first.id
    assert not cache.lookup(other.id, np.zeros(1, dtype="S32"))[0].any()
    changed = make_encoder("minilm-adapted", **{**FAST, "lr": 1e-4})
    changed.use_interactions(frame, texts)
    assert changed.id != first.id


def test_it_learns_from_the_train_frame_only(texts, tmp_path):
    frame = planted()
    items = pd.DataFrame({"item_id": np.arange(N_ITEMS), "title": [t.split(" | ")[0] for t in texts],
                          "genres": [t.split(" | ")[1].replace(", ", "|") for t in texts]})
    dataset = Dataset.from_frame(frame, items, name="planted")
    split = temporal_split(dataset.interactions, dataset.n_users, dataset.n_items)
    from genre.run.encoding import build_features

    params = {**FAST, "max_steps": 4}
    config = FeaturesConfig(modalities=[ModalityConfig("text", ["title", "genres"], "minilm-adapted", params)])
    features, report = build_features(dataset, split.train, split.test, config, cache_dir=tmp_path / "a")
    perturbed = split.test.assign(item=(split.test["item"] + 7) % N_ITEMS,
                                  timestamp=split.test["timestamp"][::-1].to_numpy())
    same, _ = build_features(dataset, split.train, perturbed, config, cache_dir=tmp_path / "b")
    np.testing.assert_allclose(same.item_vectors, features.item_vectors, atol=1e-5)
    assert report["text"]["adaptation"]["train_pairs"] > 0

    fewer = split.train.iloc[: len(split.train) // 2]
    other, _ = build_features(dataset, fewer, split.test, config, cache_dir=tmp_path / "a")
    assert not np.allclose(other.item_vectors, features.item_vectors, atol=1e-4)


def test_validation_pairs_are_the_end_of_each_users_history():
    times = np.random.default_rng(0).permutation(20)
    frame = pd.DataFrame({"user": [0] * 20 + [1] * 2, "item": [*(times + 2), 1, 1],
                          "timestamp": [*times, 1, 2]})
    train, held = consecutive_pairs(frame, np.ones(22, dtype=bool), val_pairs=10, seed=0)
    in_order = [[t, t + 1] for t in range(2, 21)]  # user 0 takes items 2, 3, ... 21; user 1's (1, 1) is no pair
    assert held.tolist() == in_order[-3:] and train.tolist() == in_order[:-3]  # 19 pairs: at most 19 // 5 held


def test_without_interactions_or_with_a_hub_name_it_says_why_in_one_line(texts, monkeypatch, tmp_path):
    with pytest.raises(ConfigError, match="learns from the training interactions") as error:
        build_item_vectors(Dataset.from_frame(planted(), pd.DataFrame({"item_id": range(N_ITEMS),
                                                                       "title": texts})),
                           [Modality("text", ["title"], "minilm-adapted")], cache=False)
    assert "\n" not in str(error.value)
    monkeypatch.setenv("GENRE_CACHE_DIR", str(tmp_path))
    with pytest.raises(EncoderError) as error:
        make_encoder("minilm-adapted", model="someone/not-a-local-model")
    assert "is not available offline" in str(error.value) and "\n" not in str(error.value)
    with pytest.raises(ConfigError, match=r"minilm-adapted\.budget_s must be"):
        make_encoder("minilm-adapted", budget_s=0)


def test_the_encoders_page_offers_it_with_its_key_parameters(app):
    from app_helpers import button, check, upload_slice

    upload_slice(app, n_users=30)
    app.switch_page("pages/2_Encoders.py").run()
    check(app)
    app.number_input(key="adapt_budget").set_value(60.0)
    app.selectbox(key="mod_enc_0").set_value("minilm-adapted")
    button(app, "Apply encoders").click().run()
    check(app)
    part = app.session_state["config"].features.modalities[0]
    assert part.encoder == "minilm-adapted" and part.params == {"budget_s": 60.0, "lr": 3e-4, "layers": 1}
    app.button(key="encode_now").click().run()
    check(app)
    assert any("trained with the run" in c.value for c in app.caption)


def test_a_run_feeds_it_to_content_models_with_progress(texts, tmp_path, monkeypatch):
    from genre.config import RunConfig
    from genre.run.experiment import Experiment

    monkeypatch.setenv("GENRE_CACHE_DIR", str(tmp_path))  # a fresh embedding cache: it trains
    items = pd.DataFrame({"item_id": np.arange(N_ITEMS), "title": texts})
    dataset = Dataset.from_frame(planted(), items, name="planted")
    config = RunConfig.from_dict({
        "name": "adapted", "features": {"modalities": [
            {"name": "text", "fields": ["title"], "encoder": "minilm-adapted", "params": dict(FAST)}]},
        "algorithms": [{"name": "content"}, {"name": "transformer_seq", "params": {"item_repr": "both", "epochs": 1}}]})
    messages: list[str] = []
    trained = Experiment(config, dataset=dataset).train(progress=lambda done, total, message: messages.append(message))
    assert {"content", "transformer_seq"} <= set(trained.result_.metrics.index)
    assert any("minilm-adapted: adapting: step 12, loss" in m and "s left" in m for m in messages), messages[-5:]
