"""Figure builders and the 2-D projection, checked on real data without a browser."""

from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
import scipy.sparse as sp

from genre import viz
from genre.errors import ConfigError

SAMPLE = Path(__file__).resolve().parent.parent / "sample_data"


@pytest.fixture(scope="module")
def ratings() -> pd.DataFrame:
    return pd.read_csv(SAMPLE / "ratings.csv", nrows=5000)


@pytest.fixture(scope="module")
def movies() -> pd.DataFrame:
    return pd.read_csv(SAMPLE / "movies.csv", nrows=800)


def test_long_tail_is_sorted_and_reports_the_head_share(ratings):
    counts = ratings.groupby("userId").size().to_numpy()
    fig = viz.long_tail_figure(counts, "user")
    y = np.asarray(fig.data[0].y)
    assert (np.diff(y) <= 0).all() and y.sum() == len(ratings)
    head = np.sort(counts)[::-1][: int(np.ceil(len(counts) * 0.2))].sum() / counts.sum()
    assert f"{head:.0%}" in fig.layout.title.text
    assert fig.layout.yaxis.type == "log"


def test_a_long_tail_of_a_large_catalog_is_drawn_with_a_bounded_number_of_exact_points():
    counts = np.random.default_rng(0).zipf(1.5, size=200_000)
    fig = viz.long_tail_figure(counts, "item")
    x, y = np.asarray(fig.data[0].x), np.asarray(fig.data[0].y)
    ordered = np.sort(counts)[::-1]
    assert len(x) <= viz.LONG_TAIL_POINTS + 1 and x[0] == 1 and x[-1] == len(counts)
    assert np.array_equal(y, ordered[x - 1]) and (np.diff(x) > 0).all()
    head = ordered[: int(np.ceil(len(counts) * 0.2))].sum() / counts.sum()
    assert f"{head:.0%}" in fig.layout.title.text  # the share is over every item, not the drawn ones


def test_rating_histogram_counts_each_value(ratings):
    fig = viz.rating_histogram(ratings["rating"])
    bars = dict(zip(np.asarray(fig.data[0].x, dtype=float), fig.data[0].y))
    assert bars[4.0] == (ratings["rating"] == 4.0).sum()
    assert sum(bars.values()) == len(ratings)


def test_genre_counts_puts_the_largest_genre_on_top(movies):
    genres = [g.split("|") for g in movies["genres"]]
    fig = viz.genre_counts_figure(genres, top=5)
    names, values = list(fig.data[0].y), list(fig.data[0].x)
    assert len(names) == 5 and values == sorted(values)
    assert names[-1] == pd.Series([g for gs in genres for g in gs]).value_counts().index[0]


def test_activity_buckets_every_interaction(ratings):
    fig = viz.activity_figure(ratings["timestamp"].to_numpy())
    assert sum(fig.data[0].y) == len(ratings)


def _metrics() -> pd.DataFrame:
    return pd.DataFrame({"ndcg@10": [0.10, 0.13, 0.14], "recall@10": [0.05, 0.07, 0.08]},
                        index=["popularity", "ease", "mix"])


def test_metrics_bar_has_one_trace_per_algorithm_and_red_mix():
    fig = viz.metrics_bar(_metrics(), ["ndcg@10"])
    assert [t.name for t in fig.data] == ["popularity", "ease", "mix"]
    assert fig.data[2].marker.color == viz.algorithm_colors(["mix"])["mix"]
    assert list(fig.data[1].y) == [0.13]
    with pytest.raises(ConfigError, match="ndcg@5"):
        viz.metrics_bar(_metrics(), ["ndcg@5"])


def test_comparison_highlights_the_best_run():
    table = pd.DataFrame({"run": ["a", "b", "c"], "ndcg@10": [0.1, 0.3, 0.2]})
    fig = viz.comparison_bar(table, "ndcg@10")
    colors = list(fig.data[0].marker.color)
    assert colors[1] != colors[0] and colors[0] == colors[2]


def test_sweep_and_heatmap_and_tuning_curve():
    sweep = pd.DataFrame({"weight": np.linspace(0, 1, 5), "ndcg@10": [0.1, 0.12, 0.13, 0.125, 0.11]})
    fig = viz.sweep_figure(sweep, "ndcg@10", current=0.5)
    assert list(fig.data[0].y) == list(sweep["ndcg@10"]) and fig.layout.shapes
    grid = pd.DataFrame([(a, b, a * b) for a in (0.0, 0.5, 1.0) for b in (0.0, 1.0)], columns=["ease", "content", "m"])
    heat = viz.heatmap_figure(grid, "ease", "content", "m")
    assert np.asarray(heat.data[0].z).shape == (2, 3)
    curve = pd.DataFrame({"trial": [1, 2, 3], "ndcg@10": [0.1, 0.05, 0.2]})
    tuned = viz.tuning_curve_figure(curve, "ndcg@10")
    assert list(tuned.data[1].y) == [0.1, 0.1, 0.2]


def test_contributions_stack_to_the_score():
    recs = pd.DataFrame({"rank": [1, 2], "title": ["A", "B"], "score": [0.9, 0.5],
                         "contrib_ease": [0.6, 0.5], "contrib_content": [0.3, 0.0]})
    fig = viz.contributions_figure(recs)
    stacked = sum(np.asarray(t.x) for t in fig.data)
    assert np.allclose(stacked[::-1], recs["score"])
    with pytest.raises(ConfigError):
        viz.contributions_figure(recs[["rank", "title", "score"]])


def test_timings_and_slices():
    fig = viz.timings_figure({"fit ease": 3.0, "split": 0.1})
    assert list(fig.data[0].y) == ["split", "fit ease"]
    slices = pd.DataFrame({"slice": ["user activity", "user activity", "item popularity"],
                           "group": ["cold", "active", "long tail"], "n_users": [100, 500, 300],
                           "ndcg@10": [0.05, 0.2, np.nan], "recall@10": [0.1, 0.2, 0.01]})
    ndcg = viz.slices_figure(slices, "ndcg@10")
    assert len(ndcg.data) == 1 and list(ndcg.data[0].x) == ["cold", "active"]
    recall = viz.slices_figure(slices, "recall@10")
    assert [t.name for t in recall.data] == ["user activity", "item popularity"]


def test_project_2d_pca_dense_and_sparse_keeps_clusters_apart():
    rng = np.random.default_rng(0)
    a = rng.normal(0, 0.1, (50, 20)) + 5
    b = rng.normal(0, 0.1, (50, 20)) - 5
    coords = viz.project_2d(np.vstack([a, b]), "pca", seed=0)
    assert coords.shape == (100, 2) and coords.dtype == np.float32
    assert abs(coords[:50, 0].mean() - coords[50:, 0].mean()) > 5
    sparse = viz.project_2d(sp.random(60, 30, density=0.2, format="csr", random_state=1), "pca")
    assert sparse.shape == (60, 2) and np.isfinite(sparse).all()
    again = viz.project_2d(np.vstack([a, b]), "pca", seed=0)
    assert np.array_equal(coords, again)


def test_project_2d_edge_cases_and_bad_method():
    assert viz.project_2d(np.ones((2, 5)), "pca").shape == (2, 2)
    with pytest.raises(ConfigError, match="tsne"):
        viz.project_2d(np.ones((5, 5)), "tsne")


@pytest.mark.slow
def test_project_2d_umap_separates_clusters():
    rng = np.random.default_rng(1)
    x = np.vstack([rng.normal(0, 0.05, (40, 8)) + np.eye(8)[0], rng.normal(0, 0.05, (40, 8)) + np.eye(8)[1]])
    coords = viz.project_2d(x, "umap", seed=3)
    centre_a, centre_b = coords[:40].mean(axis=0), coords[40:].mean(axis=0)
    spread = coords[:40].std(axis=0).mean()
    assert np.linalg.norm(centre_a - centre_b) > 3 * spread


def test_embedding_figure_traces(movies):
    n = len(movies)
    points = pd.DataFrame({"x": np.arange(n, dtype=float), "y": np.zeros(n), "title": movies["title"],
                           "genre": [g.split("|")[0] for g in movies["genres"]], "popularity": np.arange(n)})
    by_genre = viz.embedding_figure(points, color="genre")
    assert len(by_genre.data) == points["genre"].nunique()
    assert sum(len(t.x) for t in by_genre.data) == n
    numeric = viz.embedding_figure(points, color="popularity", highlight=np.arange(n) < 3,
                                   overlays={"history": [5, 6], "recommended": [7]})
    names = [t.name for t in numeric.data]
    assert names == ["items", "search matches", "history", "recommended"]
    assert list(numeric.data[1].customdata) == list(movies["title"][:3])
    assert isinstance(numeric, go.Figure)


def test_map_clusters_finds_separated_groups():
    coords = np.vstack([np.zeros((10, 2)), np.full((10, 2), 9.0)])
    labels = viz.map_clusters(coords, n_clusters=2, seed=0)
    assert len(set(labels[:10])) == 1 and len(set(labels[10:])) == 1 and labels[0] != labels[-1]
    assert len(viz.map_clusters(np.arange(6.0).reshape(3, 2), n_clusters=8)) == 3  # at most one per point


# ---------------------------------------------------------------------------- text from data is inert
HOSTILE = '<a href="http://127.0.0.1:9/x">run</a><img src=http://127.0.0.1:9/i.png> <b>&amp;</b>'


def _hostile_figures() -> dict[str, go.Figure]:
    """Every figure builder, fed the hostile string wherever it takes text from data."""
    h = HOSTILE
    slices = pd.DataFrame({"slice": [h, "users"], "group": [h, "cold"], "n_users": [3, 4], h: [0.1, 0.2]})
    recs = pd.DataFrame({"rank": [1], "title": [h], f"contrib_{h}": [0.5]})
    points = pd.DataFrame({"x": [0.0, 1.0, 2.0], "y": [0.0, 1.0, 0.5], "title": [h, "b", h], "genre": [h, "x", h],
                           h: [1.0, 2.0, 3.0]})
    return {
        "long tail": viz.long_tail_figure(np.array([3, 1]), h),
        "genres": viz.genre_counts_figure([[h, "Drama"], [h]]),
        "metrics": viz.metrics_bar(pd.DataFrame({h: [0.1, 0.2]}, index=[h, "mix"])),
        "comparison": viz.comparison_bar(pd.DataFrame({"run": [h, "b"], h: [0.1, 0.2]}), h),
        "slices": viz.slices_figure(slices, h),
        "sweep": viz.sweep_figure(pd.DataFrame({h: [0.0, 1.0], "m": [0.1, 0.2]}), "m", x=h, current=0.5),
        "heatmap": viz.heatmap_figure(pd.DataFrame({h: [0.0, 1.0], "y": [0.0, 1.0], "m": [0.1, 0.2]}), h, "y", "m"),
        "tuning": viz.tuning_curve_figure(pd.DataFrame({h: [0.1, 0.2]}), h),
        "timings": viz.timings_figure({h: 1.0, "split": 0.1}),
        "contributions": viz.contributions_figure(recs),
        "embedding by genre": viz.embedding_figure(points, color="genre", highlight=np.array([1, 0, 1], bool),
                                                   overlays={h: [0, 2]}, title=h),
        "embedding by number": viz.embedding_figure(points, color=h, title=h),
        "users and items": viz.users_and_items_figure(points, pd.DataFrame({"x": [0.5], "y": [0.5], "user": [h]}),
                                                      chosen=0, color="genre", overlays={h: [1]}, title=h),
    }


def _strings(node, path=""):
    """(path, text) of every string in a figure's JSON (titles, names, hover, ticks, customdata…)."""
    if isinstance(node, str):
        yield path, node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _strings(value, f"{path}.{key}")
    elif isinstance(node, (list, tuple, np.ndarray, pd.Series, pd.Index)):
        for i, value in enumerate(node):
            yield from _strings(value, f"{path}[{i}]")


@pytest.mark.parametrize("name", list(_hostile_figures()))
def test_no_figure_carries_raw_markup_or_a_url_from_data(name):
    fig = _hostile_figures()[name]
    texts = list(_strings(fig.to_plotly_json()))
    assert any("&lt;a href" in text for _, text in texts), "the hostile text should be shown (escaped)"
    for path, text in texts:
        own_markup = text.replace("<extra></extra>", "")  # the builders' own hover markup
        assert "<" not in own_markup and ">" not in own_markup, (path, text)
        assert "http://" not in text, (path, text)


def test_escaped_text_still_reads_as_written():
    fig = viz.comparison_bar(pd.DataFrame({"run": ["Tom & Jerry <3"], "m": [0.5]}), "m")
    assert list(fig.data[0].x) == ["Tom &amp; Jerry &lt;3"]  # Plotly shows: Tom & Jerry <3


def test_users_join_the_items_map_with_the_chosen_user_marked():
    points = pd.DataFrame({"x": [0.0, 1.0], "y": [0.0, 1.0], "title": ["a", "b"]})
    users = pd.DataFrame({"x": [0.2, 0.8, 0.5], "y": [0.1, 0.9, 0.5], "user": [7, 8, 9]})
    fig = viz.users_and_items_figure(points, users, chosen=1, overlays={"history": [0]})
    assert [t.name for t in fig.data] == ["items", "history", "users", "chosen user"]
    assert list(fig.data[2].customdata) == ["user 7", "user 8", "user 9"]
    assert list(fig.data[3].x) == [0.8] and list(fig.data[3].customdata) == ["user 8"]
