"""Defaults that fit the data: presets adapted before training (genre.starter_configs.fit_to_data),
one colour per algorithm and enough for genres (genre.viz), count charts on log axes, and the
Embeddings map's colouring that exists (genre.run.spaces)."""

import itertools

import numpy as np
import pandas as pd
import pytest

from genre import viz
from genre.algorithms import ALGORITHM_NAMES
from genre.data import Dataset
from genre.data.values import RATINGS, value_kind
from genre.run.spaces import POPULARITY_BANDS, item_coloring, map_colorings
from genre.starter_configs import fit_to_data, load_preset


def _catalog(n_items: int, n_users: int = 500, genres: bool = False) -> Dataset:
    """``n_items`` items, each taken by one or two users, built without any file: cheap at 25k items."""
    items = np.arange(2 * n_items) % n_items
    frame = pd.DataFrame({"user": np.arange(len(items)) * 7 % n_users, "item": items})
    table = pd.DataFrame({"item_id": np.arange(n_items), "title": [f"item {i}" for i in range(n_items)],
                          "genres": [["Rock"] if genres and i % 2 else [] for i in range(n_items)]})
    return Dataset.from_frame(frame, table)


# ---------------------------------------------------------------------------- fit_to_data
def test_the_tuned_mix_on_25k_items_leaves_ease_out_with_a_note_saying_how_to_include_it():
    preset = load_preset("tuned mix")
    fitted, notes = fit_to_data(preset, _catalog(25_000), budget=10**12)
    assert {a.name: a.enabled for a in fitted.algorithms} == {
        "ease": False, "sequential": True, "als": True, "item_knn": True, "content": True}
    assert len(notes) == 1 and notes[0].startswith("ease left out: the data has 25,000 items")
    assert "max_items of 20,000" in notes[0] and "raise max_items to 25,000" in notes[0]
    assert "\n" not in notes[0]
    assert all(a.enabled for a in preset.algorithms)  # the preset given is left as it was


def test_data_within_every_limit_changes_nothing():
    preset = load_preset("tuned mix")
    fitted, notes = fit_to_data(preset, _catalog(300), budget=10**12)
    assert notes == [] and fitted == preset


def test_a_raised_max_items_keeps_ease_in_and_a_catalog_beyond_its_ceiling_says_what_instead():
    preset = load_preset("collaborative only")
    for algo in preset.algorithms:
        algo.params["max_items"] = 30_000
    assert fit_to_data(preset, _catalog(25_000), budget=10**12)[1] == []
    _, notes = fit_to_data(load_preset("collaborative only"), _catalog(25_000), budget=10**9)
    assert "use item_knn or als" in notes[0] and "memory budget" in notes[0]


def test_over_the_memory_budget_the_largest_algorithms_are_left_out_until_the_rest_fit():
    preset = load_preset("tuned mix")
    fitted, notes = fit_to_data(preset, _catalog(2_000), budget=1)
    assert sum(a.enabled for a in fitted.algorithms) == 1  # one is kept: the run core then says why
    assert len(notes) == 4 and all("memory budget" in n for n in notes)
    assert any("lower its k" in n for n in notes)  # item_knn's memory_hint: a field on the Train page


def test_every_parameter_a_limit_message_names_is_a_field_on_the_train_page():
    import re

    from genre.algorithms import algorithm_class
    from ui.algorithms import key_params

    for name in ALGORITHM_NAMES:
        cls = algorithm_class(name)
        named = set(re.findall(r"\w+", getattr(cls, "memory_hint", "") or "")) - {"or"}
        named |= {"max_items"} & set(cls._param_names())
        assert named <= set(key_params(name)), name
    assert key_params("ease")["max_items"] == 20_000


def test_every_algorithm_has_a_one_line_explanation_on_the_train_page():
    from ui.algorithms import DESCRIPTIONS, key_params

    assert set(ALGORITHM_NAMES) <= set(DESCRIPTIONS)
    assert {"item_repr", "refit", "dropout", "max_len", "batch_size", "ema_decay", "n_models"} <= set(
        key_params("transformer_seq"))


# ---------------------------------------------------------------------------- colours
def test_an_algorithm_has_one_colour_whatever_the_order_or_subset():
    names = [*ALGORITHM_NAMES, "mix", "content_to_cf_tfidf"]
    full = viz.algorithm_colors(names)
    for subset in (names[::-1], names[3:7], ["ease"], ["mix", "content"], ["content_to_cf_tfidf", "als"]):
        assert viz.algorithm_colors(subset) == {n: full[n] for n in subset}
    assert len({full[n] for n in [*ALGORITHM_NAMES, "mix"]}) == len(ALGORITHM_NAMES) + 1  # all distinct
    assert full["mix"] == "#d62728"


def test_the_same_algorithm_has_the_same_colour_in_every_figure():
    metrics = pd.DataFrame({"ndcg@10": [0.1, 0.2, 0.3]}, index=["als", "ease", "mix"])
    recs = pd.DataFrame({"title": ["a", "b"], "contrib_ease": [0.2, 0.1], "contrib_sequential": [0.3, 0.1]})
    bars = {t.name: t.marker.color for t in viz.metrics_bar(metrics).data}
    parts = {t.name: t.marker.color for t in viz.contributions_figure(recs).data}
    assert bars["ease"] == parts["ease"] == viz.algorithm_color("ease")


def _lab(color: str) -> np.ndarray:
    """CIELAB of an sRGB ``#rrggbb`` (D65): distances there follow what eyes tell apart (ΔE)."""
    rgb = np.array([int(color[i:i + 2], 16) for i in (1, 3, 5)]) / 255
    linear = np.where(rgb > 0.04045, ((rgb + 0.055) / 1.055) ** 2.4, rgb / 12.92)
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]) @ linear
    t = xyz / np.array([0.95047, 1.0, 1.08883])
    f = np.where(t > 0.008856, np.cbrt(t), 7.787 * t + 16 / 116)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def test_the_category_palette_has_at_least_20_distinguishable_colours():
    palette = viz.CATEGORY_PALETTE
    assert len(set(palette)) == len(palette) >= 20
    closest = min(np.linalg.norm(_lab(a) - _lab(b)) for a, b in itertools.combinations(palette, 2))
    assert closest > 20  # ΔE above 20: plainly different colours, not shades of one
    assert viz.OTHER_COLOR not in palette
    algorithms = list(viz.ALGORITHM_COLORS.values())
    assert min(np.linalg.norm(_lab(a) - _lab(b)) for a, b in itertools.combinations(algorithms, 2)) > 20


def test_19_genres_on_the_map_get_19_colours_and_placeholders_grey():
    genres = [f"genre {i}" for i in range(19)] + ["(no genre)"]
    points = pd.DataFrame({"x": np.arange(40.0), "y": np.arange(40.0), "title": [f"t{i}" for i in range(40)],
                           "genre": genres * 2})
    colors = {t.name: t.marker.color for t in viz.embedding_figure(points, color="genre").data}
    assert len({colors[g] for g in genres[:19]}) == 19 and colors["(no genre)"] == viz.OTHER_COLOR


# ---------------------------------------------------------------------------- value charts
def test_play_counts_are_charted_as_plays_on_log_axes_and_ratings_as_before():
    plays = np.array([1, 3, 3, 40, 900, 350_000], dtype=np.float32)
    fig = viz.rating_histogram(plays, value_kind(plays, "plays"))
    assert fig.layout.xaxis.type == "log" and fig.layout.yaxis.type == "log"
    assert "plays" in fig.layout.xaxis.title.text and "rating" not in fig.layout.title.text.lower()
    assert sum(fig.data[0].y) == len(plays)
    stars = viz.rating_histogram(np.array([1, 2, 5, 5], dtype=np.float32), RATINGS)
    assert stars.layout.title.text == "Rating distribution" and stars.layout.xaxis.type != "log"


# ---------------------------------------------------------------------------- the map's colouring
def test_the_map_colours_by_genre_only_when_items_have_genres():
    assert map_colorings(_catalog(50, genres=True))[0] == "genre"
    assert map_colorings(_catalog(50)) == ["popularity", "cluster"]
    title, labels = item_coloring(_catalog(50, genres=True), "genre")
    assert title == "genre" and set(labels) == {"Rock", "(no genre)"}


def test_popularity_bands_put_the_most_taken_items_in_the_top_band():
    frame = pd.DataFrame([(u, i) for i in range(200) for u in range(200 - i)], columns=["user", "item"])
    title, labels = item_coloring(Dataset.from_frame(frame), "popularity")
    sizes = pd.Series(labels).value_counts()
    assert title == "popularity" and list(labels[:2]) == [POPULARITY_BANDS[0][1]] * 2
    assert sizes.to_dict() == {"top 1 % of items": 2, "top 1–10 %": 18, "top 10–50 %": 80, "least popular 50 %": 100}
    with pytest.raises(ValueError, match="cluster"):
        item_coloring(Dataset.from_frame(frame), "cluster")
