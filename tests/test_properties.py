"""Property-based tests (hypothesis) of the loaders, splits, metrics and fusion (issue 7).

- any valid table round-trips through every reader (CSV, TSV, Parquet, JSON Lines): same ids,
  ratings and times, row for row; item titles come back verbatim;
- ranking metrics stay within [0, 1] and keep their order (precision, recall <= hit rate);
- splits never leak: train and test are disjoint and cover every row, every test user has
  training rows, and time-ordered splits keep each user's test rows after their train rows;
- fusing normalized score blocks with any non-negative weights gives a valid top-k: k unique
  items per user, none of them already seen, best first with ties to the lower index.
"""

from __future__ import annotations

import csv
import io
import json
import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from genre import fusion, metrics
from genre.data import load_dataset, load_interactions, load_items
from genre.errors import DataError
from genre.split import cold_item_split, kfold_splits, leave_last_out, random_split, temporal_split

PROPERTY = settings(max_examples=60, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow])

# ---------------------------------------------------------------------------- strategies
#: Text without line breaks, tabs or NUL, often with characters that trip parsers (quotes,
#: delimiters, Unicode line and paragraph separators, NEL, BOM, zero-width and no-break spaces).
_CHARS = st.one_of(st.characters(codec="utf-8", categories=("L", "M", "N", "P", "S", "Zs", "Zl", "Zp")),
                   st.sampled_from(list("\u2028\u2029\x85\ufeff\u200b\u00a0\",;|\\'<>&#=+-@ ")))
#: A text id: starts with a letter, so that it never reads as a number.
TEXT_ID = st.builds(lambda a, b: (a + b).strip(), st.characters(codec="utf-8", categories=("L",)),
                    st.text(_CHARS, max_size=10))
INT_ID = st.integers(-(10**12), 10**12)


@st.composite
def interaction_tables(draw, fmt: str) -> pd.DataFrame:
    """A valid interaction table: ids (all integers, or text with some integers), finite
    float32 ratings and epoch seconds."""
    n = draw(st.integers(1, 25))

    def ids() -> list:
        text = draw(st.booleans())
        pool = st.one_of(INT_ID, TEXT_ID) if text else INT_ID
        if text and fmt == "tsv":  # TSV has no quoting: a field cannot hold a quote character
            pool = pool.filter(lambda v: '"' not in str(v))
        return draw(st.lists(pool, min_size=n, max_size=n))

    ratings = draw(st.lists(st.floats(-1e6, 1e6, width=32), min_size=n, max_size=n))
    times = draw(st.lists(st.integers(-2 * 10**9, 10**10), min_size=n, max_size=n))
    return pd.DataFrame({"user": ids(), "item": ids(), "rating": ratings, "timestamp": times})


def _write(frame: pd.DataFrame, fmt: str) -> io.BytesIO:
    """``frame`` as an upload in ``fmt``, written by standard tools (csv, pyarrow, json)."""
    if fmt == "parquet":
        columns = {c: (pa.array(frame[c].tolist()) if c in ("rating", "timestamp") or
                       all(isinstance(v, int) for v in frame[c]) else pa.array(frame[c].map(str).tolist()))
                   for c in frame.columns}
        buffer = io.BytesIO()
        pq.write_table(pa.table(columns), buffer)
        data = buffer.getvalue()
    elif fmt == "jsonl":
        data = "".join(json.dumps(row, ensure_ascii=False) + "\n"
                       for row in frame.to_dict("records")).encode("utf-8")
    else:
        text = io.StringIO()
        writer = csv.writer(text, delimiter="\t" if fmt == "tsv" else ",", lineterminator="\n",
                            quoting=csv.QUOTE_NONE if fmt == "tsv" else csv.QUOTE_MINIMAL,
                            escapechar=None)
        writer.writerow(frame.columns)
        writer.writerows(frame.itertuples(index=False))
        data = text.getvalue().encode("utf-8")
    upload = io.BytesIO(data)
    upload.name = f"table.{fmt}"
    return upload


def _as_text(values) -> list[str]:
    return [str(v) for v in values]


# ---------------------------------------------------------------------------- loaders
@pytest.mark.parametrize("fmt", ["csv", "tsv", "parquet", "jsonl"])
@PROPERTY
@given(data=st.data())
def test_valid_interaction_tables_round_trip(fmt, data):
    frame = data.draw(interaction_tables(fmt))
    loaded = load_interactions(_write(frame, fmt))
    assert _as_text(loaded["user"]) == _as_text(frame["user"])
    assert _as_text(loaded["item"]) == _as_text(frame["item"])
    assert loaded["rating"].tolist() == np.float32(frame["rating"]).tolist()
    assert loaded["timestamp"].tolist() == frame["timestamp"].tolist()
    # and through the Dataset's index: every row maps back to its raw ids
    ds = load_dataset(_write(frame, fmt), cleaning={"drop_duplicates": False})
    assert _as_text(ds.user_ids[ds.interactions["user"]]) == _as_text(frame["user"])
    assert _as_text(ds.item_ids[ds.interactions["item"]]) == _as_text(frame["item"])


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
@PROPERTY
@given(titles=st.lists(st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1,
                                max_size=40), min_size=1, max_size=12))
def test_item_titles_come_back_verbatim(fmt, titles):
    frame = pd.DataFrame({"item_id": range(len(titles)), "title": titles})
    loaded = load_items(_write(frame, fmt))
    assert loaded["title"].tolist() == titles


# ---------------------------------------------------------------------------- metrics
@st.composite
def rankings(draw):
    """Top-k lists (unique items per row), binary relevance, scores and popularity."""
    n_users, n_items = draw(st.integers(1, 6)), draw(st.integers(1, 15))
    k = draw(st.integers(1, n_items))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    top = np.stack([rng.permutation(n_items)[:k] for _ in range(n_users)])
    relevant = sp.csr_matrix(rng.random((n_users, n_items)) < draw(st.floats(0, 1)))
    scores = rng.integers(0, 4, (n_users, n_items)).astype(np.float32)  # many ties
    popularity = rng.integers(0, 50, n_items)
    return top, relevant, k, scores, popularity


@PROPERTY
@given(rankings())
def test_ranking_metrics_stay_within_0_and_1(ranking):
    top, relevant, k, scores, popularity = ranking
    values = {name: getattr(metrics, f"{name}_at_k")(top, relevant, k)
              for name in ("recall", "precision", "ndcg", "hit_rate", "mrr", "map")}
    values["popularity_bias"] = metrics.popularity_bias_at_k(top, popularity, k)
    for name, value in values.items():
        assert value.shape == (len(top),), name
        assert np.all((value >= 0) & (value <= 1 + 1e-12)), (name, value)
    for name in ("recall", "precision", "ndcg", "mrr", "map"):
        assert np.all(values[name] <= values["hit_rate"] + 1e-12), name  # no hit, no credit
    assert 0 < metrics.coverage_at_k(top, relevant.shape[1], k) <= 1
    auc = metrics.auc(scores, relevant)
    assert np.all(np.isnan(auc) | ((auc >= 0) & (auc <= 1)))


# ---------------------------------------------------------------------------- splits
@st.composite
def interaction_frames(draw):
    """Indexed interactions: few users and items, repeated pairs and tied timestamps."""
    n_users, n_items = draw(st.integers(1, 8)), draw(st.integers(1, 10))
    n = draw(st.integers(1, 60))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    frame = pd.DataFrame({"user": rng.integers(0, n_users, n).astype(np.int32),
                          "item": rng.integers(0, n_items, n).astype(np.int32),
                          "rating": np.ones(n, dtype=np.float32),
                          "timestamp": rng.integers(0, draw(st.integers(1, 20)), n).astype(np.int64)})
    return frame, n_users, n_items


def _check_partition(split, frame: pd.DataFrame) -> None:
    """Train and test are disjoint, cover every row, and keep the rows unchanged."""
    assert not set(split.train.index) & set(split.test.index)
    assert sorted([*split.train.index, *split.test.index]) == list(frame.index)
    pd.testing.assert_frame_equal(pd.concat([split.train, split.test]).sort_index(), frame)


def _check_time_order(split) -> None:
    """Per user, no training interaction is later than a test interaction."""
    last_train = split.train.groupby("user")["timestamp"].max()
    first_test = split.test.groupby("user")["timestamp"].min()
    both = first_test.index.intersection(last_train.index)
    assert (last_train[both] <= first_test[both]).all()


def _holdout(method: str, frame: pd.DataFrame, n_users: int, n_items: int, minimum: int, fraction: float,
             seed: int):
    if method == "leave_last_out":
        return leave_last_out(frame, n_users, n_items, min_interactions=minimum, seed=seed)
    function = temporal_split if method == "temporal" else random_split
    return function(frame, n_users, n_items, test_fraction=fraction, min_interactions=minimum, seed=seed)


@pytest.mark.parametrize("method", ["temporal", "random", "leave_last_out"])
@PROPERTY
@given(case=interaction_frames(), minimum=st.integers(2, 6), share=st.floats(0.01, 0.99),
       seed=st.integers(0, 2**31))
def test_per_user_splits_never_leak(method, case, minimum, share, seed):
    frame, n_users, n_items = case
    fraction = share * (1 - 1 / minimum)  # see the next test for larger fractions
    counts = frame["user"].value_counts()
    try:
        split = _holdout(method, frame, n_users, n_items, minimum, fraction, seed)
    except DataError as error:
        assert counts.max() < minimum, error  # refused only when no user has enough rows
        return
    _check_partition(split, frame)
    test_users = np.unique(split.test["user"])
    assert set(test_users) <= set(split.train["user"])  # every test user has training rows
    assert np.array_equal(split.test_users, test_users)
    assert set(test_users) == set(counts[counts >= minimum].index)  # and only eligible users
    if method != "random":
        _check_time_order(split)


@pytest.mark.parametrize("method", ["temporal", "random"])
@pytest.mark.parametrize("n, fraction", [(2, 0.75), (5, 0.9)])
def test_a_large_test_fraction_still_leaves_every_test_user_training_rows(method, n, fraction):
    """The bound the property above keeps to: past 1 - 1/n the whole user goes to test."""
    frame = pd.DataFrame({"user": np.zeros(n, dtype=np.int32), "item": np.arange(n, dtype=np.int32),
                          "rating": np.float32(1.0), "timestamp": np.arange(n, dtype=np.int64)})
    split = _holdout(method, frame, 1, n, n, fraction, seed=0)
    assert set(split.test["user"]) <= set(split.train["user"])


@PROPERTY
@given(case=interaction_frames(), folds=st.integers(2, 5), seed=st.integers(0, 2**31))
def test_kfold_test_parts_partition_the_eligible_rows(case, folds, seed):
    frame, n_users, n_items = case
    try:
        splits = kfold_splits(frame, n_users, n_items, n_folds=folds, min_interactions=2, seed=seed)
    except DataError:
        assert frame["user"].value_counts().max() < 2
        return
    for split in splits:
        _check_partition(split, frame)
    tested = np.concatenate([s.test.index.to_numpy() for s in splits])
    assert len(tested) == len(set(tested))  # each row is tested once at most
    eligible = frame["user"].map(frame["user"].value_counts()) >= 2
    assert set(tested) == set(frame.index[eligible])


@PROPERTY
@given(case=interaction_frames(), seed=st.integers(0, 2**31), fraction=st.floats(0.05, 0.95))
def test_cold_item_split_never_shows_a_cold_item_in_training(case, seed, fraction):
    frame, n_users, n_items = case
    try:
        split = cold_item_split(frame, n_users, n_items, cold_fraction=fraction, seed=seed)
    except DataError:
        return  # too few items or no user with both kinds: a readable refusal is fine
    _check_partition(split, frame)
    assert not set(split.train["item"]) & set(split.candidate_items)
    assert set(split.test["item"]) <= set(split.candidate_items)
    assert set(split.test_users) <= set(split.train["user"])


# ---------------------------------------------------------------------------- fusion
@st.composite
def score_blocks(draw):
    """Score blocks of 1-3 algorithms, seen items (each user keeps >= k unseen), weights >= 0."""
    n_users, n_items = draw(st.integers(1, 5)), draw(st.integers(2, 20))
    k = draw(st.integers(1, n_items - 1))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    seen = np.zeros((n_users, n_items), dtype=bool)
    for row in seen:
        row[rng.permutation(n_items)[: draw(st.integers(0, n_items - k))]] = True
    names = [f"algo{i}" for i in range(draw(st.integers(1, 3)))]
    scale = draw(st.sampled_from([1e-6, 1.0, 1e6]))
    ties = draw(st.booleans())
    blocks = {name: (rng.integers(0, 3, (n_users, n_items)) if ties else
                     rng.normal(0, scale, (n_users, n_items))).astype(np.float32) for name in names}
    weights = {name: draw(st.one_of(st.just(0.0), st.floats(0, 1e3))) for name in names}
    normalization = draw(st.sampled_from(["minmax", "zscore", "rank", "none"]))
    temperature = draw(st.one_of(st.none(), st.floats(0.05, 10)))
    return blocks, weights, sp.csr_matrix(seen), k, normalization, temperature


@PROPERTY
@given(score_blocks())
def test_fusion_with_any_non_negative_weights_is_a_valid_ranking(case):
    blocks, weights, seen, k, normalization, temperature = case
    normalized = {name: fusion.soften(fusion.normalize(block, normalization, seen), temperature)
                  for name, block in blocks.items()}
    total = fusion.fuse(normalized, weights)
    top = fusion.top_k(total, k, seen)
    assert top.shape == (seen.shape[0], k)
    dense_seen = seen.toarray()
    for user, items in enumerate(top):
        assert len(set(items)) == k and ((0 <= items) & (items < seen.shape[1])).all()
        assert not dense_seen[user, items].any()  # seen items are never recommended
        scores = total[user, items]
        assert np.isfinite(scores).all()
        order = sorted(range(k), key=lambda r: (-scores[r], items[r]))
        assert order == list(range(k))  # best first, ties to the lower item index
        unseen = np.flatnonzero(~dense_seen[user])
        assert scores[-1] >= total[user, np.setdiff1d(unseen, items)].max(initial=-math.inf)
